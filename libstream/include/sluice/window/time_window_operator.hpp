#pragma once

#include <functional>
#include <limits>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "sluice/hash.hpp"
#include "sluice/key_group.hpp"
#include "sluice/operator.hpp"
#include "sluice/window/key_table.hpp"
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
/// A record that falls into no window (in a gap between hopping windows,
/// slide > size) is handled as Flink's WindowOperator does: if it is late
/// (timestamp + lateness <= watermark) it goes to port 1 like any late
/// record; otherwise it is skipped, and goes to port 2, which the pipeline
/// never connects, so the runtime counts it in the job summary (column
/// "unconsumed") instead of dropping it unseen.
///
/// Ports: 0 = `window_result<K, R>`, 1 = late records (`T`), 2 = skipped
/// records (`T`).
template <class T, class K, class KeyFn, class Assigner, class Agg>
class time_window_operator final : public operator_base {
public:
  using acc_type = typename Agg::acc_type;
  using result_type = aggregate_result_t<Agg>;
  using output_type = window_result<K, result_type>;

  time_window_operator(KeyFn key, Assigner assigner, Agg agg, duration lateness)
      : key_(std::move(key)),
        assigner_(std::move(assigner)),
        agg_(std::move(agg)),
        lateness_(lateness) {}

  void open(operator_context& ctx) override {
    operator_base::open(ctx);
    request_processing_timer();
  }

  void process(size_t, batch_base& b) override {
    const bool event = assigner_.domain == time_domain::event;
    const timestamp wm = context().watermark();
    for (auto& r : batch_cast<T>(b).records) {
      int64_t t;
      if (event) {
        if (r.ts == timestamp::min()) {
          context().reject(
              "", "record has no event timestamp; give the source a watermark strategy", "");
          continue;
        }
        t = r.ts.ms;
      } else {
        t = context().processing_time().ms;
      }
      K k = std::invoke(key_, std::as_const(r.value));
      bool assigned = false;
      assigner_.assign(t, [&](time_window w) {
        if (event && w.max_timestamp() + lateness_ <= wm)
          return;  // window already cleaned up
        assigned = true;
        window_state& ws = find_or_open(w);
        auto* e = ws.accs.find_or_insert(k, [&] { return agg_.create(); }).first;
        agg_.add(e->value, std::as_const(r.value));
        if (event && w.max_timestamp() <= wm) {  // late but allowed: fire (again) for this key
          ws.fired = true;
          emit(e->key, w, e->value);
        }
      });
      // Not in any live window: either all its windows expired, or it fell
      // into a gap between hopping windows (slide > size). Late is decided by
      // the record itself, as Flink's isElementLate does, so a late record in
      // a gap is reported late too; an on-time one in a gap is skipped.
      if (!assigned) {
        if (event && r.ts + lateness_ <= wm)
          late_.emit(std::move(r));
        else
          skipped_.emit(std::move(r));
      }
    }
    if (!event)
      request_processing_timer();
  }

  void on_watermark(timestamp wm) override {
    if (assigner_.domain != time_domain::event)
      return;
    // Windows are ordered by end; every window of one end fires at once.
    for (auto it = windows_.begin(); it != windows_.end() && it->first.max_timestamp() <= wm;) {
      if (!it->second.fired) {
        fire(it->first, it->second);
        it->second.fired = true;
      }
      if (it->first.max_timestamp() + lateness_ <= wm)
        it = erase(it);
      else
        ++it;
    }
  }

  void on_timer(timestamp now) override {
    if (assigner_.domain != time_domain::processing)
      return;
    fire_processing_until(now.ms);
    request_processing_timer();
  }

  void end_input() override {
    if (assigner_.domain == time_domain::processing)
      fire_processing_until(std::numeric_limits<int64_t>::max());
  }

  /// Ports a plan node hosting this operator declares.
  static constexpr uint32_t ports = 3;
  size_t num_ports() const noexcept override { return ports; }
  uint64_t state_entries() const noexcept override { return open_windows(); }
  bool late_port(size_t i) const noexcept override { return i == 1; }
  output_port_base& out(size_t i) override {
    if (i == 0)
      return out_;
    if (i == 1)
      return late_;
    return skipped_;
  }

