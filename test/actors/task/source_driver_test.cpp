// Polling a source: rate limit, replay speed-up and idleness on a manual clock,
// backpressure, end.
#include <boost/test/unit_test.hpp>

#include <memory>
#include <vector>

#include "sluice/actors/job_graph.hpp"
#include "sluice/pipeline.hpp"
#include "sluice/source/typed_source.hpp"
#include "task/source_driver.hpp"

using namespace sluice;
using namespace sluice::actors;

namespace {

using kind = source_driver::next::kind;

runtime_config chained() {
  runtime_config cfg;
  cfg.parallelism = 1;
  cfg.chaining = true;
  return cfg;
}

/// Emits `burst` records when told to, idle otherwise; idle after 100 ms.
class bursty_source final : public typed_source<uint64_t> {
public:
  explicit bursty_source(std::shared_ptr<uint64_t> burst) : burst_(std::move(burst)) {}
  poll_status poll(size_t) override {
    for (; *burst_ > 0; --*burst_)
      emit(next_++);
    return poll_status::idle;
  }
  std::optional<duration> idle_timeout() const noexcept override { return duration{100}; }

private:
  std::shared_ptr<uint64_t> burst_;
  uint64_t next_ = 0;
};

/// A source chained with a collecting sink (vertex 0 of the job).
struct fixture {
  explicit fixture(uint64_t n) {
    p.generate(n, [](uint64_t i) { return i; }).collect(out);
    graph = std::make_unique<job_graph>(p.plan(), chained());
    chain = std::make_unique<operator_chain>(*graph, 0, 0, clk, outputs, operator_chain::hooks{});
    chain->open(false, nullptr, nullptr);
  }
  pipeline p{"source"};
  std::shared_ptr<collected<uint64_t>> out = std::make_shared<collected<uint64_t>>();
  std::unique_ptr<job_graph> graph;
  manual_clock clk;
  output_side outputs;
  std::unique_ptr<operator_chain> chain;
};

}  // namespace

BOOST_AUTO_TEST_SUITE(task_source_driver)

BOOST_AUTO_TEST_CASE(unlimited_source_polls_a_batch_at_a_time_until_it_ends) {
  fixture f{100};
  source_driver d{*f.chain->source(), *f.chain, f.outputs, 0, 64, f.clk.now()};
  BOOST_TEST((f.chain->source()->progress() == std::pair<uint64_t, uint64_t>{0, 100}));
  auto n = d.poll(f.clk.now());
  BOOST_TEST((n.k == kind::poll_again));
  BOOST_TEST(n.delay.count() == 0);
  BOOST_TEST(f.out->size() == 64u);
  // The progress lines' figure: records of this instance's splits emitted, of their total.
  BOOST_TEST((f.chain->source()->progress() == std::pair<uint64_t, uint64_t>{64, 100}));
  n = d.poll(f.clk.now());
  BOOST_TEST(f.out->size() == 100u);
  if (n.k != kind::ended)
    n = d.poll(f.clk.now());
  BOOST_TEST((n.k == kind::ended));
  BOOST_TEST(f.chain->head_metrics().records_in == 100u);
  BOOST_TEST((f.chain->source()->progress() == std::pair<uint64_t, uint64_t>{100, 100}));
}

