#pragma once

#include <algorithm>
#include <deque>
#include <functional>
#include <map>
#include <unordered_map>
#include <utility>

#include "sluice/collector.hpp"
#include "sluice/hash.hpp"
#include "sluice/operator.hpp"
#include "sluice/ops/key_time_queue.hpp"
#include "sluice/ops/timed_lists.hpp"
#include "sluice/state/codec.hpp"

namespace sluice {

/// When the records of a broadcast stream take effect on the keyed stream
/// they are connected to.
enum class broadcast_order {
  /// As they arrive (Flink's broadcast state pattern): fastest, but which
  /// keyed records see an update depends on how the two inputs interleave,
  /// which a replay after a failure may change.
  arrival,
  /// At their event time: a keyed record at `t` sees exactly the updates at
  /// or before `t`. Keyed records wait until the watermark of both inputs
  /// passes them (the broadcast stream needs watermarks too); results do not
  /// depend on arrival order, so they are the same after a failure.
  event_time,
};

namespace ops {

/// A keyed stream (input 0, `T` by `K`, per-key state `S`) connected to a
/// broadcast stream (input 1, `R`, sent to every instance) that updates
/// broadcast state `BS`: `on_broadcast(const R&, BS&)` applies an update in
/// every instance alike; `on_record(const K&, T, S&, const BS&,
/// collector<Out>&)` reads it. Broadcast state is checkpointed once (it is
/// the same in every instance at a barrier: each instance has received the
/// same broadcast records and, in event-time order, the same watermark) and
/// restored into every instance at any parallelism. In event-time order,
/// keyed records older than the watermark are late (port 1) and broadcast
/// records older than it apply at once.
template <class T, class K, class S, class R, class BS, class Out, class KeyFn, class F, class G>
class broadcast_process_operator final : public operator_base {
public:
  broadcast_process_operator(KeyFn key, F on_record, G on_broadcast, broadcast_order order)
      : key_(std::move(key)),
        f_(std::move(on_record)),
        g_(std::move(on_broadcast)),
        order_(order) {}

  void process(size_t input, batch_base& b) override {
    const timestamp wm = context().watermark();
    const bool event = order_ == broadcast_order::event_time;
    if (input == 1) {
      for (auto& r : batch_cast<R>(b).records) {
        if (event && r.ts >= wm && wm != timestamp::max())
          updates_.emplace(r.ts, std::move(r.value));
        else
          std::invoke(g_, std::as_const(r.value), bs_);
      }
      return;
    }
    for (auto& r : batch_cast<T>(b).records) {
      K k = std::invoke(key_, std::as_const(r.value));
      if (!event) {
        run(k, std::move(r.value), r.ts);
      } else if (wm != timestamp::min() && r.ts < wm) {
        late_.emit(std::move(r));
      } else {
        due_.add(r.ts, k);
        insert_by_time(waiting_[std::move(k)], r.ts, std::move(r.value));
        ++waiting_count_;
      }
    }
  }

  /// Applies the updates and runs the waiting records up to `wm`, merged in
  /// time order (an update before the records of its own time).
  void on_watermark(timestamp wm) override {
    if (order_ != broadcast_order::event_time)
      return;
    for (;;) {
      const auto tq = due_.next_time();
      const bool update_due = !updates_.empty() && updates_.begin()->first <= wm;
      if (update_due && (!tq || *tq > wm || updates_.begin()->first <= *tq)) {
        std::invoke(g_, std::as_const(updates_.begin()->second), bs_);
        updates_.erase(updates_.begin());
        continue;
      }
      K k{};
      if (!tq || *tq > wm || !due_.pop_due(*tq, k))
        break;
      auto it = waiting_.find(k);
      if (it == waiting_.end())
        continue;
      auto& w = it->second;
      while (!w.empty() && w.front().first <= *tq) {
        auto [ts, x] = std::move(w.front());
        w.pop_front();
        --waiting_count_;
        run(k, std::move(x), ts);
      }
      if (w.empty())
        waiting_.erase(it);
    }
  }

