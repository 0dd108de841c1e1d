#pragma once

#include <algorithm>
#include <deque>
#include <functional>
#include <optional>
#include <unordered_map>
#include <utility>

#include "sluice/changelog.hpp"
#include "sluice/collector.hpp"
#include "sluice/hash.hpp"
#include "sluice/operator.hpp"
#include "sluice/ops/key_time_queue.hpp"
#include "sluice/ops/timed_lists.hpp"
#include "sluice/state/codec.hpp"

namespace sluice::ops {

/// Event-time temporal join (Flink's `FOR SYSTEM_TIME AS OF` join of a
/// versioned table): input 1 is a changelog (`change<V>`) whose record times
/// say from when each version of a key's row is valid; each record `a` of
/// input 0 meets the version of its key's row valid at `a`'s time — the
/// latest change at or before it, none if that change was a delete —
/// through `f(const A&, const V* row, collector<Out>&)` (null: no row; emit
/// or not for a left or an inner join). Output keeps `a`'s time.
///
/// A record is joined once the watermark (of both inputs) reaches its time,
/// so that every change up to it has arrived: records wait in state until
/// then, in time order. Versions older than the one valid at the watermark
/// are dropped as it passes, so state stays bounded. Records older than the
/// watermark are late: an `A` goes to port 1, a change to port 2 (it would
/// rewrite history already joined).
template <class A, class V, class K, class Out, class KeyA, class KeyC, class F>
class temporal_join_operator final : public operator_base {
public:
  temporal_join_operator(KeyA ka, KeyC kc, F f)
      : ka_(std::move(ka)), kc_(std::move(kc)), f_(std::move(f)) {}

  void process(size_t input, batch_base& b) override {
    const timestamp wm = context().watermark();
    const bool started = wm != timestamp::min();
    if (input == 0) {
      for (auto& r : batch_cast<A>(b).records) {
        if (started && r.ts < wm) {
          late_a_.emit(std::move(r));
          continue;
        }
        K k = std::invoke(ka_, std::as_const(r.value));
        due_.add(r.ts, k);
        insert_by_time(pending_[std::move(k)], r.ts, std::move(r.value));
        ++pending_count_;
      }
    } else {
      for (auto& r : batch_cast<change<V>>(b).records) {
        if (started && r.ts < wm) {
          late_c_.emit(std::move(r));
          continue;
        }
        K k = std::invoke(kc_, std::as_const(r.value));
        due_.add(r.ts, k);
        std::optional<V> row;
        if (!r.value.is_erase())
          row = std::move(r.value.value);
        insert_by_time(versions_[std::move(k)], r.ts, std::move(row));
        ++version_count_;
      }
    }
  }

  void on_watermark(timestamp wm) override {
    K k{};
    while (due_.pop_due(wm, k))
      advance(k, wm);
  }

  void end_input() override { on_watermark(timestamp::max()); }

  size_t num_ports() const noexcept override { return 3; }
  uint64_t state_entries() const noexcept override { return pending_.size() + versions_.size(); }
  bool late_port(size_t i) const noexcept override { return i == 1 || i == 2; }
  output_port_base& out(size_t i) override {
    return i == 0   ? static_cast<output_port_base&>(out_)
           : i == 1 ? static_cast<output_port_base&>(late_a_)
                    : static_cast<output_port_base&>(late_c_);
  }

  /// Records waiting and row versions kept: bounded-state checks.
  std::pair<size_t, size_t> buffered() const noexcept { return {pending_count_, version_count_}; }

  void snapshot(state::snapshot_writer& w) override {
    state::require_serializable<K>("key");
    state::require_serializable<A>("waiting record");
    state::require_serializable<V>("table row");
    snapshot_timed_lists<K>(w, pending_, versions_, "waiting record", "table row");
  }

  void restore(const state::snapshot_reader& in) override {
    in.for_each_keyed([&](state::reader& r) {
      K k{};
      state::decode_checked(r, k, "key");
      pending_count_ += read_list(r, k, pending_, "waiting record");
      version_count_ += read_list(r, k, versions_, "table row");
    });
  }

private:
  /// One key's entries, sorted by time (appended when they arrive in order).
  template <class T>
  using list = timed_list<T>;

