#include "sluice/window/time_window_operator.hpp"

#include <boost/test/unit_test.hpp>

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "sluice/testing/harness.hpp"
#include "sluice/window/sliding.hpp"
#include "sluice/window/tumbling.hpp"
#include "window_fixture.hpp"

using namespace sluice;
using namespace sluice::test;
using window::sliding;
using window::time_window;
using window::tumbling;

namespace {

using tumbling_op = window::time_window_operator<event, uint32_t, by_key, tumbling, collect_ids>;
using sliding_op = window::time_window_operator<event, uint32_t, by_key, sliding, collect_ids>;

std::unique_ptr<tumbling_op> make_tumbling(tumbling t, duration lateness = duration{0}) {
  return std::make_unique<tumbling_op>(by_key{}, t, collect_ids{}, lateness);
}
std::unique_ptr<sliding_op> make_sliding(sliding s, duration lateness = duration{0}) {
  return std::make_unique<sliding_op>(by_key{}, s, collect_ids{}, lateness);
}

/// Reference model of the documented event-time semantics, written from the
/// header comment rather than from the code: a window fires (once) when the
/// watermark reaches its max timestamp; its state lives until the watermark
/// reaches max timestamp + lateness; a record arriving while a window is
/// past its max timestamp but still alive is added and fires that window
/// (again) with the updated result. A record with no live window is late if
/// its timestamp + lateness has been passed by the watermark (always so when
/// its windows exist but are gone); otherwise it fell into a gap between
/// hopping windows and is skipped.
class fixed_window_model {
public:
  fixed_window_model(int64_t size, int64_t slide, int64_t offset, int64_t lateness)
      : size_(size), slide_(slide), offset_(offset), lateness_(lateness) {}

  void record(const event& e, timestamp wm) {
    bool assigned = false;
    for (auto& w : windows_containing(e.ts, size_, slide_, offset_)) {
      if (w.max_timestamp() + duration{lateness_} <= wm)
        continue;  // gone
      assigned = true;
      auto& s = state_[{e.key, w}];
      s.ids.push_back(e.id);
      if (w.max_timestamp() <= wm)
        fire(e.key, w, s);
    }
    if (!assigned) {
      if (timestamp::of(e.ts) + duration{lateness_} <= wm)
        late.push_back(e.id);
      else
        skipped.push_back(e.id);
    }
  }

  void watermark(timestamp wm) {
    for (auto it = state_.begin(); it != state_.end();) {
      const auto& [key, w] = it->first;
      if (!it->second.fired && w.max_timestamp() <= wm)
        fire(key, w, it->second);
      if (w.max_timestamp() + duration{lateness_} <= wm)
        it = state_.erase(it);
      else
        ++it;
    }
  }

  std::vector<ids_result> emitted;
  std::vector<uint32_t> late;
  std::vector<uint32_t> skipped;

private:
  struct state {
    std::vector<uint32_t> ids;
    bool fired = false;
  };
  void fire(uint32_t key, time_window w, state& s) {
    auto ids = s.ids;
    std::sort(ids.begin(), ids.end());
    emitted.push_back({key, w, ids});
    s.fired = true;
  }

  int64_t size_, slide_, offset_, lateness_;
  std::map<std::pair<uint32_t, time_window>, state> state_;
};

struct late_config {
  int64_t size, slide, offset, lateness;
};

/// Runs a random workload whose disorder (100 ms) is far beyond the
/// watermark bound (10 ms), so that many records are late. Always checks
/// that every record is counted or reported late or skipped; with `exact`,
/// also that the late and skipped records and every emission match the
/// reference model.
void check_late_run(uint64_t seed, const late_config& c, bool exact) {
  const int64_t bound = 10;
  workload w;
  w.records = 1000;
  w.disorder = 100;
  const auto batches = make_batches(seed, w);
  testing::harness h{std::make_unique<sliding_op>(
      by_key{}, sliding::of(duration{c.size}, duration{c.slide}, duration{c.offset}), collect_ids{},
      duration{c.lateness})};
  const auto out = drive(h, batches, bound, true, true);
  check_nothing_lost(out, all_events(batches));
  BOOST_TEST(out.dead.empty());
  BOOST_TEST(h.as<sliding_op>().open_windows() == 0u);
  if (!exact)
    return;

  fixed_window_model model{c.size, c.slide, c.offset, c.lateness};
  replay(model, batches, bound);
  BOOST_TEST(!model.late.empty(), "the workload should produce late records");
  if (c.slide > c.size)
    BOOST_TEST(!model.skipped.empty(), "hopping windows should skip records in their gaps");
  std::sort(model.late.begin(), model.late.end());
  std::sort(model.skipped.begin(), model.skipped.end());
  BOOST_TEST(sorted_ids(out.late) == model.late);
  BOOST_TEST(sorted_ids(out.skipped) == model.skipped);
  check_same_results(values_of(out.results), model.emitted, "emissions");
}

}  // namespace

