#pragma once

#include <algorithm>
#include <optional>
#include <span>

#include "sluice/window/trigger.hpp"

namespace sluice::window {

namespace detail {

/// The next early firing after one at `fired` (or after `now` when the clock
/// already passed `fired + interval`), never after the window's last
/// millisecond `last`. Saturates instead of overflowing, so a global window
/// (whose last millisecond is near the end of time) is safe.
inline timestamp next_fire(timestamp fired, duration interval, timestamp now, timestamp last) {
  timestamp next = fired + interval;
  if (next <= now) {
    // Firings the clock passed in one step would all emit the same contents
    // (nothing arrived in between): fire once, then continue from `now`.
    const int64_t phase = window_start(fired.ms, 0, interval.count()) - fired.ms;
    next = timestamp::of(window_start(now.ms, -phase, interval.count())) + interval;
  }
  return std::min(next, last);
}

/// First firing of a window whose first record came at `t`: the end of the
/// interval holding `t` (intervals aligned on 0, floor for negative times).
inline timestamp first_fire(timestamp t, duration interval, timestamp last) {
  if (t < timestamp::min() + interval)
    return last;  // no time (or none with an interval before it): only the final firing
  return std::min(timestamp::of(window_start(t.ms, 0, interval.count())) + interval, last);
}

}  // namespace detail

/// Flink's `ContinuousEventTimeTrigger`: early results every `interval` of
/// event time (at the ends of the intervals aligned on time 0), then the
/// final one when the watermark reaches the window's max timestamp; a record
/// added to a window the watermark already passed fires at once (a late
/// firing within the allowed lateness).
///
/// One difference from Flink, invisible in the results: when one watermark
/// step passes several early firing times of a window, it fires once for
/// them (Flink fires once per interval, each time with the same contents),
/// so that a global window, whose end is the end of time, finishes at the
/// final watermark.
struct continuous_event_time_trigger {
  duration interval;

  /// Throws std::invalid_argument unless interval > 0.
  static continuous_event_time_trigger of(duration interval) {
    check_positive("continuous_event_time_trigger", "interval", interval);
    return {interval};
  }

  using state_type = std::optional<timestamp>;  ///< The next early firing registered.

  template <class T>
  trigger_result on_element(const T&, timestamp ts, const time_window& w, state_type& next,
                            trigger_context& ctx) const {
    if (w.max_timestamp() <= ctx.current_watermark())
      return trigger_result::fire;
    ctx.register_event_time_timer(w.max_timestamp());
    if (!next) {
      next = detail::first_fire(ts, interval, w.max_timestamp());
      ctx.register_event_time_timer(*next);
    }
    return trigger_result::continue_;
  }
  trigger_result on_event_time(timestamp t, const time_window& w, state_type& next,
                               trigger_context& ctx) const {
    if (t == w.max_timestamp())
      return trigger_result::fire;
    if (!next || *next != t)
      return trigger_result::continue_;
    next = detail::next_fire(t, interval, ctx.current_watermark(), w.max_timestamp());
    ctx.register_event_time_timer(*next);
    return trigger_result::fire;
  }
  trigger_result on_processing_time(timestamp, const time_window&, state_type&,
                                    trigger_context&) const {
    return trigger_result::continue_;
  }
  void clear(const time_window&, state_type& next, trigger_context& ctx) const {
    if (next)
      ctx.delete_event_time_timer(*next);
    next.reset();
  }
  /// The earliest pending firing of the merged windows carries over.
  void on_merge(const time_window&, state_type& next, std::span<const state_type> merged,
                trigger_context& ctx) const {
    for (auto& m : merged)
      if (m && (!next || *m < *next))
        next = m;
    if (next)
      ctx.register_event_time_timer(*next);
  }
};

/// Flink's `ContinuousProcessingTimeTrigger`: results every `interval` of
/// processing time from a window's first record on (at the ends of intervals
/// aligned on time 0), the last one at the window's max timestamp. Like
/// Flink's, it has no final firing of its own for event-time windows and
/// does not fire at the end of the input. Several firing times passed in one
/// step of the clock fire once (see `continuous_event_time_trigger`).
struct continuous_processing_time_trigger {
  duration interval;

  /// Throws std::invalid_argument unless interval > 0.
  static continuous_processing_time_trigger of(duration interval) {
    check_positive("continuous_processing_time_trigger", "interval", interval);
    return {interval};
  }

  using state_type = std::optional<timestamp>;  ///< The next firing registered.

  template <class T>
  trigger_result on_element(const T&, timestamp, const time_window& w, state_type& next,
                            trigger_context& ctx) const {
    if (!next) {
      next = detail::first_fire(ctx.current_processing_time(), interval, w.max_timestamp());
      ctx.register_processing_time_timer(*next);
    }
    return trigger_result::continue_;
  }
  trigger_result on_event_time(timestamp, const time_window&, state_type&, trigger_context&) const {
    return trigger_result::continue_;
  }
  trigger_result on_processing_time(timestamp t, const time_window& w, state_type& next,
                                    trigger_context& ctx) const {
    if (!next || *next != t)
      return trigger_result::continue_;
    if (t >= w.max_timestamp()) {  // the last firing; the window is cleaned up now
      next.reset();
      return trigger_result::fire;
    }
    next = detail::next_fire(t, interval, ctx.current_processing_time(), w.max_timestamp());
    ctx.register_processing_time_timer(*next);
    return trigger_result::fire;
  }
  void clear(const time_window&, state_type& next, trigger_context& ctx) const {
    if (next)
      ctx.delete_processing_time_timer(*next);
    next.reset();
  }
  void on_merge(const time_window&, state_type& next, std::span<const state_type> merged,
                trigger_context& ctx) const {
    for (auto& m : merged)
      if (m && (!next || *m < *next))
        next = m;
    if (next)
      ctx.register_processing_time_timer(*next);
  }
};

}  // namespace sluice::window
