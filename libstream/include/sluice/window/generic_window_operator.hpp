#pragma once

#include <algorithm>
#include <functional>
#include <iterator>
#include <optional>
#include <span>
#include <string>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

#include "sluice/hash.hpp"
#include "sluice/operator.hpp"
#include "sluice/state/timer_queue.hpp"
#include "sluice/window/evictor.hpp"
#include "sluice/window/generic_assigner.hpp"
#include "sluice/window/trigger.hpp"
#include "sluice/window/window.hpp"

namespace sluice::window {

/// The window operator with triggers and evictors, Flink's WindowOperator
/// and EvictingWindowOperator: used when a window is given `.trigger(t)` or
/// `.evictor(e)`, and for global windows and dynamic-gap sessions. Slower
/// than the fixed-trigger operators (`time_window_operator`,
/// `session_window_operator`), which keep serving windows without either.
///
/// State per (key, window), a "pane": the window's contents (an accumulator,
/// or with an evictor the records themselves), the trigger's state, and the
/// trigger's timers in both domains keyed by (key, window). For each record:
/// its windows are assigned (sessions merge, calling the trigger's
/// `on_merge` and `clear` on the windows merged away); windows past their
/// cleanup time are skipped; the record is added and `on_element` decides.
/// A due timer calls `on_event_time` / `on_processing_time` for its window.
/// Firing emits `window_result{key, window, result}` at the window's max
/// timestamp (nothing when the window is empty, e.g. after a purge); purging
/// drops the contents. An event-time window is cleaned up (contents, trigger
/// state via `clear`) at max timestamp + allowed lateness, a processing-time
/// window at its max timestamp; a global window never.
///
/// A record none of whose windows is live goes to port 1 if it is late
/// (timestamp + lateness <= watermark) and otherwise to port 2 (skipped,
/// counted by the runtime), as in `time_window_operator`.
///
/// Ports: 0 = `window_result<K, R>`, 1 = late records (`T`), 2 = skipped (`T`).
template <class T, class K, class KeyFn, class Assigner, class Trigger, class Evictor, class Agg>
class generic_window_operator final : public operator_base {
  using kind = generic_assigner<Assigner>;
  static constexpr bool evicting = !std::is_same_v<Evictor, no_evictor>;
  static constexpr bool merging = kind::merging;
  static_assert(!merging || merging_trigger<Trigger>,
                "session windows need a trigger that can merge: give it "
                "on_merge(const time_window&, S&, std::span<const S>, trigger_context&)");

public:
  using acc_type = typename Agg::acc_type;
  using result_type = aggregate_result_t<Agg>;
  using output_type = window_result<K, result_type>;
  using trigger_state = typename Trigger::state_type;
  using contents_type =
      std::conditional_t<evicting, std::vector<record<T>>, std::optional<acc_type>>;

  generic_window_operator(KeyFn key, Assigner assigner, Trigger trigger, Evictor evictor, Agg agg,
                          duration lateness)
      : key_(std::move(key)),
        assigner_(std::move(assigner)),
        trigger_(std::move(trigger)),
        evictor_(std::move(evictor)),
        agg_(std::move(agg)),
        lateness_(lateness),
        event_time_(kind::event_time(assigner_)),
        tctx_(*this) {}

  void process(size_t, batch_base& b) override {
    const timestamp wm = context().watermark();
    for (auto& r : batch_cast<T>(b).records) {
      if (event_time_ && r.ts == timestamp::min()) {
        context().reject("", "record has no event timestamp; give the source a watermark strategy",
                         "");
        continue;
      }
      const int64_t t = event_time_ ? r.ts.ms : context().processing_time().ms;
      K k = std::invoke(key_, std::as_const(r.value));
      bool skipped = true;
      auto error = kind::assign(assigner_, std::as_const(r.value), t, [&](time_window w) {
        if (add(k, w, r))
          skipped = false;
      });
      if (error) {
        context().reject("", std::move(*error), "");
        continue;
      }
      if (auto it = panes_.find(k); it != panes_.end() && it->second.empty())
        panes_.erase(it);
      if (skipped) {
        if (event_time_ && r.ts + lateness_ <= wm)
          late_.emit(std::move(r));
        else
          skipped_.emit(std::move(r));
      }
    }
  }

