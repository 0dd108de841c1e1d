#include "sluice/window/window.hpp"

#include <boost/test/unit_test.hpp>

#include <functional>
#include <string>

using sluice::window::reduce_aggregate;
using sluice::window::time_window;
using sluice::window::window_start;

BOOST_AUTO_TEST_SUITE(window_window)

BOOST_AUTO_TEST_CASE(window_start_floors_to_multiple_of_size) {
  BOOST_TEST(window_start(0, 0, 10) == 0);
  BOOST_TEST(window_start(9, 0, 10) == 0);
  BOOST_TEST(window_start(10, 0, 10) == 10);
  BOOST_TEST(window_start(12345, 0, 1000) == 12000);
}

BOOST_AUTO_TEST_CASE(window_start_floors_negative_timestamps_downwards) {
  BOOST_TEST(window_start(-1, 0, 10) == -10);
  BOOST_TEST(window_start(-10, 0, 10) == -10);
  BOOST_TEST(window_start(-11, 0, 10) == -20);
}

BOOST_AUTO_TEST_CASE(window_start_honours_offset) {
  BOOST_TEST(window_start(2, 3, 10) == -7);
  BOOST_TEST(window_start(3, 3, 10) == 3);
  BOOST_TEST(window_start(12, 3, 10) == 3);
  BOOST_TEST(window_start(13, 3, 10) == 13);
  BOOST_TEST(window_start(-8, 3, 10) == -17);
}

BOOST_AUTO_TEST_CASE(max_timestamp_is_last_millisecond_inside_window) {
  time_window w{0, 10};
  BOOST_TEST(w.max_timestamp().ms == 9);
  BOOST_TEST((time_window{-10, 0}.max_timestamp().ms == -1));
}

BOOST_AUTO_TEST_CASE(equal_windows_hash_equal) {
  std::hash<time_window> h;
  BOOST_TEST(h(time_window{5, 15}) == h(time_window{5, 15}));
  BOOST_TEST((time_window{5, 15} == time_window{5, 15}));
  BOOST_TEST((time_window{5, 15} < time_window{6, 15}));
}

BOOST_AUTO_TEST_CASE(reduce_aggregate_folds_added_and_merged_values) {
  auto concat = [](std::string a, const std::string& b) {
    return a + b;
  };
  reduce_aggregate<std::string, decltype(concat)> agg{concat};
  auto acc = agg.create();
  BOOST_TEST(!acc.has_value());
  agg.add(acc, "a");
  agg.add(acc, "b");
  BOOST_TEST(agg.result(acc) == "ab");

  auto other = agg.create();
  agg.merge(acc, std::move(other));  // merging an empty accumulator changes nothing
  BOOST_TEST(agg.result(acc) == "ab");

  auto more = agg.create();
  agg.add(more, "c");
  agg.merge(acc, std::move(more));
  BOOST_TEST(agg.result(acc) == "abc");

  auto empty = agg.create();
  auto only = agg.create();
  agg.add(only, "x");
  agg.merge(empty, std::move(only));  // merging into an empty accumulator takes the other
  BOOST_TEST(agg.result(empty) == "x");
}

BOOST_AUTO_TEST_SUITE_END()
