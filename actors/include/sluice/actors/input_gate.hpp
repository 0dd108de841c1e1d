#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "sluice/time.hpp"

namespace sluice::actors {

/// Event-time bookkeeping over a task's input channels: the task's watermark
/// is the minimum over channels that are neither idle nor ended; an ended
/// channel counts as `timestamp::max()`. Pure logic, no actors: the task feeds
/// it what arrives and asks what changed.
class input_gate {
public:
  explicit input_gate(size_t channels) : ch_(channels) {}

  size_t size() const noexcept { return ch_.size(); }

  /// A watermark arrived on channel `c`. Returns the new combined watermark
  /// if it advanced.
  std::optional<timestamp> on_watermark(size_t c, timestamp wm) {
    ch_[c].idle = false;
    if (wm > ch_[c].wm)
      ch_[c].wm = wm;
    return recompute();
  }

  /// Channel `c` became idle (or active again, with `idle` false).
  std::optional<timestamp> on_idle(size_t c, bool idle) {
    ch_[c].idle = idle;
    return recompute();
  }

  /// Data arrived on `c`: the channel is active.
  void on_data(size_t c) { ch_[c].idle = false; }

  /// Channel `c` ended. Returns the new watermark if it advanced.
  std::optional<timestamp> on_end(size_t c) {
    ch_[c].ended = true;
    ch_[c].wm = timestamp::max();
    return recompute();
  }

  bool all_ended() const noexcept {
    for (auto& c : ch_)
      if (!c.ended)
        return false;
    return true;
  }

  /// True when every channel that has not ended is idle (and at least one has not ended).
  bool all_idle() const noexcept {
    bool any_open = false;
    for (auto& c : ch_) {
      if (c.ended)
        continue;
      any_open = true;
      if (!c.idle)
        return false;
    }
    return any_open;
  }

  bool ended(size_t c) const noexcept { return ch_[c].ended; }
  timestamp watermark() const noexcept { return current_; }

private:
  struct channel {
    timestamp wm = timestamp::min();
    bool idle = false;
    bool ended = false;
  };

  std::optional<timestamp> recompute() {
    std::optional<timestamp> lo;
    for (auto& c : ch_) {
      if (c.idle && !c.ended)
        continue;
      if (!lo || c.wm < *lo)
        lo = c.wm;
    }
    if (lo && *lo > current_) {
      current_ = *lo;
      return current_;
    }
    return std::nullopt;
  }

  std::vector<channel> ch_;
  timestamp current_ = timestamp::min();
};

}  // namespace sluice::actors
