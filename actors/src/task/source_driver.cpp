#include "task/source_driver.hpp"

#include <algorithm>

namespace sluice::actors {

source_driver::source_driver(source_base& src, operator_chain& chain, output_side& out, double rate,
                             uint32_t batch_size, timestamp now, pacing pace, bool restored)
    : src_(src),
      chain_(chain),
      out_(out),
      rate_(rate),
      pace_(pace),
      batch_size_(batch_size),
      last_refill_(now) {
  if (pace_.speedup <= 0)
    return;
  // Restored: pacing resumes where the source stood, without waiting for the
  // event time already replayed. Fresh: from the origin (if any), else from
  // the first watermark.
  const timestamp wm = src_.watermark();
  if (restored && wm != timestamp::min() && wm != timestamp::max())
    anchor_wm_ = wm;
  else
    anchor_wm_ = pace_.origin;
  anchor_clock_ = now;
}

size_t source_driver::paced_budget() const {
  // The data's density (records per ms of event time) since the first
  // watermark, times the speed-up: the records due in one quantum.
  const double span_ms = static_cast<double>(source_wm_.ms - density_wm_.ms);
  if (!density_known_ || span_ms <= 0)
    return 1;  // no density known yet: feel the way record by record
  const double per_quantum = static_cast<double>(density_records_) / span_ms * pace_.speedup *
                             static_cast<double>(pacing_quantum_ms);
  return static_cast<size_t>(std::clamp(per_quantum, 1.0, static_cast<double>(batch_size_)));
}

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
  if (pace_.speedup > 0)
    budget = std::min(budget, paced_budget());
  auto& m = chain_.head_metrics();
  const uint64_t before = m.records_out;
  const poll_status st = src_.poll(budget);
  chain_.drain_head();
  const uint64_t produced = m.records_out - before;
  m.records_in += produced;
  tokens_ -= static_cast<double>(produced);
  if (density_known_)
    density_records_ += produced;  // records after the first watermark
  if (timestamp wm = src_.watermark(); wm > source_wm_) {
    source_wm_ = wm;
    chain_.advance_watermark(wm, 1);
    if (pace_.speedup > 0 && !density_known_ && wm != timestamp::max()) {
      density_known_ = true;
      density_wm_ = wm;
      if (!anchor_wm_) {
        anchor_wm_ = wm;
        anchor_clock_ = now;
      }
    }
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
  if (pace_.speedup > 0 && anchor_wm_ && source_wm_ > *anchor_wm_) {
    // Ahead of the clock: wait until the clock catches up with the watermark.
    const double due = static_cast<double>(anchor_clock_.ms) +
                       static_cast<double>(source_wm_.ms - anchor_wm_->ms) / pace_.speedup;
    if (due > static_cast<double>(now.ms))
      return {kind::poll_again, duration{std::max<int64_t>(
                                    1, static_cast<int64_t>(due - static_cast<double>(now.ms)))}};
  }
  return {kind::poll_again, duration{0}};
}

}  // namespace sluice::actors
