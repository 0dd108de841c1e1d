#pragma once

#include <algorithm>
#include <functional>
#include <map>
#include <unordered_map>
#include <utility>
#include <vector>

#include "sluice/hash.hpp"
#include "sluice/operator.hpp"
#include "sluice/window/session.hpp"
#include "sluice/window/window.hpp"

namespace sluice::window {

/// Keyed event-time session windows with incremental aggregation. A record at
/// `t` opens [t, t + gap) and merges every session of its key it intersects
/// (accumulators merged with `Agg::merge`). Firing, allowed lateness and late
/// records follow `time_window_operator`: a record whose merged session would
/// already be past max timestamp + lateness goes to port 1.
///
/// Ports: 0 = `window_result<K, R>`, 1 = late records (`T`).
template <class T, class K, class KeyFn, class Agg>
class session_window_operator final : public operator_base {
public:
  using acc_type = typename Agg::acc_type;
  using result_type = aggregate_result_t<Agg>;
  using output_type = window_result<K, result_type>;

  session_window_operator(KeyFn key, session s, Agg agg, duration lateness)
      : key_(std::move(key)), gap_(s.gap), agg_(std::move(agg)), lateness_(lateness) {}

  void process(size_t, batch_base& b) override {
    const timestamp wm = context().watermark();
    for (auto& r : batch_cast<T>(b).records) {
      if (r.ts == timestamp::min()) {
        context().reject("", "record has no event timestamp; give the source a watermark strategy",
                         "");
        continue;
      }
      K k = std::invoke(key_, std::as_const(r.value));
      time_window merged{r.ts.ms, r.ts.ms + gap_.count()};
      auto& list = sessions_[k];
      for (auto& s : list)
        if (intersects(s.w, merged))
          merged = {std::min(merged.start, s.w.start), std::max(merged.end, s.w.end)};
      if (merged.max_timestamp() + lateness_ <= wm) {
        late_.emit(std::move(r));
        if (list.empty())
          sessions_.erase(k);
        continue;
      }
      entry e{merged, agg_.create(), false};
      agg_.add(e.acc, std::as_const(r.value));
      for (auto it = list.begin(); it != list.end();) {
        if (intersects(it->w, merged)) {
          agg_.merge(e.acc, std::move(it->acc));
          it = list.erase(it);
        } else {
          ++it;
        }
      }
      list.push_back(std::move(e));
      timers_[merged.max_timestamp().ms].push_back(k);
      if (merged.max_timestamp() <= wm)
        visit(k, list, wm);  // late but allowed: fire now
    }
  }

  void on_watermark(timestamp wm) override {
    while (!timers_.empty() && timestamp::of(timers_.begin()->first) <= wm) {
      auto keys = std::move(timers_.begin()->second);
      timers_.erase(timers_.begin());
      for (auto& k : keys) {
        auto it = sessions_.find(k);
        if (it == sessions_.end())
          continue;  // stale timer of a merged or cleaned session
        visit(k, it->second, wm);
        if (it->second.empty())
          sessions_.erase(it);
      }
    }
  }

  size_t num_ports() const noexcept override { return 2; }
  uint64_t state_entries() const noexcept override {
    uint64_t n = 0;
    for (auto& [k, ss] : sessions_)
      n += ss.size();
    return n;
  }
  bool late_port(size_t i) const noexcept override { return i == 1; }
  output_port_base& out(size_t i) override {
    if (i == 0)
      return out_;
    return late_;
  }

  void snapshot(state::snapshot_writer& w) override {
    state::require_serializable<K>("key");
    state::require_serializable<acc_type>("session accumulator");
    for (auto& [k, list] : sessions_) {
      auto out = w.keyed(k);
      state::encode_checked(out, k, "key");
      state::encode(out, list.size());
      for (auto& e : list) {
        state::encode(out, e.w);
        state::encode_checked(out, e.acc, "session accumulator");
        state::encode(out, e.fired);
      }
    }
  }

  void restore(const state::snapshot_reader& in) override {
    in.for_each_keyed([&](state::reader& r) {
      K k{};
      state::decode_checked(r, k, "key");
      const size_t n = r.size();
      auto& list = sessions_[k];
      for (size_t i = 0; i < n; ++i) {
        entry e{{}, agg_.create(), false};
        state::decode(r, e.w);
        state::decode_checked(r, e.acc, "session accumulator");
        state::decode(r, e.fired);
        timers_[e.w.max_timestamp().ms].push_back(k);
        if (lateness_.count() > 0)
          timers_[(e.w.max_timestamp() + lateness_).ms].push_back(k);
        list.push_back(std::move(e));
      }
    });
  }

  size_t open_sessions() const noexcept {
    size_t n = 0;
    for (auto& [k, l] : sessions_)
      n += l.size();
    return n;
  }

private:
  struct entry {
    time_window w;
    acc_type acc;
    bool fired;
  };

  static bool intersects(const time_window& a, const time_window& b) {
    return a.start <= b.end && b.start <= a.end;
  }

  /// Fires due sessions of one key and drops those past their lateness.
  void visit(const K& k, std::vector<entry>& list, timestamp wm) {
    for (auto it = list.begin(); it != list.end();) {
      if (!it->fired && it->w.max_timestamp() <= wm) {
        out_.emit(output_type{k, it->w, agg_.result(it->acc)}, it->w.max_timestamp());
        it->fired = true;
        if (lateness_.count() > 0)
          timers_[(it->w.max_timestamp() + lateness_).ms].push_back(k);
      }
      if (it->w.max_timestamp() + lateness_ <= wm)
        it = list.erase(it);
      else
        ++it;
    }
  }

  KeyFn key_;
  duration gap_;
  Agg agg_;
  duration lateness_;
  std::unordered_map<K, std::vector<entry>, key_hash<K>> sessions_;
  std::map<int64_t, std::vector<K>> timers_;  // may hold stale entries; visit() checks
  port<output_type> out_;
  port<T> late_;
};

}  // namespace sluice::window
