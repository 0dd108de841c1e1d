#pragma once

// Included by keyed_stream.hpp: a keyed stream connected to a broadcast
// stream of rules, `a.key_by(f).connect_broadcast(rules).process(on_record, on_rule)`.

#include <memory>
#include <type_traits>
#include <utility>

#include "sluice/keyed_stream.hpp"
#include "sluice/ops/broadcast_process.hpp"

namespace sluice {

/// A keyed stream and a broadcast stream of `R`, waiting for `process`.
template <class T, class K, class R>
class broadcast_connected {
public:
  broadcast_connected(keyed_stream<T, K> in, stream<R> rules, broadcast_order order)
      : in_(std::move(in)), rules_(std::move(rules)), order_(order) {}

  /// `on_record(const K&, T, S&, const BS&, collector<Out>&)` per keyed
  /// record, with its key's state `S` and the broadcast state `BS`;
  /// `on_broadcast(const R&, BS&)` per broadcast record, in every instance.
  /// `S`, `BS` and `Out` are deduced from `on_record`'s parameters unless
  /// named: `process<S, BS, Out>(...)`. The result's `late_records()` are the
  /// keyed records older than the watermark (event-time order only).
  template <class S = detail::deduced, class BS = detail::deduced, class Out = detail::deduced,
            class F, class G>
  auto process(F on_record, G on_broadcast) {
    using Args = typename detail::callable_args<F>::type;
    using St = detail::given_or_t<S, typename detail::nth_arg<2, Args>::type>;
    using Bs = detail::given_or_t<BS, typename detail::nth_arg<3, Args>::type>;
    using O = detail::given_or_t<Out, collector_type_t<F>>;
    static_assert(!std::is_void_v<St> && !std::is_void_v<Bs> && !std::is_void_v<O>,
                  "broadcast process: the state types cannot be deduced from on_record (a generic "
                  "lambda?): write on_record(const K&, T, S&, const BS&, sluice::collector<Out>&), "
                  "or name them: process<S, BS, Out>(on_record, on_broadcast)");
    if constexpr (!std::is_void_v<St> && !std::is_void_v<Bs> && !std::is_void_v<O>) {
      static_assert(std::is_invocable_v<F&, const K&, T&&, St&, const Bs&, collector<O>&>,
                    "broadcast process: on_record must be callable as on_record(const K&, T, S&, "
                    "const BS&, sluice::collector<Out>&)");
      static_assert(std::is_invocable_v<G&, const R&, Bs&>,
                    "broadcast process: on_broadcast must be callable as on_broadcast(const R&, "
                    "BS&)");
      using op_t = ops::broadcast_process_operator<T, K, St, R, Bs, O, key_selector<T, K>, F, G>;
      auto out = in_.template keyed<O>(
          "broadcast_process",
          [key = in_.key(), on_record, on_broadcast, order = order_] {
            return std::make_unique<op_t>(key, on_record, on_broadcast, order);
          },
          2);
      rules_.connect_to(out.node_id(), 1, partitioning::broadcast, make_partitioner_factory<R>());
      out.node().chainable = false;
      return window_output<O, T>{std::move(out)};
    }
  }

private:
  keyed_stream<T, K> in_;
  stream<R> rules_;
  broadcast_order order_;
};

template <class T, class K>
template <class R>
broadcast_connected<T, K, R> keyed_stream<T, K>::connect_broadcast(const stream<R>& rules,
                                                                   broadcast_order order) {
  return {*this, rules, order};
}

}  // namespace sluice
