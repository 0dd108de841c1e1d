#pragma once

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <memory>

#include "sluice/time.hpp"

namespace sluice::actors {

/// The processing time of a job, injected through `runtime_config::clock`
/// (so every `deployment` and `task_spec` carries it; null means the system
/// clock). Tasks ask it for "now" when they cut batches after
/// `flush_interval`, refill a source's rate limit, decide that a source went
/// idle and fire processing-time timers; operators see it through their
/// context (it is a `sluice::clock`).
///
/// CAF's delayed messages still run on real time: a task waiting for
/// something due in `d` on this clock sleeps `recheck_after(d)` of real time
/// and then asks the clock again. So a test holding a `test_clock` decides
/// when time passes, and tasks notice within a few milliseconds.
///
/// Implementations are immutable or thread-safe: every task of the job
/// reads the clock from its own CAF worker.
class clock : public sluice::clock {
public:
  /// Real time to wait before looking again at something due in `due_in`.
  virtual duration recheck_after(duration due_in) const { return due_in; }
};

/// Wall-clock time (milliseconds since the Unix epoch).
class wall_clock final : public clock {
public:
  timestamp now() const override { return sluice::system_clock{}.now(); }
};

/// The shared wall clock.
inline std::shared_ptr<const clock> wall_clock_ptr() {
  static const auto c = std::make_shared<const wall_clock>();
  return c;
}

/// The clock of a job: `configured` when set, the wall clock otherwise.
inline std::shared_ptr<const clock> clock_or_wall(std::shared_ptr<const clock> configured) {
  return configured ? std::move(configured) : wall_clock_ptr();
}

/// A clock that moves only when a test advances it (from any thread, while
/// tasks read it on CAF workers). Tasks waiting on it look again every
/// `poll` of real time.
class test_clock final : public clock {
public:
  explicit test_clock(timestamp start = timestamp::of(0), duration poll = duration{2})
      : now_(start.ms), poll_(poll) {}

  timestamp now() const override { return timestamp::of(now_.load(std::memory_order_acquire)); }
  duration recheck_after(duration due_in) const override { return std::min(due_in, poll_); }

  void advance(duration d) { now_.fetch_add(d.count(), std::memory_order_acq_rel); }
  void set(timestamp t) { now_.store(t.ms, std::memory_order_release); }

private:
  std::atomic<int64_t> now_;
  duration poll_;
};

}  // namespace sluice::actors