  void on_watermark(timestamp wm) override { fire_event_timers(wm); }

  void on_timer(timestamp now) override {
    timer_key tk;
    timestamp when;
    while (processing_.pop_due(now, tk, when))
      on_timer_due(tk, when, false);
    request_processing_timer();
  }

  /// Event time is complete: every event-time timer fires (as at Flink's
  /// final watermark); pending processing-time timers do not.
  void end_input() override { fire_event_timers(timestamp::max()); }

  size_t num_ports() const noexcept override { return 3; }
  uint64_t state_entries() const noexcept override {
    uint64_t n = 0;
    for (auto& [k, ps] : panes_)
      n += ps.size();
    return n;
  }
  bool late_port(size_t i) const noexcept override { return i == 1; }
  output_port_base& out(size_t i) override {
    if (i == 0)
      return out_;
    if (i == 1)
      return late_;
    return skipped_;
  }

  /// Per key, under its key group: its panes and its timers of both domains.
  void snapshot(state::snapshot_writer& w) override {
    state::require_serializable<K>("key");
    state::require_serializable<trigger_state>("trigger state");
    if constexpr (evicting)
      state::require_serializable<T>("window record");
    else
      state::require_serializable<acc_type>("window accumulator");
    std::unordered_map<K, key_timers, key_hash<K>> timers;
    event_.for_each([&](const timer_key& tk, timestamp t) {
      timers[tk.first].event.emplace_back(tk.second, t);
    });
    processing_.for_each([&](const timer_key& tk, timestamp t) {
      timers[tk.first].processing.emplace_back(tk.second, t);
    });
    static const std::vector<pane> no_panes;
    static const key_timers no_timers;
    auto write = [&](const K& k, const std::vector<pane>& ps, const key_timers& kt) {
      auto out = w.keyed(k);
      state::encode_checked(out, k, "key");
      state::encode(out, ps.size());
      for (auto& p : ps) {
        state::encode(out, p.w);
        encode_contents(out, p.contents);
        state::encode_checked(out, p.trig, "trigger state");
      }
      state::encode(out, kt.event);
      state::encode(out, kt.processing);
    };
    for (auto& [k, ps] : panes_) {
      auto it = timers.find(k);
      write(k, ps, it == timers.end() ? no_timers : it->second);
    }
    for (auto& [k, kt] : timers)
      if (!panes_.count(k))
        write(k, no_panes, kt);
  }

  void restore(const state::snapshot_reader& in) override {
    in.for_each_keyed([&](state::reader& r) {
      K k{};
      state::decode_checked(r, k, "key");
      const size_t n = r.size();
      for (size_t i = 0; i < n; ++i) {
        pane p;
        state::decode(r, p.w);
        decode_contents(r, p.contents);
        state::decode_checked(r, p.trig, "trigger state");
        panes_[k].push_back(std::move(p));
      }
      key_timers kt;
      state::decode(r, kt.event);
      state::decode(r, kt.processing);
      for (auto& [w, t] : kt.event)
        event_.add(timer_key{k, w}, t);
      for (auto& [w, t] : kt.processing)
        processing_.add(timer_key{k, w}, t);
    });
    request_processing_timer();
  }

  /// Open (key, window) panes: bounded-state checks.
  size_t open_windows() const noexcept {
    size_t n = 0;
    for (auto& [k, ps] : panes_)
      n += ps.size();
    return n;
  }
  /// Registered timers (event time, processing time).
  std::pair<size_t, size_t> timers() const noexcept { return {event_.size(), processing_.size()}; }

private:
  using timer_key = std::pair<K, time_window>;
  struct pane {
    time_window w;
    contents_type contents{};
    trigger_state trig{};
  };
  struct key_timers {
    std::vector<std::pair<time_window, timestamp>> event, processing;
  };

