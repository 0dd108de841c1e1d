// Credit-based flow control: a slow sink slows the source down, so what is in
// flight (produced but not yet consumed) stays bounded; rate limits hold.
#include <boost/test/unit_test.hpp>

#include <atomic>
#include <thread>

#include "runtime_util.hpp"

using namespace test_util;
using namespace sluice;

BOOST_AUTO_TEST_SUITE(runtime_flow_control)

BOOST_AUTO_TEST_CASE(slow_sink_keeps_in_flight_records_bounded) {
  // Source -> map -> slow sink in separate tasks. With batch 64 and 4 credits
  // per channel, each channel holds at most 4 batches in flight plus a queue
  // of 2 waiting for credit and the batch being filled; the bound below
  // leaves room for that on both channels, and is far below the input size.
  const uint64_t n = 20000;
  auto produced = std::make_shared<std::atomic<int64_t>>(0);
  auto consumed = std::make_shared<std::atomic<int64_t>>(0);
  auto max_gap = std::make_shared<std::atomic<int64_t>>(0);
  pipeline p{"backpressure"};
  p.generate(n, [produced](uint64_t i) {
     produced->fetch_add(1);
     return i;
   })
      .map([](uint64_t x) { return x * 2; })
      .start_new_chain()
      .for_each([consumed, produced, max_gap](uint64_t) {
        int64_t gap = produced->load() - consumed->fetch_add(1) - 1;
        if (gap > max_gap->load()) max_gap->store(gap);
        std::this_thread::sleep_for(std::chrono::microseconds(20));
      })
      .start_new_chain();
  auto cfg = config(1);
  auto r = execute(p, cfg);
  require_ok(r);
  BOOST_TEST(consumed->load() == static_cast<int64_t>(n));
  const int64_t bound = 2 * (cfg.credits + 3) * cfg.batch_size;
  BOOST_TEST_MESSAGE("max records in flight: " << max_gap->load() << " (bound " << bound << ")");
  BOOST_TEST(max_gap->load() <= bound);
  uint64_t bp = 0;
  for (auto& m : r.metrics) bp += m.backpressure_events;
  BOOST_TEST(bp > 0u);  // the source was actually held back
}

BOOST_AUTO_TEST_CASE(backpressure_reaches_the_source_across_a_keyed_exchange) {
  const uint64_t n = 10000;
  auto produced = std::make_shared<std::atomic<int64_t>>(0);
  auto consumed = std::make_shared<std::atomic<int64_t>>(0);
  auto max_gap = std::make_shared<std::atomic<int64_t>>(0);
  pipeline p{"backpressure_keyed"};
  p.generate(n, [produced](uint64_t i) {
     produced->fetch_add(1);
     return i;
   })
      .parallelism(2)
      .key_by([](uint64_t x) { return x % 16; })
      .reduce([](uint64_t a, uint64_t b) { return a + b; })
      .parallelism(2)
      .for_each([consumed, produced, max_gap](uint64_t) {
        int64_t gap = produced->load() - consumed->fetch_add(1) - 1;
        if (gap > max_gap->load()) max_gap->store(gap);
        std::this_thread::sleep_for(std::chrono::microseconds(30));
      })
      .parallelism(1)
      .start_new_chain();
  auto cfg = config(2);
  require_ok(execute(p, cfg));
  BOOST_TEST(consumed->load() == static_cast<int64_t>(n));
  // Two source instances, each with 2 channels to the reducers, the
  // reducers' 2 channels to the sink; generous but far below n.
  const int64_t bound = 8 * (cfg.credits + 3) * cfg.batch_size;
  BOOST_TEST_MESSAGE("max records in flight: " << max_gap->load() << " (bound " << bound << ")");
  BOOST_TEST(max_gap->load() <= bound);
}

BOOST_AUTO_TEST_CASE(rate_limited_source_does_not_exceed_its_rate) {
  const uint64_t n = 2000;
  pipeline p{"rate"};
  auto out = std::make_shared<collected<uint64_t>>();
  p.generate(n, [](uint64_t i) { return i; }).rate_limit(10000).collect(out);
  auto t0 = std::chrono::steady_clock::now();
  require_ok(execute(p, config(1)));
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  BOOST_TEST(out->size() == n);
  // 2000 records at 10000/s take at least ~0.2 s, minus the initial burst
  // allowance of one batch (1024 records at most).
  BOOST_TEST(secs >= 0.09);
}

BOOST_AUTO_TEST_CASE(every_record_arrives_exactly_once_through_all_partitionings) {
  const uint64_t n = 30000;
  pipeline p{"partitionings"};
  auto fwd = std::make_shared<collected<uint64_t>>();
  auto reb = std::make_shared<collected<uint64_t>>();
  auto bc = std::make_shared<collected<uint64_t>>();
  auto src = p.generate(n, [](uint64_t i) { return i; }).parallelism(3);
  src.map([](uint64_t x) { return x; }).parallelism(3).collect(fwd);
  src.rebalance().map([](uint64_t x) { return x; }).parallelism(2).collect(reb);
  src.filter([](uint64_t x) { return x % 100 == 0; }).broadcast().map([](uint64_t x) { return x; }).parallelism(4).collect(bc);
  require_ok(execute(p, config(3)));
  std::vector<uint64_t> all(n);
  for (uint64_t i = 0; i < n; ++i) all[i] = i;
  BOOST_TEST((sorted(fwd->items()) == all));
  BOOST_TEST((sorted(reb->items()) == all));
  BOOST_TEST(bc->size() == 4 * n / 100);
}

BOOST_AUTO_TEST_SUITE_END()