BOOST_AUTO_TEST_SUITE(window_time_window_operator)

BOOST_AUTO_TEST_CASE(late_record_goes_to_side_output) {
  testing::harness h{make_tumbling(tumbling::of(duration{10}))};
  h.push(event{1, 5, 0}, timestamp::of(5));
  h.watermark(timestamp::of(9));
  check_same_results(h.values<ids_result>(), {ids_result{1, {0, 10}, {0}}}, "on time");

  h.push(event{1, 3, 1}, timestamp::of(3));
  BOOST_TEST(h.output<ids_result>().empty());
  auto late = h.output<event>(1);
  BOOST_TEST_REQUIRE(late.size() == 1u);
  BOOST_TEST(late[0].value.id == 1u);
  BOOST_TEST(late[0].ts.ms == 3);  // the record is forwarded unchanged, with its timestamp

  h.end();
  BOOST_TEST(h.output<ids_result>().empty());
  BOOST_TEST(h.dead_letters().empty());
}

BOOST_AUTO_TEST_CASE(late_record_within_allowed_lateness_refires_window_with_updated_result) {
  testing::harness h{make_tumbling(tumbling::of(duration{10}), duration{20})};
  h.push(event{1, 5, 0}, timestamp::of(5));
  h.watermark(timestamp::of(9));
  check_same_results(h.values<ids_result>(), {ids_result{1, {0, 10}, {0}}}, "first firing");

  h.push(event{1, 3, 1}, timestamp::of(3));
  auto out = h.output<ids_result>();
  BOOST_TEST_REQUIRE(out.size() == 1u);
  BOOST_TEST((out[0].value == ids_result{1, {0, 10}, {0, 1}}));
  BOOST_TEST(out[0].ts.ms == 9);
  BOOST_TEST(h.values<event>(1).empty());

  h.watermark(timestamp::of(28));  // 9 + 20 = 29 not reached: state kept, nothing fires
  BOOST_TEST(h.output<ids_result>().empty());
  BOOST_TEST(h.as<tumbling_op>().open_windows() == 1u);

  h.push(event{1, 7, 2}, timestamp::of(7));
  check_same_results(h.values<ids_result>(), {ids_result{1, {0, 10}, {0, 1, 2}}}, "third firing");

  h.end();
  BOOST_TEST(h.output<ids_result>().empty(), "end of input must not fire the window again");
}

BOOST_AUTO_TEST_CASE(record_beyond_allowed_lateness_goes_to_side_output) {
  testing::harness h{make_tumbling(tumbling::of(duration{10}), duration{20})};
  h.push(event{1, 5, 0}, timestamp::of(5));
  h.watermark(timestamp::of(29));  // max timestamp 9 + lateness 20: state released
  check_same_results(h.values<ids_result>(), {ids_result{1, {0, 10}, {0}}}, "firing");
  BOOST_TEST(h.as<tumbling_op>().open_windows() == 0u);

  h.push(event{1, 8, 1}, timestamp::of(8));
  BOOST_TEST(h.output<ids_result>().empty());
  BOOST_TEST(sorted_ids(h.values<event>(1)) == std::vector<uint32_t>{1});
}

BOOST_AUTO_TEST_CASE(window_state_is_released_once_lateness_has_passed) {
  testing::harness h{make_tumbling(tumbling::of(duration{10}), duration{5})};
  for (uint32_t i = 0; i < 10; ++i)
    h.push(event{i, 10 * i, i}, timestamp::of(10 * i));
  BOOST_TEST(h.as<tumbling_op>().open_windows() == 10u);
  BOOST_TEST(h.as<tumbling_op>().state_entries() == 10u);  // one key per window
  h.watermark(timestamp::of(49));  // fires [0,10) .. [40,50); releases those with max + 5 <= 49
  BOOST_TEST(h.values<ids_result>().size() == 5u);
  BOOST_TEST(h.as<tumbling_op>().open_windows() == 6u);  // [40,50) kept until 54
  BOOST_TEST(h.as<tumbling_op>().state_entries() == 6u);
  h.watermark(timestamp::of(54));
  BOOST_TEST(h.as<tumbling_op>().open_windows() == 5u);
  BOOST_TEST(h.as<tumbling_op>().state_entries() == 5u);
}

