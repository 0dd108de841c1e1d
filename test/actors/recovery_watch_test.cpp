#include <boost/test/unit_test.hpp>

#include "sluice/actors/recovery_watch.hpp"

using namespace sluice;
using namespace sluice::actors;

namespace {
timestamp at(int64_t t) {
  return timestamp::of(t);
}
}  // namespace

BOOST_AUTO_TEST_SUITE(recovery_watch_suite)

BOOST_AUTO_TEST_CASE(says_nothing_when_nothing_is_awaited) {
  recovery_watch w{duration{5000}, duration{60000}};
  auto v = w.check(at(1'000'000));
  BOOST_CHECK(!v.report);
  BOOST_CHECK(!v.stalled);
}

BOOST_AUTO_TEST_CASE(reports_what_it_waits_for_every_interval) {
  recovery_watch w{duration{5000}, duration{60000}};
  w.waiting_for("3 tasks of attempt 1 to stop", at(0));
  BOOST_CHECK(!w.check(at(4999)).report);
  auto v = w.check(at(5000));
  BOOST_REQUIRE(v.report);
  BOOST_CHECK_EQUAL(*v.report, "still waiting after 5000 ms for 3 tasks of attempt 1 to stop");
  BOOST_CHECK(!w.check(at(9999)).report);  // not again before the next interval
  BOOST_CHECK(w.check(at(10000)).report);
}

BOOST_AUTO_TEST_CASE(stalls_after_the_limit_without_progress_and_names_the_wait) {
  recovery_watch w{duration{5000}, duration{20000}};
  w.waiting_for("nodes not available: n3 (lost: no heartbeat)", at(100));
  BOOST_CHECK(!w.check(at(20099)).stalled);
  auto v = w.check(at(20100));
  BOOST_REQUIRE(v.stalled);
  BOOST_CHECK_EQUAL(*v.stalled,
                    "recovery made no progress for 20000 ms (limit 20000 ms) while waiting for "
                    "nodes not available: n3 "
                    "(lost: no heartbeat)");
  BOOST_CHECK(!w.waiting());  // reported once; the caller goes on
  BOOST_CHECK(!w.check(at(50000)).stalled);
}

BOOST_AUTO_TEST_CASE(progress_and_a_new_wait_reset_the_limit_but_not_the_elapsed_time) {
  recovery_watch w{duration{5000}, duration{10000}};
  w.waiting_for("4 tasks of attempt 2 to stop", at(0));
  w.progress(at(8000));  // one went down
  BOOST_CHECK(!w.check(at(17999)).stalled);
  w.waiting_for("the other nodes to deploy attempt 2", at(17000));
  BOOST_CHECK(!w.check(at(26999)).stalled);
  auto v = w.check(at(27000));
  BOOST_REQUIRE(v.stalled);
  BOOST_CHECK(v.stalled->find("the other nodes to deploy attempt 2") != std::string::npos);
  // The same description again is no progress.
  w.waiting_for("x", at(0));
  w.waiting_for("x", at(9000));
  BOOST_CHECK(w.check(at(10000)).stalled);
}

BOOST_AUTO_TEST_CASE(a_zero_limit_waits_forever_but_still_reports) {
  recovery_watch w{duration{1000}, duration{0}};
  w.waiting_for("n2", at(0));
  auto v = w.check(at(1'000'000));
  BOOST_CHECK(!v.stalled);
  BOOST_CHECK(v.report);
  w.done();
  BOOST_CHECK(!w.check(at(2'000'000)).report);
}

BOOST_AUTO_TEST_SUITE_END()
