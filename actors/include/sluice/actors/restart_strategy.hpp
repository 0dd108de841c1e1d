#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "sluice/time.hpp"

namespace sluice::actors {

/// What the job coordinator does about a failure: restart the job after
/// `delay`, or give up (the job fails) for `reason`.
struct restart_decision {
  bool restart = false;
  duration delay{0};
  /// Why the strategy gave up (empty when restarting).
  std::string reason;

  static restart_decision after(duration d) { return {true, d, {}}; }
  static restart_decision give_up(std::string why) { return {false, duration{0}, std::move(why)}; }
};

/// Formats a duration in the largest unit that divides it: "2h", "1m", "30s", "250ms".
std::string format_duration(duration d);

/// Parses "<whole number><unit>" with unit ms, s, m or h ("250ms", "10s",
/// "1m", "2h"). Throws `std::invalid_argument` naming the text otherwise.
duration parse_duration(std::string_view s);

/// Decides, failure by failure, whether a failed job is restarted and after
/// what delay (DESIGN.md "Operators and tasks": none, fixed delay,
/// exponential backoff with a cap, failure rate).
///
/// Lifecycle: one instance per job, made from the job's configuration (see
/// `parse_restart_strategy`) when the job starts and kept across its
/// restarts, since it counts failures. The job coordinator calls `on_failure`
/// with the current time from its injected clock each time the job fails,
/// on the coordinator's actor thread only.
class restart_strategy {
public:
  virtual ~restart_strategy() = default;

  /// The job failed at `now`.
  virtual restart_decision on_failure(timestamp now) = 0;

  /// The configuration, in the form `parse_restart_strategy` reads back.
  virtual std::string describe() const = 0;
};

/// Never restarts: the first failure fails the job.
class no_restart final : public restart_strategy {
public:
  restart_decision on_failure(timestamp) override {
    return restart_decision::give_up("restarts are disabled (restart strategy none)");
  }
  std::string describe() const override { return "none"; }
};

/// Restarts after the same `delay`, at most `attempts` times over the life of
/// the job.
class fixed_delay final : public restart_strategy {
public:
  fixed_delay(uint32_t attempts, duration delay);

  restart_decision on_failure(timestamp) override;

  std::string describe() const override;

private:
  uint32_t attempts_;
  duration delay_;
  uint32_t used_ = 0;
};

/// Restarts after `initial`, then after a delay multiplied by `multiplier`
/// at every further failure, capped at `max`. Once the job has run for
/// `reset_after` since its last restart without failing, the delay goes back
/// to `initial` and the attempt count to zero. With `max_attempts`, gives up
/// after that many restarts since the last reset.
class exponential_backoff final : public restart_strategy {
public:
  exponential_backoff(duration initial, duration max, double multiplier, duration reset_after,
                      std::optional<uint32_t> max_attempts = std::nullopt);

  restart_decision on_failure(timestamp now) override;

  std::string describe() const override;

private:
  duration initial_;
  duration max_;
  double multiplier_;
  duration reset_after_;
  std::optional<uint32_t> max_attempts_;
  duration next_;                       ///< Delay of the next restart.
  uint32_t attempts_ = 0;               ///< Restarts since the last reset.
  std::optional<timestamp> restarted_;  ///< When the job last came back (failure + delay).
};

/// Restarts after `delay` unless more than `max_failures` failures happened
/// within the last `interval` (a sliding window ending at the failure).
class failure_rate final : public restart_strategy {
public:
  failure_rate(uint32_t max_failures, duration interval, duration delay);

  restart_decision on_failure(timestamp now) override;

  std::string describe() const override;

private:
  uint32_t max_;
  duration interval_;
  duration delay_;
  std::deque<timestamp> failures_;  ///< Failures within the window, oldest first.
};

/// Builds a restart strategy from its textual form (configuration files,
/// command lines):
///
///     none
///     fixed-delay:attempts=3,delay=1s
///     exponential:initial=100ms,max=10s[,multiplier=2][,reset=1h][,attempts=N]
///     failure-rate:max=3,interval=1m,delay=1s
///
/// Durations are whole numbers with a unit: ms, s, m, h. Optional
/// exponential parameters default to multiplier 2, reset 1h and unlimited
/// attempts. Throws `std::invalid_argument` whose message quotes the whole
/// text and names the bad part (unknown strategy or key, missing, repeated
/// or malformed value, inconsistent values).
std::unique_ptr<restart_strategy> parse_restart_strategy(std::string_view spec);

}  // namespace sluice::actors