// State entries (sluice_state_entries) count key-window pairs, not windows
// or records.
BOOST_AUTO_TEST_CASE(state_entries_count_every_key_of_every_window) {
  testing::harness h{make_tumbling(tumbling::of(duration{10}))};
  for (uint32_t i = 0; i < 12; ++i)  // keys 0..3 in [0,10), keys 0..3 again in [10,20)
    h.push(event{i % 4, i < 6 ? 1 : 11, i}, timestamp::of(i < 6 ? 1 : 11));
  BOOST_TEST(h.as<tumbling_op>().state_entries() == 8u);
  h.watermark(timestamp::of(9));
  BOOST_TEST(h.as<tumbling_op>().state_entries() == 4u);
}

// A late record (within the allowed lateness) for a (key, window) that had no
// state yet fires that window right away. The window must not fire a second
// time, with the same content, at the next watermark.
BOOST_AUTO_TEST_CASE(late_record_opening_a_new_window_fires_it_once) {
  testing::harness h{make_tumbling(tumbling::of(duration{10}), duration{20})};
  h.push(event{1, 5, 0}, timestamp::of(5));
  h.watermark(timestamp::of(12));
  check_same_results(h.values<ids_result>(), {ids_result{1, {0, 10}, {0}}}, "key 1");

  h.push(event{2, 3, 1}, timestamp::of(3));  // key 2 had no [0,10) state; 9 + 20 > 12
  check_same_results(h.values<ids_result>(), {ids_result{2, {0, 10}, {1}}}, "late firing");

  h.watermark(timestamp::of(13));
  auto again = h.values<ids_result>();
  BOOST_TEST(again.empty(), "window fired again without new data: "
                                << (again.empty() ? std::string{} : format::to_json(again[0])));
  h.end();
  BOOST_TEST(h.values<ids_result>().empty());
}

BOOST_AUTO_TEST_CASE(sliding_record_late_for_some_windows_counts_in_the_open_ones) {
  testing::harness h{make_sliding(sliding::of(duration{10}, duration{5}))};
  h.push(event{1, 12, 0}, timestamp::of(12));
  h.watermark(timestamp::of(14));
  check_same_results(h.values<ids_result>(), {ids_result{1, {5, 15}, {0}}}, "first");

  h.push(event{1, 11, 1}, timestamp::of(11));  // [5,15) is gone, [10,20) is open
  BOOST_TEST(h.values<event>(1).empty());
  h.end();
  check_same_results(h.values<ids_result>(), {ids_result{1, {10, 20}, {0, 1}}}, "second");
}

BOOST_AUTO_TEST_CASE(random_late_data_without_lateness_matches_reference_model) {
  for (auto seed : seeds()) {
    for (auto& c : std::vector<late_config>{
             {10, 10, 0, 0},  // tumbling
             {10, 5, 0, 0},   // sliding
             {10, 3, 1, 0},   // sliding, size not a multiple of slide
             {5, 10, 3, 0},   // hopping: gaps of 5 ms between windows
             {4, 7, -2, 0},   // hopping, negative offset
         }) {
      BOOST_TEST_CONTEXT("seed " << seed << ", size " << c.size << ", slide " << c.slide
                                 << ", offset " << c.offset) {
        check_late_run(seed, c, true);
      }
    }
  }
}