  /// The operator's side of `trigger_context`: timers of the (key, window)
  /// being handled.
  class context_impl final : public trigger_context {
  public:
    explicit context_impl(generic_window_operator& op) : op_(&op) {}
    void enter(const K& k, const time_window& w) {
      key_ = &k;
      window_ = w;
    }
    timestamp current_watermark() const override { return op_->context().watermark(); }
    timestamp current_processing_time() const override { return op_->context().processing_time(); }
    void register_event_time_timer(timestamp t) override { op_->event_.add(tk(), t); }
    void delete_event_time_timer(timestamp t) override { op_->event_.remove(tk(), t); }
    void register_processing_time_timer(timestamp t) override {
      if (op_->processing_.add(tk(), t))
        op_->context().request_timer(t);
    }
    void delete_processing_time_timer(timestamp t) override { op_->processing_.remove(tk(), t); }

  private:
    timer_key tk() const { return timer_key{*key_, window_}; }
    generic_window_operator* op_;
    const K* key_ = nullptr;
    time_window window_;
  };

  /// When the window's state goes: max timestamp + lateness for event time,
  /// max timestamp for processing time, never for a global window.
  std::optional<timestamp> cleanup_time(const time_window& w) const {
    if constexpr (std::is_same_v<Assigner, global>)
      return std::nullopt;
    else
      return event_time_ ? w.max_timestamp() + lateness_ : w.max_timestamp();
  }
  bool is_late(const time_window& w) const {
    auto c = cleanup_time(w);
    return event_time_ && c && *c <= context_watermark();
  }
  timestamp context_watermark() const { return ctx_->watermark(); }

  void register_cleanup(const K& k, const time_window& w) {
    auto c = cleanup_time(w);
    if (!c)
      return;
    tctx_.enter(k, w);
    event_time_ ? tctx_.register_event_time_timer(*c) : tctx_.register_processing_time_timer(*c);
  }
  void delete_cleanup(const K& k, const time_window& w) {
    auto c = cleanup_time(w);
    if (!c)
      return;
    tctx_.enter(k, w);
    event_time_ ? tctx_.delete_event_time_timer(*c) : tctx_.delete_processing_time_timer(*c);
  }

  static size_t find(const std::vector<pane>& ps, const time_window& w) {
    for (size_t i = 0; i < ps.size(); ++i)
      if (ps[i].w == w)
        return i;
    return ps.size();
  }

  /// Adds record `r` of key `k` to window `w` (merged with the key's
  /// sessions first when windows merge); false if the window is past its
  /// cleanup time.
  bool add(const K& k, time_window w, record<T>& r) {
    auto& ps = panes_[k];
    size_t i;
    if constexpr (merging)
      i = merge_into(k, ps, w);
    else
      i = find(ps, w);
    if (i == ps.size()) {  // a new window
      if (is_late(w))
        return false;
      ps.push_back(pane{w});
    }
    pane& p = ps[i];
    if constexpr (evicting) {
      p.contents.push_back(r);
    } else {
      if (!p.contents)
        p.contents.emplace(agg_.create());
      agg_.add(*p.contents, std::as_const(r.value));
    }
    tctx_.enter(k, p.w);
    const trigger_result res =
        trigger_.on_element(std::as_const(r.value), r.ts, p.w, p.trig, tctx_);
    apply(k, ps[i], res);
    register_cleanup(k, ps[i].w);
    return true;
  }

  /// Merges window `w` with the key's sessions it touches, as Flink's
  /// MergingWindowSet; returns the index of the resulting pane, or
  /// `ps.size()` when `w` touches none (a new session).
  size_t merge_into(const K& k, std::vector<pane>& ps, const time_window& w) {
    std::vector<size_t> hit;
    time_window cover = w;
    for (size_t i = 0; i < ps.size(); ++i)
      if (ps[i].w.start <= w.end && w.start <= ps[i].w.end) {
        hit.push_back(i);
        cover = {std::min(cover.start, ps[i].w.start), std::max(cover.end, ps[i].w.end)};
      }
    if (hit.empty())
      return ps.size();
    if (hit.size() == 1 && ps[hit[0]].w == cover)
      return hit[0];  // inside an existing session
    pane merged{cover};
    std::vector<trigger_state> states;
    for (size_t i : hit) {
      merge_contents(merged.contents, std::move(ps[i].contents));
      states.push_back(std::move(ps[i].trig));
    }
    tctx_.enter(k, cover);
    trigger_.on_merge(cover, merged.trig, std::span<const trigger_state>{states}, tctx_);
    for (size_t i : hit) {
      trigger_state emptied{};  // its state went into the merged window
      tctx_.enter(k, ps[i].w);
      trigger_.clear(ps[i].w, emptied, tctx_);
      delete_cleanup(k, ps[i].w);
    }
    for (size_t j = hit.size(); j-- > 0;)
      ps.erase(ps.begin() + static_cast<std::ptrdiff_t>(hit[j]));
    ps.push_back(std::move(merged));
    return ps.size() - 1;
  }

