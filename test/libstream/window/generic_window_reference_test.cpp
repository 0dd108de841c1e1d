// The generic window operator on random data with random out-of-orderness:
// with the default triggers it must emit exactly what the fast operators
// emit (those are checked against brute force in their own tests); with
// count, purging and continuous triggers and dynamic gaps it must match
// brute-force models written from Flink's documented semantics.
#include "sluice/window/generic_window_operator.hpp"

#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "sluice/window/continuous_trigger.hpp"
#include "sluice/window/count_trigger.hpp"
#include "sluice/window/purging_trigger.hpp"
#include "sluice/window/session_operator.hpp"
#include "sluice/window/sliding.hpp"
#include "sluice/window/time_window_operator.hpp"
#include "sluice/window/tumbling.hpp"
#include "window_fixture.hpp"

using namespace sluice;
using namespace sluice::test;
using window::time_window;

namespace {

template <class A, class Tr>
using ids_op = window::generic_window_operator<event, uint32_t, by_key, A, Tr, window::no_evictor,
                                               collect_ids>;

template <class A, class Tr>
std::unique_ptr<ids_op<A, Tr>> make_ids_op(A a, Tr t, int64_t lateness) {
  return std::make_unique<ids_op<A, Tr>>(by_key{}, a, t, window::no_evictor{}, collect_ids{},
                                         duration{lateness});
}

/// Results with the watermark step that emitted them, in a canonical order:
/// the two operators must agree on what fires at which step.
std::vector<std::pair<timestamp, ids_result>> by_step(const run_output& o) {
  std::vector<std::pair<timestamp, ids_result>> out;
  for (auto& r : o.results)
    out.emplace_back(r.wm_after, r.r.value);
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
    return a.first != b.first ? a.first < b.first : a.second < b.second;
  });
  return out;
}

void check_same_run(const run_output& got, const run_output& want, const std::string& what) {
  BOOST_TEST(want.results.size() > 0u);
  check_same_results(values_of(got.results), values_of(want.results), what);
  BOOST_TEST((by_step(got) == by_step(want)), what << ": results fired at other watermarks");
  BOOST_TEST(sorted_ids(got.late) == sorted_ids(want.late), what << ": late records");
  BOOST_TEST(sorted_ids(got.skipped) == sorted_ids(want.skipped), what << ": skipped records");
}

/// Tumbling windows with a purging count trigger and allowed lateness, from
/// Flink's WindowOperator.processElement: a record whose window is past max
/// timestamp + lateness is late; otherwise it joins its window, and every
/// `n`th record of the window (since the last firing) emits the records
/// gathered since the last firing; a window goes at max timestamp + lateness.
class purging_count_model {
public:
  purging_count_model(int64_t size, uint64_t n, int64_t lateness)
      : size_(size), n_(n), lateness_(lateness) {}

  void record(const event& e, timestamp wm) {
    const int64_t start = floor_div(e.ts, size_) * size_;
    const time_window w{start, start + size_};
    if (w.max_timestamp() + duration{lateness_} <= wm) {
      late.push_back(e.id);
      return;
    }
    auto& p = panes_[{e.key, w.start}];
    p.push_back(e.id);
    if (p.size() == n_) {
      std::sort(p.begin(), p.end());
      emitted.push_back({e.key, w, p});
      p.clear();
    }
  }
  void watermark(timestamp wm) {
    std::erase_if(panes_, [&](const auto& kv) {
      return timestamp::of(kv.first.second + size_ - 1) + duration{lateness_} <= wm;
    });
  }

  std::vector<ids_result> emitted;
  std::vector<uint32_t> late;

private:
  int64_t size_;
  uint64_t n_;
  int64_t lateness_;
  std::map<std::pair<uint32_t, int64_t>, std::vector<uint32_t>> panes_;
};

/// Tumbling windows with a continuous event-time trigger (Flink's
/// ContinuousEventTimeTrigger, FLINK-20443 version) and allowed lateness.
/// Per window: its records, and the next early firing (set by the window's
/// first record to the end of that record's interval, capped at the
/// window's max timestamp). At a watermark step, a pending early firing
/// before the max timestamp that the watermark reached fires once and moves
/// to the first interval end after the watermark (capped); then the final
/// result fires if the watermark reached the max timestamp and a record came
/// while it had not. A record for a window the watermark passed fires it at
/// once. Windows go at max timestamp + lateness.
class continuous_model {
public:
  continuous_model(int64_t size, int64_t interval, int64_t lateness)
      : size_(size), interval_(interval), lateness_(lateness) {}

