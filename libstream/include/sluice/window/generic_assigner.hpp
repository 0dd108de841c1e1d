#pragma once

#include <optional>
#include <string>
#include <type_traits>

#include "sluice/window/global.hpp"
#include "sluice/window/session.hpp"
#include "sluice/window/sliding.hpp"
#include "sluice/window/trigger.hpp"
#include "sluice/window/tumbling.hpp"

namespace sluice::window {

/// How `generic_window_operator` uses a window assigner: its windows for a
/// record, whether they are event-time windows (lateness, cleanup by the
/// watermark) and whether they merge (sessions). One specialization per kind;
/// count windows are `global` with a purging count trigger there.
template <class A>
struct generic_assigner;

template <class A>
concept time_assigner = std::is_same_v<A, tumbling> || std::is_same_v<A, sliding>;

template <time_assigner A>
struct generic_assigner<A> {
  static constexpr bool merging = false;
  static bool event_time(const A& a) noexcept { return a.domain == time_domain::event; }
  /// Calls `f(window)` for each window of a record at `t`; returns an error
  /// text for a record to reject, or nothing.
  template <class T, class F>
  static std::optional<std::string> assign(const A& a, const T&, int64_t t, F&& f) {
    a.assign(t, f);
    return std::nullopt;
  }
};

template <>
struct generic_assigner<session> {
  static constexpr bool merging = true;
  static bool event_time(const session& a) noexcept { return a.domain == time_domain::event; }
  template <class T, class F>
  static std::optional<std::string> assign(const session& a, const T&, int64_t t, F&& f) {
    f(time_window{t, (timestamp::of(t) + a.gap).ms});
    return std::nullopt;
  }
};

template <class G>
struct generic_assigner<dynamic_session<G>> {
  static constexpr bool merging = true;
  static bool event_time(const dynamic_session<G>&) noexcept { return true; }
  template <class T, class F>
  static std::optional<std::string> assign(const dynamic_session<G>& a, const T& v, int64_t t,
                                           F&& f) {
    const duration gap = a.gap_of(v);
    if (gap.count() <= 0)
      return "dynamic session gap must be positive, got " + std::to_string(gap.count()) + " ms";
    f(time_window{t, (timestamp::of(t) + gap).ms});
    return std::nullopt;
  }
};

template <>
struct generic_assigner<global> {
  static constexpr bool merging = false;
  static bool event_time(const global&) noexcept { return false; }
  template <class T, class F>
  static std::optional<std::string> assign(const global&, const T&, int64_t, F&& f) {
    f(global::window());
    return std::nullopt;
  }
};

/// The trigger a window of kind `A` has when none is given.
template <class A>
default_trigger default_trigger_of(const A& a) {
  return default_trigger{generic_assigner<A>::event_time(a) ? time_domain::event
                                                            : time_domain::processing};
}

}  // namespace sluice::window