BOOST_AUTO_TEST_CASE(rate_limit_admits_exactly_what_the_clock_allows) {
  fixture f{10000};
  // 1000 records/s: one per millisecond of the clock.
  source_driver d{*f.chain->source(), *f.chain, f.outputs, 1000, 64, f.clk.now()};
  auto n = d.poll(f.clk.now());
  BOOST_TEST((n.k == kind::poll_again));
  BOOST_TEST(n.delay.count() >= 1);  // no tokens yet: wait
  BOOST_TEST(f.out->size() == 0u);
  f.clk.advance(duration{10});
  d.poll(f.clk.now());
  BOOST_TEST(f.out->size() == 10u);
  n = d.poll(f.clk.now());  // same instant: nothing more
  BOOST_TEST(f.out->size() == 10u);
  BOOST_TEST(n.delay.count() >= 1);
  // A long pause does not allow a burst above max(batch, rate / 10) = 100,
  // and one poll takes at most a batch.
  f.clk.advance(duration{60'000});
  d.poll(f.clk.now());
  BOOST_TEST(f.out->size() == 74u);
  d.poll(f.clk.now());
  BOOST_TEST(f.out->size() == 110u);
  d.poll(f.clk.now());
  BOOST_TEST(f.out->size() == 110u);
  // A clock stepping back refills nothing.
  f.clk.set(timestamp::of(0));
  d.poll(f.clk.now());
  BOOST_TEST(f.out->size() == 110u);
}

BOOST_AUTO_TEST_CASE(a_replay_speedup_paces_event_time_against_the_clock) {
  // Record i happens at second i of event time; at speed-up 100 one record
  // is due every 10 ms of the clock.
  pipeline p{"paced"};
  auto out = std::make_shared<collected<uint64_t>>();
  p.generate(1000, [](uint64_t i) { return i; })
      .with_watermarks(watermark_strategy<uint64_t>::monotonous(
          [](const uint64_t& x) { return timestamp{static_cast<int64_t>(x) * 1000}; }))
      .collect(out);
  job_graph g{p.plan(), chained()};
  manual_clock clk{timestamp::of(5000)};
  output_side outputs;
  operator_chain chain{g, 0, 0, clk, outputs, {}};
  chain.open(false, nullptr, nullptr);
  source_driver d{
      *chain.source(), chain, outputs, 0, 64, clk.now(), source_driver::pacing{100, {}}};
  const int64_t start = clk.now().ms;
  bool ended = false;
  bool on_schedule = true;
  for (int polls = 0; polls < 100'000 && !ended; ++polls) {
    const auto n = d.poll(clk.now());
    ended = n.k == kind::ended;
    // Never ahead of the schedule by more than one record, never behind it.
    const auto due = static_cast<int64_t>(out->size()) - 1;  // last record's second
    const int64_t elapsed = clk.now().ms - start;
    if (due * 10 > elapsed + 10 || (!ended && elapsed > due * 10 + 20))
      on_schedule = false;
    clk.advance(n.delay);
  }
  BOOST_TEST(ended);
  BOOST_TEST(on_schedule);
  BOOST_TEST(out->size() == 1000u);
  BOOST_TEST(clk.now().ms - start >= 9'980);  // 999 s of event time / 100
  BOOST_TEST(clk.now().ms - start <= 10'100);
}

BOOST_AUTO_TEST_CASE(a_replay_origin_holds_back_data_that_starts_later) {
  // Records at seconds 500..599 of event time, origin 0, speed-up 100: the
  // first is due after 5 s of the clock (it is emitted to learn its time),
  // the last after 5.99 s.
  pipeline p{"origin"};
  auto out = std::make_shared<collected<uint64_t>>();
  p.generate(100, [](uint64_t i) { return 500 + i; })
      .with_watermarks(watermark_strategy<uint64_t>::monotonous(
          [](const uint64_t& x) { return timestamp{static_cast<int64_t>(x) * 1000}; }))
      .collect(out);
  job_graph g{p.plan(), chained()};
  manual_clock clk{timestamp::of(0)};
  output_side outputs;
  operator_chain chain{g, 0, 0, clk, outputs, {}};
  chain.open(false, nullptr, nullptr);
  source_driver d{*chain.source(),
                  chain,
                  outputs,
                  0,
                  64,
                  clk.now(),
                  source_driver::pacing{100, timestamp::of(0)}};
  auto n = d.poll(clk.now());
  BOOST_TEST(out->size() == 1u);
  BOOST_TEST(n.delay.count() >= 4'990);  // waits for the clock to reach second 500 / 100
  bool ended = false;
  for (int polls = 0; polls < 10'000 && !ended; ++polls) {
    clk.advance(n.delay);
    n = d.poll(clk.now());
    ended = n.k == kind::ended;
  }
  BOOST_TEST(ended);
  BOOST_TEST(out->size() == 100u);
  BOOST_TEST(clk.now().ms >= 5'970);
  BOOST_TEST(clk.now().ms <= 6'100);
}

BOOST_AUTO_TEST_CASE(a_backpressured_output_blocks_polling) {
  fixture f{1000};
  std::vector<channel_element::kind> sent;
  auto part =
      make_partitioner_factory<uint64_t>()(partitioning::forward, 0, 1, default_max_parallelism);
  f.outputs.add_gate(output_gate{std::move(part), 0, 1, [&](size_t, channel_element&& e) {
                                   sent.push_back(e.k);
                                 }});
  for (uint64_t x : {1, 2}) {
    typed_batch<uint64_t> b;
    b.records.push_back(record<uint64_t>{x, {}});
    f.outputs[0].add(b, true);
  }
  BOOST_REQUIRE(f.outputs.backpressured());  // two batches wait for credit
  source_driver d{*f.chain->source(), *f.chain, f.outputs, 0, 64, f.clk.now()};
  auto n = d.poll(f.clk.now());
  BOOST_TEST((n.k == kind::blocked));
  BOOST_TEST(f.out->size() == 0u);
  BOOST_TEST(f.chain->head_metrics().backpressure_events == 1u);
}

BOOST_AUTO_TEST_CASE(outputs_go_idle_after_the_idle_timeout_and_active_with_the_next_record) {
  pipeline p{"idle"};
  auto burst = std::make_shared<uint64_t>(3);
  p.add_source<uint64_t>("bursty", [burst] { return std::make_unique<bursty_source>(burst); })
      .rebalance()
      .for_each([](uint64_t) {});
  job_graph g{p.plan(), chained()};
  std::vector<channel_element> sent;
  output_side outputs;
  auto part =
      make_partitioner_factory<uint64_t>()(partitioning::forward, 0, 1, default_max_parallelism);
  outputs.add_gate(output_gate{std::move(part), 100, 64, [&](size_t, channel_element&& e) {
                                 sent.push_back(e);
                               }});
  manual_clock clk{timestamp::of(1000)};
  operator_chain chain{g, 0, 0, clk, outputs, {}};
  chain.open(false, nullptr, nullptr);
  source_driver d{*chain.source(), chain, outputs, 0, 64, clk.now()};
  auto n = d.poll(clk.now());  // 3 records
  BOOST_TEST((n.k == kind::poll_again));
  n = d.poll(clk.now());  // nothing: idle since 1000
  BOOST_TEST((n.delay == source_driver::idle_poll_interval));
  clk.advance(duration{99});
  d.poll(clk.now());
  BOOST_TEST(!d.idle());
  clk.advance(duration{1});
  d.poll(clk.now());
  BOOST_TEST(d.idle());
  BOOST_REQUIRE(!sent.empty());
  BOOST_TEST((sent.back().k == channel_element::kind::idle));
  *burst = 2;
  d.poll(clk.now());
  BOOST_TEST(!d.idle());
  BOOST_TEST((sent.back().k == channel_element::kind::active));
}

BOOST_AUTO_TEST_SUITE_END()
