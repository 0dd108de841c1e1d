#pragma once

#include <functional>
#include <limits>
#include <map>
#include <unordered_map>
#include <utility>
#include <vector>

#include "sluice/hash.hpp"
#include "sluice/operator.hpp"
#include "sluice/window/window.hpp"

namespace sluice::window {

/// Keyed, non-merging time windows (tumbling, sliding) with incremental
/// aggregation.
///
/// Event time: a window fires when the watermark reaches its max timestamp;
/// with allowed lateness its state is kept until max timestamp + lateness and
/// every late record within that bound fires the window again with the
/// updated result. A record whose windows are all past that bound goes to
/// port 1 (late records). Processing time: records are assigned by arrival
/// time and windows fire when the clock passes their end; what is open at end
/// of input fires then.
///
/// Ports: 0 = `window_result<K, R>`, 1 = late records (`T`).
template <class T, class K, class KeyFn, class Assigner, class Agg>
class time_window_operator final : public operator_base {
 public:
  using acc_type = typename Agg::acc_type;
  using result_type = aggregate_result_t<Agg>;
  using output_type = window_result<K, result_type>;

  time_window_operator(KeyFn key, Assigner assigner, Agg agg, duration lateness)
      : key_(std::move(key)), assigner_(std::move(assigner)), agg_(std::move(agg)), lateness_(lateness) {}

  void process(size_t, batch_base& b) override {
    const bool event = assigner_.domain == time_domain::event;
    const timestamp wm = context().watermark();
    for (auto& r : batch_cast<T>(b).records) {
      int64_t t;
      if (event) {
        if (r.ts == timestamp::min()) {
          context().reject("", "record has no event timestamp; give the source a watermark strategy", "");
          continue;
        }
        t = r.ts.ms;
      } else {
        t = context().processing_time().ms;
      }
      K k = std::invoke(key_, std::as_const(r.value));
      bool assigned = false;
      bool expired = false;
      assigner_.assign(t, [&](time_window w) {
        if (event && w.max_timestamp() + lateness_ <= wm) {  // window already cleaned up
          expired = true;
          return;
        }
        assigned = true;
        auto [it, inserted] = state_.try_emplace(slot{k, w}, agg_.create());
        agg_.add(it->second, std::as_const(r.value));
        const bool due = event && w.max_timestamp() <= wm;
        if (inserted) {
          if (due)  // fired right below; only its cleanup is left to schedule
            cleanup_[(w.max_timestamp() + lateness_).ms].push_back(slot{k, w});
          else
            timers_[event ? w.max_timestamp().ms : w.end].push_back(slot{k, w});
          if (!event) context().request_timer(timestamp::of(timers_.begin()->first));
        }
        if (due) emit(it->first, it->second);  // late but allowed: fire (again)
      });
      // A record in the gap between hopping windows (slide > size) belongs to
      // no window and is not late; only a record whose windows expired is.
      if (!assigned && expired) late_.emit(std::move(r));
    }
  }

  void on_watermark(timestamp wm) override {
    if (assigner_.domain != time_domain::event) return;
    while (!timers_.empty() && timestamp::of(timers_.begin()->first) <= wm) {
      auto slots = std::move(timers_.begin()->second);
      timers_.erase(timers_.begin());
      for (auto& s : slots) {
        auto it = state_.find(s);
        if (it == state_.end()) continue;
        emit(it->first, it->second);
        if (lateness_.count() == 0)
          state_.erase(it);
        else
          cleanup_[(s.w.max_timestamp() + lateness_).ms].push_back(std::move(s));
      }
    }
    while (!cleanup_.empty() && timestamp::of(cleanup_.begin()->first) <= wm) {
      for (auto& s : cleanup_.begin()->second) state_.erase(s);
      cleanup_.erase(cleanup_.begin());
    }
  }

  void on_timer(timestamp now) override {
    if (assigner_.domain != time_domain::processing) return;
    fire_processing_until(now.ms);
    if (!timers_.empty()) context().request_timer(timestamp::of(timers_.begin()->first));
  }

  void end_input() override {
    if (assigner_.domain == time_domain::processing) fire_processing_until(std::numeric_limits<int64_t>::max());
  }

  size_t num_ports() const noexcept override { return 2; }
  output_port_base& out(size_t i) override {
    if (i == 0) return out_;
    return late_;
  }

  /// Number of open (key, window) states.
  size_t open_windows() const noexcept { return state_.size(); }

 private:
  struct slot {
    K key;
    time_window w;
    friend bool operator==(const slot&, const slot&) = default;
  };
  struct slot_hash {
    size_t operator()(const slot& s) const noexcept {
      return hash_combine(key_hash<K>{}(s.key), std::hash<time_window>{}(s.w));
    }
  };

  void emit(const slot& s, const acc_type& acc) {
    out_.emit(output_type{s.key, s.w, agg_.result(acc)}, s.w.max_timestamp());
  }

  void fire_processing_until(int64_t now) {
    while (!timers_.empty() && timers_.begin()->first <= now) {
      for (auto& s : timers_.begin()->second) {
        auto it = state_.find(s);
        if (it == state_.end()) continue;
        emit(it->first, it->second);
        state_.erase(it);
      }
      timers_.erase(timers_.begin());
    }
  }

  KeyFn key_;
  Assigner assigner_;
  Agg agg_;
  duration lateness_;
  std::unordered_map<slot, acc_type, slot_hash> state_;
  std::map<int64_t, std::vector<slot>> timers_;   // fire time -> windows
  std::map<int64_t, std::vector<slot>> cleanup_;  // cleanup time -> windows (lateness > 0)
  port<output_type> out_;
  port<T> late_;
};

}  // namespace sluice::window
