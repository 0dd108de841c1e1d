#include "task/source_driver.hpp"

#include <algorithm>

namespace sluice::actors {

source_driver::next source_driver::poll(timestamp now) {
  using kind = next::kind;
  if (out_.backpressured()) {
    ++chain_.head_metrics().backpressure_events;
    return {kind::blocked, duration{0}};
  }
  size_t budget = batch_size_;
  if (rate_ > 0) {
    // The clock may step back (wall time): no refill then, never a negative one.
    const double elapsed_s =
        static_cast<double>(std::max<int64_t>(0, now.ms - last_refill_.ms)) / 1000.0;
    tokens_ = std::min(tokens_ + rate_ * elapsed_s, std::max<double>(batch_size_, rate_ / 10));
    last_refill_ = now;
    if (tokens_ < 1)
      return {kind::poll_again,
              duration{std::max<int64_t>(1, static_cast<int64_t>((1 - tokens_) / rate_ * 1000))}};
    budget = std::min<size_t>(budget, static_cast<size_t>(tokens_));
  }
  auto& m = chain_.head_metrics();
  const uint64_t before = m.records_out;
  const poll_status st = src_.poll(budget);
  chain_.drain_head();
  const uint64_t produced = m.records_out - before;
  m.records_in += produced;
  tokens_ -= static_cast<double>(produced);
  if (timestamp wm = src_.watermark(); wm > source_wm_) {
    source_wm_ = wm;
    chain_.advance_watermark(wm, 1);
  }
  if (st == poll_status::end) {
    chain_.advance_watermark(timestamp::max(), 1);
    return {kind::ended, duration{0}};
  }
  if (st == poll_status::idle && produced == 0) {
    if (!idle_since_)
      idle_since_ = now;
    if (auto to = src_.idle_timeout(); to && !idle_ && now.ms - idle_since_->ms >= to->count()) {
      idle_ = true;
      out_.idle(true);
    }
    return {kind::poll_again, idle_poll_interval};
  }
  idle_since_.reset();
  if (idle_) {
    idle_ = false;
    out_.idle(false);
  }
  return {kind::poll_again, duration{0}};
}

}  // namespace sluice::actors