  void merge_contents(contents_type& into, contents_type&& from) {
    if constexpr (evicting) {
      into.insert(into.end(), std::make_move_iterator(from.begin()),
                  std::make_move_iterator(from.end()));
    } else {
      if (!from)
        return;
      if (!into)
        into = std::move(from);
      else
        agg_.merge(*into, std::move(*from));
    }
  }

  void apply(const K& k, pane& p, trigger_result res) {
    if (is_fire(res))
      emit(k, p);
    if (is_purge(res))
      p.contents = contents_type{};
  }

  void emit(const K& k, pane& p) {
    if constexpr (evicting) {
      if (p.contents.empty())
        return;
      evictor_.evict_before(p.contents, std::as_const(p.w));
      if (!p.contents.empty()) {
        acc_type acc = agg_.create();
        for (auto& r : p.contents)
          agg_.add(acc, std::as_const(r.value));
        out_.emit(output_type{k, p.w, agg_.result(acc)}, p.w.max_timestamp());
      }
      evictor_.evict_after(p.contents, std::as_const(p.w));
    } else {
      if (p.contents)
        out_.emit(output_type{k, p.w, agg_.result(*p.contents)}, p.w.max_timestamp());
    }
  }

  void fire_event_timers(timestamp upto) {
    timer_key tk;
    timestamp when;
    while (event_.pop_due(upto, tk, when))
      on_timer_due(tk, when, true);
  }

  /// A timer of (key, window) is due. Timers of windows already cleaned up
  /// or merged away are ignored (Flink's WindowOperator does the same for
  /// merged windows).
  void on_timer_due(const timer_key& tk, timestamp when, bool event_domain) {
    auto it = panes_.find(tk.first);
    if (it == panes_.end())
      return;
    auto& ps = it->second;
    const size_t i = find(ps, tk.second);
    if (i == ps.size())
      return;
    tctx_.enter(tk.first, tk.second);
    const trigger_result res =
        event_domain ? trigger_.on_event_time(when, tk.second, ps[i].trig, tctx_)
                     : trigger_.on_processing_time(when, tk.second, ps[i].trig, tctx_);
    apply(tk.first, ps[i], res);
    if (event_domain == event_time_ && cleanup_time(tk.second) == when) {
      tctx_.enter(tk.first, tk.second);
      trigger_.clear(tk.second, ps[i].trig, tctx_);
      ps.erase(ps.begin() + static_cast<std::ptrdiff_t>(i));
      if (ps.empty())
        panes_.erase(it);
    }
  }

  void request_processing_timer() {
    if (auto next = processing_.earliest(); next && ctx_)
      context().request_timer(*next);
  }

  static void encode_contents(state::writer& out, const contents_type& c) {
    if constexpr (evicting) {
      state::encode(out, c.size());
      for (auto& r : c) {
        state::encode_checked(out, r.value, "window record");
        state::encode(out, r.ts);
      }
    } else {
      state::encode_checked(out, c, "window accumulator");
    }
  }
  static void decode_contents(state::reader& in, contents_type& c) {
    if constexpr (evicting) {
      const size_t n = in.size();
      c.resize(n);
      for (auto& r : c) {
        state::decode_checked(in, r.value, "window record");
        state::decode(in, r.ts);
      }
    } else {
      state::decode_checked(in, c, "window accumulator");
    }
  }

  KeyFn key_;
  Assigner assigner_;
  Trigger trigger_;
  Evictor evictor_;
  Agg agg_;
  duration lateness_;
  bool event_time_;
  std::unordered_map<K, std::vector<pane>, key_hash<K>> panes_;
  state::timer_queue<timer_key> event_;
  state::timer_queue<timer_key> processing_;
  context_impl tctx_;
  port<output_type> out_;
  port<T> late_;
  port<T> skipped_;
};

}  // namespace sluice::window