  /// Joins key `k`'s records up to `wm` and drops the versions no later
  /// record can see.
  void advance(const K& k, timestamp wm) {
    auto vit = versions_.find(k);
    if (auto pit = pending_.find(k); pit != pending_.end()) {
      auto& p = pit->second;
      while (!p.empty() && p.front().first <= wm) {
        const V* row = nullptr;
        if (vit != versions_.end())
          row = version_at(vit->second, p.front().first);
        collector<Out> c{out_, p.front().first};
        std::invoke(f_, std::as_const(p.front().second), row, c);
        p.pop_front();
        --pending_count_;
      }
      if (p.empty())
        pending_.erase(pit);
    }
    if (vit == versions_.end())
      return;
    auto& v = vit->second;
    // Keep the version valid at wm (the last one at or before it) and later ones.
    while (v.size() > 1 && v[1].first <= wm) {
      v.pop_front();
      --version_count_;
    }
    if (v.size() == 1 && v.front().first <= wm && !v.front().second) {
      v.clear();  // deleted, and nothing can see an older version any more
      --version_count_;
    }
    if (v.empty())
      versions_.erase(vit);
  }

  static const V* version_at(const list<std::optional<V>>& v, timestamp t) {
    auto it = std::upper_bound(v.begin(), v.end(), t,
                               [](timestamp x, const auto& e) { return x < e.first; });
    if (it == v.begin())
      return nullptr;
    --it;
    return it->second ? &*it->second : nullptr;
  }

  template <class T>
  size_t read_list(state::reader& r, const K& k, std::unordered_map<K, list<T>, key_hash<K>>& into,
                   const char* what) {
    uint64_t n = 0;
    state::decode(r, n);
    for (uint64_t i = 0; i < n; ++i) {
      timestamp ts;
      T x{};
      state::decode(r, ts);
      state::decode_checked(r, x, what);
      into[k].emplace_back(ts, std::move(x));  // written in time order
      due_.add(ts, k);
    }
    return static_cast<size_t>(n);
  }

  KeyA ka_;
  KeyC kc_;
  F f_;
  std::unordered_map<K, list<A>, key_hash<K>> pending_;
  std::unordered_map<K, list<std::optional<V>>, key_hash<K>> versions_;
  key_time_queue<K> due_;
  size_t pending_count_ = 0, version_count_ = 0;
  port<Out> out_;
  port<A> late_a_;
  port<change<V>> late_c_;
};

/// Lookup join: each record `a` of input 0 meets the latest row of its key
/// in the table that the changelog on input 1 builds, as far as it has
/// arrived — `f(const A&, const V* row, collector<Out>&)` at once, no
/// waiting. Processing-time semantics (like Flink's lookup join): which
/// version `a` sees depends on the order in which the two inputs arrive;
/// use `temporal_join` where results must not depend on it. Ports 1 and 2
/// exist for a uniform join output and stay empty.
template <class A, class V, class K, class Out, class KeyA, class KeyC, class F>
class lookup_join_operator final : public operator_base {
public:
  lookup_join_operator(KeyA ka, KeyC kc, F f)
      : ka_(std::move(ka)), kc_(std::move(kc)), f_(std::move(f)) {}

  void process(size_t input, batch_base& b) override {
    if (input == 0) {
      for (auto& r : batch_cast<A>(b).records) {
        auto it = table_.find(std::invoke(ka_, std::as_const(r.value)));
        collector<Out> c{out_, r.ts};
        std::invoke(f_, std::as_const(r.value), it == table_.end() ? nullptr : &it->second, c);
      }
    } else {
      for (auto& r : batch_cast<change<V>>(b).records) {
        K k = std::invoke(kc_, std::as_const(r.value));
        if (r.value.is_erase())
          table_.erase(k);
        else
          table_.insert_or_assign(std::move(k), std::move(r.value.value));
      }
    }
  }

  size_t num_ports() const noexcept override { return 3; }
  uint64_t state_entries() const noexcept override { return table_.size(); }
  output_port_base& out(size_t i) override {
    return i == 0   ? static_cast<output_port_base&>(out_)
           : i == 1 ? static_cast<output_port_base&>(late_a_)
                    : static_cast<output_port_base&>(late_c_);
  }

  size_t rows() const noexcept { return table_.size(); }

  void snapshot(state::snapshot_writer& w) override {
    state::require_serializable<K>("key");
    state::require_serializable<V>("table row");
    for (auto& [k, v] : table_) {
      auto out = w.keyed(k);
      state::encode_checked(out, k, "key");
      state::encode_checked(out, v, "table row");
    }
  }

  void restore(const state::snapshot_reader& in) override {
    in.for_each_keyed([&](state::reader& r) {
      K k{};
      V v{};
      state::decode_checked(r, k, "key");
      state::decode_checked(r, v, "table row");
      table_.insert_or_assign(std::move(k), std::move(v));
    });
  }

private:
  KeyA ka_;
  KeyC kc_;
  F f_;
  std::unordered_map<K, V, key_hash<K>> table_;
  port<Out> out_;
  port<A> late_a_;
  port<change<V>> late_c_;
};

}  // namespace sluice::ops
