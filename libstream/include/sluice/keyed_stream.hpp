#pragma once

// Included by stream.hpp: keyed, windowed and connected stream handles.

#include <stdexcept>
#include <tuple>
#include <type_traits>
#include <utility>

#include "sluice/key_selector.hpp"
#include "sluice/ops/broadcast_process.hpp"
#include "sluice/ops/interval_join.hpp"
#include "sluice/process_context.hpp"
#include "sluice/stream.hpp"
#include "sluice/window/assigner.hpp"
#include "sluice/window/count.hpp"
#include "sluice/window/evictor.hpp"
#include "sluice/window/session.hpp"
#include "sluice/window/trigger.hpp"

namespace sluice {

template <class T, class K, class Assigner, class Trigger = window::no_trigger,
          class Evictor = window::no_evictor>
class windowed_stream;

/// Base of the operator outputs with more than one port (windows, process
/// functions with side outputs, joins): the main stream whose settings keep
/// the handle's own type, so `.name(...).late_records()` and the like still
/// reach the other ports.
template <class Self, class Out>
class multi_port_output : public stream<Out> {
public:
  using stream<Out>::stream;
  explicit multi_port_output(stream<Out> s) : stream<Out>(std::move(s)) {}

  Self& name(std::string n) {
    stream<Out>::name(std::move(n));
    return self();
  }
  Self& uid(std::string u) {
    stream<Out>::uid(std::move(u));
    return self();
  }
  Self& parallelism(uint32_t n) {
    stream<Out>::parallelism(n);
    return self();
  }
  Self& start_new_chain() {
    stream<Out>::start_new_chain();
    return self();
  }

protected:
  /// The records of output port `port` (> 0) of this operator.
  template <class X>
  stream<X> port_stream(uint32_t port) const {
    return stream<X>{&this->owner(), this->node_id(), port, partitioning::rebalance};
  }

private:
  Self& self() { return static_cast<Self&>(*this); }
};

/// The output of a window operator: the results, plus the records that
/// arrived too late for any window (after watermark passed window end +
/// allowed lateness). Late records are never silently dropped: consume them
/// with `late_records()`, or they are counted in the job summary.
/// `HasLate` is false for count windows: no record is late for them, and
/// their operator has no late-records port.
template <class R, class T, bool HasLate = true>
class window_output : public multi_port_output<window_output<R, T, HasLate>, R> {
  using base = multi_port_output<window_output<R, T, HasLate>, R>;

public:
  using base::base;
  stream<T> late_records() const {
    static_assert(HasLate,
                  "count windows have no event-time lateness: late_records() is only for time and "
                  "session windows");
    return this->template port_stream<T>(1);
  }
};

/// The output of a keyed process function: its main stream, plus the side
/// outputs declared with it (`side_output(tag)`). Side-output records that no
/// stream reads are counted in the job summary as unconsumed.
template <class Out, class... Ts>
class process_output : public multi_port_output<process_output<Out, Ts...>, Out> {
public:
  process_output(stream<Out> s, std::tuple<output_tag<Ts>...> tags)
      : multi_port_output<process_output, Out>(std::move(s)), tags_(std::move(tags)) {}

  /// The records written to side output `tag`.
  template <class U>
  stream<U> side_output(const output_tag<U>& tag) const {
    uint32_t port = 0;
    find_port(tag.id(), port, std::index_sequence_for<Ts...>{});
    if (port == 0)
      throw std::invalid_argument("side_output: '" + tag.name() +
                                  "' was not declared with this process function");
    return this->template port_stream<U>(port);
  }

private:
  template <size_t... I>
  void find_port(const void* id, uint32_t& port, std::index_sequence<I...>) const {
    ((std::get<I>(tags_).id() == id ? (port = static_cast<uint32_t>(I + 1), 0) : 0), ...);
  }

