#pragma once

// Included by keyed_stream.hpp: the handle between `.window(w)` and the
// window's aggregation.

#include <memory>
#include <stdexcept>
#include <type_traits>
#include <utility>

#include "sluice/keyed_stream.hpp"
#include "sluice/window/count.hpp"
#include "sluice/window/evictor.hpp"
#include "sluice/window/generic_window_operator.hpp"
#include "sluice/window/global.hpp"
#include "sluice/window/session.hpp"
#include "sluice/window/trigger.hpp"
#include "sluice/window/tumbling.hpp"

namespace sluice {

namespace detail {
template <class A>
struct is_dynamic_session : std::false_type {};
template <class F>
struct is_dynamic_session<window::dynamic_session<F>> : std::true_type {};
}  // namespace detail

/// A keyed stream cut into windows, waiting for its aggregation. `Trigger`
/// and `Evictor` are `window::no_trigger` / `window::no_evictor` until
/// `.trigger(t)` / `.evictor(e)` set them.
///
/// Without a trigger or evictor, tumbling, sliding, session and count
/// windows run on their own fast operators. With either, and always for
/// global windows and dynamic-gap sessions, the window runs on
/// `window::generic_window_operator` (Flink's WindowOperator semantics: see
/// docs/joins-and-timers.md, "Triggers, evictors and global windows").
template <class T, class K, class Assigner, class Trigger, class Evictor>
class windowed_stream {
  using KeyFn = key_selector<T, K>;
  static constexpr bool custom =
      !std::is_same_v<Trigger, window::no_trigger> || !std::is_same_v<Evictor, window::no_evictor>;

public:
  windowed_stream(keyed_stream<T, K> in, Assigner a)
      : in_(std::move(in)), assigner_(std::move(a)) {}
  /// All settings at once (what `trigger` and `evictor` build).
  windowed_stream(keyed_stream<T, K> in, Assigner a, Trigger t, Evictor e, duration lateness)
      : in_(std::move(in)),
        assigner_(std::move(a)),
        trigger_(std::move(t)),
        evictor_(std::move(e)),
        lateness_(lateness) {}

  /// Keeps window state for `d` after the watermark passed a window's end;
  /// each late record within that bound is added and handed to the trigger
  /// (the default trigger fires the window again).
  windowed_stream& allowed_lateness(duration d) {
    lateness_ = d;
    return *this;
  }

  /// Replaces the window's default trigger (Flink's `trigger`): `t` decides
  /// when a (key, window) emits and purges — `window::count_trigger`,
  /// `continuous_event_time_trigger`, `continuous_processing_time_trigger`,
  /// `purging_trigger`, `event_time_trigger`, `processing_time_trigger`, or
  /// a user type with the interface described in window/trigger.hpp.
  template <class Tr>
  windowed_stream<T, K, Assigner, Tr, Evictor> trigger(Tr t) const {
    return {in_, assigner_, std::move(t), evictor_, lateness_};
  }

  /// Removes records from a window when it fires, before or after the
  /// aggregation (Flink's `evictor`): `window::count_evictor`,
  /// `window::time_evictor`, or a user type (window/evictor.hpp). The window
  /// then keeps its records rather than an accumulator.
  template <class Ev>
  windowed_stream<T, K, Assigner, Trigger, Ev> evictor(Ev e) const {
    return {in_, assigner_, trigger_, std::move(e), lateness_};
  }

  /// Incremental aggregation with an aggregate function: a type with
  /// `acc_type`, `create()`, `add(acc&, const T&)`, `result(const acc&)` and,
  /// for session windows, `merge(acc&, acc&&)`. With an evictor the function
  /// runs over the records left in the window at each firing.
  template <class Agg>
  auto aggregate(Agg agg) {
    if constexpr (std::is_same_v<Assigner, window::assigner>)  // the operator of the kind it holds
      return assigner_.visit([&](const auto& a) { return build<true>(a, std::move(agg)); });
    else
      return build<false>(assigner_, std::move(agg));
  }

