#pragma once

#include <functional>
#include <memory>
#include <utility>
#include <variant>
#include <vector>

#include "sluice/collector.hpp"
#include "sluice/operator.hpp"
#include "sluice/window/window.hpp"

namespace sluice::ops {

/// Which pairs a window join emits for one key and window.
enum class join_kind {
  inner,        ///< every (a, b) pair; nothing when either side is empty
  left_outer,   ///< also (a, null) for each `a` of a window without `b`s
  right_outer,  ///< also (null, b) for each `b` of a window without `a`s
  full_outer,   ///< both of the above
  co_group,     ///< both sides' records of a key and window at once
};

/// A record of either join input, as the window operator inside a window
/// join sees it.
template <class A, class B>
using either = std::variant<A, B>;

/// The key of either input's record: `ka` for an `A`, `kb` for a `B`.
template <class A, class B, class KeyA, class KeyB>
struct either_key {
  KeyA ka;
  KeyB kb;
  auto operator()(const either<A, B>& x) const {
    return x.index() == 0 ? std::invoke(ka, std::get<0>(x)) : std::invoke(kb, std::get<1>(x));
  }
};

/// Both sides' records of one key and window: the accumulator of a window
/// co-group. Records keep their arrival order per side.
template <class A, class B>
struct cogroup_aggregate {
  using acc_type = std::pair<std::vector<A>, std::vector<B>>;
  acc_type create() const { return {}; }
  void add(acc_type& acc, const either<A, B>& x) const {
    if (x.index() == 0)
      acc.first.push_back(std::get<0>(x));
    else
      acc.second.push_back(std::get<1>(x));
  }
  void merge(acc_type& acc, acc_type&& other) const {
    acc.first.insert(acc.first.end(), std::make_move_iterator(other.first.begin()),
                     std::make_move_iterator(other.first.end()));
    acc.second.insert(acc.second.end(), std::make_move_iterator(other.second.begin()),
                      std::make_move_iterator(other.second.end()));
  }
  acc_type result(const acc_type& acc) const { return acc; }
};

/// Window co-group of two keyed inputs (Flink's `coGroup(...).window(...)`,
/// on which its window join is built): input 0 (`A`) and input 1 (`B`) are
/// windowed together per key by `Inner`, a window operator over
/// `either<A, B>` with a `cogroup_aggregate` (tumbling, sliding or session;
/// event or processing time, allowed lateness — all as for one-input
/// windows). When a window fires, `f(const K&, const time_window&,
/// std::vector<A>&, std::vector<B>&, collector<Out>&)` sees both sides'
/// records; its output carries the window's max timestamp.
///
/// Ports: 0 = `Out`, 1 = late `A`s, 2 = late `B`s, 3 = records that fell in
/// no window (sliding windows with gaps), never connected and so counted in
/// the job summary.
template <class A, class B, class K, class Out, class Inner, class F>
class window_cogroup_operator final : public operator_base {
  using in_type = either<A, B>;
  using lists = typename cogroup_aggregate<A, B>::acc_type;
  using result_type = window::window_result<K, lists>;

public:
  window_cogroup_operator(std::unique_ptr<Inner> inner, F f)
      : inner_(std::move(inner)), f_(std::move(f)) {}

  void open(operator_context& ctx) override {
    operator_base::open(ctx);
    inner_->open(ctx);
    drain();
  }

  void process(size_t input, batch_base& b) override {
    auto& tagged = tagged_.records;
    tagged.clear();
    if (input == 0)
      tag<0>(batch_cast<A>(b).records, tagged);
    else
      tag<1>(batch_cast<B>(b).records, tagged);
    inner_->process(0, tagged_);
    drain();
  }

  void on_watermark(timestamp wm) override {
    inner_->on_watermark(wm);
    drain();
  }
  void on_timer(timestamp now) override {
    inner_->on_timer(now);
    drain();
  }
  void end_input() override {
    inner_->end_input();
    drain();
  }
  void close() override {
    inner_->close();
    drain();
  }

  void snapshot(state::snapshot_writer& w) override { inner_->snapshot(w); }
  void restore(const state::snapshot_reader& in) override {
    inner_->restore(in);
    drain();
  }

  size_t num_ports() const noexcept override { return 4; }
  uint64_t state_entries() const noexcept override { return inner_->state_entries(); }
  bool late_port(size_t i) const noexcept override { return i == 1 || i == 2; }
  output_port_base& out(size_t i) override {
    switch (i) {
      case 0:
        return out_;
      case 1:
        return late_a_;
      case 2:
        return late_b_;
      default:
        return skipped_;
    }
  }

  /// The window operator inside (state-size checks).
  const Inner& inner() const noexcept { return *inner_; }

private:
  template <size_t I, class R>
  static void tag(std::vector<record<R>>& in, std::vector<record<in_type>>& out) {
    out.reserve(in.size());
    for (auto& r : in)
      out.push_back(record<in_type>{in_type{std::in_place_index<I>, std::move(r.value)}, r.ts});
  }

  /// Moves what the window operator emitted to this operator's ports,
  /// calling `f` on each fired window.
  void drain() {
    auto& fired = static_cast<port<result_type>&>(inner_->out(0)).records();
    for (auto& r : fired) {
      collector<Out> c{out_, r.ts};
      std::invoke(f_, std::as_const(r.value.key), std::as_const(r.value.window),
                  r.value.value.first, r.value.value.second, c);
    }
    fired.clear();
    auto& late = static_cast<port<in_type>&>(inner_->out(1)).records();
    for (auto& r : late) {
      if (r.value.index() == 0)
        late_a_.emit(std::move(std::get<0>(r.value)), r.ts);
      else
        late_b_.emit(std::move(std::get<1>(r.value)), r.ts);
    }
    late.clear();
    if (inner_->num_ports() > 2) {
      auto& skipped = static_cast<port<in_type>&>(inner_->out(2)).records();
      for (auto& r : skipped)
        skipped_.emit(std::move(r));
      skipped.clear();
    }
  }

  std::unique_ptr<Inner> inner_;
  F f_;
  typed_batch<in_type> tagged_;
  port<Out> out_;
  port<A> late_a_;
  port<B> late_b_;
  port<in_type> skipped_;
};

/// The pairs of one window for a join of kind `Kind`, handed to a join
/// function: `g(const A&, const B&, collector<Out>&)` for inner joins,
/// `g(const A*, const B*, collector<Out>&)` (null for the missing side) for
/// outer joins.
template <join_kind Kind, class G>
struct join_pairs {
  G g;
  template <class K, class A, class B, class Out>
  void operator()(const K&, const window::time_window&, std::vector<A>& as, std::vector<B>& bs,
                  collector<Out>& out) const {
    if constexpr (Kind == join_kind::inner) {
      for (const A& a : as)
        for (const B& b : bs)
          std::invoke(g, a, b, out);
    } else {
      constexpr bool keep_a = Kind == join_kind::left_outer || Kind == join_kind::full_outer;
      constexpr bool keep_b = Kind == join_kind::right_outer || Kind == join_kind::full_outer;
      if (bs.empty()) {
        if constexpr (keep_a)
          for (const A& a : as)
            std::invoke(g, &a, static_cast<const B*>(nullptr), out);
      } else if (as.empty()) {
        if constexpr (keep_b)
          for (const B& b : bs)
            std::invoke(g, static_cast<const A*>(nullptr), &b, out);
      } else {
        for (const A& a : as)
          for (const B& b : bs)
            std::invoke(g, &a, &b, out);
      }
    }
  }
};

}  // namespace sluice::ops
