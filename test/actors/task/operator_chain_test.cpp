// The operator chain of a task, driven without actors.
#include <boost/test/unit_test.hpp>

#include <unistd.h>
#include <filesystem>
#include <memory>
#include <vector>

#include "sluice/actors/job_graph.hpp"
#include "sluice/pipeline.hpp"
#include "task/operator_chain.hpp"

using namespace sluice;
using namespace sluice::actors;

namespace {

runtime_config chained() {
  runtime_config cfg;
  cfg.parallelism = 1;
  cfg.chaining = true;
  return cfg;
}

typed_batch<uint64_t> batch_of(std::vector<uint64_t> xs, int64_t ts0 = 0) {
  typed_batch<uint64_t> b;
  for (auto x : xs)
    b.records.push_back(record<uint64_t>{x, timestamp::of(ts0++)});
  return b;
}

/// Elements a gate handed out, as the task would send them.
struct sent {
  channel_element::kind k;
  std::vector<uint64_t> values;
  int64_t wm;
};

output_gate recording_gate(std::vector<sent>& log, uint32_t batch_size) {
  auto part =
      make_partitioner_factory<uint64_t>()(partitioning::forward, 0, 1, default_max_parallelism);
  return output_gate{std::move(part), 100, batch_size, [&log](size_t, channel_element&& e) {
                       sent s{e.k, {}, e.wm.ms};
                       if (e.batch)
                         for (auto& r : batch_cast<uint64_t>(*e.batch).records)
                           s.values.push_back(r.value);
                       log.push_back(std::move(s));
                     }};
}

}  // namespace

BOOST_AUTO_TEST_SUITE(task_operator_chain)

BOOST_AUTO_TEST_CASE(a_batch_passes_every_chained_operator_without_a_message) {
  pipeline p{"chain"};
  auto out = std::make_shared<collected<uint64_t>>();
  p.generate(10, [](uint64_t i) { return i; })
      .map([](uint64_t x) { return x * 2; })
      .start_new_chain()
      .filter([](uint64_t x) { return x % 4 == 0; })
      .collect(out);
  job_graph g{p.plan(), chained()};
  BOOST_REQUIRE(g.vertices().size() == 2u);
  BOOST_REQUIRE(g.vertices()[1].chain.size() == 3u);  // map -> filter -> collect
  manual_clock clk;
  output_side outputs;
  operator_chain chain{g, 1, 0, clk, outputs, {}};
  chain.open(false, nullptr, nullptr);
  BOOST_TEST(chain.source() == nullptr);
  BOOST_TEST(chain.ends_in_sink());
  auto b = batch_of({1, 2, 3, 4, 5});
  chain.feed(0, b);
  BOOST_TEST((out->items() == std::vector<uint64_t>{4, 8}));
  auto ms = chain.metrics();
  BOOST_REQUIRE(ms.size() == 3u);
  BOOST_TEST(ms[0].records_in == 5u);
  BOOST_TEST(ms[0].records_out == 5u);
  BOOST_TEST(ms[1].records_out == 2u);
  BOOST_TEST(ms[2].records_in == 2u);
}

BOOST_AUTO_TEST_CASE(output_goes_to_the_gates_and_watermarks_follow_the_data) {
  pipeline p{"gates"};
  auto out = std::make_shared<collected<uint64_t>>();
  p.generate(10, [](uint64_t i) { return i; })
      .map([](uint64_t x) { return x + 1; })
      .start_new_chain()
      .rebalance()
      .collect(out);
  job_graph g{p.plan(), chained()};
  BOOST_REQUIRE(g.gates_of(1).size() == 1u);
  std::vector<sent> log;
  output_side outputs;
  outputs.add_gate(recording_gate(log, 5));
  manual_clock clk;
  operator_chain chain{g, 1, 0, clk, outputs, {}};
  chain.open(false, nullptr, nullptr);
  auto b = batch_of({10, 20, 30, 40});
  chain.feed(0, b);
  BOOST_TEST(log.empty());  // 4 of 5 records: buffered
  BOOST_TEST(outputs.has_buffered());
  chain.advance_watermark(timestamp::of(7), 0);
  BOOST_TEST(log.empty());  // the watermark waits behind the buffered records
  auto b2 = batch_of({50, 60});
  chain.feed(0, b2);  // the batch is full: cut, then the watermark follows
  BOOST_REQUIRE(log.size() == 2u);
  BOOST_TEST((log[0].values == std::vector<uint64_t>{11, 21, 31, 41, 51, 61}));
  BOOST_TEST((log[1].k == channel_element::kind::watermark));
  BOOST_TEST(log[1].wm == 7);
  auto b3 = batch_of({70});
  chain.feed(0, b3);
  outputs.flush();
  BOOST_REQUIRE(log.size() == 3u);
  BOOST_TEST((log[2].values == std::vector<uint64_t>{71}));
  chain.end_input();
  BOOST_TEST((log.back().k == channel_element::kind::eos));
  BOOST_TEST(outputs.drained());
}

