#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <optional>
#include <stdexcept>
#include <tuple>
#include <unordered_map>
#include <utility>
#include <vector>

#include "sluice/collector.hpp"
#include "sluice/hash.hpp"
#include "sluice/operator.hpp"
#include "sluice/process_context.hpp"
#include "sluice/state/codec.hpp"
#include "sluice/state/timer_queue.hpp"

namespace sluice::ops {

/// Stands for "no on_timer function" in a keyed process.
struct no_timer_fn {};

/// Keyed processing with user state `S` (default-constructed on a key's
/// first record), per-key timers and side outputs. For each record,
/// `f(const K&, T, S&, collector<Out>&)` or, with a context,
/// `f(const K&, T, S&, process_context<K>&, collector<Out>&)`; for each
/// timer due, `on_timer(const K&, timestamp, S&, process_context<K>&,
/// collector<Out>&)`. Port 0 is `Out`, ports 1.. are the side outputs `Ts...`
/// in the order of their tags.
///
/// State: per key, its `S` and its timers (both domains), under the key's key
/// group, so a restore at another parallelism moves timers with their keys.
template <class T, class K, class S, class Out, class KeyFn, class F, class TimerF = no_timer_fn,
          class... Ts>
class keyed_process_operator : public operator_base {
  static constexpr bool with_timers = !std::is_same_v<TimerF, no_timer_fn>;

public:
  keyed_process_operator(KeyFn key, F f, TimerF on_timer = {},
                         std::tuple<output_tag<Ts>...> tags = {})
      : key_(std::move(key)),
        f_(std::move(f)),
        on_timer_(std::move(on_timer)),
        tags_(std::move(tags)) {}

  void open(operator_context& ctx) override {
    operator_base::open(ctx);
    std::vector<typename process_context<K>::side> sides;
    add_sides(sides, std::index_sequence_for<Ts...>{});
    pctx_.emplace(ctx, &event_, &processing_, std::move(sides));
  }

  void process(size_t, batch_base& b) override { run<T>(b, key_, f_); }

  void on_watermark(timestamp wm) override { fire(event_, wm, time_domain::event_time); }

  void on_timer(timestamp now) override {
    fire(processing_, now, time_domain::processing_time);
    if (auto next = processing_.earliest())
      context().request_timer(*next);
  }

  /// The input ended: event time is complete, every event-time timer fires
  /// (as at Flink's final watermark). Processing-time timers do not.
  void end_input() override { fire(event_, timestamp::max(), time_domain::event_time); }

  size_t num_ports() const noexcept override { return 1 + sizeof...(Ts); }
  uint64_t state_entries() const noexcept override { return state_.size(); }
  output_port_base& out(size_t i) override { return i == 0 ? out_ : *side_ptrs_[i - 1]; }

  const std::unordered_map<K, S, key_hash<K>>& state() const noexcept { return state_; }
  /// Registered timers (event time, processing time): bounded-state checks.
  std::pair<size_t, size_t> timers() const noexcept { return {event_.size(), processing_.size()}; }

  void snapshot(state::snapshot_writer& w) override {
    state::require_serializable<K>("key");
    state::require_serializable<S>("keyed state");
    struct key_timers {
      std::vector<int64_t> event, processing;
    };
    std::unordered_map<K, key_timers, key_hash<K>> timers;
    event_.for_each([&](const K& k, timestamp t) { timers[k].event.push_back(t.ms); });
    processing_.for_each([&](const K& k, timestamp t) { timers[k].processing.push_back(t.ms); });
    static const key_timers none;
    auto write = [&](const K& k, const S* s, const key_timers& kt) {
      auto out = w.keyed(k);
      state::encode_checked(out, k, "key");
      state::encode(out, static_cast<uint8_t>(s ? 1 : 0));
      if (s)
        state::encode_checked(out, *s, "keyed state");
      state::encode(out, kt.event);
      state::encode(out, kt.processing);
    };
    for (auto& [k, s] : state_) {
      auto it = timers.find(k);
      write(k, &s, it == timers.end() ? none : it->second);
    }
    for (auto& [k, kt] : timers)
      if (!state_.count(k))
        write(k, nullptr, kt);
  }

  void restore(const state::snapshot_reader& in) override {
    in.for_each_keyed([&](state::reader& r) {
      K k{};
      uint8_t has_state = 0;
      std::vector<int64_t> event, processing;
      state::decode_checked(r, k, "key");
      state::decode(r, has_state);
      if (has_state) {
        S s{};
        state::decode_checked(r, s, "keyed state");
        state_.insert_or_assign(k, std::move(s));
      }
      state::decode(r, event);
      state::decode(r, processing);
      for (auto t : event)
        event_.add(k, timestamp{t});
      for (auto t : processing)
        processing_.add(k, timestamp{t});
    });
    if (auto next = processing_.earliest())
      context().request_timer(*next);
  }

protected:
  /// Hands each record of `b` (of type `X`) to `g` with its key's state,
  /// as `f` is for input 0 (`co_keyed_process_operator` adds input 1).
  template <class X, class KF, class G>
  void run(batch_base& b, KF& key, G& g) {
    constexpr bool ctx =
        std::is_invocable_v<G&, const K&, X&&, S&, process_context<K>&, collector<Out>&>;
    for (auto& r : batch_cast<X>(b).records) {
      K k = std::invoke(key, std::as_const(r.value));
      S& s = state_[k];
      collector<Out> c{out_, r.ts};
      if constexpr (ctx) {
        pctx_->enter(k, r.ts, time_domain::event_time);
        std::invoke(g, std::as_const(k), std::move(r.value), s, *pctx_, c);
        if (pctx_->clear_requested())
          state_.erase(k);
      } else {
        std::invoke(g, std::as_const(k), std::move(r.value), s, c);
      }
    }
  }

private:
  /// Points the context and `out(i)` at the side ports (once, at open).
  template <size_t... I>
  void add_sides(std::vector<typename process_context<K>::side>& sides, std::index_sequence<I...>) {
    ((side_ptrs_[I] = &std::get<I>(side_ports_),
      sides.push_back({std::get<I>(tags_).id(), side_ptrs_[I]})),
     ...);
  }

