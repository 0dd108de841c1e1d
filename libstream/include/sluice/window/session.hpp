#pragma once

#include <utility>

#include "sluice/window/window.hpp"

namespace sluice::window {

/// Flink's `DynamicEventTimeSessionWindows`: event-time session windows whose
/// gap comes from each record, `duration gap_of(const T&)`. A record at `t`
/// opens [t, t + gap_of(record)) and merges every session of its key that
/// window touches, as `session` does. A gap <= 0 makes the record a dead
/// letter (Flink fails the job instead). Always runs on the trigger-capable
/// window operator (`generic_window_operator`), with the event-time trigger
/// unless `.trigger(t)` says otherwise.
template <class F>
struct dynamic_session {
  F gap_of;
  void validate() const {}
};

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

  /// Sessions whose gap is computed from each record: `f(const T&)` returns
  /// a `duration` (see `dynamic_session`).
  template <class F>
  static dynamic_session<F> with_dynamic_gap(F f) {
    return dynamic_session<F>{std::move(f)};
  }

  /// Throws std::invalid_argument, naming the value, unless gap > 0.
  void validate() const { check_positive("session", "gap", gap); }
};

}  // namespace sluice::window
