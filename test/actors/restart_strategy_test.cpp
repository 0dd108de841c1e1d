#include <boost/test/unit_test.hpp>

#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "sluice/actors/restart_strategy.hpp"

using namespace sluice;
using namespace sluice::actors;

namespace {

using ms = duration;
timestamp at(int64_t t) {
  return timestamp::of(t);
}

/// The delay of a restart decision, or -1 when the strategy gave up.
int64_t delay_of(const restart_decision& d) {
  return d.restart ? d.delay.count() : -1;
}

/// The message of the `std::invalid_argument` `parse_restart_strategy(spec)` throws.
std::string parse_error(const std::string& spec) {
  try {
    parse_restart_strategy(spec);
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "(accepted)";
}

bool mentions(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(restart_strategy_suite)

BOOST_AUTO_TEST_CASE(none_gives_up_at_once) {
  no_restart s;
  auto d = s.on_failure(at(0));
  BOOST_TEST(!d.restart);
  BOOST_TEST(mentions(d.reason, "disabled"));
  BOOST_TEST(s.describe() == "none");
}

BOOST_AUTO_TEST_CASE(fixed_delay_restarts_a_fixed_number_of_times) {
  fixed_delay s{3, ms{1000}};
  BOOST_TEST(delay_of(s.on_failure(at(0))) == 1000);
  BOOST_TEST(delay_of(s.on_failure(at(5000))) == 1000);
  BOOST_TEST(delay_of(s.on_failure(at(1'000'000))) == 1000);  // attempts never come back
  auto d = s.on_failure(at(2'000'000));
  BOOST_TEST(!d.restart);
  BOOST_TEST(d.reason == "fixed delay: 3 attempts used");
  BOOST_TEST(!s.on_failure(at(3'000'000)).restart);
  BOOST_TEST(s.describe() == "fixed-delay:attempts=3,delay=1s");
}

BOOST_AUTO_TEST_CASE(fixed_delay_with_zero_attempts_never_restarts) {
  fixed_delay s{0, ms{10}};
  BOOST_TEST(!s.on_failure(at(0)).restart);
}

BOOST_AUTO_TEST_CASE(exponential_backoff_grows_to_its_cap) {
  exponential_backoff s{ms{100}, ms{1000}, 2.0, ms{60'000}};
  // Failures come quickly after each restart: no reset.
  std::vector<int64_t> delays;
  int64_t t = 0;
  for (int i = 0; i < 7; ++i) {
    auto d = s.on_failure(at(t));
    delays.push_back(delay_of(d));
    t += d.delay.count() + 10;  // fails again 10 ms after coming back
  }
  BOOST_TEST(delays == (std::vector<int64_t>{100, 200, 400, 800, 1000, 1000, 1000}),
             boost::test_tools::per_element());
  BOOST_TEST(s.describe() == "exponential:initial=100ms,max=1s,multiplier=2,reset=1m");
}

BOOST_AUTO_TEST_CASE(exponential_backoff_resets_after_a_quiet_period) {
  exponential_backoff s{ms{100}, ms{10'000}, 3.0, ms{60'000}};
  BOOST_TEST(delay_of(s.on_failure(at(0))) == 100);     // back at 100
  BOOST_TEST(delay_of(s.on_failure(at(1000))) == 300);  // back at 1300
  BOOST_TEST(delay_of(s.on_failure(at(61'299))) ==
             900);  // ran 59.999 s: not quiet enough; back at 62199
  BOOST_TEST(delay_of(s.on_failure(at(122'199))) ==
             100);  // ran exactly 60 s since coming back: reset
  BOOST_TEST(delay_of(s.on_failure(at(122'300))) == 300);
}

BOOST_AUTO_TEST_CASE(exponential_backoff_quiet_time_counts_from_the_restart) {
  // A long backoff itself is not quiet running time.
  exponential_backoff s{ms{50'000}, ms{100'000}, 2.0, ms{60'000}};
  BOOST_TEST(delay_of(s.on_failure(at(0))) == 50'000);        // back at 50 s
  BOOST_TEST(delay_of(s.on_failure(at(70'000))) == 100'000);  // ran 20 s only
}

BOOST_AUTO_TEST_CASE(exponential_backoff_attempts_count_since_the_last_reset) {
  exponential_backoff s{ms{100}, ms{1000}, 2.0, ms{10'000}, 2};
  BOOST_TEST(delay_of(s.on_failure(at(0))) == 100);
  BOOST_TEST(delay_of(s.on_failure(at(200))) == 200);
  auto d = s.on_failure(at(500));
  BOOST_TEST(!d.restart);
  BOOST_TEST(d.reason == "exponential backoff: 2 attempts used since the last reset");
  // After a quiet period (since the restart at 400) it may restart again.
  BOOST_TEST(delay_of(s.on_failure(at(10'400))) == 100);
  BOOST_TEST(s.describe() == "exponential:initial=100ms,max=1s,multiplier=2,reset=10s,attempts=2");
}

BOOST_AUTO_TEST_CASE(exponential_backoff_with_fractional_multiplier) {
  exponential_backoff s{ms{100}, ms{1000}, 1.5, ms{60'000}};
  BOOST_TEST(delay_of(s.on_failure(at(0))) == 100);
  BOOST_TEST(delay_of(s.on_failure(at(1))) == 150);
  BOOST_TEST(delay_of(s.on_failure(at(2))) == 225);
  BOOST_TEST(s.describe() == "exponential:initial=100ms,max=1s,multiplier=1.5,reset=1m");
}

BOOST_AUTO_TEST_CASE(exponential_backoff_refuses_inconsistent_settings) {
  BOOST_CHECK_THROW((exponential_backoff{ms{0}, ms{10}, 2, ms{1}}), std::invalid_argument);
  BOOST_CHECK_THROW((exponential_backoff{ms{100}, ms{10}, 2, ms{1}}), std::invalid_argument);
  BOOST_CHECK_THROW((exponential_backoff{ms{100}, ms{1000}, 0.5, ms{1}}), std::invalid_argument);
  BOOST_CHECK_THROW((exponential_backoff{ms{100}, ms{1000}, 2, ms{0}}), std::invalid_argument);
}

BOOST_AUTO_TEST_CASE(failure_rate_gives_up_on_too_many_failures_in_the_window) {
  failure_rate s{3, ms{60'000}, ms{1000}};
  BOOST_TEST(delay_of(s.on_failure(at(0))) == 1000);
  BOOST_TEST(delay_of(s.on_failure(at(10'000))) == 1000);
  BOOST_TEST(delay_of(s.on_failure(at(20'000))) == 1000);
  auto d = s.on_failure(at(30'000));  // fourth within a minute
  BOOST_TEST(!d.restart);
  BOOST_TEST(d.reason == "failure rate: 4 failures within 1m (at most 3 allowed)");
  BOOST_TEST(s.describe() == "failure-rate:max=3,interval=1m,delay=1s");
}

BOOST_AUTO_TEST_CASE(failure_rate_window_slides) {
  failure_rate s{2, ms{10'000}, ms{500}};
  BOOST_TEST(delay_of(s.on_failure(at(0))) == 500);
  BOOST_TEST(delay_of(s.on_failure(at(5000))) == 500);
  // At 10000 the failure at 0 has left the window (now - interval, now].
  BOOST_TEST(delay_of(s.on_failure(at(10'000))) == 500);  // window: 5000, 10000
  BOOST_TEST(!s.on_failure(at(14'999)).restart);          // window: 5000, 10000, 14999
  BOOST_TEST(delay_of(s.on_failure(at(30'000))) == 500);  // window: 30000
  BOOST_TEST(delay_of(s.on_failure(at(35'000))) == 500);  // window: 30000, 35000
}

BOOST_AUTO_TEST_CASE(parser_accepts_each_strategy) {
  BOOST_TEST(parse_restart_strategy("none")->describe() == "none");
  BOOST_TEST(parse_restart_strategy("fixed-delay:attempts=3,delay=1s")->describe() ==
             "fixed-delay:attempts=3,delay=1s");
  BOOST_TEST(parse_restart_strategy("exponential:initial=100ms,max=10s,multiplier=2,reset=60s")
                 ->describe() == "exponential:initial=100ms,max=10s,multiplier=2,reset=1m");
  BOOST_TEST(parse_restart_strategy("failure-rate:max=3,interval=1m,delay=1s")->describe() ==
             "failure-rate:max=3,interval=1m,delay=1s");
  // Defaults, spaces and key order.
  BOOST_TEST(parse_restart_strategy("exponential:max=2h,initial=1s")->describe() ==
             "exponential:initial=1s,max=2h,multiplier=2,reset=1h");
  BOOST_TEST(parse_restart_strategy(" fixed-delay: delay = 250ms , attempts = 10 ")->describe() ==
             "fixed-delay:attempts=10,delay=250ms");
  BOOST_TEST(parse_restart_strategy("exponential:initial=1s,max=1m,multiplier=1.5,attempts=4")
                 ->describe() ==
             "exponential:initial=1s,max=1m,multiplier=1.5,reset=1h,attempts=4");
}

BOOST_AUTO_TEST_CASE(parsed_strategy_behaves_as_configured) {
  auto s = parse_restart_strategy("fixed-delay:attempts=1,delay=2s");
  BOOST_TEST(delay_of(s->on_failure(at(0))) == 2000);
  BOOST_TEST(!s->on_failure(at(1)).restart);
}

BOOST_AUTO_TEST_CASE(describe_reads_back) {
  for (auto spec : {"none", "fixed-delay:attempts=0,delay=0ms",
                    "exponential:initial=1500ms,max=90s,multiplier=1.25,reset=2h,attempts=7",
                    "failure-rate:max=0,interval=1h,delay=10s"}) {
    auto text = parse_restart_strategy(spec)->describe();
    BOOST_TEST(parse_restart_strategy(text)->describe() == text);
  }
}

BOOST_AUTO_TEST_CASE(parser_rejects_with_the_bad_part_named) {
  struct reject {
    std::string spec;
    std::string names;
  };
  const std::vector<reject> cases{
      {"", "unknown strategy ''"},
      {"sometimes", "unknown strategy 'sometimes'"},
      {"none:attempts=1", "none takes no parameters"},
      {"fixed-delay", "fixed-delay needs parameters: attempts, delay"},
      {"fixed-delay:", "empty parameter"},
      {"fixed-delay:attempts=3,", "empty parameter"},
      {"fixed-delay:attempts=3", "fixed-delay needs parameter 'delay'"},
      {"fixed-delay:attempts=x,delay=1s", "attempts: 'x' is not a whole number"},
      {"fixed-delay:attempts=-1,delay=1s", "attempts: '-1' is not a whole number"},
      {"fixed-delay:attempts=3,delay=1", "delay: duration '1': missing unit"},
      {"fixed-delay:attempts=3,delay=1d", "delay: duration '1d': unknown unit"},
      {"fixed-delay:attempts=3,delay=1.5s", "delay: duration '1.5s': unknown unit"},
      {"fixed-delay:attempts=3,delay=s", "delay: duration 's': expected a whole number"},
      {"fixed-delay:attempts=3,delay=", "parameter 'delay' has no value"},
      {"fixed-delay:attempts=3,delay=1s,attempts=4", "parameter 'attempts' given twice"},
      {"fixed-delay:attempts=3,delay=1s,jitter=1",
       "unknown parameter 'jitter' for fixed-delay (expected attempts, delay)"},
      {"fixed-delay:attempts", "parameter 'attempts' is not key=value"},
      {"fixed-delay:attempts=99999999999,delay=1s",
       "attempts: '99999999999' is not a whole number"},
      {"fixed-delay:attempts=3,delay=99999999999999999h", "too large"},
      {"exponential:initial=1s", "exponential needs parameter 'max'"},
      {"exponential:initial=10s,max=1s", "max (1s) is less than initial (10s)"},
      {"exponential:initial=1s,max=10s,multiplier=0.5",
       "multiplier must be a number of at least 1"},
      {"exponential:initial=1s,max=10s,multiplier=two", "multiplier: 'two' is not a number"},
      {"exponential:initial=1s,max=10s,multiplier=inf", "multiplier: 'inf' is not a number"},
      {"exponential:initial=0ms,max=10s", "initial must be positive"},
      {"failure-rate:max=3,interval=0s,delay=1s", "interval must be positive"},
      {"failure-rate:max=3,delay=1s", "failure-rate needs parameter 'interval'"},
  };
  for (auto& c : cases) {
    const std::string msg = parse_error(c.spec);
    BOOST_TEST_CONTEXT("spec \"" << c.spec << "\" -> " << msg) {
      BOOST_TEST(mentions(msg, "restart strategy \"" + c.spec + "\": "));
      BOOST_TEST(mentions(msg, c.names));
    }
  }
}

BOOST_AUTO_TEST_CASE(durations_parse_and_format) {
  BOOST_TEST(parse_duration("250ms").count() == 250);
  BOOST_TEST(parse_duration("10s").count() == 10'000);
  BOOST_TEST(parse_duration("2m").count() == 120'000);
  BOOST_TEST(parse_duration("1h").count() == 3'600'000);
  BOOST_TEST(parse_duration("0s").count() == 0);
  BOOST_TEST(format_duration(ms{0}) == "0ms");
  BOOST_TEST(format_duration(ms{1500}) == "1500ms");
  BOOST_TEST(format_duration(ms{90'000}) == "90s");
  BOOST_TEST(format_duration(ms{7'200'000}) == "2h");
  BOOST_CHECK_THROW(parse_duration("-1s"), std::invalid_argument);
  BOOST_CHECK_THROW(parse_duration("1 s"), std::invalid_argument);
}

BOOST_AUTO_TEST_SUITE_END()
