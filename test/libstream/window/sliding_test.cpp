#include "sluice/window/sliding.hpp"

#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <memory>
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
// late-records port (Flink drops such records silently).
BOOST_AUTO_TEST_CASE(record_in_gap_between_hopping_windows_is_not_reported_late) {
  testing::harness h{make_op(sliding::of(duration{5}, duration{10}))};
  h.push(event{1, 2, 0}, timestamp::of(2));  // in [0, 5)
  h.push(event{1, 7, 1}, timestamp::of(7));  // in the gap [5, 10): no window
  BOOST_TEST(h.values<event>(1).empty(), "an on-time record was reported as late");
  h.end();
  check_same_results(h.values<ids_result>(), {ids_result{1, {0, 5}, {0}}}, "hopping");
}

BOOST_AUTO_TEST_SUITE_END()
