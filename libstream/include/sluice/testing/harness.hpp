#pragma once

#include <map>
#include <memory>
#include <utility>
#include <vector>

#include "sluice/operator.hpp"

namespace sluice::testing {

/// Hosts one operator without any actor runtime, the way Flink's operator
/// test harnesses do: feed records and watermarks, move the manual clock,
/// then read what each port emitted. Outputs accumulate until read.
///
///     harness h{std::make_unique<my_op>()};
///     h.push(42, timestamp::of(10));
///     h.watermark(timestamp::of(100));
///     auto out = h.values<int>();
class harness {
public:
  explicit harness(std::unique_ptr<operator_base> op, uint32_t instance = 0,
                   uint32_t parallelism = 1, uint32_t max_parallelism = 128)
      : op_(std::move(op)), ctx_("op-under-test", instance, parallelism, max_parallelism, clock_) {
    op_->open(ctx_);
    drain();
  }

  /// Feeds one record to input `input`.
  template <class T>
  void push(T value, timestamp ts = timestamp::min(), size_t input = 0) {
    typed_batch<T> b;
    b.records.push_back(record<T>{std::move(value), ts});
    op_->process(input, b);
    drain();
  }

  /// Feeds a batch to input `input`.
  template <class T>
  void push_batch(std::vector<record<T>> rs, size_t input = 0) {
    typed_batch<T> b{std::move(rs)};
    op_->process(input, b);
    drain();
  }

  /// Advances event time (the operator's input watermark).
  void watermark(timestamp wm) {
    ctx_.set_watermark(wm);
    op_->on_watermark(wm);
    drain();
  }

  /// Moves processing time forward, firing the timer the operator asked for
  /// if it is due (repeatedly, as the runtime does).
  void advance_processing_time(duration d) {
    clock_.advance(d);
    while (auto t = ctx_.pending_timer()) {
      if (*t > clock_.now())
        break;
      ctx_.take_timer();
      op_->on_timer(clock_.now());
      drain();
    }
  }

  /// Polls a source until it ends or `max_polls` polls were made.
  poll_status poll(size_t max_records = 1024, size_t max_polls = 1000000) {
    auto& src = dynamic_cast<source_base&>(*op_);
    poll_status st = poll_status::more;
    for (size_t i = 0; i < max_polls && st == poll_status::more; ++i) {
      st = src.poll(max_records);
      drain();
    }
    return st;
  }

  /// Ends the input: final watermark, `end_input`, `close`.
  void end() {
    watermark(timestamp::max());
    op_->end_input();
    drain();
    op_->close();
    drain();
  }

  /// Records emitted on `port` since the last read.
  template <class T>
  std::vector<record<T>> output(size_t port = 0) {
    std::vector<record<T>> out;
    auto it = outputs_.find(port);
    if (it == outputs_.end())
      return out;
    for (auto& b : it->second)
      for (auto& r : batch_cast<T>(*b).records)
        out.push_back(std::move(r));
    outputs_.erase(it);
    return out;
  }

  /// Values emitted on `port` since the last read.
  template <class T>
  std::vector<T> values(size_t port = 0) {
    std::vector<T> out;
    for (auto& r : output<T>(port))
      out.push_back(std::move(r.value));
    return out;
  }

  /// Records the operator rejected since the last read.
  std::vector<dead_letter> dead_letters() { return values<dead_letter>(dead_letter_port()); }

  manual_clock& clock() noexcept { return clock_; }
  operator_context& context() noexcept { return ctx_; }
  operator_base& op() noexcept { return *op_; }
  template <class Op>
  Op& as() {
    return dynamic_cast<Op&>(*op_);
  }

private:
  size_t dead_letter_port() const noexcept { return op_->num_ports(); }

  void drain() {
    for (size_t i = 0; i < op_->num_ports(); ++i)
      if (op_->out(i).size() > 0)
        outputs_[i].push_back(op_->out(i).take());
    if (ctx_.dead_letters().size() > 0)
      outputs_[dead_letter_port()].push_back(ctx_.dead_letters().take());
  }

  manual_clock clock_;
  std::unique_ptr<operator_base> op_;
  operator_context ctx_;
  std::map<size_t, std::vector<batch_ptr>> outputs_;
};

}  // namespace sluice::testing
