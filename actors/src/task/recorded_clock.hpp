#pragma once

#include <deque>

#include "sluice/actors/determinant_log.hpp"
#include "sluice/time.hpp"

namespace sluice::actors {

/// The processing time a task's operators read, with local recovery: live,
/// it reads the job's clock and records every value in the instance's
/// determinant log; replaying, it returns the recorded values in order (and
/// the live clock once they ran out).
class recorded_clock final : public sluice::clock {
public:
  explicit recorded_clock(const sluice::clock& base) : base_(&base) {}

  timestamp now() const override {
    if (!replay_.empty()) {
      const timestamp t = replay_.front();
      replay_.pop_front();
      return t;
    }
    const timestamp t = base_->now();
    if (log_)
      log_->read_clock(t);
    return t;
  }

  /// Records into `log` (null: records nothing).
  void record_into(determinant_log* log) noexcept { log_ = log; }
  /// The next operation reads `t` (replay).
  void replay(timestamp t) { replay_.push_back(t); }
  void clear_replay() { replay_.clear(); }

private:
  const sluice::clock* base_;
  determinant_log* log_ = nullptr;
  mutable std::deque<timestamp> replay_;
};

}  // namespace sluice::actors
