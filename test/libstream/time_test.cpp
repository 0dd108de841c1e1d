#include "sluice/time.hpp"

#include <boost/test/unit_test.hpp>

#include <limits>

using namespace sluice;

BOOST_AUTO_TEST_SUITE(time_timestamp)

BOOST_AUTO_TEST_CASE(timestamps_are_totally_ordered) {
  BOOST_TEST((timestamp::min() < timestamp::of(-1)));
  BOOST_TEST((timestamp::of(-1) < timestamp::of(0)));
  BOOST_TEST((timestamp::of(0) < timestamp::max()));
  BOOST_TEST((timestamp{} == timestamp::min()));  // default: "no time yet"
}

BOOST_AUTO_TEST_CASE(adding_durations_saturates_at_the_ends) {
  BOOST_TEST((timestamp::max() + duration{5} == timestamp::max()));
  BOOST_TEST((timestamp::min() - duration{5} == timestamp::min()));
  BOOST_TEST((timestamp::min() + duration{-1} == timestamp::min()));
  BOOST_TEST((timestamp::of(10) + duration{5}).ms == 15);
  BOOST_TEST((timestamp::of(10) - duration{15}).ms == -5);
  BOOST_TEST(
      (timestamp::of(std::numeric_limits<int64_t>::max() - 1) + duration{1} == timestamp::max()));
}

BOOST_AUTO_TEST_CASE(manual_clock_moves_only_when_told) {
  manual_clock c{timestamp::of(100)};
  BOOST_TEST(c.now().ms == 100);
  BOOST_TEST(c.now().ms == 100);
  c.advance(duration{50});
  BOOST_TEST(c.now().ms == 150);
  c.set(timestamp::of(7));
  BOOST_TEST(c.now().ms == 7);
}

BOOST_AUTO_TEST_SUITE_END()
