#pragma once

#include <functional>
#include <algorithm>
#include <unordered_map>
#include <vector>
#include <utility>

#include "sluice/collector.hpp"
#include "sluice/hash.hpp"
#include "sluice/operator.hpp"

namespace sluice::ops {

/// When a keyed aggregate emits: after every record (continuous mode), at
/// processing-time intervals for the keys that changed (micro-batch mode), or
/// once per key when the input ends (bounded jobs that want final values).
struct emit_policy {
  enum class kind { every_record, periodic, at_end };
  kind k = kind::every_record;
  duration interval{0};

  static emit_policy continuous() { return {}; }
  static emit_policy every(duration d) { return {kind::periodic, d}; }
  static emit_policy at_end() { return {kind::at_end, duration{0}}; }
};

/// Reduce per key (`T f(T acc, T next)`): keeps one value per key and emits
/// it according to the emit policy. Emitted records carry the timestamp of
/// the latest record of the key.
template <class T, class K, class KeyFn, class F>
class reduce_operator final : public operator_base {
 public:
  reduce_operator(KeyFn key, F f, emit_policy policy = {}) : key_(std::move(key)), f_(std::move(f)), policy_(policy) {}

  void open(operator_context& ctx) override {
    operator_base::open(ctx);
    if (policy_.k == emit_policy::kind::periodic) ctx.request_timer(ctx.processing_time() + policy_.interval);
  }

  void process(size_t, batch_base& b) override {
    auto& in = batch_cast<T>(b).records;
    auto& out = out_.records();
    if (policy_.k == emit_policy::kind::every_record) out.reserve(out.size() + in.size());
    for (auto& r : in) {
      K k = std::invoke(key_, std::as_const(r.value));
      auto it = state_.find(k);
      if (it == state_.end()) {
        it = state_.emplace(std::move(k), entry{std::move(r.value), r.ts, false}).first;
      } else {
        it->second.value = std::invoke(f_, std::move(it->second.value), std::move(r.value));
        it->second.ts = std::max(it->second.ts, r.ts);
      }
      if (policy_.k == emit_policy::kind::every_record) {
        out.push_back(record<T>{it->second.value, r.ts});
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
  output_port_base& out(size_t) override { return out_; }

  /// Current value of a key, if any (tests, snapshots).
  const T* value(const K& k) const {
    auto it = state_.find(k);
    return it == state_.end() ? nullptr : &it->second.value;
  }
  size_t keys() const noexcept { return state_.size(); }

 private:
  struct entry {
    T value;
    timestamp ts;
    bool dirty;
  };

  void emit_dirty() {
    for (auto& k : dirty_) {
      auto& e = state_.find(k)->second;
      e.dirty = false;
      out_.emit(e.value, e.ts);
    }
    dirty_.clear();
  }

  KeyFn key_;
  F f_;
  emit_policy policy_;
  std::unordered_map<K, entry, key_hash<K>> state_;
  std::vector<K> dirty_;
  port<T> out_;
};

/// Keyed processing with user state: for each record,
/// `void f(const K& key, T value, S& state, collector<Out>& out)`, where `state`
/// is the key's own value of type `S` (default-constructed on first use).
template <class T, class K, class S, class Out, class KeyFn, class F>
class keyed_process_operator final : public operator_base {
 public:
  keyed_process_operator(KeyFn key, F f) : key_(std::move(key)), f_(std::move(f)) {}

  void process(size_t, batch_base& b) override {
    for (auto& r : batch_cast<T>(b).records) {
      K k = std::invoke(key_, std::as_const(r.value));
      S& s = state_[k];
      collector<Out> c{out_, r.ts};
      std::invoke(f_, std::as_const(k), std::move(r.value), s, c);
    }
  }

  size_t num_ports() const noexcept override { return 1; }
  output_port_base& out(size_t) override { return out_; }
  const std::unordered_map<K, S, key_hash<K>>& state() const noexcept { return state_; }

 private:
  KeyFn key_;
  F f_;
  std::unordered_map<K, S, key_hash<K>> state_;
  port<Out> out_;
};

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
  output_port_base& out(size_t) override { return out_; }
  const std::unordered_map<K, S, key_hash<K>>& state() const noexcept { return state_; }

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
