#pragma once

#include "sluice/window/window.hpp"

namespace sluice::window {

/// Session windows: records of a key at most `gap` apart fall into one window
/// [first, last + gap); windows merge as records arrive (touching windows
/// merge, as in Flink).
struct session {
  duration gap;
  time_domain domain = time_domain::event;

  static session with_gap(duration gap) {
    session s{gap, time_domain::event};
    s.validate();
    return s;
  }

  /// Throws std::invalid_argument, naming the value, unless gap > 0.
  void validate() const { check_positive("session", "gap", gap); }
};

}  // namespace sluice::window
