// Placement of a job's instances on the nodes of a cluster (pure logic).
#define BOOST_TEST_MODULE net_cluster
#include <boost/test/unit_test.hpp>

#include <variant>

#include "placement.hpp"
#include "sluice/pipeline.hpp"

using namespace sluice;
using namespace sluice::net;

namespace {

cluster_config three_nodes(bool failover = false) {
  cluster_config c;
  c.name = "c";
  c.coordinator = "n1";
  for (auto n : {"n1", "n2", "n3"})
    c.nodes.push_back(node_config{n, "127.0.0.1", 0, 1, ""});
  c.failover = failover;
  return c;
}

/// source (p2) -> double (p3) -> sink (p2): 7 instances.
actors::job_graph graph() {
  static pipeline p = [] {
    pipeline p{"placement"};
    p.from_collection(std::vector<int>{1, 2, 3})
        .parallelism(2)
        .name("source")
        .map([](int x) { return 2 * x; })
        .parallelism(3)
        .name("double")
        .for_each([](int) {})
        .parallelism(2)
        .name("sink");
    return p;
  }();
  actors::runtime_config cfg;
  return actors::job_graph{p.plan(), cfg};
}

std::vector<node_availability> all_joined() {
  return {{true, {}}, {true, {}}, {true, {}}};
}

}  // namespace

BOOST_AUTO_TEST_SUITE(placement)

BOOST_AUTO_TEST_CASE(round_robin_over_every_node_in_vertex_order) {
  auto g = graph();
  auto out = place_instances(g, three_nodes(), all_joined());
  BOOST_REQUIRE(std::holds_alternative<actors::placement>(out));
  auto& where = std::get<actors::placement>(out);
  std::vector<uint16_t> flat;
  for (auto& v : where)
    for (auto n : v)
      flat.push_back(n);
  const std::vector<uint16_t> expected{0, 1, 2, 0, 1, 2, 0};
  BOOST_TEST(flat == expected, boost::test_tools::per_element());
  // The same inputs always give the same placement (every node builds the same plan).
  BOOST_TEST(std::get<actors::placement>(place_instances(g, three_nodes(), all_joined())) == where);
}

BOOST_AUTO_TEST_CASE(a_node_that_never_joined_holds_the_job_back_and_is_named) {
  auto nodes = all_joined();
  nodes[2].joined = false;
  auto out = place_instances(graph(), three_nodes(true), nodes);
  BOOST_REQUIRE(std::holds_alternative<actors::error>(out));
  auto& e = std::get<actors::error>(out);
  BOOST_TEST((e.code == actors::errc::nodes_unavailable));
  BOOST_TEST(e.detail == "nodes not available: n3 (not joined)");
}

BOOST_AUTO_TEST_CASE(a_lost_node_is_waited_for_without_failover) {
  auto nodes = all_joined();
  nodes[1].lost = actors::error{actors::errc::node_lost, "no heartbeat for 1600 ms"};
  auto out = place_instances(graph(), three_nodes(false), nodes);
  BOOST_REQUIRE(std::holds_alternative<actors::error>(out));
  BOOST_TEST(std::get<actors::error>(out).detail ==
             "nodes not available: n2 (lost: no heartbeat for 1600 ms)");
}

BOOST_AUTO_TEST_CASE(with_failover_a_lost_node_is_left_out) {
  auto nodes = all_joined();
  nodes[1].lost = actors::error{actors::errc::node_lost, "connection closed"};
  auto out = place_instances(graph(), three_nodes(true), nodes);
  BOOST_REQUIRE(std::holds_alternative<actors::placement>(out));
  for (auto& v : std::get<actors::placement>(out))
    for (auto n : v)
      BOOST_TEST(n != 1);
}

BOOST_AUTO_TEST_CASE(constraints_by_name_keep_an_operator_on_its_nodes) {
  auto c = three_nodes();
  c.constraints["double"] = {"n3"};
  c.constraints["sink"] = {"n1", "n2"};
  auto out = place_instances(graph(), c, all_joined());
  BOOST_REQUIRE(std::holds_alternative<actors::placement>(out));
  auto& where = std::get<actors::placement>(out);
  BOOST_REQUIRE_EQUAL(where.size(), 3u);
  for (auto n : where[1])
    BOOST_TEST(n == 2);
  for (auto n : where[2])
    BOOST_TEST(n != 2);
}

BOOST_AUTO_TEST_CASE(a_constraint_no_usable_node_meets_names_the_operator) {
  auto c = three_nodes(true);
  c.constraints["sink"] = {"n3"};
  auto nodes = all_joined();
  nodes[2].lost = actors::error{actors::errc::node_lost, "connection closed"};
  auto out = place_instances(graph(), c, nodes);
  BOOST_REQUIRE(std::holds_alternative<actors::error>(out));
  BOOST_TEST(std::get<actors::error>(out).detail ==
             "no usable node for operator 'sink' (constraint: n3)");
}

BOOST_AUTO_TEST_SUITE_END()