// Same as above with allowed lateness: late-but-allowed records refire their
// windows. Fails while a late record that opens a new (key, window) makes it
// fire twice (see late_record_opening_a_new_window_fires_it_once).
BOOST_AUTO_TEST_CASE(random_late_data_with_allowed_lateness_matches_reference_model) {
  for (auto seed : seeds()) {
    for (auto& c : std::vector<late_config>{
             {10, 10, 0, 15},  // tumbling
             {10, 3, 1, 25},   // sliding, size not a multiple of slide
             {5, 10, 3, 25},   // hopping: a late record in a gap is late only past the lateness
         }) {
      BOOST_TEST_CONTEXT("seed " << seed << ", size " << c.size << ", slide " << c.slide
                                 << ", offset " << c.offset << ", lateness " << c.lateness) {
        check_late_run(seed, c, true);
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(random_late_data_loses_no_record) {
  for (auto seed : seeds()) {
    for (auto& c : std::vector<late_config>{{10, 10, 0, 0},
                                            {10, 3, 1, 0},
                                            {10, 10, 0, 15},
                                            {10, 3, 1, 25},
                                            {5, 10, 3, 0},
                                            {5, 10, 3, 25}}) {
      BOOST_TEST_CONTEXT("seed " << seed << ", size " << c.size << ", slide " << c.slide
                                 << ", offset " << c.offset << ", lateness " << c.lateness) {
        check_late_run(seed, c, false);
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(processing_time_window_assigns_by_clock_and_fires_on_timer) {
  testing::harness h{make_tumbling(tumbling::processing(duration{100}))};
  h.push(event{1, 0, 0});  // no event time needed
  h.advance_processing_time(duration{40});
  h.push(event{1, 0, 1}, timestamp::of(999999));  // event time is ignored
  h.push(event{2, 0, 2});
  h.advance_processing_time(duration{59});  // now 99
  BOOST_TEST(h.output<ids_result>().empty());

  h.advance_processing_time(duration{1});  // now 100: [0, 100) is over
  auto out = h.output<ids_result>();
  std::vector<ids_result> vals;
  for (auto& r : out) {
    vals.push_back(r.value);
    BOOST_TEST(r.ts.ms == 99);
  }
  check_same_results(vals, {ids_result{1, {0, 100}, {0, 1}}, ids_result{2, {0, 100}, {2}}},
                     "first micro-batch");

  h.push(event{1, 0, 3});                    // now 100: [100, 200)
  h.advance_processing_time(duration{250});  // now 350
  check_same_results(h.values<ids_result>(), {ids_result{1, {100, 200}, {3}}}, "second");

  h.push(event{1, 0, 4});  // now 350: [300, 400)
  h.push(event{3, 0, 5});
  BOOST_TEST(h.as<tumbling_op>().open_windows() == 2u);
  h.end();  // what is open fires at end of input
  check_same_results(h.values<ids_result>(),
                     {ids_result{1, {300, 400}, {4}}, ids_result{3, {300, 400}, {5}}}, "at end");
  BOOST_TEST(h.as<tumbling_op>().open_windows() == 0u);
  BOOST_TEST(h.dead_letters().empty());
  BOOST_TEST(h.values<event>(1).empty());
}

BOOST_AUTO_TEST_CASE(processing_time_window_ignores_watermarks) {
  testing::harness h{make_tumbling(tumbling::processing(duration{100}))};
  h.clock().set(timestamp::of(1005));
  h.push(event{1, 0, 0}, timestamp::of(5));
  h.watermark(timestamp::of(1000000));
  BOOST_TEST(h.output<ids_result>().empty());
  h.advance_processing_time(duration{95});  // now 1100
  check_same_results(h.values<ids_result>(), {ids_result{1, {1000, 1100}, {0}}}, "by clock");
}

BOOST_AUTO_TEST_CASE(processing_time_timer_fires_every_due_window_at_once) {
  testing::harness h{make_tumbling(tumbling::processing(duration{10}))};
  h.push(event{1, 0, 0});
  h.advance_processing_time(duration{10});
  h.values<ids_result>();
  h.push(event{1, 0, 1});  // [10, 20)
  h.clock().advance(duration{15});
  h.push(event{1, 0, 2});                   // [20, 30), pushed at 25 before the timer for 20 ran
  h.advance_processing_time(duration{10});  // now 35: both are due
  check_same_results(h.values<ids_result>(),
                     {ids_result{1, {10, 20}, {1}}, ids_result{1, {20, 30}, {2}}}, "both");
  BOOST_TEST(!h.context().pending_timer().has_value());
}

BOOST_AUTO_TEST_CASE(event_time_window_sends_record_without_timestamp_to_dead_letters) {
  testing::harness h{make_tumbling(tumbling::of(duration{10})), 2, 4};
  h.push(event{1, 0, 0});  // timestamp::min(): the source had no watermark strategy
  auto dead = h.dead_letters();
  BOOST_TEST_REQUIRE(dead.size() == 1u);
  BOOST_TEST(dead[0].operator_name == "op-under-test");
  BOOST_TEST(dead[0].instance == 2u);
  BOOST_TEST(dead[0].reason.find("timestamp") != std::string::npos, dead[0].reason);
  BOOST_TEST(h.as<tumbling_op>().open_windows() == 0u);

  h.push(event{1, 4, 1}, timestamp::of(4));  // the operator keeps working
  h.end();
  check_same_results(h.values<ids_result>(), {ids_result{1, {0, 10}, {1}}}, "after rejection");
  BOOST_TEST(h.values<event>(1).empty(), "a record without timestamp is not a late record");
}

BOOST_AUTO_TEST_CASE(sliding_window_sends_record_without_timestamp_to_dead_letters) {
  testing::harness h{make_sliding(sliding::of(duration{10}, duration{5}))};
  h.push_batch<event>({{{1, 0, 0}, timestamp::min()}, {{1, 1, 1}, timestamp::of(1)}});
  BOOST_TEST(h.dead_letters().size() == 1u);
  h.end();
  check_same_results(h.values<ids_result>(),
                     {ids_result{1, {-5, 5}, {1}}, ids_result{1, {0, 10}, {1}}}, "sliding");
}

BOOST_AUTO_TEST_SUITE_END()
