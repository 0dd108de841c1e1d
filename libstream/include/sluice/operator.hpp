#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "sluice/dead_letter.hpp"
#include "sluice/record.hpp"
#include "sluice/state/snapshot.hpp"
#include "sluice/time.hpp"

namespace sluice {

/// One output of an operator: a typed buffer that the operator appends to and
/// the host (task or test harness) drains after every call into the operator.
class output_port_base {
public:
  virtual ~output_port_base() = default;
  virtual size_t size() const noexcept = 0;
  /// Moves the buffered records out as a batch and leaves the port empty.
  virtual batch_ptr take() = 0;
};

/// Typed output port. Single-threaded: only the hosting task touches it.
template <class T>
class port final : public output_port_base {
public:
  port() : buf_(std::make_shared<typed_batch<T>>()) {}

  void emit(T value, timestamp ts) { buf_->records.push_back(record<T>{std::move(value), ts}); }
  void emit(record<T> r) { buf_->records.push_back(std::move(r)); }
  /// Direct access for operators that build output in bulk.
  std::vector<record<T>>& records() noexcept { return buf_->records; }

  size_t size() const noexcept override { return buf_->records.size(); }

  batch_ptr take() override {
    auto out = std::move(buf_);
    buf_ = std::make_shared<typed_batch<T>>();
    return out;
  }

private:
  std::shared_ptr<typed_batch<T>> buf_;
};

/// What an operator instance knows about where it runs. Created by the host
/// before `open`, owned by the host, and only used from the host's thread.
class operator_context {
public:
  operator_context(std::string name, uint32_t instance, uint32_t parallelism,
                   uint32_t max_parallelism, const clock& clk)
      : name_(std::move(name)),
        instance_(instance),
        parallelism_(parallelism),
        max_parallelism_(max_parallelism),
        clock_(&clk) {}

  const std::string& name() const noexcept { return name_; }
  uint32_t instance() const noexcept { return instance_; }
  uint32_t parallelism() const noexcept { return parallelism_; }
  uint32_t max_parallelism() const noexcept { return max_parallelism_; }
  timestamp processing_time() const { return clock_->now(); }

  /// True when the job takes checkpoints: exactly-once sinks then publish
  /// output on checkpoint completion instead of at close.
  bool checkpointing() const noexcept { return checkpointing_; }
  void set_checkpointing(bool on) noexcept { checkpointing_ = on; }
  /// The checkpoint this attempt was restored from (0: a fresh start).
  uint64_t restored_checkpoint() const noexcept { return restored_; }
  void set_restored_checkpoint(uint64_t id) noexcept { restored_ = id; }

  /// Current event-time watermark of this instance's input.
  timestamp watermark() const noexcept { return watermark_; }
  void set_watermark(timestamp wm) noexcept { watermark_ = wm; }

  /// Asks for `operator_base::on_timer` to be called once processing time
  /// reaches `t`. Only the earliest request is kept; an operator re-requests
  /// its next timer from `on_timer`.
  void request_timer(timestamp t) noexcept {
    if (!timer_ || t < *timer_)
      timer_ = t;
  }
  std::optional<timestamp> take_timer() noexcept { return std::exchange(timer_, std::nullopt); }
  std::optional<timestamp> pending_timer() const noexcept { return timer_; }

  /// Rejects a record: it becomes a dead letter naming this operator.
  void reject(std::string position, std::string reason, std::string raw) {
    dead_letters_.emit(
        dead_letter{name_, instance_, std::move(position), std::move(reason), std::move(raw)},
        timestamp::min());
  }
  port<dead_letter>& dead_letters() noexcept { return dead_letters_; }

private:
  std::string name_;
  uint32_t instance_;
  uint32_t parallelism_;
  uint32_t max_parallelism_;
  const clock* clock_;
  timestamp watermark_ = timestamp::min();
  bool checkpointing_ = false;
  uint64_t restored_ = 0;
  std::optional<timestamp> timer_;
  port<dead_letter> dead_letters_;
};

/// The logic of one operator instance, free of any actor or network code.
///
/// Lifecycle, driven by one host (a runtime task or the test harness), always
/// from one thread: `open` once; then any sequence of `process` (a batch on
/// input 0 or 1), `on_watermark` (event time advanced), `on_timer`
/// (processing time reached a requested timer); then `end_input` once all
/// inputs ended; then `close`. After each call the host drains the output
/// ports. `snapshot` is called at a checkpoint barrier (between calls, on
/// the host's thread); `restore` once after `open` when the job recovers;
/// `notify_checkpoint_complete` when a checkpoint the operator took part in
/// completed everywhere (sinks publish what they staged for it).
///
/// Errors: an operator throws (any std::exception) to fail its task; the
/// runtime reports the operator, instance and exception text and fails the
/// job. Bad *records* are not errors: reject them with `context().reject`.
class operator_base {
public:
  virtual ~operator_base() = default;

  virtual void open(operator_context& ctx) { ctx_ = &ctx; }
  virtual void process(size_t input, batch_base& batch) = 0;
  virtual void on_watermark(timestamp) {}
  virtual void on_timer(timestamp) {}
  virtual void end_input() {}
  virtual void close() {}

  /// Writes the operator's state for a checkpoint. Stateless operators keep
  /// the default (nothing to write).
  virtual void snapshot(state::snapshot_writer&) {}
  /// Restores state written by `snapshot` (possibly by other instances, for
  /// keyed state after a change of parallelism).
  virtual void restore(const state::snapshot_reader&) {}
  /// Checkpoint `id` completed: every operator's state for it is durable.
  virtual void notify_checkpoint_complete(uint64_t /*id*/) {}

  /// Number of output ports (0 for sinks). Port 0 is the main output.
  virtual size_t num_ports() const noexcept = 0;
  virtual output_port_base& out(size_t i) = 0;
  /// Port `i` carries late records (the runtime counts them as such, for
  /// `sluice_late_records_total`, whether the pipeline consumes them or not).
  virtual bool late_port(size_t /*i*/) const noexcept { return false; }
  /// Entries of keyed state the operator holds now: keys, or key–window
  /// pairs for windows (`sluice_state_entries`, read at each snapshot).
  virtual uint64_t state_entries() const noexcept { return 0; }

  operator_context& context() { return *ctx_; }

protected:
  operator_context* ctx_ = nullptr;
};

/// Result of polling a source.
enum class poll_status {
  more,  ///< Emitted records (or may have); poll again.
  idle,  ///< No data right now; poll again later.
  end,   ///< The source is exhausted; it will emit nothing more.
};

/// An operator without inputs that produces records when polled. Its
/// `watermark()` tells the host how far event time has progressed.
class source_base : public operator_base {
public:
  void process(size_t, batch_base&) override {}
  /// Emits up to `max_records` records to port 0.
  virtual poll_status poll(size_t max_records) = 0;
  /// The watermark after the records emitted so far.
  virtual timestamp watermark() const noexcept { return timestamp::min(); }
  /// Processing time after which an idle source is marked idle downstream so
  /// that it does not hold back event time (nullopt: never).
  virtual std::optional<duration> idle_timeout() const noexcept { return std::nullopt; }
  /// How much of this instance's input is read: (done, total) in the
  /// source's own unit (bytes of a file, records of a generator); total 0:
  /// not known (an unbounded or external source). For progress lines only.
  virtual std::pair<uint64_t, uint64_t> progress() const noexcept { return {0, 0}; }
};

}  // namespace sluice
