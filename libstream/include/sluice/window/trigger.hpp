#pragma once

#include <cstdint>
#include <span>

#include "sluice/state/codec.hpp"
#include "sluice/time.hpp"
#include "sluice/window/window.hpp"

namespace sluice::window {

/// What a trigger decides for one (key, window), as Flink's `TriggerResult`.
enum class trigger_result : uint8_t {
  continue_,       ///< Nothing happens ("continue" is a C++ keyword).
  fire,            ///< Emits the window's result; the window keeps its contents.
  purge,           ///< Drops the window's contents without emitting.
  fire_and_purge,  ///< Emits the result, then drops the contents.
};

constexpr bool is_fire(trigger_result r) noexcept {
  return r == trigger_result::fire || r == trigger_result::fire_and_purge;
}
constexpr bool is_purge(trigger_result r) noexcept {
  return r == trigger_result::purge || r == trigger_result::fire_and_purge;
}

/// What a trigger may do besides deciding, as Flink's `Trigger.TriggerContext`:
/// read the clocks and register or delete timers of the current (key, window).
/// Timers are deduplicated per (key, window, time) and domain and are
/// checkpointed with the key; when one is due, the operator calls the
/// trigger's `on_event_time` / `on_processing_time` for its window. Event-time
/// timers fire when the watermark reaches them (all of them at the end of the
/// input), processing-time timers when the job clock reaches them (pending
/// ones do not fire at the end of the input, as in Flink).
///
/// Implemented by the window operator; valid only during the call it is
/// passed to, on the operator's thread.
class trigger_context {
public:
  virtual ~trigger_context() = default;
  virtual timestamp current_watermark() const = 0;
  virtual timestamp current_processing_time() const = 0;
  virtual void register_event_time_timer(timestamp t) = 0;
  virtual void delete_event_time_timer(timestamp t) = 0;
  virtual void register_processing_time_timer(timestamp t) = 0;
  virtual void delete_processing_time_timer(timestamp t) = 0;
};

/// The state of a trigger that keeps none; encodes to nothing.
struct no_trigger_state {
  friend bool operator==(no_trigger_state, no_trigger_state) = default;
};
inline void sluice_encode(state::writer&, const no_trigger_state&) {}
inline void sluice_decode(state::reader&, no_trigger_state&) {}

// -- The trigger interface ------------------------------------------------------
//
// A trigger decides when a window emits (Flink's `Trigger`). Any type with
// these members, all `const` (a trigger is shared by every key and window;
// what it remembers lives in `state_type`):
//
//   using state_type = S;  // per (key, window); default-constructed for a new
//                          // window; needs a codec (state/codec.hpp) when the
//                          // job checkpoints
//   template <class T>
//   trigger_result on_element(const T& value, timestamp ts, const time_window& w,
//                             S& s, trigger_context& ctx) const;
//   trigger_result on_event_time(timestamp t, const time_window& w, S& s,
//                                trigger_context& ctx) const;
//   trigger_result on_processing_time(timestamp t, const time_window& w, S& s,
//                                     trigger_context& ctx) const;
//   void clear(const time_window& w, S& s, trigger_context& ctx) const;
//   // only for merging windows (sessions): `w` is the merged window, `s` its
//   // fresh state, `merged` the states of the windows merged into it
//   void on_merge(const time_window& w, S& s, std::span<const S> merged,
//                 trigger_context& ctx) const;
//
// `on_element` is called after the record was added to `w`; `on_event_time` /
// `on_processing_time` when a timer the trigger registered for `w` is due;
// `clear` when the window is cleaned up (delete the timers registered, the
// state is dropped afterwards). The window operator cleans an event-time
// window up at `w.max_timestamp() + allowed lateness` and a processing-time
// one at `w.max_timestamp()`; global windows are never cleaned up.

/// Flink's `EventTimeTrigger`, the default of event-time windows: fires once
/// the watermark reaches the window's max timestamp, and at once for each
/// record added to a window the watermark already passed (a late firing
/// within the allowed lateness).
struct event_time_trigger {
  using state_type = no_trigger_state;

