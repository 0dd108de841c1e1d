#pragma once

#include "sluice/window/window.hpp"

namespace sluice::window {

/// Session windows: records of a key closer than `gap` to each other fall into
/// one window [first, last + gap); windows merge as records arrive.
struct session {
  duration gap;
  time_domain domain = time_domain::event;

  static session with_gap(duration gap) { return {gap, time_domain::event}; }
};

}  // namespace sluice::window
