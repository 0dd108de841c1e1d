#include "sluice/window/sliding.hpp"

#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "sluice/testing/harness.hpp"
#include "sluice/window/time_window_operator.hpp"
#include "window_fixture.hpp"

using namespace sluice;
using namespace sluice::test;
using window::sliding;
using window::time_window;

namespace {

using sliding_op = window::time_window_operator<event, uint32_t, by_key, sliding, collect_ids>;

std::unique_ptr<sliding_op> make_op(sliding s, duration lateness = duration{0}) {
  return std::make_unique<sliding_op>(by_key{}, s, collect_ids{}, lateness);
}

std::vector<time_window> assigned(const sliding& s, int64_t t) {
  std::vector<time_window> ws;
  s.assign(t, [&](time_window w) { ws.push_back(w); });
  std::sort(ws.begin(), ws.end());
  return ws;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(window_sliding)

BOOST_AUTO_TEST_CASE(assigns_every_window_containing_the_timestamp) {
  struct config {
    int64_t size, slide, offset;
  };
  for (auto c :
       {config{10, 5, 0}, config{10, 3, 0}, config{7, 2, 1}, config{5, 5, 0}, config{9, 4, 2}}) {
    const auto s = sliding::of(duration{c.size}, duration{c.slide}, duration{c.offset});
    for (int64_t t = -40; t <= 40; ++t) {
      BOOST_TEST_CONTEXT("size " << c.size << ", slide " << c.slide << ", offset " << c.offset
                                 << ", t " << t) {
        const auto ws = assigned(s, t);
        const auto expected = windows_containing(t, c.size, c.slide, c.offset);
        BOOST_TEST((ws == expected),
                   "assigned " << ws.size() << " windows, expected " << expected.size());
        // size / slide rounded down or up, depending on where t falls
        BOOST_TEST(ws.size() >= static_cast<size_t>(c.size / c.slide));
        BOOST_TEST(ws.size() <= static_cast<size_t>((c.size + c.slide - 1) / c.slide));
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(overlapping_windows_each_count_the_record) {
  testing::harness h{make_op(sliding::of(duration{10}, duration{5}))};
  h.push(event{1, 7, 0}, timestamp::of(7));
  h.push(event{1, 12, 1}, timestamp::of(12));
  h.end();
  check_same_results(
      h.values<ids_result>(),
      {ids_result{1, {0, 10}, {0}}, ids_result{1, {5, 15}, {0, 1}}, ids_result{1, {10, 20}, {1}}},
      "sliding 10/5");
}

BOOST_AUTO_TEST_CASE(matches_brute_force_on_random_out_of_order_data) {
  struct config {
    int64_t size, slide, offset, disorder, bound;
  };
  const std::vector<config> configs{
      {10, 5, 0, 20, 20},  // size a multiple of slide
      {10, 3, 0, 20, 25},  // size not a multiple of slide
      {7, 2, 1, 9, 9},     // ... with an offset
      {25, 10, 4, 0, 0},   // in order
      {6, 6, 0, 12, 12},   // slide == size: tumbling
  };
  for (auto seed : seeds()) {
    for (auto& c : configs) {
      BOOST_TEST_CONTEXT("seed " << seed << ", size " << c.size << ", slide " << c.slide
                                 << ", offset " << c.offset << ", disorder " << c.disorder
                                 << ", bound " << c.bound) {
        workload w;
        w.records = 1000;
        w.disorder = c.disorder;
        const auto batches = make_batches(seed, w);
        testing::harness h{
            make_op(sliding::of(duration{c.size}, duration{c.slide}, duration{c.offset}))};
        const auto out = drive(h, batches, c.bound, true);
        BOOST_TEST(out.late.empty());
        BOOST_TEST(out.dead.empty());
        check_same_results(values_of(out.results),
                           fixed_windows_reference(all_events(batches), c.size, c.slide, c.offset),
                           "sliding");
        check_fired_on_time(out.results);
        BOOST_TEST(h.as<sliding_op>().open_windows() == 0u);
      }
    }
  }
}

// Hopping windows (slide > size) leave gaps. A record in a gap belongs to no
// window, but it is not late either: it must not be reported on the
// late-records port; it is counted as skipped (port 2) instead of being
// dropped unseen, as Flink does.
BOOST_AUTO_TEST_CASE(record_in_gap_between_hopping_windows_is_not_reported_late) {
  testing::harness h{make_op(sliding::of(duration{5}, duration{10}))};
  h.push(event{1, 2, 0}, timestamp::of(2));  // in [0, 5)
  h.push(event{1, 7, 1}, timestamp::of(7));  // in the gap [5, 10): no window
  BOOST_TEST(h.values<event>(1).empty(), "an on-time record was reported as late");
  BOOST_TEST(sorted_ids(h.values<event>(2)) == std::vector<uint32_t>{1}, "skipped");
  h.end();
  check_same_results(h.values<ids_result>(), {ids_result{1, {0, 5}, {0}}}, "hopping");
  BOOST_TEST(h.values<event>(2).empty());
}

// Flink's WindowOperator: a record assigned to no window still goes to the
// late output when it is late (timestamp + allowed lateness <= watermark).
BOOST_AUTO_TEST_CASE(late_record_in_gap_between_hopping_windows_goes_to_side_output) {
  testing::harness h{make_op(sliding::of(duration{5}, duration{10}))};
  h.push(event{1, 12, 0}, timestamp::of(12));  // in [10, 15)
  h.watermark(timestamp::of(20));
  check_same_results(h.values<ids_result>(), {ids_result{1, {10, 15}, {0}}}, "on time");

  h.push(event{1, 7, 1}, timestamp::of(7));    // in the gap [5, 10), and 7 <= 20: late
  h.push(event{1, 18, 2}, timestamp::of(18));  // in the gap [15, 20), and 18 <= 20: late
  h.push(event{1, 21, 3}, timestamp::of(21));  // in [20, 25): on time
  auto late = h.output<event>(1);
  BOOST_TEST_REQUIRE(late.size() == 2u);
  BOOST_TEST(late[0].value.id == 1u);
  BOOST_TEST(late[0].ts.ms == 7);  // forwarded unchanged, with its timestamp
  BOOST_TEST(late[1].value.id == 2u);
  BOOST_TEST(h.values<event>(2).empty(), "a late record was counted as skipped");
  h.end();
  check_same_results(h.values<ids_result>(), {ids_result{1, {20, 25}, {3}}}, "after");
}

// With allowed lateness a record in a gap is late only once the watermark
// passed its timestamp + lateness; before that it is skipped.
BOOST_AUTO_TEST_CASE(record_in_gap_is_late_only_past_allowed_lateness) {
  testing::harness h{make_op(sliding::of(duration{5}, duration{10}), duration{10})};
  h.watermark(timestamp::of(16));
  h.push(event{1, 7, 0}, timestamp::of(7));  // 7 + 10 > 16: not late, in no window
  BOOST_TEST(h.values<event>(1).empty());
  BOOST_TEST(sorted_ids(h.values<event>(2)) == std::vector<uint32_t>{0}, "skipped");
  h.watermark(timestamp::of(17));
  h.push(event{1, 7, 1}, timestamp::of(7));  // 7 + 10 <= 17: late
  BOOST_TEST(sorted_ids(h.values<event>(1)) == std::vector<uint32_t>{1}, "late");
  BOOST_TEST(h.values<event>(2).empty());
}

BOOST_AUTO_TEST_CASE(processing_time_record_in_gap_is_skipped_never_late) {
  testing::harness h{make_op(sliding::processing(duration{5}, duration{10}))};
  h.push(event{1, 0, 0});  // now 0: in [0, 5)
  h.clock().set(timestamp::of(7));
  h.push(event{1, 0, 1});  // now 7: in the gap
  BOOST_TEST(sorted_ids(h.values<event>(2)) == std::vector<uint32_t>{1}, "skipped");
  h.end();
  check_same_results(h.values<ids_result>(), {ids_result{1, {0, 5}, {0}}}, "processing");
  BOOST_TEST(h.values<event>(1).empty());
}

BOOST_AUTO_TEST_CASE(of_rejects_offset_not_smaller_than_slide_naming_the_values) {
  for (int64_t offset : {5, -5, 7, 12, -30}) {
    BOOST_TEST_CONTEXT("offset " << offset) {
      try {
        (void)sliding::of(duration{10}, duration{5}, duration{offset});
        BOOST_ERROR("accepted |offset| >= slide");
      } catch (const std::invalid_argument& e) {
        const std::string what = e.what();
        BOOST_TEST(what.find("offset " + std::to_string(offset) + " ms") != std::string::npos,
                   what);
        BOOST_TEST(what.find("slide 5 ms") != std::string::npos, what);
      }
    }
  }
  // Limits: |offset| < slide, even when the offset exceeds the size.
  BOOST_TEST(sliding::of(duration{10}, duration{5}, duration{4}).offset.count() == 4);
  BOOST_TEST(sliding::of(duration{10}, duration{5}, duration{-4}).offset.count() == -4);
  BOOST_TEST(sliding::of(duration{5}, duration{10}, duration{7}).offset.count() == 7);
  BOOST_CHECK_THROW(sliding::of(duration{10}, duration{5}, duration{INT64_MIN}),
                    std::invalid_argument);
}

BOOST_AUTO_TEST_CASE(of_rejects_non_positive_size_or_slide_naming_the_value) {
  BOOST_CHECK_THROW(sliding::of(duration{0}, duration{5}), std::invalid_argument);
  BOOST_CHECK_THROW(sliding::of(duration{-10}, duration{5}), std::invalid_argument);
  BOOST_CHECK_THROW(sliding::of(duration{10}, duration{0}), std::invalid_argument);
  BOOST_CHECK_THROW(sliding::processing(duration{10}, duration{-1}), std::invalid_argument);
  try {
    (void)sliding::of(duration{10}, duration{-3});
    BOOST_ERROR("accepted a negative slide");
  } catch (const std::invalid_argument& e) {
    BOOST_TEST(std::string{e.what()}.find("slide must be positive, got -3 ms") != std::string::npos,
               e.what());
  }
}

BOOST_AUTO_TEST_SUITE_END()
