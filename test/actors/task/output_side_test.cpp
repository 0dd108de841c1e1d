// The output side of a task: every gate at once.
#include <boost/test/unit_test.hpp>

#include <vector>

#include "task/output_side.hpp"

using namespace sluice;
using namespace sluice::actors;

namespace {

output_gate gate(std::vector<std::pair<size_t, channel_element::kind>>& log, size_t id,
                 uint32_t credits) {
  auto part = make_partitioner_factory<int>()(partitioning::forward, 0, 1, default_max_parallelism);
  return output_gate{std::move(part), credits, 2, [&log, id](size_t, channel_element&& e) {
                       log.emplace_back(id, e.k);
                     }};
}

std::shared_ptr<typed_batch<int>> ints(std::vector<int> xs) {
  auto b = std::make_shared<typed_batch<int>>();
  for (int x : xs)
    b->records.push_back(record<int>{x, {}});
  return b;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(task_output_side)

BOOST_AUTO_TEST_CASE(a_port_feeding_two_gates_reaches_both) {
  std::vector<std::pair<size_t, channel_element::kind>> log;
  output_side out;
  out.add_gate(gate(log, 0, 10));
  out.add_gate(gate(log, 1, 10));
  out.add({0, 1}, *ints({1, 2}));
  BOOST_REQUIRE(log.size() == 2u);
  BOOST_TEST(log[0].first == 0u);
  BOOST_TEST(log[1].first == 1u);
}

BOOST_AUTO_TEST_CASE(backpressure_and_drain_consider_every_gate) {
  std::vector<std::pair<size_t, channel_element::kind>> log;
  output_side out;
  out.add_gate(gate(log, 0, 10));
  out.add_gate(gate(log, 1, 0));  // no credit
  BOOST_TEST(out.drained());
  out.add({1}, *ints({1, 2}));
  out.add({1}, *ints({3, 4}));
  BOOST_TEST(out.backpressured());  // two batches wait for credit
  BOOST_TEST(!out.drained());
  out[1].credit(0, 2);
  BOOST_TEST(!out.backpressured());
  BOOST_TEST(out.drained());
  out.add({0}, *ints({5}));
  BOOST_TEST(out.has_buffered());
  out.end();  // flushes, then end-of-stream on every gate
  BOOST_TEST(!out.has_buffered());
  BOOST_TEST((log.back().second == channel_element::kind::eos));
}

BOOST_AUTO_TEST_SUITE_END()
