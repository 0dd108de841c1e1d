#pragma once

#include <span>
#include <utility>

#include "sluice/window/trigger.hpp"

namespace sluice::window {

/// Flink's `PurgingTrigger`: wraps another trigger and turns each of its
/// firings into fire-and-purge, so every result covers only the records
/// since the previous one. Its state, timers and merging are the nested
/// trigger's.
template <class Trigger>
struct purging_trigger {
  Trigger nested;

  static purging_trigger of(Trigger t) { return purging_trigger{std::move(t)}; }

  using state_type = typename Trigger::state_type;

  template <class T>
  trigger_result on_element(const T& v, timestamp ts, const time_window& w, state_type& s,
                            trigger_context& ctx) const {
    return purging(nested.on_element(v, ts, w, s, ctx));
  }
  trigger_result on_event_time(timestamp t, const time_window& w, state_type& s,
                               trigger_context& ctx) const {
    return purging(nested.on_event_time(t, w, s, ctx));
  }
  trigger_result on_processing_time(timestamp t, const time_window& w, state_type& s,
                                    trigger_context& ctx) const {
    return purging(nested.on_processing_time(t, w, s, ctx));
  }
  void clear(const time_window& w, state_type& s, trigger_context& ctx) const {
    nested.clear(w, s, ctx);
  }
  void on_merge(const time_window& w, state_type& s, std::span<const state_type> merged,
                trigger_context& ctx) const requires merging_trigger<Trigger> {
    nested.on_merge(w, s, merged, ctx);
  }

private:
  static trigger_result purging(trigger_result r) noexcept {
    return is_fire(r) ? trigger_result::fire_and_purge : r;
  }
};

}  // namespace sluice::window