  /// Writes every open (key, window) with its accumulator and whether the
  /// window already fired; firing times are derived from the windows.
  ///
  /// This runs on the task thread and blocks its data path, so it is one
  /// sequential pass over the dense tables: the key group comes from the
  /// hash cached per entry (no rehash), each section is found by index (no
  /// map lookup) and reserved once from a count of its entries (no regrowth).
  void snapshot(state::snapshot_writer& w) override {
    state::require_serializable<K>("key");
    state::require_serializable<acc_type>("window accumulator");
    const uint32_t groups = w.max_parallelism();
    // key_group_of(key), computed from the cached key_hash<K> of the key; a
    // mask instead of a division when the number of groups is a power of two
    // (the default 128), since a division per entry shows in the profile.
    const bool pow2 = (groups & (groups - 1)) == 0;
    auto group_of = [groups, pow2](size_t hash) {
      const uint64_t m = mix64(hash);
      return static_cast<uint32_t>(pow2 ? m & (groups - 1) : m % groups);
    };
    std::vector<size_t> per_group(groups, 0);
    size_t total = 0;
    for (auto& [win, ws] : windows_)
      for (auto& e : ws.accs)
        ++per_group[group_of(e.hash)], ++total;
    if (total == 0)
      return;
    std::vector<std::string*> sections(groups, nullptr);
    size_t entry_bytes = 0;  // of the first entry: exact for fixed-size keys and accumulators
    for (auto& [win, ws] : windows_) {
      const time_window tw = to_window(win);
      for (auto& e : ws.accs) {
        const uint32_t g = group_of(e.hash);
        std::string*& s = sections[g];
        if (!s) {
          s = &w.section(key_group{g});
          if (entry_bytes > 0)
            s->reserve(s->size() + per_group[g] * entry_bytes);
        }
        const size_t before = s->size();
        state::writer out{*s};
        state::encode_checked(out, e.key, "key");
        state::encode(out, tw);
        state::encode_checked(out, e.value, "window accumulator");
        state::encode(out, ws.fired);
        if (entry_bytes == 0) {
          entry_bytes = s->size() - before;
          s->reserve(s->size() + (per_group[g] - 1) * entry_bytes);
        }
      }
    }
  }

  void restore(const state::snapshot_reader& in) override {
    in.for_each_keyed([&](state::reader& r) {
      K k{};
      time_window w;
      acc_type acc = agg_.create();
      bool fired = false;
      state::decode_checked(r, k, "key");
      state::decode(r, w);
      state::decode_checked(r, acc, "window accumulator");
      state::decode(r, fired);
      window_state& ws = find_or_open(w);
      ws.fired = ws.fired || fired;
      ws.accs.insert_or_assign(std::move(k), std::move(acc));
    });
    request_processing_timer();
  }

  /// Number of open (key, window) states.
  size_t open_windows() const noexcept {
    size_t n = 0;
    for (auto& [w, ws] : windows_)
      n += ws.accs.size();
    return n;
  }

private:
  /// Windows sorted by end, then start: the firing order.
  struct by_end {
    int64_t end;
    int64_t start;
    timestamp max_timestamp() const noexcept { return timestamp::of(end - 1); }
    friend auto operator<=>(const by_end&, const by_end&) = default;
  };
  /// All keys' accumulators of one window, hashed by key only.
  struct window_state {
    key_table<K, acc_type> accs;
    bool fired = false;
  };
  using window_map = std::map<by_end, window_state>;

  static time_window to_window(const by_end& w) { return time_window{w.start, w.end}; }

  /// Consecutive records mostly fall into the window of the previous one.
  window_state& find_or_open(time_window w) {
    const by_end key{w.end, w.start};
    if (last_ != windows_.end() && last_->first == key)
      return last_->second;
    last_ = windows_.try_emplace(key).first;
    return last_->second;
  }

  typename window_map::iterator erase(typename window_map::iterator it) {
    if (it == last_)
      last_ = windows_.end();
    return windows_.erase(it);
  }

  void emit(const K& k, time_window w, const acc_type& acc) {
    out_.emit(output_type{k, w, agg_.result(acc)}, w.max_timestamp());
  }

  void fire(const by_end& w, const window_state& ws) {
    auto& out = out_.records();
    out.reserve(out.size() + ws.accs.size());
    for (auto& e : ws.accs)
      emit(e.key, to_window(w), e.value);
  }

  void fire_processing_until(int64_t now) {
    for (auto it = windows_.begin(); it != windows_.end() && it->first.end <= now;) {
      fire(it->first, it->second);
      it = erase(it);
    }
  }

  void request_processing_timer() {
    if (assigner_.domain == time_domain::processing && !windows_.empty() && ctx_)
      context().request_timer(timestamp::of(windows_.begin()->first.end));
  }

  KeyFn key_;
  Assigner assigner_;
  Agg agg_;
  duration lateness_;
  window_map windows_;
  typename window_map::iterator last_ = windows_.end();
  port<output_type> out_;
  port<T> late_;
  port<T> skipped_;
};

}  // namespace sluice::window
