// Triggers on the generic window operator: cases transcribed from Flink's
// own tests (the test each case comes from is named above it; the facts are
// Flink's, the code is not).
#include "sluice/window/trigger.hpp"

#include <boost/test/unit_test.hpp>

#include <string>
#include <vector>

#include "sluice/window/continuous_trigger.hpp"
#include "sluice/window/count_trigger.hpp"
#include "sluice/window/global.hpp"
#include "sluice/window/purging_trigger.hpp"
#include "sluice/window/session.hpp"
#include "sluice/window/tumbling.hpp"
#include "trigger_fixture.hpp"

using namespace sluice;
using namespace sluice::test;
using window::time_window;

namespace {

timestamp ts(int64_t ms) {
  return timestamp::of(ms);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(window_trigger)

// CountTriggerTest.testWindowSeparationAndFiring: each window counts its own
// records; the third record of a window fires it.
BOOST_AUTO_TEST_CASE(count_trigger_counts_each_window_separately) {
  testing::harness h{make_kv_op(window::tumbling::of(duration{2}), window::count_trigger::of(3))};
  h.push(kv{"k", 1}, ts(0));
  h.push(kv{"k", 1}, ts(2));
  h.push(kv{"k", 1}, ts(0));
  BOOST_TEST(take_fired(h).empty());
  h.push(kv{"k", 1}, ts(0));
  BOOST_TEST((take_fired(h) == std::vector<fired>{{"k", 3, 1}}));
  h.push(kv{"k", 1}, ts(2));
  BOOST_TEST(take_fired(h).empty());
  h.push(kv{"k", 1}, ts(2));
  BOOST_TEST((take_fired(h) == std::vector<fired>{{"k", 3, 3}}));
}

// CountTriggerTest.testMergingWindows: when sessions merge, their counts add
// up (on_merge), so the merged session fires on its third record.
BOOST_AUTO_TEST_CASE(count_trigger_counts_of_merged_sessions_add_up) {
  using op_t = kv_op<window::session, window::count_trigger>;
  auto op = make_kv_op(window::session::with_gap(duration{2}), window::count_trigger::of(3));
  testing::harness h{std::move(op)};
  h.push(kv{"k", 1}, ts(0));  // [0, 2)
  h.push(kv{"k", 1}, ts(3));  // [3, 5)
  BOOST_TEST(h.as<op_t>().open_windows() == 2u);
  h.push(kv{"k", 1}, ts(1));  // [1, 3) joins both: [0, 5), counts 1 + 1, then this record
  auto out = h.output<kv_result>(0);
  BOOST_TEST_REQUIRE(out.size() == 1u);
  BOOST_TEST(out[0].value.value == 3);
  BOOST_TEST((out[0].value.window == time_window{0, 5}));
  BOOST_TEST(h.as<op_t>().open_windows() == 1u);
}

// WindowOperatorTest.testCountTrigger: global windows with a purging count
// trigger of 4 (Flink's count windows), snapshot and restore in the middle.
BOOST_AUTO_TEST_CASE(global_window_with_purging_count_trigger_across_restore) {
  using op_t = kv_op<window::global, window::purging_trigger<window::count_trigger>>;
  auto make = [] {
    return make_kv_op(window::global{}, window::purging_trigger<window::count_trigger>::of(
                                            window::count_trigger::of(4)));
  };
  testing::harness h{make()};
  // The global window ignores these timestamps.
  for (auto [k, t] : std::vector<std::pair<std::string, int64_t>>{{"key2", 3000},
                                                                  {"key2", 3999},
                                                                  {"key1", 20},
                                                                  {"key1", 0},
                                                                  {"key1", 999},
                                                                  {"key2", 1998},
                                                                  {"key2", 1999}})
    h.push(kv{k, 1}, ts(t));
  BOOST_TEST((take_fired(h) == std::vector<fired>{{"key2", 4, global_ts}}));

  state::snapshot_writer w{128, 1};
  h.op().snapshot(w);
  testing::harness r{make()};
  std::vector<std::string> sections;
  for (auto& [g, bytes] : w.keyed_bytes())
    sections.push_back(bytes);
  r.op().restore(state::snapshot_reader{std::nullopt, std::move(sections)});
  // key1 (3 counted) and key2 (purged, count 0): global windows are never cleaned up
  BOOST_TEST(r.as<op_t>().open_windows() == 2u);

  r.push(kv{"key2", 1}, ts(1000));
  BOOST_TEST(take_fired(r).empty());
  r.push(kv{"key1", 1}, ts(10999));
  r.push(kv{"key2", 1}, ts(1000));
  r.push(kv{"key2", 1}, ts(1000));
  r.push(kv{"key2", 1}, ts(1000));
  BOOST_TEST((take_fired(r) == std::vector<fired>{{"key1", 4, global_ts}, {"key2", 4, global_ts}}));
}

// WindowOperatorTest.testContinuousWatermarkTrigger: a global window with a
// continuous event-time trigger of 3 s fires every 3 s of event time from
// the interval of its first record on.
BOOST_AUTO_TEST_CASE(continuous_event_time_trigger_on_global_windows) {
  testing::harness h{
      make_kv_op(window::global{}, window::continuous_event_time_trigger::of(duration{3000}))};
  h.push(kv{"key1", 1}, ts(0));
  h.push(kv{"key2", 1}, ts(3000));
  h.push(kv{"key2", 1}, ts(3999));
  h.push(kv{"key1", 1}, ts(20));
  h.push(kv{"key1", 1}, ts(999));
  h.push(kv{"key2", 1}, ts(1998));
  h.push(kv{"key2", 1}, ts(1999));
  h.push(kv{"key2", 1}, ts(1000));
  h.watermark(ts(1000));
  h.watermark(ts(2000));
  BOOST_TEST(take_fired(h).empty());
  h.watermark(ts(3000));
  BOOST_TEST((take_fired(h) == std::vector<fired>{{"key1", 3, global_ts}}));
  h.watermark(ts(4000));
  h.watermark(ts(5000));
  BOOST_TEST(take_fired(h).empty());
  h.watermark(ts(6000));
  BOOST_TEST((take_fired(h) == std::vector<fired>{{"key1", 3, global_ts}, {"key2", 5, global_ts}}));
  h.watermark(ts(7000));
  h.watermark(ts(8000));
  BOOST_TEST(take_fired(h).empty());
}

// ContinuousEventTimeTriggerTest.testWindowSeparationAndFiring, and the end
// of window firing of FLINK-20443: early results every interval, then the
// final one at the window's max timestamp; then the window is cleaned up.
BOOST_AUTO_TEST_CASE(continuous_event_time_trigger_early_then_final_result) {
  using op_t = kv_op<window::tumbling, window::continuous_event_time_trigger>;
  testing::harness h{make_kv_op(window::tumbling::of(duration{10000}),
                                window::continuous_event_time_trigger::of(duration{3000}))};
  h.push(kv{"k", 1}, ts(1000));
  h.push(kv{"k", 2}, ts(4000));
  h.watermark(ts(2999));
  BOOST_TEST(take_fired(h).empty());
  h.watermark(ts(3000));
  BOOST_TEST((take_fired(h) == std::vector<fired>{{"k", 3, 9999}}));
  h.watermark(ts(6000));
  BOOST_TEST((take_fired(h) == std::vector<fired>{{"k", 3, 9999}}));
  h.push(kv{"k", 4}, ts(8000));
  h.watermark(ts(9999));  // the early firing at 9000 and the final one at 9999
  BOOST_TEST((take_fired(h) == std::vector<fired>{{"k", 7, 9999}, {"k", 7, 9999}}));
  BOOST_TEST(h.as<op_t>().open_windows() == 0u);
  BOOST_TEST(h.as<op_t>().timers().first == 0u);
}

// ContinuousEventTimeTriggerTest.testLateElementTriggersImmediately: a record
// for a window the watermark passed fires at once and registers no trigger
// timer (only the operator's cleanup timer at max timestamp + lateness).
BOOST_AUTO_TEST_CASE(continuous_event_time_trigger_fires_late_record_at_once) {
  using op_t = kv_op<window::tumbling, window::continuous_event_time_trigger>;
  testing::harness h{make_kv_op(window::tumbling::of(duration{2}),
                                window::continuous_event_time_trigger::of(duration{3600000}),
                                window::no_evictor{}, 10)};
  h.watermark(ts(2));
  h.push(kv{"k", 1}, ts(0));
  BOOST_TEST((take_fired(h) == std::vector<fired>{{"k", 1, 1}}));
  BOOST_TEST(h.as<op_t>().timers().first == 1u);
  h.watermark(ts(11));  // cleanup time 1 + 10
  BOOST_TEST(h.as<op_t>().open_windows() == 0u);
  BOOST_TEST(h.as<op_t>().timers().first == 0u);
}

// WindowOperatorTest.testLateness: a purging event-time trigger with allowed
// lateness: a late record within the lateness fires the window again with
// only itself (the earlier contents were purged); past max timestamp +
// lateness a record goes to the late records.
BOOST_AUTO_TEST_CASE(purging_event_time_trigger_with_lateness) {
  testing::harness h{make_kv_op(
      window::tumbling::of(duration{2000}),
      window::purging_trigger<window::event_time_trigger>::of(window::event_time_trigger{}),
      window::no_evictor{}, 500)};
  h.push(kv{"key2", 1}, ts(500));
  h.watermark(ts(1500));
  BOOST_TEST(take_fired(h).empty());
  h.push(kv{"key2", 1}, ts(1300));
  h.watermark(ts(2300));
  BOOST_TEST((take_fired(h) == std::vector<fired>{{"key2", 2, 1999}}));
  h.push(kv{"key2", 1}, ts(1997));  // 1999 + 500 > 2300: not late
  h.watermark(ts(6000));
  BOOST_TEST((take_fired(h) == std::vector<fired>{{"key2", 1, 1999}}));
  h.push(kv{"key2", 1}, ts(1998));  // 1999 + 500 <= 6000: late
  h.watermark(ts(7000));
  BOOST_TEST(take_fired(h).empty());
  auto late = h.values<kv>(1);
  BOOST_TEST_REQUIRE(late.size() == 1u);
  BOOST_TEST(late[0].first == "key2");
}

// Flink's WindowOperator.processElement with a custom trigger and allowed
// lateness: a late record within the lateness is added to its window and
// handed to the trigger (here a count trigger, which decides alone: no firing
// at the window's end); the window goes at max timestamp + lateness.
BOOST_AUTO_TEST_CASE(count_trigger_sees_late_records_within_lateness) {
  using op_t = kv_op<window::tumbling, window::count_trigger>;
  testing::harness h{make_kv_op(window::tumbling::of(duration{10}), window::count_trigger::of(2),
                                window::no_evictor{}, 5)};
  h.push(kv{"k", 1}, ts(1));
  h.push(kv{"k", 2}, ts(2));
  BOOST_TEST((take_fired(h) == std::vector<fired>{{"k", 3, 9}}));
  h.watermark(ts(12));  // the window's end passed: a count trigger does not fire there
  BOOST_TEST(take_fired(h).empty());
  h.push(kv{"k", 4}, ts(3));
  BOOST_TEST(take_fired(h).empty());
  h.push(kv{"k", 8}, ts(4));
  BOOST_TEST((take_fired(h) == std::vector<fired>{{"k", 15, 9}}));
  h.watermark(ts(14));  // 9 + 5: cleaned up
  BOOST_TEST(h.as<op_t>().open_windows() == 0u);
  h.push(kv{"k", 16}, ts(5));
  BOOST_TEST(take_fired(h).empty());
  BOOST_TEST(h.values<kv>(1).size() == 1u);
}

namespace {

/// A trigger answering what `next` says, for PurgingTriggerTest.
struct scripted_trigger {
  const window::trigger_result* next;
  using state_type = int;
  template <class T>
  window::trigger_result on_element(const T&, timestamp, const time_window&, int&,
                                    window::trigger_context&) const {
    return *next;
  }
  window::trigger_result on_event_time(timestamp, const time_window&, int&,
                                       window::trigger_context&) const {
    return *next;
  }
  window::trigger_result on_processing_time(timestamp, const time_window&, int&,
                                            window::trigger_context&) const {
    return *next;
  }
  void clear(const time_window&, int& s, window::trigger_context&) const { s = -1; }
  void on_merge(const time_window&, int& s, std::span<const int> merged,
                window::trigger_context&) const {
    s = static_cast<int>(merged.size());
  }
};

struct null_context final : window::trigger_context {
  timestamp current_watermark() const override { return timestamp::min(); }
  timestamp current_processing_time() const override { return timestamp::of(0); }
  void register_event_time_timer(timestamp) override {}
  void delete_event_time_timer(timestamp) override {}
  void register_processing_time_timer(timestamp) override {}
  void delete_processing_time_timer(timestamp) override {}
};

}  // namespace

// PurgingTriggerTest.testForwarding: every firing of the nested trigger
// becomes fire-and-purge, other results pass through, and clear and merge
// reach the nested trigger.
BOOST_AUTO_TEST_CASE(purging_trigger_turns_firing_into_fire_and_purge) {
  using R = window::trigger_result;
  R next = R::continue_;
  const auto p = window::purging_trigger<scripted_trigger>::of(scripted_trigger{&next});
  null_context c;
  int s = 0;
  const time_window w{0, 2};
  const std::vector<std::pair<R, R>> cases{{R::continue_, R::continue_},
                                           {R::fire, R::fire_and_purge},
                                           {R::purge, R::purge},
                                           {R::fire_and_purge, R::fire_and_purge}};
  for (auto [in, expected] : cases) {
    next = in;
    BOOST_TEST((p.on_element(1, ts(0), w, s, c) == expected));
    BOOST_TEST((p.on_event_time(ts(1), w, s, c) == expected));
    BOOST_TEST((p.on_processing_time(ts(1), w, s, c) == expected));
  }
  const std::vector<int> merged{1, 2};
  p.on_merge(w, s, merged, c);
  BOOST_TEST(s == 2);
  p.clear(w, s, c);
  BOOST_TEST(s == -1);
}

// ContinuousProcessingTimeTrigger (FLINK-20443 version): results every
// interval of processing time from the first record's interval on; several
// intervals passed in one step of the clock fire once.
BOOST_AUTO_TEST_CASE(continuous_processing_time_trigger_fires_every_interval) {
  testing::harness h{
      make_kv_op(window::global{}, window::continuous_processing_time_trigger::of(duration{100}))};
  h.clock().set(ts(10));
  h.push(kv{"k", 1});
  h.advance_processing_time(duration{89});
  BOOST_TEST(take_fired(h).empty());
  h.advance_processing_time(duration{1});  // 100
  BOOST_TEST((take_fired(h) == std::vector<fired>{{"k", 1, global_ts}}));
  h.push(kv{"k", 2});
  h.advance_processing_time(duration{250});  // 350: 200 and 300 passed
  BOOST_TEST((take_fired(h) == std::vector<fired>{{"k", 3, global_ts}}));
  h.advance_processing_time(duration{49});
  BOOST_TEST(take_fired(h).empty());
  h.advance_processing_time(duration{1});  // 400
  BOOST_TEST((take_fired(h) == std::vector<fired>{{"k", 3, global_ts}}));
}

// WindowOperatorTest.testProcessingTimeTumblingWindows, with the processing
// time trigger given explicitly (the generic operator).
BOOST_AUTO_TEST_CASE(processing_time_trigger_on_tumbling_processing_windows) {
  testing::harness h{
      make_kv_op(window::tumbling::processing(duration{3000}), window::processing_time_trigger{})};
  h.advance_processing_time(duration{3});
  h.push(kv{"key2", 1}, timestamp::max());  // the timestamp is ignored in processing time
  h.push(kv{"key2", 1}, ts(7000));
  h.push(kv{"key2", 1}, ts(7000));
  h.push(kv{"key1", 1}, ts(7000));
  h.push(kv{"key1", 1}, ts(7000));
  h.advance_processing_time(duration{4997});  // 5000
  BOOST_TEST((take_fired(h) == std::vector<fired>{{"key1", 2, 2999}, {"key2", 3, 2999}}));
  h.push(kv{"key1", 1}, ts(7000));
  h.push(kv{"key1", 1}, ts(7000));
  h.push(kv{"key1", 1}, ts(7000));
  h.advance_processing_time(duration{2000});  // 7000
  BOOST_TEST((take_fired(h) == std::vector<fired>{{"key1", 3, 5999}}));
}

// WindowOperatorTest.testDynamicEventTimeSessionWindows: the gap comes from
// each record (key1: 3 s; key2: 1 s for value 10, else 2 s); the furthest
// end wins when a shorter gap ends inside the session.
// DynamicEventTimeSessionWindowsTest: a gap <= 0 is refused (here: the record
// becomes a dead letter; Flink fails the job).
BOOST_AUTO_TEST_CASE(dynamic_session_gap_from_each_record) {
  auto gap = [](const kv& v) {
    if (v.first == "key1")
      return duration{3000};
    if (v.first == "key2")
      return duration{v.second == 10 ? 1000 : 2000};
    return duration{0};
  };
  testing::harness h{
      make_kv_op(window::session::with_dynamic_gap(gap), window::event_time_trigger{})};
  auto windows = [&] {
    std::vector<std::tuple<std::string, int64_t, int64_t, int64_t>> out;
    for (auto& r : h.output<kv_result>(0))
      out.emplace_back(r.value.key, r.value.value, r.value.window.start, r.value.window.end);
    std::sort(out.begin(), out.end());
    return out;
  };
  using row = std::tuple<std::string, int64_t, int64_t, int64_t>;
  h.push(kv{"key1", 3}, ts(10));
  h.push(kv{"key2", 4}, ts(5000));
  h.push(kv{"key2", 5}, ts(6000));
  h.watermark(ts(8999));
  BOOST_TEST((windows() == std::vector<row>{{"key1", 3, 10, 3010}, {"key2", 9, 5000, 8000}}));
  h.push(kv{"key2", 1}, ts(9000));
  h.push(kv{"key2", 2}, ts(10000));
  h.push(kv{"key2", 10}, ts(10500));
  h.watermark(ts(12999));
  BOOST_TEST((windows() == std::vector<row>{{"key2", 13, 9000, 12000}}));
  h.push(kv{"key2", 10}, ts(13000));
  h.push(kv{"key2", 10}, ts(13500));
  h.push(kv{"key2", 1}, ts(14000));
  h.watermark(ts(16999));
  BOOST_TEST((windows() == std::vector<row>{{"key2", 21, 13000, 16000}}));

  h.push(kv{"key3", 1}, ts(20000));
  auto dead = h.dead_letters();
  BOOST_TEST_REQUIRE(dead.size() == 1u);
  BOOST_TEST(dead[0].reason.find("gap must be positive") != std::string::npos);
}

namespace {

/// The custom trigger of docs/joins-and-timers.md: fire and purge when the
/// window's sum reaches a limit.
struct threshold_trigger {
  int64_t limit;
  using state_type = int64_t;
  template <class T>
  window::trigger_result on_element(const T& t, timestamp, const time_window&, int64_t& sum,
                                    window::trigger_context&) const {
    if ((sum += t.second) < limit)
      return window::trigger_result::continue_;
    sum = 0;
    return window::trigger_result::fire_and_purge;
  }
  window::trigger_result on_event_time(timestamp, const time_window&, int64_t&,
                                       window::trigger_context&) const {
    return window::trigger_result::continue_;
  }
  window::trigger_result on_processing_time(timestamp, const time_window&, int64_t&,
                                            window::trigger_context&) const {
    return window::trigger_result::continue_;
  }
  void clear(const time_window&, int64_t& sum, window::trigger_context&) const { sum = 0; }
};

}  // namespace

// The documented custom trigger: its state lives per (key, window).
BOOST_AUTO_TEST_CASE(custom_trigger_keeps_state_per_key_and_window) {
  testing::harness h{make_kv_op(window::tumbling::of(duration{10}), threshold_trigger{5})};
  h.push(kv{"a", 3}, ts(1));
  h.push(kv{"b", 4}, ts(2));
  h.push(kv{"a", 1}, ts(12));  // another window of a
  BOOST_TEST(take_fired(h).empty());
  h.push(kv{"a", 2}, ts(3));
  BOOST_TEST((take_fired(h) == std::vector<fired>{{"a", 5, 9}}));
  h.push(kv{"a", 4}, ts(4));
  h.push(kv{"b", 1}, ts(5));
  BOOST_TEST((take_fired(h) == std::vector<fired>{{"b", 5, 9}}));
}

BOOST_AUTO_TEST_SUITE_END()