  std::tuple<output_tag<Ts>...> tags_;
};

template <class T>
template <class Out, class F, class... Tags>
auto stream<T>::process(F f, Tags... tags) {
  using O = detail::given_or_t<Out, collector_type_t<F>>;
  static_assert(!std::is_void_v<O>,
                "process: the output type cannot be deduced from f (a generic lambda?): take a "
                "sluice::collector<Out>&, or name it: process<Out>(f, tags...)");
  static_assert((detail::is_output_tag_v<Tags> && ...),
                "process: after f only sluice::output_tag<T> values may follow");
  if constexpr (!std::is_void_v<O>) {
    static_assert(std::is_invocable_v<F&, T&&, process_context<no_key>&, collector<O>&>,
                  "process: f must be callable as f(T, sluice::process_context<sluice::no_key>&, "
                  "sluice::collector<Out>&)");
    using op_t = ops::process_operator<T, O, F, typename Tags::value_type...>;
    auto tags_tuple = std::make_tuple(tags...);
    auto s = then<O>(
        "process", [f, tags_tuple] { return std::make_unique<op_t>(f, tags_tuple); },
        1 + sizeof...(Tags));
    if constexpr (sizeof...(Tags) == 0)
      return s;
    else
      return process_output<O, typename Tags::value_type...>{std::move(s), tags_tuple};
  }
}

template <class A, class B, class K>
class connected_streams;
template <class A, class B, class K>
class interval_join_builder;
template <class V>
struct change;
template <class A, class V, class K, bool Lookup>
class table_join_builder;
template <class T, class K, class R>
class broadcast_connected;

/// A stream partitioned by key: keyed state and windows are per key. Its type
/// names the record and key types only, like Flink's `KeyedStream<T, KEY>`,
/// so it can appear in a signature or a member; the key function is kept
/// type-erased for the operators the plan makes (`key_selector`) and bound
/// concretely into the hash partitioner when `key_by` is called.
template <class T, class K>
class keyed_stream {
  using KeyFn = key_selector<T, K>;

public:
  /// `key(const T&)` returns the key (a `K`).
  template <class F>
  keyed_stream(stream<T> in, F key)
      : in_(std::move(in)), partition_(make_partitioner_factory<T>(key)), key_(std::move(key)) {}

  /// Reduce per key with `T f(T, T)`. By default emits the new value after
  /// each record (continuous); `emit_policy::every(d)` emits changed keys
  /// every `d` of processing time (micro-batch), `emit_policy::at_end()` emits
  /// each key's final value when the input ends.
  template <class F>
  stream<T> reduce(F f, ops::emit_policy policy = {}) {
    return keyed<T>("reduce", [key = key_, f, policy] {
      return std::make_unique<ops::reduce_operator<T, K, KeyFn, F>>(key, f, policy);
    });
  }

  /// Running aggregate per key with an aggregate function (`acc_type`,
  /// `create()`, `add(acc&, const T&)`, `result(const acc&)`); emits
  /// `std::pair<K, R>` according to the emit policy.
  template <class Agg>
  auto aggregate(Agg agg, ops::emit_policy policy = {}) {
    using Out = std::pair<K, window::aggregate_result_t<Agg>>;
    return keyed<Out>("aggregate", [key = key_, agg, policy] {
      return std::make_unique<ops::aggregate_operator<T, K, KeyFn, Agg>>(key, agg, policy);
    });
  }

  /// Per-key processing with user state `S`:
  /// `void f(const K&, T, S&, collector<Out>&)`, or with a context for timers
  /// and side outputs `void f(const K&, T, S&, process_context<K>&,
  /// collector<Out>&)`. Optional after `f`: `on_timer(const K&, timestamp, S&,
  /// process_context<K>&, collector<Out>&)`, called for each timer due, and
  /// the `output_tag`s of the side outputs the functions write (read them with
  /// `.side_output(tag)` on the result). `S` and `Out` are deduced from `f`'s
  /// parameters; a generic lambda names them: `process<S, Out>(f, ...)`.
  template <class S = detail::deduced, class Out = detail::deduced, class F, class... Rest>
  auto process(F f, Rest... rest) {
    using Args = typename detail::callable_args<F>::type;
    using St = detail::given_or_t<S, typename detail::nth_arg<2, Args>::type>;
    using O = detail::given_or_t<Out, collector_type_t<F>>;
    static_assert(!std::is_void_v<St> && !std::is_void_v<O>,
                  "keyed process: the state and output types cannot be deduced from f (a generic "
                  "lambda?): write f(const K&, T, S&, sluice::collector<Out>&), or name them: "
                  "process<S, Out>(f)");
    if constexpr (!std::is_void_v<St> && !std::is_void_v<O>) {
      if constexpr (sizeof...(Rest) == 0)
        return make_process<St, O>(std::move(f), ops::no_timer_fn{});
      else if constexpr (!detail::is_output_tag_v<detail::first_t<Rest...>>)
        return with_timer<St, O>(std::move(f), std::move(rest)...);
      else
        return make_process<St, O>(std::move(f), ops::no_timer_fn{}, std::move(rest)...);
    }
  }