  template <class T>
  trigger_result on_element(const T&, timestamp, const time_window& w, state_type&,
                            trigger_context& ctx) const {
    if (w.max_timestamp() <= ctx.current_watermark())
      return trigger_result::fire;
    ctx.register_event_time_timer(w.max_timestamp());
    return trigger_result::continue_;
  }
  trigger_result on_event_time(timestamp t, const time_window& w, state_type&,
                               trigger_context&) const {
    return t == w.max_timestamp() ? trigger_result::fire : trigger_result::continue_;
  }
  trigger_result on_processing_time(timestamp, const time_window&, state_type&,
                                    trigger_context&) const {
    return trigger_result::continue_;
  }
  void clear(const time_window& w, state_type&, trigger_context& ctx) const {
    ctx.delete_event_time_timer(w.max_timestamp());
  }
  void on_merge(const time_window& w, state_type&, std::span<const state_type>,
                trigger_context& ctx) const {
    if (w.max_timestamp() > ctx.current_watermark())
      ctx.register_event_time_timer(w.max_timestamp());
  }
};

/// Flink's `ProcessingTimeTrigger`, the default of processing-time windows:
/// fires when the job clock reaches the window's max timestamp.
struct processing_time_trigger {
  using state_type = no_trigger_state;

  template <class T>
  trigger_result on_element(const T&, timestamp, const time_window& w, state_type&,
                            trigger_context& ctx) const {
    ctx.register_processing_time_timer(w.max_timestamp());
    return trigger_result::continue_;
  }
  trigger_result on_event_time(timestamp, const time_window&, state_type&, trigger_context&) const {
    return trigger_result::continue_;
  }
  trigger_result on_processing_time(timestamp, const time_window&, state_type&,
                                    trigger_context&) const {
    return trigger_result::fire;
  }
  void clear(const time_window& w, state_type&, trigger_context& ctx) const {
    ctx.delete_processing_time_timer(w.max_timestamp());
  }
  void on_merge(const time_window& w, state_type&, std::span<const state_type>,
                trigger_context& ctx) const {
    if (w.max_timestamp() > ctx.current_processing_time())
      ctx.register_processing_time_timer(w.max_timestamp());
  }
};

/// The trigger of a time window without `.trigger(t)`: the event-time or the
/// processing-time trigger, by the window's domain (chosen when the window
/// is built, so it is a value, not a type).
struct default_trigger {
  time_domain domain = time_domain::event;
  using state_type = no_trigger_state;

  template <class T>
  trigger_result on_element(const T& v, timestamp ts, const time_window& w, state_type& s,
                            trigger_context& ctx) const {
    return domain == time_domain::event ? event_time_trigger{}.on_element(v, ts, w, s, ctx)
                                        : processing_time_trigger{}.on_element(v, ts, w, s, ctx);
  }
  trigger_result on_event_time(timestamp t, const time_window& w, state_type& s,
                               trigger_context& ctx) const {
    return domain == time_domain::event ? event_time_trigger{}.on_event_time(t, w, s, ctx)
                                        : processing_time_trigger{}.on_event_time(t, w, s, ctx);
  }
  trigger_result on_processing_time(timestamp t, const time_window& w, state_type& s,
                                    trigger_context& ctx) const {
    return domain == time_domain::event
               ? event_time_trigger{}.on_processing_time(t, w, s, ctx)
               : processing_time_trigger{}.on_processing_time(t, w, s, ctx);
  }
  void clear(const time_window& w, state_type& s, trigger_context& ctx) const {
    domain == time_domain::event ? event_time_trigger{}.clear(w, s, ctx)
                                 : processing_time_trigger{}.clear(w, s, ctx);
  }
  void on_merge(const time_window& w, state_type& s, std::span<const state_type> m,
                trigger_context& ctx) const {
    domain == time_domain::event ? event_time_trigger{}.on_merge(w, s, m, ctx)
                                 : processing_time_trigger{}.on_merge(w, s, m, ctx);
  }
};

/// Stands for "no trigger given" in `windowed_stream`: the window keeps its
/// default trigger (and its fast operator when no evictor is given either).
struct no_trigger {};

/// True if `Tr` can be used with merging (session) windows.
template <class Tr>
concept merging_trigger = requires(const Tr& t, const time_window& w, typename Tr::state_type& s,
                                   trigger_context& c) {
  t.on_merge(w, s, std::span<const typename Tr::state_type>{}, c);
};

}  // namespace sluice::window
