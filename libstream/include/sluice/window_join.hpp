#pragma once

// Included by keyed_stream.hpp: the window join and co-group of two streams,
// `a.join(b).where(fa).equal_to(fb).window(w).apply(f)`.

#include <stdexcept>
#include <type_traits>
#include <utility>
#include <vector>

#include "sluice/keyed_stream.hpp"
#include "sluice/ops/window_join.hpp"
#include "sluice/window/assigner.hpp"

namespace sluice {

namespace detail {

/// The output type of a join function `f(const A&, const B&, ...)`: named by
/// its collector parameter, or its return type when it returns a value.
template <class F, class X, class Y>
struct join_fn_output {
  using type = collector_type_t<F>;
};
template <class F, class X, class Y>
requires std::is_invocable_v<F&, X, Y>
struct join_fn_output<F, X, Y> {
  using type = std::decay_t<std::invoke_result_t<F&, X, Y>>;
};

/// Calls a join function that returns its one result instead of taking a
/// collector (Flink's JoinFunction next to FlatJoinFunction).
template <class F>
struct returning_fn {
  F f;
  template <class X, class Y, class Out>
  void operator()(X&& x, Y&& y, collector<Out>& out) const {
    out.emit(std::invoke(f, std::forward<X>(x), std::forward<Y>(y)));
  }
};

}  // namespace detail

/// The last step of a window join or co-group: the window is chosen;
/// `apply(f)` makes the operator. See `stream::join`.
template <class A, class B, class K, class W, ops::join_kind Kind>
class windowed_join {
public:
  windowed_join(keyed_stream<A, K> a, keyed_stream<B, K> b, W w)
      : a_(std::move(a)), b_(std::move(b)), w_(std::move(w)) {}

  /// Keeps each window's records for `d` after the watermark passed its end;
  /// a late record within that bound fires the window again (with all its
  /// pairs, as Flink does).
  windowed_join& allowed_lateness(duration d) {
    lateness_ = d;
    return *this;
  }

  /// Join: `f(const A&, const B&, collector<Out>&)` or `Out f(const A&, const
  /// B&)` per pair (inner join); `f(const A*, const B*, ...)` for outer joins,
  /// with null for the side a window lacks. Co-group: `f(const
  /// std::vector<A>&, const std::vector<B>&, collector<Out>&)` once per key
  /// and window with at least one record. Results carry the window's max
  /// timestamp. `Out` is deduced unless named: `apply<Out>(f)`.
  template <class Out = detail::deduced, class F>
  auto apply(F f) {
    if constexpr (Kind == ops::join_kind::co_group)
      return cogroup<Out>(std::move(f));
    else if constexpr (Kind == ops::join_kind::inner)
      return pairs<Out, const A&, const B&>(std::move(f));
    else
      return pairs<Out, const A*, const B*>(std::move(f));
  }

private:
  template <class Out, class X, class Y, class F>
  join_output<detail::given_or_t<Out, typename detail::join_fn_output<F, X, Y>::type>, A, B> pairs(
      F f) {
    using O = detail::given_or_t<Out, typename detail::join_fn_output<F, X, Y>::type>;
    static_assert(!std::is_void_v<O>,
                  "window join: the output type cannot be deduced from f (a generic lambda?): "
                  "take a sluice::collector<Out>& or return the value, or name it: apply<Out>(f)");
    if constexpr (std::is_invocable_v<F&, X, Y, collector<O>&>) {
      return build<O>(ops::join_pairs<Kind, F>{std::move(f)});
    } else {
      static_assert(std::is_invocable_v<F&, X, Y>,
                    "window join: f must be callable as f(const A&, const B&, collector<Out>&) or "
                    "Out f(const A&, const B&); an outer join's f takes pointers, f(const A*, "
                    "const B*, ...), null for the side a window lacks");
      return build<O>(ops::join_pairs<Kind, detail::returning_fn<F>>{{std::move(f)}});
    }
  }

  template <class Out, class F>
  auto cogroup(F f) {
    using O = detail::given_or_t<Out, collector_type_t<F>>;
    static_assert(!std::is_void_v<O>,
                  "co-group: the output type cannot be deduced from f (a generic lambda?): take a "
                  "sluice::collector<Out>&, or name it: apply<Out>(f)");
    static_assert(
        std::is_invocable_v<F&, const std::vector<A>&, const std::vector<B>&, collector<O>&>,
        "co-group: f must be callable as f(const std::vector<A>&, const "
        "std::vector<B>&, sluice::collector<Out>&)");
    auto g = [f = std::move(f)](const K&, const window::time_window&, std::vector<A>& as,
                                std::vector<B>& bs, collector<O>& out) {
      std::invoke(f, std::as_const(as), std::as_const(bs), out);
    };
    return build<O>(std::move(g));
  }

  template <class Out, class G>
  join_output<Out, A, B> build(G g) {
    if constexpr (std::is_same_v<W, window::assigner>)
      return w_.visit([&](const auto& w) { return build_for<Out>(w, std::move(g)); });
    else
      return build_for<Out>(w_, std::move(g));
  }

