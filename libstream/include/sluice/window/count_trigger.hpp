#pragma once

#include <cstdint>
#include <span>
#include <stdexcept>

#include "sluice/window/trigger.hpp"

namespace sluice::window {

/// Flink's `CountTrigger`: fires a (key, window) every `n` records added to
/// it. It replaces the window's default trigger, so on its own it does not
/// fire at the end of an event-time window (the window is still cleaned up
/// there, after its allowed lateness); wrap it in `purging_trigger` to start
/// each count afresh (Flink's count windows are `global` + purging count).
struct count_trigger {
  uint64_t n = 1;

  /// Throws std::invalid_argument unless n >= 1.
  static count_trigger of(uint64_t n) {
    if (n == 0)
      throw std::invalid_argument("count_trigger needs a count of at least 1");
    return count_trigger{n};
  }

  using state_type = uint64_t;  ///< Records counted since the last firing.

  template <class T>
  trigger_result on_element(const T&, timestamp, const time_window&, state_type& count,
                            trigger_context&) const {
    if (++count >= n) {
      count = 0;
      return trigger_result::fire;
    }
    return trigger_result::continue_;
  }
  trigger_result on_event_time(timestamp, const time_window&, state_type&, trigger_context&) const {
    return trigger_result::continue_;
  }
  trigger_result on_processing_time(timestamp, const time_window&, state_type&,
                                    trigger_context&) const {
    return trigger_result::continue_;
  }
  void clear(const time_window&, state_type& count, trigger_context&) const { count = 0; }
  /// Counts of merged windows add up.
  void on_merge(const time_window&, state_type& count, std::span<const state_type> merged,
                trigger_context&) const {
    for (auto c : merged)
      count += c;
  }
};

}  // namespace sluice::window
