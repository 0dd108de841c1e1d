// Credit-based flow control: a slow sink slows the source down, so what is in
// flight (produced but not yet consumed) stays bounded; rate limits hold.
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <atomic>
#include <map>
#include <thread>
#include <utility>
#include <vector>

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
  p.generate(n,
             [produced](uint64_t i) {
               produced->fetch_add(1);
               return i;
             })
      .map([](uint64_t x) { return x * 2; })
      .start_new_chain()
      .for_each([consumed, produced, max_gap](uint64_t) {
        int64_t gap = produced->load() - consumed->fetch_add(1) - 1;
        if (gap > max_gap->load())
          max_gap->store(gap);
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
  for (auto& m : r.metrics)
    bp += m.backpressure_events;
  BOOST_TEST(bp > 0u);  // the source was actually held back
}

BOOST_AUTO_TEST_CASE(backpressure_reaches_the_source_across_a_keyed_exchange) {
  const uint64_t n = 10000;
  auto produced = std::make_shared<std::atomic<int64_t>>(0);
  auto consumed = std::make_shared<std::atomic<int64_t>>(0);
  auto max_gap = std::make_shared<std::atomic<int64_t>>(0);
  pipeline p{"backpressure_keyed"};
  p.generate(n,
             [produced](uint64_t i) {
               produced->fetch_add(1);
               return i;
             })
      .parallelism(2)
      .key_by([](uint64_t x) { return x % 16; })
      .reduce([](uint64_t a, uint64_t b) { return a + b; })
      .parallelism(2)
      .for_each([consumed, produced, max_gap](uint64_t) {
        int64_t gap = produced->load() - consumed->fetch_add(1) - 1;
        if (gap > max_gap->load())
          max_gap->store(gap);
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

BOOST_AUTO_TEST_CASE(rate_limited_source_keeps_its_rate) {
  // The limiter is a token bucket holding at most max(batch_size, 0.1 s of
  // rate) tokens: between the first and the last record it emits, at most
  // `burst` records come without waiting. At 500/s with batches of 64 that
  // is one batch, so 600 records take at least (599 - 64) / 500 = 1.07 s and,
  // kept at the rate, about 1.2 s. The bounds below (1.0 s .. 1.8 s) leave
  // room for a loaded machine (late polls are caught up from the bucket), but
  // a limiter twice as fast (at most 0.6 s) or half as fast (at least 2.1 s)
  // misses them.
  const uint64_t n = 600;
  const double rate = 500;
  auto cfg = config(1);
  const double burst = std::max<double>(cfg.batch_size, rate / 10);
  BOOST_REQUIRE(burst == 64);
  auto emitted = std::make_shared<std::vector<std::chrono::steady_clock::time_point>>();
  emitted->reserve(n);
  pipeline p{"rate"};
  auto out = std::make_shared<collected<uint64_t>>();
  p.generate(
       n,
       [emitted](uint64_t i) {
         emitted->push_back(std::chrono::steady_clock::now());  // one source instance: one thread
         return i;
       })
      .rate_limit(rate)
      .collect(out);
  require_ok(execute(p, cfg));
  BOOST_TEST(out->size() == n);
  BOOST_REQUIRE(emitted->size() == n);
  const double secs = std::chrono::duration<double>(emitted->back() - emitted->front()).count();
  const double fastest =
      (static_cast<double>(n) - 1 - burst) / rate;  // a full bucket spent at once
  const double nominal = static_cast<double>(n) / rate;
  BOOST_TEST_MESSAGE("600 records at 500/s took " << secs << " s (least " << fastest
                                                  << " s, nominal " << nominal << " s)");
  BOOST_TEST(secs >= 0.93 * fastest);  // not faster than the rate allows
  BOOST_TEST(secs <= 1.5 * nominal);   // and not much slower: the rate is kept
}

namespace {

using tagged = std::pair<uint32_t, uint64_t>;  ///< (instance, record)

/// Tags every record with the index of the operator instance that got it.
class tag_instance final : public operator_base {
public:
  void process(size_t, batch_base& b) override {
    for (auto& r : batch_cast<uint64_t>(b).records)
      out_.emit(tagged{context().instance(), r.value}, r.ts);
  }
  size_t num_ports() const noexcept override { return 1; }
  output_port_base& out(size_t) override { return out_; }

private:
  port<tagged> out_;
};

}  // namespace

BOOST_AUTO_TEST_CASE(every_record_arrives_exactly_once_through_all_partitionings) {
  const uint64_t n = 30000;
  const uint32_t broadcast_instances = 4;
  pipeline p{"partitionings"};
  auto fwd = std::make_shared<collected<uint64_t>>();
  auto reb = std::make_shared<collected<uint64_t>>();
  auto bc = std::make_shared<collected<tagged>>();
  auto src = p.generate(n, [](uint64_t i) { return i; }).parallelism(3);
  src.map([](uint64_t x) { return x; }).parallelism(3).collect(fwd);
  src.rebalance().map([](uint64_t x) { return x; }).parallelism(2).collect(reb);
  src.filter([](uint64_t x) { return x % 100 == 0; })
      .broadcast()
      .transform<tagged>("tag_instance", [] { return std::make_unique<tag_instance>(); })
      .parallelism(broadcast_instances)
      .collect(bc);
  require_ok(execute(p, config(3)));
  std::vector<uint64_t> all(n);
  for (uint64_t i = 0; i < n; ++i)
    all[i] = i;
  BOOST_TEST((sorted(fwd->items()) == all));
  BOOST_TEST((sorted(reb->items()) == all));
  // Broadcast: every instance downstream got every record, exactly once.
  std::vector<uint64_t> hundreds;
  for (uint64_t i = 0; i < n; i += 100)
    hundreds.push_back(i);
  std::map<uint32_t, std::vector<uint64_t>> by_instance;
  for (auto& [instance, x] : bc->items())
    by_instance[instance].push_back(x);
  BOOST_TEST(by_instance.size() == broadcast_instances);
  for (uint32_t i = 0; i < broadcast_instances; ++i)
    BOOST_TEST((sorted(by_instance[i]) == hundreds), "broadcast instance " << i);
}

BOOST_AUTO_TEST_SUITE_END()
