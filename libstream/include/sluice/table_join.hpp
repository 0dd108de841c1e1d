#pragma once

// Included by keyed_stream.hpp: joins of a stream with a table kept as a
// changelog stream, `a.key_by(f).temporal_join(changes.key_by(g)).process(fn)`.

#include <memory>
#include <type_traits>
#include <utility>

#include "sluice/changelog.hpp"
#include "sluice/keyed_stream.hpp"
#include "sluice/ops/temporal_join.hpp"
#include "sluice/window_join.hpp"

namespace sluice {

/// `a.key_by(fa).temporal_join(table)` or `.lookup_join(table)`, where
/// `table` is a keyed stream of `change<V>`: `process(f)` makes the join.
template <class A, class V, class K, bool Lookup>
class table_join_builder {
public:
  table_join_builder(keyed_stream<A, K> a, keyed_stream<change<V>, K> table)
      : a_(std::move(a)), t_(std::move(table)) {}

  /// `f(const A&, const V* row, collector<Out>&)` once per record of `a`,
  /// with its key's row (null when there is none: emit for a left join,
  /// skip for an inner one), or `Out f(const A&, const V*)`. Results keep
  /// the record's time. `Out` is deduced unless named: `process<Out>(f)`.
  template <class Out = detail::deduced, class F>
  auto process(F f) {
    using O = detail::given_or_t<Out, typename detail::join_fn_output<F, const A&, const V*>::type>;
    static_assert(!std::is_void_v<O>,
                  "table join: the output type cannot be deduced from f (a generic lambda?): take "
                  "a sluice::collector<Out>& or return the value, or name it: process<Out>(f)");
    if constexpr (std::is_invocable_v<F&, const A&, const V*, collector<O>&>) {
      return build<O>(std::move(f));
    } else {
      static_assert(std::is_invocable_v<F&, const A&, const V*>,
                    "table join: f must be callable as f(const A&, const V* row, "
                    "sluice::collector<Out>&) or Out f(const A&, const V* row)");
      return build<O>(detail::returning_fn<F>{std::move(f)});
    }
  }

private:
  template <class Out, class G>
  join_output<Out, A, change<V>> build(G g) {
    using ka = key_selector<A, K>;
    using kc = key_selector<change<V>, K>;
    using op_t = std::conditional_t<Lookup, ops::lookup_join_operator<A, V, K, Out, ka, kc, G>,
                                    ops::temporal_join_operator<A, V, K, Out, ka, kc, G>>;
    auto out = a_.template keyed<Out>(
        Lookup ? "lookup_join" : "temporal_join",
        [ka = a_.key(), kc = t_.key(), g] { return std::make_unique<op_t>(ka, kc, g); }, 3);
    t_.input().connect_to(out.node_id(), 1, partitioning::hash, t_.partitioner());
    out.node().chainable = false;
    return join_output<Out, A, change<V>>{std::move(out)};
  }

  keyed_stream<A, K> a_;
  keyed_stream<change<V>, K> t_;
};

template <class T, class K>
template <class V>
table_join_builder<T, V, K, false> keyed_stream<T, K>::temporal_join(
    keyed_stream<change<V>, K> table) {
  return {*this, std::move(table)};
}

template <class T, class K>
template <class V>
table_join_builder<T, V, K, true> keyed_stream<T, K>::lookup_join(
    keyed_stream<change<V>, K> table) {
  return {*this, std::move(table)};
}

}  // namespace sluice