  void end_input() override { on_watermark(timestamp::max()); }

  size_t num_ports() const noexcept override { return 2; }
  uint64_t state_entries() const noexcept override { return states_.size() + waiting_.size(); }
  bool late_port(size_t i) const noexcept override { return i == 1; }
  output_port_base& out(size_t i) override {
    return i == 0 ? static_cast<output_port_base&>(out_) : static_cast<output_port_base&>(late_);
  }

  const BS& broadcast_state() const noexcept { return bs_; }
  /// Keyed records waiting for the watermark, and broadcast updates waiting.
  std::pair<size_t, size_t> waiting() const noexcept { return {waiting_count_, updates_.size()}; }

  void snapshot(state::snapshot_writer& w) override {
    state::require_serializable<K>("key");
    state::require_serializable<S>("keyed state");
    state::require_serializable<BS>("broadcast state");
    if (!waiting_.empty())
      state::require_serializable<T>("waiting record");
    if (!updates_.empty())
      state::require_serializable<R>("waiting broadcast record");
    for (auto& [k, s] : states_) {
      auto out = w.keyed(k);
      state::encode_checked(out, k, "key");
      state::encode(out, uint8_t{0});
      state::encode_checked(out, s, "keyed state");
    }
    for (auto& [k, list] : waiting_) {
      auto out = w.keyed(k);
      state::encode_checked(out, k, "key");
      state::encode(out, uint8_t{1});
      state::encode(out, static_cast<uint64_t>(list.size()));
      for (auto& [ts, x] : list) {
        state::encode(out, ts);
        state::encode_checked(out, x, "waiting record");
      }
    }
    if (context().instance() != 0)
      return;  // the same everywhere: the runtime keeps instance 0's copy
    auto out = w.broadcast_state();
    state::encode_checked(out, bs_, "broadcast state");
    state::encode(out, static_cast<uint64_t>(updates_.size()));
    for (auto& [ts, r] : updates_) {
      state::encode(out, ts);
      state::encode_checked(out, r, "waiting broadcast record");
    }
  }

  void restore(const state::snapshot_reader& in) override {
    in.for_each_keyed([&](state::reader& r) {
      K k{};
      state::decode_checked(r, k, "key");
      if (r.number<uint8_t>() == 0) {
        state::decode_checked(r, states_[k], "keyed state");
        return;
      }
      uint64_t n = 0;
      state::decode(r, n);
      auto& list = waiting_[k];
      for (uint64_t i = 0; i < n; ++i) {
        timestamp ts;
        T x{};
        state::decode(r, ts);
        state::decode_checked(r, x, "waiting record");
        list.emplace_back(ts, std::move(x));
        due_.add(ts, k);
        ++waiting_count_;
      }
    });
    if (const auto& b = in.broadcast_state()) {
      state::reader r{*b};
      state::decode_checked(r, bs_, "broadcast state");
      uint64_t n = 0;
      state::decode(r, n);
      for (uint64_t i = 0; i < n; ++i) {
        timestamp ts;
        R x{};
        state::decode(r, ts);
        state::decode_checked(r, x, "waiting broadcast record");
        updates_.emplace(ts, std::move(x));
      }
    }
  }

private:
  void run(const K& k, T x, timestamp ts) {
    collector<Out> c{out_, ts};
    std::invoke(f_, k, std::move(x), states_[k], std::as_const(bs_), c);
  }

  KeyFn key_;
  F f_;
  G g_;
  broadcast_order order_;
  BS bs_{};
  std::multimap<timestamp, R> updates_;
  std::unordered_map<K, S, key_hash<K>> states_;
  std::unordered_map<K, timed_list<T>, key_hash<K>> waiting_;
  key_time_queue<K> due_;
  size_t waiting_count_ = 0;
  port<Out> out_;
  port<T> late_;
};

}  // namespace ops
}  // namespace sluice
