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
    check_positive(gap);
    return {gap, time_domain::event};
  }
};

}  // namespace sluice::window
