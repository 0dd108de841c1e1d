#pragma once

#include <algorithm>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "sluice/collector.hpp"
#include "sluice/hash.hpp"
#include "sluice/operator.hpp"
#include "sluice/ops/key_time_queue.hpp"
#include "sluice/ops/timed_lists.hpp"
#include "sluice/state/codec.hpp"

namespace sluice::ops {

/// The bounds of an interval join, in event time: `b` joins `a` when
/// `a.ts + lower <= b.ts <= a.ts + upper` (each bound inclusive unless made
/// exclusive, which moves it by 1 ms inward, as Flink does).
struct join_interval {
  duration lower{0};
  duration upper{0};

  static join_interval between(duration lower, duration upper, bool lower_exclusive = false,
                               bool upper_exclusive = false) {
    join_interval j{lower + duration{lower_exclusive ? 1 : 0},
                    upper - duration{upper_exclusive ? 1 : 0}};
    if (lower > upper)
      throw std::invalid_argument("interval join: lower bound " + std::to_string(lower.count()) +
                                  " ms is greater than upper bound " +
                                  std::to_string(upper.count()) + " ms");
    return j;
  }
};

/// Keyed interval join (Flink's `IntervalJoinOperator`): each record of
/// input 0 (`A`) meets the buffered records of input 1 (`B`) of its key
/// within the interval, and each `B` meets the buffered `A`s; every pair is
/// handed once to `f(const A&, const B&, collector<Out>&)`, stamped with the
/// later of the two times. Records are buffered until the watermark passes
/// the last time a partner could have: an `A` at `t` until `t + upper`, a `B`
/// until `t - lower` — so state stays bounded for unbounded inputs. A record
/// older than the watermark is late (`ts < watermark`, as Flink decides it):
/// it joins nothing and goes to port 1 (late `A`) or 2 (late `B`).
template <class A, class B, class K, class Out, class KeyA, class KeyB, class F>
class interval_join_operator final : public operator_base {
public:
  interval_join_operator(KeyA ka, KeyB kb, join_interval iv, F f)
      : ka_(std::move(ka)), kb_(std::move(kb)), iv_(iv), f_(std::move(f)) {}

  void process(size_t input, batch_base& b) override {
    if (input == 0)
      run<true, A>(b, ka_, left_, right_, late_a_, iv_.lower, iv_.upper, left_cleanup_);
    else
      run<false, B>(b, kb_, right_, left_, late_b_, -iv_.upper, -iv_.lower, right_cleanup_);
  }

  void on_watermark(timestamp wm) override {
    expire(left_, left_cleanup_, wm, left_keep(), left_count_);
    expire(right_, right_cleanup_, wm, right_keep(), right_count_);
  }

  size_t num_ports() const noexcept override { return 3; }
  uint64_t state_entries() const noexcept override { return left_.size() + right_.size(); }
  bool late_port(size_t i) const noexcept override { return i == 1 || i == 2; }
  output_port_base& out(size_t i) override {
    return i == 0   ? static_cast<output_port_base&>(out_)
           : i == 1 ? static_cast<output_port_base&>(late_a_)
                    : static_cast<output_port_base&>(late_b_);
  }

  /// Buffered records (left, right): bounded-state checks.
  std::pair<size_t, size_t> buffered() const noexcept { return {left_count_, right_count_}; }

  void snapshot(state::snapshot_writer& w) override {
    state::require_serializable<K>("key");
    state::require_serializable<A>("left record");
    state::require_serializable<B>("right record");
    snapshot_timed_lists<K>(w, left_, right_, "left record", "right record");
  }

  void restore(const state::snapshot_reader& in) override {
    in.for_each_keyed([&](state::reader& r) {
      K k{};
      state::decode_checked(r, k, "key");
      read_side(r, k, left_, left_cleanup_, left_keep(), left_count_, "left record");
      read_side(r, k, right_, right_cleanup_, right_keep(), right_count_, "right record");
    });
  }

private:
  /// A key's records of one side, sorted by time (appended when they arrive in order).
  template <class T>
  using buffer = timed_list<T>;

  // How long past its own time a record stays buffered.
  duration left_keep() const { return iv_.upper.count() > 0 ? iv_.upper : duration{0}; }
  duration right_keep() const { return iv_.lower.count() < 0 ? -iv_.lower : duration{0}; }

  template <bool Left, class T, class KeyFn, class Own, class Other, class Late>
  void run(batch_base& b, KeyFn& key, Own& own, Other& other, Late& late, duration lo, duration hi,
           key_time_queue<K>& cleanup) {
    const timestamp wm = context().watermark();
    auto before = [](const auto& e, timestamp t) {
      return e.first < t;
    };
    for (auto& r : batch_cast<T>(b).records) {
      if (wm != timestamp::min() && r.ts < wm) {
        late.emit(std::move(r.value), r.ts);
        continue;
      }
      K k = std::invoke(key, std::as_const(r.value));
      if (auto it = other.find(k); it != other.end()) {
        auto& buf = it->second;
        const timestamp from = r.ts + lo, to = r.ts + hi;
        for (auto o = std::lower_bound(buf.begin(), buf.end(), from, before);
             o != buf.end() && o->first <= to; ++o) {
          collector<Out> c{out_, std::max(r.ts, o->first)};
          if constexpr (Left)
            std::invoke(f_, std::as_const(r.value), std::as_const(o->second), c);
          else
            std::invoke(f_, std::as_const(o->second), std::as_const(r.value), c);
        }
      }
      cleanup.add(r.ts + (Left ? left_keep() : right_keep()), k);
      insert_by_time(own[std::move(k)], r.ts, std::move(r.value));
      ++(Left ? left_count_ : right_count_);
    }
  }

  template <class Own>
  void expire(Own& own, key_time_queue<K>& cleanup, timestamp wm, duration keep, size_t& count) {
    K k{};
    while (cleanup.pop_due(wm, k)) {
      auto it = own.find(k);
      if (it == own.end())
        continue;
      auto& buf = it->second;
      while (!buf.empty() && buf.front().first + keep <= wm) {
        buf.pop_front();
        --count;
      }
      if (buf.empty())
        own.erase(it);
    }
  }

  template <class T>
  static void read_side(state::reader& r, const K& k,
                        std::unordered_map<K, buffer<T>, key_hash<K>>& own,
                        key_time_queue<K>& cleanup, duration keep, size_t& count,
                        const char* what) {
    uint64_t n = 0;
    state::decode(r, n);
    for (uint64_t i = 0; i < n; ++i) {
      timestamp ts;
      T x{};
      state::decode(r, ts);
      state::decode_checked(r, x, what);
      own[k].emplace_back(ts, std::move(x));  // written in time order
      cleanup.add(ts + keep, k);
      ++count;
    }
  }

  KeyA ka_;
  KeyB kb_;
  join_interval iv_;
  F f_;
  std::unordered_map<K, buffer<A>, key_hash<K>> left_;
  std::unordered_map<K, buffer<B>, key_hash<K>> right_;
  key_time_queue<K> left_cleanup_, right_cleanup_;
  size_t left_count_ = 0, right_count_ = 0;
  port<Out> out_;
  port<A> late_a_;
  port<B> late_b_;
};

}  // namespace sluice::ops