  template <class Out, class Assigner, class G>
  join_output<Out, A, B> build_for(const Assigner& w, G g) {
    if constexpr (std::is_same_v<Assigner, window::count>) {
      throw std::invalid_argument(
          "window join: count windows do not apply to joins (their contents depend on arrival "
          "order); use tumbling, sliding or session windows");
    } else {
      w.validate();
      using key_fn = ops::either_key<A, B, key_selector<A, K>, key_selector<B, K>>;
      using in_type = ops::either<A, B>;
      using agg = ops::cogroup_aggregate<A, B>;
      using inner =
          std::conditional_t<std::is_same_v<Assigner, window::session>,
                             window::session_window_operator<in_type, K, key_fn, agg>,
                             window::time_window_operator<in_type, K, key_fn, Assigner, agg>>;
      using op_t = ops::window_cogroup_operator<A, B, K, Out, inner, G>;
      const char* kind = Kind == ops::join_kind::co_group ? "window_cogroup" : "window_join";
      auto out = a_.template keyed<Out>(
          kind,
          [key = key_fn{a_.key(), b_.key()}, w, lateness = lateness_, g] {
            return std::make_unique<op_t>(std::make_unique<inner>(key, w, agg{}, lateness), g);
          },
          4);
      b_.input().connect_to(out.node_id(), 1, partitioning::hash, b_.partitioner());
      out.node().chainable = false;
      return join_output<Out, A, B>{std::move(out)};
    }
  }

  keyed_stream<A, K> a_;
  keyed_stream<B, K> b_;
  W w_;
  duration lateness_{0};
};

/// `a.join(b).where(fa).equal_to(fb)`: both keys chosen, waiting for the window.
template <class A, class B, class K, ops::join_kind Kind>
class join_on_keys {
public:
  join_on_keys(keyed_stream<A, K> a, keyed_stream<B, K> b) : a_(std::move(a)), b_(std::move(b)) {}

  /// Tumbling, sliding or session windows (or a `window::assigner` holding one).
  template <class W>
  windowed_join<A, B, K, W, Kind> window(W w) {
    static_assert(!std::is_same_v<W, window::count>,
                  "window join: count windows do not apply to joins; use tumbling, sliding or "
                  "session windows");
    return {a_, b_, std::move(w)};
  }

private:
  keyed_stream<A, K> a_;
  keyed_stream<B, K> b_;
};

/// `a.join(b).where(fa)`: the left key chosen.
template <class A, class B, class K, ops::join_kind Kind>
class join_where {
public:
  join_where(keyed_stream<A, K> a, stream<B> b) : a_(std::move(a)), b_(std::move(b)) {}

  /// The key of the right input, `fb(const B&)`; it must have the left key's type.
  template <class FB>
  join_on_keys<A, B, K, Kind> equal_to(FB fb) {
    static_assert(std::is_invocable_v<const FB&, const B&>,
                  "join: equal_to's key function must be callable as key(const B&) const");
    static_assert(std::is_same_v<std::decay_t<std::invoke_result_t<const FB&, const B&>>, K>,
                  "join: where(...) and equal_to(...) must return the same key type");
    return {a_, keyed_stream<B, K>{b_, std::move(fb)}};
  }

private:
  keyed_stream<A, K> a_;
  stream<B> b_;
};

/// `a.join(b)` (or an outer join, or `co_group`): waiting for the keys.
template <class A, class B, ops::join_kind Kind>
class join_builder {
public:
  join_builder(stream<A> a, stream<B> b) : a_(std::move(a)), b_(std::move(b)) {}

  /// The key of the left input, `fa(const A&)`.
  template <class FA>
  auto where(FA fa) {
    static_assert(std::is_invocable_v<const FA&, const A&>,
                  "join: where's key function must be callable as key(const A&) const");
    using K = std::decay_t<std::invoke_result_t<const FA&, const A&>>;
    return join_where<A, B, K, Kind>{keyed_stream<A, K>{a_, std::move(fa)}, b_};
  }

private:
  stream<A> a_;
  stream<B> b_;
};

template <class T>
template <class B>
join_builder<T, B, ops::join_kind::inner> stream<T>::join(const stream<B>& other) {
  return {*this, other};
}
template <class T>
template <class B>
join_builder<T, B, ops::join_kind::left_outer> stream<T>::left_outer_join(const stream<B>& other) {
  return {*this, other};
}
template <class T>
template <class B>
join_builder<T, B, ops::join_kind::right_outer> stream<T>::right_outer_join(
    const stream<B>& other) {
  return {*this, other};
}
template <class T>
template <class B>
join_builder<T, B, ops::join_kind::full_outer> stream<T>::full_outer_join(const stream<B>& other) {
  return {*this, other};
}
template <class T>
template <class B>
join_builder<T, B, ops::join_kind::co_group> stream<T>::co_group(const stream<B>& other) {
  return {*this, other};
}

}  // namespace sluice