  void fire(state::timer_queue<K>& q, timestamp upto, time_domain d) {
    K k{};
    timestamp when;
    while (q.pop_due(upto, k, when)) {
      if constexpr (with_timers) {
        S& s = state_[k];
        collector<Out> c{out_, d == time_domain::event_time ? when : timestamp::min()};
        pctx_->enter(k, when, d);
        std::invoke(on_timer_, std::as_const(k), when, s, *pctx_, c);
        if (pctx_->clear_requested())
          state_.erase(k);
      } else {
        throw std::logic_error("keyed process '" + context().name() +
                               "' registered a timer but has no on_timer function");
      }
    }
  }

  KeyFn key_;
  F f_;
  TimerF on_timer_;
  std::tuple<output_tag<Ts>...> tags_;
  std::unordered_map<K, S, key_hash<K>> state_;
  state::timer_queue<K> event_;
  state::timer_queue<K> processing_;
  std::optional<process_context<K>> pctx_;
  port<Out> out_;
  std::tuple<port<Ts>...> side_ports_;
  std::array<output_port_base*, sizeof...(Ts)> side_ptrs_{};
};

/// A process function on a stream that is not keyed (Flink's
/// ProcessFunction): `f(T, process_context<no_key>&, collector<Out>&)` per
/// record, with side outputs `Ts...` on ports 1..; timers need a keyed
/// stream (registering one fails the task, naming the operator).
template <class T, class Out, class F, class... Ts>
class process_operator final : public operator_base {
public:
  process_operator(F f, std::tuple<output_tag<Ts>...> tags)
      : f_(std::move(f)), tags_(std::move(tags)) {}

  void open(operator_context& ctx) override {
    operator_base::open(ctx);
    std::vector<typename process_context<no_key>::side> sides;
    [&]<size_t... I>(std::index_sequence<I...>) {
      ((side_ptrs_[I] = &std::get<I>(side_ports_),
        sides.push_back({std::get<I>(tags_).id(), side_ptrs_[I]})),
       ...);
    }
    (std::index_sequence_for<Ts...>{});
    pctx_.emplace(ctx, nullptr, nullptr, std::move(sides));
  }

  void process(size_t, batch_base& b) override {
    static const no_key key;
    for (auto& r : batch_cast<T>(b).records) {
      collector<Out> c{out_, r.ts};
      pctx_->enter(key, r.ts, time_domain::event_time);
      std::invoke(f_, std::move(r.value), *pctx_, c);
    }
  }

  size_t num_ports() const noexcept override { return 1 + sizeof...(Ts); }
  output_port_base& out(size_t i) override { return i == 0 ? out_ : *side_ptrs_[i - 1]; }

private:
  F f_;
  std::tuple<output_tag<Ts>...> tags_;
  std::optional<process_context<no_key>> pctx_;
  port<Out> out_;
  std::tuple<port<Ts>...> side_ports_;
  std::array<output_port_base*, sizeof...(Ts)> side_ptrs_{};
};

/// Two keyed inputs sharing per-key state, timers and side outputs (a
/// connected stream's `process` with a context): input 0 (`A`, keyed by
/// `KeyA`) goes to `f1`, input 1 (`B`, by `KeyB`) to `f2`, each
/// `f(const K&, X, S&[, process_context<K>&], collector<Out>&)`.
template <class A, class B, class K, class S, class Out, class KeyA, class KeyB, class F1, class F2,
          class TimerF, class... Ts>
class co_keyed_process_operator final
    : public keyed_process_operator<A, K, S, Out, KeyA, F1, TimerF, Ts...> {
  using base = keyed_process_operator<A, K, S, Out, KeyA, F1, TimerF, Ts...>;

public:
  co_keyed_process_operator(KeyA ka, KeyB kb, F1 f1, F2 f2, TimerF on_timer = {},
                            std::tuple<output_tag<Ts>...> tags = {})
      : base(std::move(ka), std::move(f1), std::move(on_timer), std::move(tags)),
        kb_(std::move(kb)),
        f2_(std::move(f2)) {}

  void process(size_t input, batch_base& b) override {
    if (input == 0)
      base::process(0, b);
    else
      this->template run<B>(b, kb_, f2_);
  }

private:
  KeyB kb_;
  F2 f2_;
};

}  // namespace sluice::ops
