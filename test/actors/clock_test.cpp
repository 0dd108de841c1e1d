// The job clock: a test clock moves only when advanced, also across threads.
#include <boost/test/unit_test.hpp>

#include <thread>

#include "sluice/actors/clock.hpp"
#include "sluice/actors/config.hpp"

using namespace sluice;
using namespace sluice::actors;

BOOST_AUTO_TEST_SUITE(actors_clock)

BOOST_AUTO_TEST_CASE(test_clock_moves_only_when_advanced) {
  test_clock c{timestamp::of(1000)};
  BOOST_TEST(c.now().ms == 1000);
  c.advance(duration{250});
  BOOST_TEST(c.now().ms == 1250);
  c.set(timestamp::of(5));
  BOOST_TEST(c.now().ms == 5);
}

BOOST_AUTO_TEST_CASE(advances_from_another_thread_are_all_seen) {
  test_clock c;
  std::thread t{[&] {
    for (int i = 0; i < 1000; ++i)
      c.advance(duration{1});
  }};
  for (int i = 0; i < 1000; ++i)
    c.advance(duration{1});
  t.join();
  BOOST_TEST(c.now().ms == 2000);
}

BOOST_AUTO_TEST_CASE(a_job_without_a_clock_runs_on_the_wall_clock) {
  runtime_config cfg;
  BOOST_TEST(!cfg.clock);
  auto c = clock_or_wall(cfg.clock);
  const int64_t wall = sluice::system_clock{}.now().ms;
  BOOST_TEST(std::abs(c->now().ms - wall) < 1000);
  auto manual = std::make_shared<test_clock>(timestamp::of(7));
  cfg.clock = manual;
  BOOST_TEST(clock_or_wall(cfg.clock)->now().ms == 7);
}

BOOST_AUTO_TEST_SUITE_END()
