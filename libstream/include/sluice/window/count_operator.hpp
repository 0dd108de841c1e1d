#pragma once

#include <algorithm>
#include <functional>
#include <unordered_map>
#include <utility>

#include "sluice/hash.hpp"
#include "sluice/operator.hpp"
#include "sluice/window/count.hpp"
#include "sluice/window/window.hpp"

namespace sluice::window {

/// Keyed tumbling count windows: every `size` records of a key are aggregated
/// and emitted together, in arrival order. Port 0 = `window_result<K, R>`,
/// whose window spans the records' timestamps [min, max + 1).
///
/// No record is ever late for a count window. With `late_port`, the operator
/// still has a port 1 of late records (`T`), always empty, so that it can
/// stand in for a time window chosen at run time (`window::assigner`), whose
/// pipeline may read `late_records()`.
template <class T, class K, class KeyFn, class Agg>
class count_window_operator final : public operator_base {
public:
  using acc_type = typename Agg::acc_type;
  using result_type = aggregate_result_t<Agg>;
  using output_type = window_result<K, result_type>;

  count_window_operator(KeyFn key, count c, Agg agg, bool late_port = false)
      : key_(std::move(key)), size_(c.size), agg_(std::move(agg)), late_port_(late_port) {}

  void process(size_t, batch_base& b) override {
    for (auto& r : batch_cast<T>(b).records) {
      K k = std::invoke(key_, std::as_const(r.value));
      auto [it, inserted] = state_.try_emplace(k, entry{0, agg_.create(), r.ts, r.ts});
      entry& e = it->second;
      agg_.add(e.acc, std::as_const(r.value));
      e.lo = std::min(e.lo, r.ts);
      e.hi = std::max(e.hi, r.ts);
      if (++e.n == size_) {
        out_.emit(output_type{it->first, time_window{e.lo.ms, (e.hi + duration{1}).ms},
                              agg_.result(e.acc)},
                  e.hi);
        state_.erase(it);
      }
    }
  }

  size_t num_ports() const noexcept override { return late_port_ ? 2 : 1; }
  uint64_t state_entries() const noexcept override { return state_.size(); }
  bool late_port(size_t i) const noexcept override { return i == 1; }
  output_port_base& out(size_t i) override {
    if (i == 0)
      return out_;
    return late_;
  }

  void snapshot(state::snapshot_writer& w) override {
    state::require_serializable<K>("key");
    state::require_serializable<acc_type>("window accumulator");
    for (auto& [k, e] : state_) {
      auto out = w.keyed(k);
      state::encode_checked(out, k, "key");
      state::encode(out, e.n);
      state::encode_checked(out, e.acc, "window accumulator");
      state::encode(out, e.lo);
      state::encode(out, e.hi);
    }
  }

  void restore(const state::snapshot_reader& in) override {
    in.for_each_keyed([&](state::reader& r) {
      K k{};
      entry e{0, agg_.create(), {}, {}};
      state::decode_checked(r, k, "key");
      state::decode(r, e.n);
      state::decode_checked(r, e.acc, "window accumulator");
      state::decode(r, e.lo);
      state::decode(r, e.hi);
      state_.insert_or_assign(std::move(k), std::move(e));
    });
  }

  /// Keys with an incomplete window.
  size_t open_windows() const noexcept { return state_.size(); }

private:
  struct entry {
    uint64_t n;
    acc_type acc;
    timestamp lo;
    timestamp hi;
  };

  KeyFn key_;
  uint64_t size_;
  Agg agg_;
  bool late_port_;
  std::unordered_map<K, entry, key_hash<K>> state_;
  port<output_type> out_;
  port<T> late_;  // only with late_port_; never written
};

}  // namespace sluice::window