  void record(const event& e, timestamp wm) {
    const int64_t start = floor_div(e.ts, size_) * size_;
    const time_window w{start, start + size_};
    if (w.max_timestamp() + duration{lateness_} <= wm) {
      late.push_back(e.id);
      return;
    }
    auto& p = panes_[{e.key, w.start}];
    p.ids.push_back(e.id);
    if (w.max_timestamp() <= wm) {
      fire(e.key, w, p);
      return;
    }
    p.final_pending = true;  // the trigger's timer at the window's max timestamp
    if (!p.next)
      p.next = std::min(floor_div(e.ts, interval_) * interval_ + interval_, w.end - 1);
  }

  void watermark(timestamp wm) {
    for (auto it = panes_.begin(); it != panes_.end();) {
      const time_window w{it->first.second, it->first.second + size_};
      auto& p = it->second;
      if (p.next && *p.next < w.end - 1 && timestamp::of(*p.next) <= wm) {
        fire(it->first.first, w, p);
        p.next = wm.ms >= w.end - 1
                     ? w.end - 1
                     : std::min(floor_div(wm.ms, interval_) * interval_ + interval_, w.end - 1);
      }
      if (p.final_pending && w.max_timestamp() <= wm) {
        fire(it->first.first, w, p);
        p.final_pending = false;
      }
      if (w.max_timestamp() + duration{lateness_} <= wm)
        it = panes_.erase(it);
      else
        ++it;
    }
  }

  std::vector<ids_result> emitted;
  std::vector<uint32_t> late;

private:
  struct pane {
    std::vector<uint32_t> ids;
    std::optional<int64_t> next;
    bool final_pending = false;
  };
  void fire(uint32_t key, const time_window& w, const pane& p) {
    auto ids = p.ids;
    std::sort(ids.begin(), ids.end());
    emitted.push_back({key, w, ids});
  }

  int64_t size_, interval_, lateness_;
  std::map<std::pair<uint32_t, int64_t>, pane> panes_;
};

/// Brute-force sessions with a gap per record: per key, [ts, ts + gap)
/// intervals sorted by start, cut wherever the next one starts after the
/// running end (touching intervals merge, as Flink's TimeWindow.intersects).
std::vector<ids_result> dynamic_sessions_reference(std::vector<event> evs,
                                                   int64_t (*gap)(uint32_t)) {
  std::sort(evs.begin(), evs.end(), [](const event& a, const event& b) {
    return a.key != b.key ? a.key < b.key : a.ts != b.ts ? a.ts < b.ts : a.id < b.id;
  });
  std::vector<ids_result> out;
  for (size_t i = 0; i < evs.size();) {
    int64_t end = evs[i].ts + gap(evs[i].id);
    std::vector<uint32_t> ids{evs[i].id};
    size_t j = i + 1;
    for (; j < evs.size() && evs[j].key == evs[i].key && evs[j].ts <= end; ++j) {
      end = std::max(end, evs[j].ts + gap(evs[j].id));
      ids.push_back(evs[j].id);
    }
    std::sort(ids.begin(), ids.end());
    out.push_back({evs[i].key, {evs[i].ts, end}, ids});
    i = j;
  }
  return out;
}

int64_t gap_of_id(uint32_t id) {
  return 3 + id % 17;
}

struct gap_by_id {
  duration operator()(const event& e) const { return duration{gap_of_id(e.id)}; }
};

}  // namespace

BOOST_AUTO_TEST_SUITE(window_generic_reference)

BOOST_AUTO_TEST_CASE(event_time_trigger_matches_the_fast_time_window_operator) {
  workload wl;
  wl.disorder = 40;
  for (auto seed : seeds())
    for (int64_t lateness : {0, 15})
      for (auto [size, slide] :
           std::vector<std::pair<int64_t, int64_t>>{{25, 25}, {30, 10}, {10, 25}}) {
        const auto batches = make_batches(seed, wl);
        const auto a = window::sliding::of(duration{size}, duration{slide});
        testing::harness fast{std::make_unique<
            window::time_window_operator<event, uint32_t, by_key, window::sliding, collect_ids>>(
            by_key{}, a, collect_ids{}, duration{lateness})};
        testing::harness gen{make_ids_op(a, window::event_time_trigger{}, lateness)};
        const auto want = drive(fast, batches, 20, true, true);
        const auto got = drive(gen, batches, 20, true, true);
        check_same_run(got, want,
                       "seed " + std::to_string(seed) + " size " + std::to_string(size) +
                           " slide " + std::to_string(slide) + " lateness " +
                           std::to_string(lateness));
        using gen_t = ids_op<window::sliding, window::event_time_trigger>;
        const size_t open = gen.as<gen_t>().open_windows();
        BOOST_TEST(open == 0u);
      }
}