BOOST_AUTO_TEST_CASE(processing_time_timers_fire_when_the_clock_reaches_them) {
  pipeline p{"timers"};
  auto out = std::make_shared<collected<window::window_result<uint64_t, uint64_t>>>();
  p.generate(10, [](uint64_t i) { return i; })
      .key_by([](uint64_t x) { return x % 2; })
      .window(window::tumbling::processing(duration{100}))
      .reduce([](uint64_t a, uint64_t b) { return a + b; })
      .collect(out);
  job_graph g{p.plan(), chained()};
  const uint32_t v = g.vertex_of(p.plan().nodes.back().id);
  manual_clock clk{timestamp::of(1000)};
  std::vector<timestamp> asked;
  output_side outputs;
  operator_chain::hooks hooks;
  hooks.timer = [&](timestamp t) {
    asked.push_back(t);
  };
  operator_chain chain{g, v, 0, clk, outputs, hooks};
  chain.open(false, nullptr, nullptr);
  auto b = batch_of({1, 2, 3});
  chain.feed(0, b);
  BOOST_REQUIRE(!asked.empty());
  BOOST_TEST(asked.back().ms == 1100);  // end of the window [1000, 1100)
  chain.fire_timers(clk.now());
  BOOST_TEST(out->size() == 0u);  // not due yet
  clk.advance(duration{100});
  chain.fire_timers(clk.now());
  BOOST_TEST(out->size() == 2u);  // one result per key
}

BOOST_AUTO_TEST_CASE(a_restored_chain_continues_from_its_snapshot) {
  namespace fs = std::filesystem;
  const auto dir = fs::temp_directory_path() / ("sluice-chain-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  auto store = state::snapshot_store::open(dir.string());
  BOOST_REQUIRE(store.ok());
  auto make = [](std::shared_ptr<collected<uint64_t>> out) {
    auto p = std::make_unique<pipeline>("restore");
    p->generate(10, [](uint64_t i) { return i; })
        .key_by([](uint64_t x) { return x % 2; })
        .reduce([](uint64_t a, uint64_t b) { return a + b; })
        .uid("sum")
        .collect(out);
    return p;
  };
  auto out1 = std::make_shared<collected<uint64_t>>();
  auto p1 = make(out1);
  job_graph g1{p1->plan(), chained()};
  const uint32_t v = g1.vertex_of(p1->plan().nodes[1].id);
  manual_clock clk;
  output_side outputs;
  operator_chain first{g1, v, 0, clk, outputs, {}};
  first.open(true, nullptr, nullptr);
  auto b1 = batch_of({2, 4, 3});
  first.feed(0, b1);
  auto entries = first.snapshot(1);
  BOOST_REQUIRE(!entries.empty());
  for (auto& e : entries)
    BOOST_TEST(e.first.operator_uid == "sum");
  BOOST_REQUIRE(store.value()->write(checkpoint_id{1}, entries).ok());
  state::checkpoint_meta meta;
  meta.id = checkpoint_id{1};
  meta.operator_parallelism = {{"sum", 1}};

  auto out2 = std::make_shared<collected<uint64_t>>();
  auto p2 = make(out2);
  job_graph g2{p2->plan(), chained()};
  operator_chain second{g2, v, 0, clk, outputs, {}};
  second.open(true, &meta, store.value().get());
  auto b2 = batch_of({6, 5});
  second.feed(0, b2);
  BOOST_TEST((out2->items() == std::vector<uint64_t>{12, 8}));  // 2+4+6 and 3+5
  fs::remove_all(dir);
}

BOOST_AUTO_TEST_CASE(the_operator_that_throws_is_named) {
  pipeline p{"throws"};
  p.generate(10, [](uint64_t i) { return i; })
      .map([](uint64_t x) { return x; })
      .start_new_chain()
      .name("fine")
      .map([](uint64_t x) -> uint64_t {
        if (x == 3)
          throw std::runtime_error("three");
        return x;
      })
      .name("picky")
      .for_each([](uint64_t) {});
  job_graph g{p.plan(), chained()};
  manual_clock clk;
  output_side outputs;
  operator_chain chain{g, 1, 0, clk, outputs, {}};
  chain.open(false, nullptr, nullptr);
  auto b = batch_of({1, 2, 3});
  BOOST_CHECK_THROW(chain.feed(0, b), std::runtime_error);
  BOOST_TEST(chain.current_name() == "picky");
}

BOOST_AUTO_TEST_SUITE_END()