  /// Groups each key's records into windows (tumbling, sliding, session, count,
  /// or a `window::assigner` holding one of them, chosen at run time).
  template <class Assigner>
  windowed_stream<T, K, Assigner> window(Assigner a) {
    return {*this, std::move(a)};
  }

  /// Connects with another keyed stream (same key type) for a two-input
  /// keyed operator such as stream-table enrichment.
  template <class B>
  connected_streams<T, B, K> connect(keyed_stream<B, K> other) {
    return {*this, std::move(other)};
  }

  /// Joins with another keyed stream (same key type) by event time: each
  /// record `a` of this stream meets the records `b` of `other` with
  /// `a.ts + lower <= b.ts <= a.ts + upper` — `.between(lower, upper)`, then
  /// `.process(f)`. See `interval_join_builder`.
  template <class B>
  interval_join_builder<T, B, K> interval_join(keyed_stream<B, K> other) {
    return {*this, std::move(other)};
  }

  /// Connects a low-volume stream of rules, thresholds or model parameters,
  /// sent to every instance, whose records update broadcast state that
  /// every instance sees alike: `.process(on_record, on_broadcast)`. See
  /// `broadcast_connected::process` and `broadcast_order`.
  template <class R>
  broadcast_connected<T, K, R> connect_broadcast(const stream<R>& rules,
                                                 broadcast_order order = broadcast_order::arrival);

  /// Joins each record with the version of its key's row valid at the
  /// record's event time, in the table the changelog `table` (upserts and
  /// deletes of `V`, keyed like this stream) describes — Flink's event-time
  /// temporal join: `.process(f(const T&, const V* row, collector<Out>&))`.
  /// Records wait until the watermark passes their time. See
  /// `ops::temporal_join_operator`.
  template <class V>
  table_join_builder<T, V, K, false> temporal_join(keyed_stream<change<V>, K> table);

  /// Joins each record at once with the latest row of its key that has
  /// arrived on `table` (a lookup join: processing-time semantics, no
  /// waiting). See `ops::lookup_join_operator`.
  template <class V>
  table_join_builder<T, V, K, true> lookup_join(keyed_stream<change<V>, K> table);

  template <class Out, class Make>
  stream<Out> keyed(std::string kind, Make make, uint32_t num_ports = 1) {
    return in_.template then<Out>(std::move(kind), std::move(make), num_ports, partitioning::hash,
                                  partition_);
  }

  const KeyFn& key() const noexcept { return key_; }
  const stream<T>& input() const noexcept { return in_; }
  /// The hash partitioner of edges into this stream's keyed operators.
  const partitioner_factory& partitioner() const noexcept { return partition_; }

private:
  template <class St, class O, class F, class TimerF, class... Tags>
  auto with_timer(F f, TimerF on_timer, Tags... tags) {
    static_assert(
        std::is_invocable_v<TimerF&, const K&, timestamp, St&, process_context<K>&, collector<O>&>,
        "keyed process: on_timer must be callable as on_timer(const K&, sluice::timestamp, S&, "
        "sluice::process_context<K>&, sluice::collector<Out>&)");
    return make_process<St, O>(std::move(f), std::move(on_timer), std::move(tags)...);
  }

  template <class St, class O, class F, class TimerF, class... Tags>
  auto make_process(F f, TimerF on_timer, Tags... tags) {
    static_assert((detail::is_output_tag_v<Tags> && ...),
                  "keyed process: after f (and on_timer) only sluice::output_tag<T> values may "
                  "follow");
    static_assert(
        std::is_invocable_v<F&, const K&, T&&, St&, collector<O>&> ||
            std::is_invocable_v<F&, const K&, T&&, St&, process_context<K>&, collector<O>&>,
        "keyed process: f must be callable as f(const K&, T, S&, collector<Out>&) or "
        "f(const K&, T, S&, process_context<K>&, collector<Out>&)");
    using op_t =
        ops::keyed_process_operator<T, K, St, O, KeyFn, F, TimerF, typename Tags::value_type...>;
    auto tags_tuple = std::make_tuple(tags...);
    auto s = keyed<O>(
        "keyed_process",
        [key = key_, f, on_timer, tags_tuple] {
          return std::make_unique<op_t>(key, f, on_timer, tags_tuple);
        },
        1 + sizeof...(Tags));
    if constexpr (sizeof...(Tags) == 0)
      return s;  // no side outputs: a plain stream<Out>
    else
      return process_output<O, typename Tags::value_type...>{std::move(s), tags_tuple};
  }

