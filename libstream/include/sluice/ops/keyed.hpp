#pragma once

#include <algorithm>
#include <functional>
#include <stdexcept>
#include <unordered_map>
#include <utility>
#include <vector>

#include "sluice/collector.hpp"
#include "sluice/hash.hpp"
#include "sluice/operator.hpp"
#include "sluice/ops/keyed_process.hpp"
#include "sluice/window/window.hpp"

namespace sluice::ops {

/// When a keyed aggregate emits: after every record (continuous mode), at
/// processing-time intervals for the keys that changed (micro-batch mode), or
/// once per key when the input ends (bounded jobs that want final values).
struct emit_policy {
  enum class kind { every_record, periodic, at_end };
  kind k = kind::every_record;
  duration interval{0};

  static emit_policy continuous() { return {}; }
  static emit_policy every(duration d) {
    if (d.count() <= 0)
      throw std::invalid_argument("emit_policy::every needs a positive interval");
    return {kind::periodic, d};
  }
  static emit_policy at_end() { return {kind::at_end, duration{0}}; }
};

/// Shared machinery of the running per-key aggregations (reduce and
/// aggregate): one accumulator per key, emitted according to the emit policy
/// with the timestamp of the key's latest record. `Derived` supplies
/// `init(T&&)`, `fold(Acc&, T&&)` and `output(const K&, const Acc&)`.
template <class T, class K, class KeyFn, class Acc, class Out, class Derived>
class running_keyed_operator : public operator_base {
public:
  running_keyed_operator(KeyFn key, emit_policy policy) : key_(std::move(key)), policy_(policy) {}

  void open(operator_context& ctx) override {
    operator_base::open(ctx);
    if (policy_.k == emit_policy::kind::periodic)
      ctx.request_timer(ctx.processing_time() + policy_.interval);
  }

  void process(size_t, batch_base& b) override {
    auto& self = static_cast<Derived&>(*this);
    auto& in = batch_cast<T>(b).records;
    if (policy_.k == emit_policy::kind::every_record)
      out_.records().reserve(out_.size() + in.size());
    for (auto& r : in) {
      K k = std::invoke(key_, std::as_const(r.value));
      auto it = state_.find(k);
      if (it == state_.end()) {
        it = state_.emplace(std::move(k), entry{self.init(std::move(r.value)), r.ts, false}).first;
      } else {
        self.fold(it->second.acc, std::move(r.value));
        it->second.ts = std::max(it->second.ts, r.ts);
      }
      if (policy_.k == emit_policy::kind::every_record) {
        out_.emit(self.output(it->first, it->second.acc), r.ts);
      } else if (!it->second.dirty) {
        it->second.dirty = true;
        dirty_.push_back(it->first);
      }
    }
  }

  void on_timer(timestamp now) override {
    emit_dirty();
    context().request_timer(now + policy_.interval);
  }

  void end_input() override { emit_dirty(); }

  size_t num_ports() const noexcept override { return 1; }
  uint64_t state_entries() const noexcept override { return state_.size(); }
  output_port_base& out(size_t) override { return out_; }

  void snapshot(state::snapshot_writer& w) override {
    state::require_serializable<K>("key");
    state::require_serializable<Acc>("aggregate state");
    for (auto& [k, e] : state_) {
      auto out = w.keyed(k);
      state::encode_checked(out, k, "key");
      state::encode_checked(out, e.acc, "aggregate state");
      state::encode(out, e.ts);
      state::encode(out, e.dirty);
    }
  }

  void restore(const state::snapshot_reader& in) override {
    in.for_each_keyed([&](state::reader& r) {
      K k{};
      entry e{};
      state::decode_checked(r, k, "key");
      state::decode_checked(r, e.acc, "aggregate state");
      state::decode(r, e.ts);
      state::decode(r, e.dirty);
      if (e.dirty)
        dirty_.push_back(k);
      state_.insert_or_assign(std::move(k), std::move(e));
    });
  }

  /// Accumulator of a key, if any (tests, snapshots).
  const Acc* value(const K& k) const {
    auto it = state_.find(k);
    return it == state_.end() ? nullptr : &it->second.acc;
  }
  size_t keys() const noexcept { return state_.size(); }

private:
  struct entry {
    Acc acc;
    timestamp ts;
    bool dirty;
  };

  void emit_dirty() {
    auto& self = static_cast<Derived&>(*this);
    for (auto& k : dirty_) {
      auto it = state_.find(k);
      it->second.dirty = false;
      out_.emit(self.output(it->first, it->second.acc), it->second.ts);
    }
    dirty_.clear();
  }