BOOST_AUTO_TEST_CASE(event_time_trigger_on_sessions_matches_the_fast_session_operator) {
  workload wl;
  wl.disorder = 40;
  for (auto seed : seeds())
    for (int64_t lateness : {0, 25}) {
      const auto batches = make_batches(seed, wl);
      const auto s = window::session::with_gap(duration{8});
      testing::harness fast{
          std::make_unique<window::session_window_operator<event, uint32_t, by_key, collect_ids>>(
              by_key{}, s, collect_ids{}, duration{lateness})};
      testing::harness gen{make_ids_op(s, window::event_time_trigger{}, lateness)};
      testing::harness dyn{
          make_ids_op(window::session::with_dynamic_gap([](const event&) { return duration{8}; }),
                      window::event_time_trigger{}, lateness)};
      const auto want = drive(fast, batches, 20, true);
      const std::string what =
          "seed " + std::to_string(seed) + " lateness " + std::to_string(lateness);
      check_same_run(drive(gen, batches, 20, true), want, what + " (session)");
      check_same_run(drive(dyn, batches, 20, true), want, what + " (dynamic gap)");
    }
}

BOOST_AUTO_TEST_CASE(dynamic_gap_sessions_match_brute_force) {
  workload wl;
  wl.disorder = 200;  // records arrive far out of order; the watermark only comes at the end
  for (auto seed : seeds()) {
    auto batches = make_batches(seed, wl);
    testing::harness h{make_ids_op(window::dynamic_session<gap_by_id>{gap_by_id{}},
                                   window::event_time_trigger{}, 0)};
    for (auto& b : batches)
      h.push_batch(b);
    h.end();
    std::vector<ids_result> got;
    for (auto& r : h.output<ids_result>(0))
      got.push_back(r.value);
    check_same_results(got, dynamic_sessions_reference(all_events(batches), gap_of_id),
                       "seed " + std::to_string(seed));
  }
}

BOOST_AUTO_TEST_CASE(purging_count_trigger_with_lateness_matches_a_model) {
  workload wl;
  wl.disorder = 60;  // late records even with the allowed lateness
  for (auto seed : seeds())
    for (int64_t lateness : {0, 20}) {
      const auto batches = make_batches(seed, wl);
      using tr = window::purging_trigger<window::count_trigger>;
      testing::harness h{make_ids_op(window::tumbling::of(duration{50}),
                                     tr::of(window::count_trigger::of(3)), lateness)};
      const auto got = drive(h, batches, 20, true, true);
      purging_count_model m{50, 3, lateness};
      replay(m, batches, 20);
      const std::string what =
          "seed " + std::to_string(seed) + " lateness " + std::to_string(lateness);
      BOOST_TEST(m.emitted.size() > 100u);
      BOOST_TEST(m.late.size() > 0u);
      check_same_results(values_of(got.results), m.emitted, what);
      auto late = m.late;
      std::sort(late.begin(), late.end());
      BOOST_TEST(sorted_ids(got.late) == late, what << ": late records");
      using op_t = ids_op<window::tumbling, tr>;
      const size_t open = h.as<op_t>().open_windows(), timers = h.as<op_t>().timers().first;
      BOOST_TEST(open == 0u);
      BOOST_TEST(timers == 0u);
    }
}

BOOST_AUTO_TEST_CASE(continuous_event_time_trigger_with_lateness_matches_a_model) {
  workload wl;
  wl.disorder = 40;
  for (auto seed : seeds())
    for (int64_t lateness : {0, 30}) {
      const auto batches = make_batches(seed, wl);
      testing::harness h{make_ids_op(window::tumbling::of(duration{100}),
                                     window::continuous_event_time_trigger::of(duration{30}),
                                     lateness)};
      const auto got = drive(h, batches, 20, true, true);
      continuous_model m{100, 30, lateness};
      replay(m, batches, 20);
      const std::string what =
          "seed " + std::to_string(seed) + " lateness " + std::to_string(lateness);
      BOOST_TEST(m.emitted.size() > 100u);
      check_same_results(values_of(got.results), m.emitted, what);
      auto late = m.late;
      std::sort(late.begin(), late.end());
      BOOST_TEST(sorted_ids(got.late) == late, what << ": late records");
      using op_t = ids_op<window::tumbling, window::continuous_event_time_trigger>;
      const size_t open = h.as<op_t>().open_windows();
      BOOST_TEST(open == 0u);
    }
}

BOOST_AUTO_TEST_SUITE_END()