  stream<T> in_;
  partitioner_factory partition_;
  KeyFn key_;
};

/// Two keyed streams with the same key type, processed together.
template <class A, class B, class K>
class connected_streams {
  using KeyA = key_selector<A, K>;
  using KeyB = key_selector<B, K>;

public:
  connected_streams(keyed_stream<A, K> a, keyed_stream<B, K> b)
      : a_(std::move(a)), b_(std::move(b)) {}

  /// `f1(const K&, A, S&, collector<Out>&)` for input 0 and
  /// `f2(const K&, B, S&, collector<Out>&)` for input 1, sharing state `S`
  /// per key; either may take a `process_context<K>&` before the collector
  /// for timers and side outputs, as a keyed `process` does, and
  /// `on_timer` and `output_tag`s may follow. `S` and `Out` are deduced from
  /// `f1`'s parameters unless named.
  template <class S = detail::deduced, class Out = detail::deduced, class F1, class F2,
            class... Rest>
  auto process(F1 f1, F2 f2, Rest... rest) {
    using Args = typename detail::callable_args<F1>::type;
    using St = detail::given_or_t<S, typename detail::nth_arg<2, Args>::type>;
    using O = detail::given_or_t<Out, collector_type_t<F1>>;
    static_assert(!std::is_void_v<St> && !std::is_void_v<O>,
                  "connected process: the state and output types cannot be deduced from f1 (a "
                  "generic lambda?): write f1(const K&, A, S&, sluice::collector<Out>&), or name "
                  "them: process<S, Out>(f1, f2)");
    if constexpr (!std::is_void_v<St> && !std::is_void_v<O>) {
      constexpr bool plain = sizeof...(Rest) == 0 &&
                             std::is_invocable_v<F1&, const K&, A&&, St&, collector<O>&> &&
                             std::is_invocable_v<F2&, const K&, B&&, St&, collector<O>&>;
      if constexpr (plain) {
        auto out = a_.template keyed<O>("co_process", [ka = a_.key(), kb = b_.key(), f1, f2] {
          return std::make_unique<ops::co_process_operator<A, B, K, St, O, KeyA, KeyB, F1, F2>>(
              ka, kb, f1, f2);
        });
        b_.input().connect_to(out.node_id(), 1, partitioning::hash, b_.partitioner());
        out.node().chainable = false;
        return out;
      } else if constexpr (sizeof...(Rest) > 0 &&
                           !detail::is_output_tag_v<detail::first_t<Rest...>>) {
        return with_timer<St, O>(std::move(f1), std::move(f2), std::move(rest)...);
      } else {
        return make<St, O>(std::move(f1), std::move(f2), ops::no_timer_fn{}, std::move(rest)...);
      }
    }
  }

private:
  template <class St, class O, class F1, class F2, class TimerF, class... Tags>
  auto with_timer(F1 f1, F2 f2, TimerF on_timer, Tags... tags) {
    static_assert(
        std::is_invocable_v<TimerF&, const K&, timestamp, St&, process_context<K>&, collector<O>&>,
        "connected process: on_timer must be callable as on_timer(const K&, sluice::timestamp, "
        "S&, sluice::process_context<K>&, sluice::collector<Out>&)");
    return make<St, O>(std::move(f1), std::move(f2), std::move(on_timer), std::move(tags)...);
  }

  template <class St, class O, class F1, class F2, class TimerF, class... Tags>
  auto make(F1 f1, F2 f2, TimerF on_timer, Tags... tags) {
    static_assert((detail::is_output_tag_v<Tags> && ...),
                  "connected process: after f1, f2 (and on_timer) only sluice::output_tag<T> "
                  "values may follow");
    static_assert(
        std::is_invocable_v<F1&, const K&, A&&, St&, collector<O>&> ||
            std::is_invocable_v<F1&, const K&, A&&, St&, process_context<K>&, collector<O>&>,
        "connected process: f1 must be callable as f1(const K&, A, S&[, "
        "sluice::process_context<K>&], sluice::collector<Out>&)");
    static_assert(
        std::is_invocable_v<F2&, const K&, B&&, St&, collector<O>&> ||
            std::is_invocable_v<F2&, const K&, B&&, St&, process_context<K>&, collector<O>&>,
        "connected process: f2 must be callable as f2(const K&, B, S&[, "
        "sluice::process_context<K>&], sluice::collector<Out>&)");
    using op_t = ops::co_keyed_process_operator<A, B, K, St, O, KeyA, KeyB, F1, F2, TimerF,
                                                typename Tags::value_type...>;
    auto tags_tuple = std::make_tuple(tags...);
    auto out = a_.template keyed<O>(
        "co_process",
        [ka = a_.key(), kb = b_.key(), f1, f2, on_timer, tags_tuple] {
          return std::make_unique<op_t>(ka, kb, f1, f2, on_timer, tags_tuple);
        },
        1 + sizeof...(Tags));
    b_.input().connect_to(out.node_id(), 1, partitioning::hash, b_.partitioner());
    out.node().chainable = false;
    if constexpr (sizeof...(Tags) == 0)
      return out;
    else
      return process_output<O, typename Tags::value_type...>{std::move(out), tags_tuple};
  }

