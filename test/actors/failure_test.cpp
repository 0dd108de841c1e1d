// Failures surface as clear job errors naming operator, instance, position
// and cause; they never hang, and the runtime shuts down cleanly.
#include <boost/test/unit_test.hpp>

#include <atomic>
#include <filesystem>
#include <stdexcept>

#include "runtime_util.hpp"

using namespace test_util;
using namespace sluice;

namespace {

bool contains(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(runtime_failures)

BOOST_AUTO_TEST_CASE(operator_exception_fails_the_job_with_operator_instance_and_cause) {
  pipeline p{"explode"};
  auto out = std::make_shared<collected<uint64_t>>();
  p.generate(100000, [](uint64_t i) { return i; })
      .map([](uint64_t x) {
        if (x == 5000)
          throw std::runtime_error("amount out of range at record 5000");
        return x;
      })
      .name("validate")
      .start_new_chain()
      .collect(out);
  auto r = execute(p, config(1));
  BOOST_TEST(!r.ok);
  BOOST_TEST_MESSAGE(r.error);
  BOOST_TEST(contains(r.error, "operator 'validate' instance 0 failed"));
  BOOST_TEST(contains(r.error, "amount out of range at record 5000"));
  BOOST_TEST(
      contains(r.error, "from generator#0"));  // the position names the upstream and record range
}

BOOST_AUTO_TEST_CASE(failure_in_one_parallel_instance_names_that_instance) {
  pipeline p{"explode_keyed"};
  auto out = std::make_shared<collected<uint64_t>>();
  const uint64_t bad_key = 13;
  const uint32_t owner = instance_for(key_group_of(bad_key, 128), 4, 128).value;
  p.generate(20000, [](uint64_t i) { return i; })
      .parallelism(2)
      .key_by([](uint64_t x) { return x % 64; })
      .reduce([bad_key](uint64_t a, uint64_t b) {
        if (b % 64 == bad_key && b > 10000)
          throw std::invalid_argument("bad balance");
        return a + b;
      })
      .name("balance")
      .parallelism(4)
      .collect(out);
  auto r = execute(p, config(4));
  BOOST_TEST(!r.ok);
  BOOST_TEST_MESSAGE(r.error);
  BOOST_TEST(contains(r.error, "operator 'balance' instance " + std::to_string(owner) + " failed"));
  BOOST_TEST(contains(r.error, "bad balance"));
}

BOOST_AUTO_TEST_CASE(missing_input_file_fails_with_the_path) {
  pipeline p{"missing"};
  auto out = std::make_shared<collected<std::string>>();
  p.read_text("/nonexistent/sluice/input.txt").name("read").collect(out);
  auto r = execute(p, config(1));
  BOOST_TEST(!r.ok);
  BOOST_TEST_MESSAGE(r.error);
  BOOST_TEST(contains(r.error, "operator 'read'"));
  BOOST_TEST(contains(r.error, "/nonexistent/sluice/input.txt"));
}

BOOST_AUTO_TEST_CASE(sink_exception_fails_the_job) {
  pipeline p{"sink_fails"};
  p.generate(1000, [](uint64_t i) { return i; })
      .for_each([](uint64_t x) {
        if (x == 999)
          throw std::runtime_error("disk full");
      })
      .name("store");
  auto r = execute(p, config(1));
  BOOST_TEST(!r.ok);
  BOOST_TEST(contains(r.error, "operator 'store'"));
  BOOST_TEST(contains(r.error, "disk full"));
}

BOOST_AUTO_TEST_CASE(invalid_pipeline_is_reported_not_run) {
  pipeline p{"invalid"};
  auto out = std::make_shared<collected<uint64_t>>();
  p.generate(10, [](uint64_t i) { return i; }).parallelism(200).collect(out);  // > 128 key groups
  auto r = execute(p, config(1));
  BOOST_TEST(!r.ok);
  BOOST_TEST_MESSAGE(r.error);
  BOOST_TEST(contains(r.error, "parallelism 200"));
  BOOST_TEST(contains(r.error, "generator"));
}

BOOST_AUTO_TEST_CASE(job_that_does_not_end_is_stopped_by_its_timeout) {
  pipeline p{"endless"};
  auto out = std::make_shared<collected<uint64_t>>();
  p.generate(generator_source<uint64_t, int>::unbounded_count, [](uint64_t i) { return i; })
      .rate_limit(1000)
      .collect(out);
  auto cfg = config(1);
  cfg.timeout = std::chrono::milliseconds(300);
  auto r = execute(p, cfg);  // must return: the actor system shuts down
  BOOST_TEST(!r.ok);
  BOOST_TEST(contains(r.error, "did not end within 300 ms"));
  BOOST_TEST(out->size() > 0u);
}

BOOST_AUTO_TEST_CASE(jobs_run_one_after_another_in_one_process) {
  for (int round = 0; round < 5; ++round) {
    pipeline p{"again"};
    auto out = std::make_shared<collected<uint64_t>>();
    p.generate(5000, [](uint64_t i) { return i; })
        .parallelism(2)
        .key_by([](uint64_t x) { return x % 10; })
        .reduce([](uint64_t a, uint64_t b) { return a + b; }, emit_policy::at_end())
        .collect(out);
    auto r = execute(p, config(2));
    require_ok(r);
    uint64_t total = 0;
    for (auto x : out->items())
      total += x;
    BOOST_TEST(total == 5000u * 4999u / 2u);
    BOOST_TEST(out->size() == 10u);
  }
}

BOOST_AUTO_TEST_SUITE_END()
