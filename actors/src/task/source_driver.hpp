#pragma once

#include <cstdint>
#include <optional>

#include "sluice/operator.hpp"
#include "sluice/time.hpp"
#include "task/operator_chain.hpp"
#include "task/output_side.hpp"

namespace sluice::actors {

/// Replay speed-up: event time runs `speedup` times faster than the clock
/// (0: as fast as possible), measured by the source's watermark from
/// `origin` (the event time of the clock at the start; none: the first
/// watermark the instance declares).
struct replay_pacing {
  double speedup = 0;
  std::optional<timestamp> origin;
};

/// Drives the source at the head of a task's chain: polls it in batches,
/// keeps its rate limit (a token bucket refilled from the clock) and its
/// replay speed-up (event time paced against the clock by the source's
/// watermark), forwards the watermarks it declares, and marks the task's outputs idle after the
/// source's idle timeout without records (active again on the next record).
///
/// The host decides when to call `poll` (it schedules itself as `poll`
/// says); this part decides what a poll does. No actors: time is the `now`
/// passed in, so tests drive it with a manual clock. One task's thread.
class source_driver {
public:
  /// What the host does after a poll.
  struct next {
    enum class kind {
      poll_again,  ///< Poll again after `delay` (0: right away).
      blocked,     ///< Output is backpressured: poll again once credits return.
      ended,       ///< The source is exhausted: end the task's input.
    };
    kind k = kind::poll_again;
    duration delay{0};
  };

  using pacing = replay_pacing;

  /// `rate`: records per second for this instance (0: unlimited);
  /// `batch_size`: most records one poll asks for; `restored`: the source
  /// was restored from a checkpoint (pacing resumes at its watermark).
  source_driver(source_base& src, operator_chain& chain, output_side& out, double rate,
                uint32_t batch_size, timestamp now, pacing pace = {}, bool restored = false);

  /// Polls once at time `now` (unless backpressure or the rate limit say
  /// wait), moving what the source emitted down the chain.
  next poll(timestamp now);

  /// The outputs were marked idle.
  bool idle() const noexcept { return idle_; }

  /// Idle sources are polled this often.
  static constexpr duration idle_poll_interval{5};
  /// A paced (speed-up) source asks for about this much clock time's worth
  /// of records per poll.
  static constexpr int64_t pacing_quantum_ms = 10;

private:
  source_base& src_;
  operator_chain& chain_;
  output_side& out_;
  size_t paced_budget() const;

  double rate_;
  pacing pace_;
  uint32_t batch_size_;
  double tokens_ = 0;
  timestamp last_refill_;
  timestamp source_wm_ = timestamp::min();
  std::optional<timestamp> idle_since_;
  bool idle_ = false;
  // Pacing: event time `anchor_wm_` is due at `anchor_clock_`; the density
  // of the data is measured from the first watermark on.
  std::optional<timestamp> anchor_wm_;
  timestamp anchor_clock_;
  bool density_known_ = false;
  timestamp density_wm_;
  uint64_t density_records_ = 0;
};

}  // namespace sluice::actors
