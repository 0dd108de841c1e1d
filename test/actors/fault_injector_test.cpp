#include <boost/test/unit_test.hpp>

#include <stdexcept>
#include <string>

#include "sluice/actors/fault_injector.hpp"

using namespace sluice::actors;

BOOST_AUTO_TEST_SUITE(fault_injector_suite)

BOOST_AUTO_TEST_CASE(record_rule_throws_once_in_the_matching_batch) {
  fault_injector f{"throw:operator=map,instance=1,record=100"};
  BOOST_CHECK_NO_THROW(f.on_records("map", 1, 1, 99));
  BOOST_CHECK_NO_THROW(f.on_records("map", 0, 100, 10));    // other instance
  BOOST_CHECK_NO_THROW(f.on_records("other", 1, 100, 10));  // other operator
  BOOST_CHECK_THROW(f.on_records("map", 1, 100, 10), injected_fault);
  BOOST_CHECK_NO_THROW(f.on_records("map", 1, 100, 10));  // once per process
}

BOOST_AUTO_TEST_CASE(probability_rule_is_seeded_and_repeatable) {
  auto count = [] {
    fault_injector f{"throw:probability=0.25,seed=7"};
    int n = 0;
    for (int i = 0; i < 1000; ++i) {
      try {
        f.on_records("x", 0, 1, 1);
      } catch (const injected_fault&) {
        ++n;
      }
    }
    return n;
  };
  const int a = count();
  BOOST_TEST(a == count());
  BOOST_TEST(a > 150);
  BOOST_TEST(a < 350);
}

BOOST_AUTO_TEST_CASE(bad_rules_are_rejected_with_the_rule_named) {
  auto message = [](const char* rules) {
    try {
      fault_injector f{rules};
    } catch (const std::invalid_argument& e) {
      return std::string{e.what()};
    }
    return std::string{};
  };
  BOOST_TEST(message("explode:record=1").find("kind must be throw, kill, crash or delay") !=
             std::string::npos);
  BOOST_TEST(message("crash:at=sometime").find("unknown crash point 'sometime'") !=
             std::string::npos);
  BOOST_TEST(message("throw:operator=x").find("needs record=K or probability=P") !=
             std::string::npos);
  BOOST_TEST(message("throw:record=abc").find("bad value 'abc' for record") != std::string::npos);
  BOOST_TEST(message("throw:probability=2").find("probability must be in [0, 1]") !=
             std::string::npos);
  BOOST_TEST(message("crash:at=before_sink_commit,checkpoint=3;throw:record=5").empty());
}

BOOST_AUTO_TEST_CASE(delay_rule_delays_its_point_once) {
  fault_injector f{"delay:at=deploy_reply,ms=10000"};
  BOOST_CHECK(!f.empty());
  BOOST_CHECK_NO_THROW(f.on_records("map", 0, 1, 1000));  // a delay rule never throws
  BOOST_CHECK_EQUAL(f.delay(delay_point::deploy_reply).count(), 10000);
  BOOST_CHECK_EQUAL(f.delay(delay_point::deploy_reply).count(), 0);  // once per process
  fault_injector none{""};
  BOOST_CHECK_EQUAL(none.delay(delay_point::deploy_reply).count(), 0);
}

BOOST_AUTO_TEST_CASE(bad_delay_rules_are_refused_with_the_rule) {
  for (const char* bad : {"delay:at=deploy_reply", "delay:ms=5", "delay:at=nowhere,ms=5",
                          "delay:at=deploy_reply,ms=0"}) {
    try {
      fault_injector f{bad};
      BOOST_FAIL("accepted " << bad);
    } catch (const std::invalid_argument& e) {
      BOOST_CHECK_MESSAGE(std::string{e.what()}.find(bad) != std::string::npos, e.what());
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()
