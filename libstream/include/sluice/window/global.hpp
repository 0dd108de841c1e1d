#pragma once

#include <limits>

#include "sluice/window/window.hpp"

namespace sluice::window {

/// Flink's `GlobalWindows`: one window per key that spans all of time and
/// never ends. It has no default trigger, so a global window needs one
/// (`.trigger(t)`): without it, it would never fire (Flink's default
/// `NeverTrigger`), so Sluice refuses to build it. It is not an event-time
/// window: no record is late for it and its state is never cleaned up (a
/// purging trigger keeps it small). Results carry `global::window()` and are
/// stamped with its max timestamp.
struct global {
  /// The one window: [min, max) of the int64 milliseconds.
  static constexpr time_window window() noexcept {
    return time_window{std::numeric_limits<int64_t>::min(), std::numeric_limits<int64_t>::max()};
  }
  void validate() const {}
};

}  // namespace sluice::window