  /// Reduces each window with `T f(T, T)`.
  template <class F>
  auto reduce(F f) {
    return aggregate(window::reduce_aggregate<T, F>{std::move(f)});
  }

private:
  template <class A>
  static constexpr bool needs_generic =
      custom || std::is_same_v<A, window::global> || detail::is_dynamic_session<A>::value;

  /// The window operator node for assigner `a`. `AnyKind`: the assigner was
  /// chosen at run time, so the output has late records whatever the kind
  /// (a count window's stay empty).
  template <bool AnyKind, class A, class Agg>
  auto build(const A& a, Agg agg) {
    if constexpr (requires { a.validate(); })
      a.validate();  // also an assigner built field by field
    using R = window::aggregate_result_t<Agg>;
    using Out = window::window_result<K, R>;
    auto key = in_.key();
    auto lateness = lateness_;
    if constexpr (std::is_same_v<A, window::count> && custom) {
      static_assert(AnyKind,
                    "count windows have their own trigger: for other triggers or evictors over "
                    "counts use window::global{} with .trigger(window::purging_trigger::of("
                    "window::count_trigger::of(n)))");
      throw std::invalid_argument(
          "count windows take no trigger or evictor: use window::global{} with a count trigger");
      return build_generic(window::tumbling{duration{1}}, std::move(agg));  // not reached
    } else if constexpr (needs_generic<A>) {
      return build_generic(a, std::move(agg));
    } else if constexpr (std::is_same_v<A, window::count>) {
      return window_output<Out, T, AnyKind>{in_.template keyed<Out>(
          "count_window",
          [key, a, agg] {
            return std::make_unique<window::count_window_operator<T, K, KeyFn, Agg>>(key, a, agg,
                                                                                     AnyKind);
          },
          AnyKind ? 2 : 1)};
    } else if constexpr (std::is_same_v<A, window::session>) {
      return window_output<Out, T>{in_.template keyed<Out>(
          "session_window",
          [key, a, agg, lateness] {
            return std::make_unique<window::session_window_operator<T, K, KeyFn, Agg>>(key, a, agg,
                                                                                       lateness);
          },
          2)};
    } else {
      using op = window::time_window_operator<T, K, KeyFn, A, Agg>;
      return window_output<Out, T>{in_.template keyed<Out>(
          "window", [key, a, agg, lateness] { return std::make_unique<op>(key, a, agg, lateness); },
          op::ports)};
    }
  }

  /// The trigger-capable operator for assigner `a`, with the window's
  /// default trigger when none was given.
  template <class A, class Agg>
  auto build_generic(const A& a, Agg agg) {
    static_assert(
        !std::is_same_v<A, window::global> || !std::is_same_v<Trigger, window::no_trigger>,
        "a global window never fires without a trigger: give it one with .trigger(t), "
        "e.g. window::purging_trigger::of(window::count_trigger::of(n))");
    using R = window::aggregate_result_t<Agg>;
    using Out = window::window_result<K, R>;
    if constexpr (std::is_same_v<Trigger, window::no_trigger>)
      return make_generic<Out>(a, window::default_trigger_of(a), std::move(agg));
    else
      return make_generic<Out>(a, trigger_, std::move(agg));
  }

  template <class Out, class A, class Tr, class Agg>
  auto make_generic(const A& a, Tr tr, Agg agg) {
    using op = window::generic_window_operator<T, K, KeyFn, A, Tr, Evictor, Agg>;
    return window_output<Out, T>{in_.template keyed<Out>(
        "triggered_window",
        [key = in_.key(), a, tr, ev = evictor_, agg, lateness = lateness_] {
          return std::make_unique<op>(key, a, tr, ev, agg, lateness);
        },
        3)};
  }

  keyed_stream<T, K> in_;
  Assigner assigner_;
  Trigger trigger_{};
  Evictor evictor_{};
  duration lateness_{0};
};

}  // namespace sluice
