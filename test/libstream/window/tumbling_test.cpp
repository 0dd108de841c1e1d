#include "sluice/window/tumbling.hpp"

#include <boost/test/unit_test.hpp>

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
using window::time_window;
using window::tumbling;

namespace {

using tumbling_op = window::time_window_operator<event, uint32_t, by_key, tumbling, collect_ids>;

std::unique_ptr<tumbling_op> make_op(tumbling t, duration lateness = duration{0}) {
  return std::make_unique<tumbling_op>(by_key{}, t, collect_ids{}, lateness);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(window_tumbling)

BOOST_AUTO_TEST_CASE(assigns_each_timestamp_to_the_one_window_containing_it) {
  for (int64_t size : {1, 5, 10}) {
    for (int64_t offset : {int64_t{0}, size / 2, -(size - 1)}) {  // every |offset| < size
      const auto t = tumbling::of(duration{size}, duration{offset});
      for (int64_t ts = -50; ts <= 50; ++ts) {
        std::vector<time_window> ws;
        t.assign(ts, [&](time_window w) { ws.push_back(w); });
        BOOST_TEST_REQUIRE(ws.size() == 1u);
        BOOST_TEST(ws[0].start <= ts);
        BOOST_TEST(ts < ws[0].end);
        BOOST_TEST(ws[0].end - ws[0].start == size);
        BOOST_TEST(floor_div(ws[0].start - offset, size) * size == ws[0].start - offset);
      }
    }
  }
}

// Flink's TumblingEventTimeWindows.of requires abs(offset) < size; an offset
// of a whole size or more used to be reduced modulo the size without a word.
BOOST_AUTO_TEST_CASE(of_rejects_offset_not_smaller_than_size_naming_the_values) {
  for (int64_t offset : {10, -10, 15, -25, 1000}) {
    BOOST_TEST_CONTEXT("offset " << offset) {
      try {
        (void)tumbling::of(duration{10}, duration{offset});
        BOOST_ERROR("accepted |offset| >= size");
      } catch (const std::invalid_argument& e) {
        const std::string what = e.what();
        BOOST_TEST(what.find("offset " + std::to_string(offset) + " ms") != std::string::npos,
                   what);
        BOOST_TEST(what.find("size 10 ms") != std::string::npos, what);
      }
    }
  }
  BOOST_TEST(tumbling::of(duration{10}, duration{9}).offset.count() == 9);
  BOOST_TEST(tumbling::of(duration{10}, duration{-9}).offset.count() == -9);
  BOOST_CHECK_THROW(tumbling::of(duration{10}, duration{INT64_MIN}), std::invalid_argument);
}

BOOST_AUTO_TEST_CASE(of_rejects_non_positive_size_naming_the_value) {
  BOOST_CHECK_THROW(tumbling::of(duration{0}), std::invalid_argument);
  BOOST_CHECK_THROW(tumbling::processing(duration{0}), std::invalid_argument);
  try {
    (void)tumbling::of(duration{-10});
    BOOST_ERROR("accepted a negative size");
  } catch (const std::invalid_argument& e) {
    BOOST_TEST(std::string{e.what()}.find("size must be positive, got -10 ms") != std::string::npos,
               e.what());
  }
}

BOOST_AUTO_TEST_CASE(processing_factory_selects_processing_time) {
  BOOST_TEST((tumbling::of(duration{5}).domain == window::time_domain::event));
  BOOST_TEST((tumbling::processing(duration{5}).domain == window::time_domain::processing));
}

BOOST_AUTO_TEST_CASE(fires_when_watermark_reaches_window_max_timestamp) {
  testing::harness h{make_op(tumbling::of(duration{10}))};
  h.push(event{1, 0, 0}, timestamp::of(0));
  h.push(event{1, 5, 1}, timestamp::of(5));
  h.push(event{1, 9, 2}, timestamp::of(9));
  h.push(event{1, 10, 3}, timestamp::of(10));
  h.watermark(timestamp::of(8));
  BOOST_TEST(h.output<ids_result>().empty());

  h.watermark(timestamp::of(9));
  auto out = h.output<ids_result>();
  BOOST_TEST_REQUIRE(out.size() == 1u);
  BOOST_TEST((out[0].value == ids_result{1, {0, 10}, {0, 1, 2}}));
  BOOST_TEST(out[0].ts.ms == 9);
  BOOST_TEST(h.as<tumbling_op>().open_windows() == 1u);

  h.watermark(timestamp::of(19));
  out = h.output<ids_result>();
  BOOST_TEST_REQUIRE(out.size() == 1u);
  BOOST_TEST((out[0].value == ids_result{1, {10, 20}, {3}}));
  BOOST_TEST(h.as<tumbling_op>().open_windows() == 0u);
}

BOOST_AUTO_TEST_CASE(keys_are_windowed_independently) {
  testing::harness h{make_op(tumbling::of(duration{10}))};
  h.push_batch<event>({{{1, 1, 0}, timestamp::of(1)},
                       {{2, 2, 1}, timestamp::of(2)},
                       {{1, 3, 2}, timestamp::of(3)},
                       {{3, 15, 3}, timestamp::of(15)}});
  h.end();
  auto out = h.values<ids_result>();
  check_same_results(
      out,
      {ids_result{1, {0, 10}, {0, 2}}, ids_result{2, {0, 10}, {1}}, ids_result{3, {10, 20}, {3}}},
      "three keys");
}

BOOST_AUTO_TEST_CASE(end_of_input_fires_all_open_windows) {
  testing::harness h{make_op(tumbling::of(duration{100}))};
  h.push(event{7, 250, 0}, timestamp::of(250));
  h.push(event{7, 999, 1}, timestamp::of(999));
  BOOST_TEST(h.output<ids_result>().empty());
  h.end();
  check_same_results(h.values<ids_result>(),
                     {ids_result{7, {200, 300}, {0}}, ids_result{7, {900, 1000}, {1}}}, "end");
  BOOST_TEST(h.as<tumbling_op>().open_windows() == 0u);
}

BOOST_AUTO_TEST_CASE(matches_brute_force_on_random_out_of_order_data) {
  struct config {
    int64_t size, offset, disorder, bound;
  };
  const std::vector<config> configs{
      {10, 0, 20, 20},  // disorder exactly at the bound
      {7, 3, 15, 40},   // bound looser than the disorder
      {1, 0, 5, 5},     // one-millisecond windows
      {50, 13, 0, 0},   // in-order input, zero bound
  };
  for (auto seed : seeds()) {
    for (auto& c : configs) {
      BOOST_TEST_CONTEXT("seed " << seed << ", size " << c.size << ", offset " << c.offset
                                 << ", disorder " << c.disorder << ", bound " << c.bound) {
        workload w;
        w.disorder = c.disorder;
        const auto batches = make_batches(seed, w);
        testing::harness h{make_op(tumbling::of(duration{c.size}, duration{c.offset}))};
        const auto out = drive(h, batches, c.bound, true);
        BOOST_TEST(out.late.empty());
        BOOST_TEST(out.dead.empty());
        check_same_results(values_of(out.results),
                           fixed_windows_reference(all_events(batches), c.size, c.size, c.offset),
                           "tumbling");
        check_fired_on_time(out.results);
        BOOST_TEST(h.as<tumbling_op>().open_windows() == 0u);
      }
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()