  keyed_stream<A, K> a_;
  keyed_stream<B, K> b_;
};

/// The result of a join: the joined stream, plus the records that arrived too
/// late to join (older than the watermark) from each side. Late records are
/// never dropped silently: read them here, or they are counted in the job
/// summary as unconsumed.
template <class Out, class A, class B>
class join_output : public multi_port_output<join_output<Out, A, B>, Out> {
public:
  using multi_port_output<join_output, Out>::multi_port_output;
  stream<A> late_left() const { return this->template port_stream<A>(1); }
  stream<B> late_right() const { return this->template port_stream<B>(2); }
};

/// `a.key_by(fa).interval_join(b.key_by(fb)).between(lower, upper).process(f)`:
/// Flink's interval join. Bounds are inclusive unless `lower_bound_exclusive()`
/// / `upper_bound_exclusive()` say otherwise; `lower <= upper` (else
/// `std::invalid_argument`). `f(const A&, const B&, collector<Out>&)` is called
/// once per matching pair; its records carry the later of the two times. Event
/// time only: both inputs need watermarks.
template <class A, class B, class K>
class interval_join_builder {
public:
  interval_join_builder(keyed_stream<A, K> a, keyed_stream<B, K> b)
      : a_(std::move(a)), b_(std::move(b)) {}

  interval_join_builder& between(duration lower, duration upper) {
    lower_ = lower;
    upper_ = upper;
    bounds_ = true;
    return *this;
  }
  interval_join_builder& lower_bound_exclusive() {
    lower_exclusive_ = true;
    return *this;
  }
  interval_join_builder& upper_bound_exclusive() {
    upper_exclusive_ = true;
    return *this;
  }

  template <class Out = detail::deduced, class F>
  auto process(F f) {
    using O = detail::given_or_t<Out, collector_type_t<F>>;
    static_assert(!std::is_void_v<O>,
                  "interval join: the output type cannot be deduced from f (a generic lambda?): "
                  "write f(const A&, const B&, sluice::collector<Out>&), or name it: "
                  "process<Out>(f)");
    if constexpr (!std::is_void_v<O>) {
      static_assert(std::is_invocable_v<F&, const A&, const B&, collector<O>&>,
                    "interval join: f must be callable as f(const A&, const B&, "
                    "sluice::collector<Out>&)");
      if (!bounds_)
        throw std::logic_error("interval join: call between(lower, upper) before process(f)");
      const auto iv =
          ops::join_interval::between(lower_, upper_, lower_exclusive_, upper_exclusive_);
      using op_t =
          ops::interval_join_operator<A, B, K, O, key_selector<A, K>, key_selector<B, K>, F>;
      auto out = a_.template keyed<O>(
          "interval_join",
          [ka = a_.key(), kb = b_.key(), iv, f] { return std::make_unique<op_t>(ka, kb, iv, f); },
          3);
      b_.input().connect_to(out.node_id(), 1, partitioning::hash, b_.partitioner());
      out.node().chainable = false;
      return join_output<O, A, B>{std::move(out)};
    }
  }

private:
  keyed_stream<A, K> a_;
  keyed_stream<B, K> b_;
  duration lower_{0}, upper_{0};
  bool bounds_ = false;
  bool lower_exclusive_ = false;
  bool upper_exclusive_ = false;
};

}  // namespace sluice

#include "sluice/broadcast.hpp"
#include "sluice/table_join.hpp"
#include "sluice/window_join.hpp"
#include "sluice/windowed_stream.hpp"  // IWYU pragma: export