  KeyFn key_;
  emit_policy policy_;
  std::unordered_map<K, entry, key_hash<K>> state_;
  std::vector<K> dirty_;
  port<Out> out_;
};

/// Reduce per key with `T f(T acc, T next)`; emits the reduced value.
template <class T, class K, class KeyFn, class F>
class reduce_operator final
    : public running_keyed_operator<T, K, KeyFn, T, T, reduce_operator<T, K, KeyFn, F>> {
  using base = running_keyed_operator<T, K, KeyFn, T, T, reduce_operator<T, K, KeyFn, F>>;

public:
  reduce_operator(KeyFn key, F f, emit_policy policy = {})
      : base(std::move(key), policy), f_(std::move(f)) {}

  T init(T&& x) { return std::move(x); }
  void fold(T& acc, T&& x) { acc = std::invoke(f_, std::move(acc), std::move(x)); }
  const T& output(const K&, const T& acc) { return acc; }

private:
  F f_;
};

/// Running aggregate per key with an aggregate function (`create`, `add`,
/// `result`); emits `(key, result)` pairs.
template <class T, class K, class KeyFn, class Agg>
class aggregate_operator final
    : public running_keyed_operator<T, K, KeyFn, typename Agg::acc_type,
                                    std::pair<K, window::aggregate_result_t<Agg>>,
                                    aggregate_operator<T, K, KeyFn, Agg>> {
  using acc_type = typename Agg::acc_type;
  using base =
      running_keyed_operator<T, K, KeyFn, acc_type, std::pair<K, window::aggregate_result_t<Agg>>,
                             aggregate_operator<T, K, KeyFn, Agg>>;

public:
  aggregate_operator(KeyFn key, Agg agg, emit_policy policy = {})
      : base(std::move(key), policy), agg_(std::move(agg)) {}

  acc_type init(T&& x) {
    acc_type a = agg_.create();
    agg_.add(a, std::as_const(x));
    return a;
  }
  void fold(acc_type& acc, T&& x) { agg_.add(acc, std::as_const(x)); }
  std::pair<K, window::aggregate_result_t<Agg>> output(const K& k, const acc_type& acc) {
    return {k, agg_.result(acc)};
  }

private:
  Agg agg_;
};

/// Snapshot and restore of a per-key state map (keyed process, co-process).
template <class K, class S, class Map>
void snapshot_map(state::snapshot_writer& w, const Map& m) {
  state::require_serializable<K>("key");
  state::require_serializable<S>("keyed state");
  for (auto& [k, s] : m) {
    auto out = w.keyed(k);
    state::encode_checked(out, k, "key");
    state::encode_checked(out, s, "keyed state");
  }
}

template <class K, class S, class Map>
void restore_map(const state::snapshot_reader& in, Map& m) {
  in.for_each_keyed([&](state::reader& r) {
    K k{};
    S s{};
    state::decode_checked(r, k, "key");
    state::decode_checked(r, s, "keyed state");
    m.insert_or_assign(std::move(k), std::move(s));
  });
}

/// Two keyed inputs sharing per-key state `S` (stream-table enrichment,
/// joins): input 0 calls `f1(key, A, S&, collector<Out>&)`, input 1 calls
/// `f2(key, B, S&, collector<Out>&)`.
template <class A, class B, class K, class S, class Out, class KeyA, class KeyB, class F1, class F2>
class co_process_operator final : public operator_base {
public:
  co_process_operator(KeyA ka, KeyB kb, F1 f1, F2 f2)
      : ka_(std::move(ka)), kb_(std::move(kb)), f1_(std::move(f1)), f2_(std::move(f2)) {}

  void process(size_t input, batch_base& b) override {
    if (input == 0)
      run<A>(b, ka_, f1_);
    else
      run<B>(b, kb_, f2_);
  }

  size_t num_ports() const noexcept override { return 1; }
  uint64_t state_entries() const noexcept override { return state_.size(); }
  output_port_base& out(size_t) override { return out_; }
  const std::unordered_map<K, S, key_hash<K>>& state() const noexcept { return state_; }
  void snapshot(state::snapshot_writer& w) override { snapshot_map<K, S>(w, state_); }
  void restore(const state::snapshot_reader& in) override { restore_map<K, S>(in, state_); }

private:
  template <class T, class KeyFn, class F>
  void run(batch_base& b, KeyFn& key, F& f) {
    for (auto& r : batch_cast<T>(b).records) {
      K k = std::invoke(key, std::as_const(r.value));
      S& s = state_[k];
      collector<Out> c{out_, r.ts};
      std::invoke(f, std::as_const(k), std::move(r.value), s, c);
    }
  }

  KeyA ka_;
  KeyB kb_;
  F1 f1_;
  F2 f2_;
  std::unordered_map<K, S, key_hash<K>> state_;
  port<Out> out_;
};

}  // namespace sluice::ops
