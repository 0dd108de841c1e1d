#include "sluice/window/assigner.hpp"

#include <boost/test/unit_test.hpp>

#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "sluice/pipeline.hpp"
#include "sluice/testing/harness.hpp"
#include "window_fixture.hpp"

using namespace sluice;
using namespace sluice::test;

namespace {

/// What a program does with a command-line option: picks the window kind
/// from a string. No template, no generic lambda.
window::assigner assigner_from_option(std::string_view opt) {
  if (opt == "tumbling")
    return window::tumbling::of(duration{10}, duration{3});
  if (opt == "sliding")
    return window::sliding::of(duration{10}, duration{4}, duration{1});
  if (opt == "hopping")
    return window::sliding::of(duration{5}, duration{10}, duration{2});
  if (opt == "session")
    return window::session::with_gap(duration{7});
  if (opt == "count")
    return window::count::of(3);
  throw std::invalid_argument("unknown window kind " + std::string{opt});
}

/// The window node of a pipeline `source -> key_by -> window(a) -> aggregate`.
struct built {
  pipeline p;
  uint32_t node = 0;
  const plan_node& window_node() const { return p.plan().nodes.at(node); }
};

template <class Assigner>
std::unique_ptr<built> build(Assigner a, duration lateness) {
  auto b = std::make_unique<built>();
  auto out = b->p.from_collection<event>({})
                 .key_by(by_key{})
                 .window(a)
                 .allowed_lateness(lateness)
                 .aggregate(collect_ids{});
  b->node = out.node_id();
  return b;
}

/// Drives the operator of a plan node through the harness like the runtime
/// would: the ports it has are the ports the node declares.
run_output run_node(const plan_node& n, const std::vector<std::vector<record<event>>>& batches) {
  testing::harness h{n.make()};
  BOOST_TEST(h.op().num_ports() == n.num_ports, "the operator's ports differ from its plan node's");
  return drive(h, batches, 10, n.num_ports >= 2, n.num_ports >= 3);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(window_assigner)

BOOST_AUTO_TEST_CASE(holds_any_built_in_kind) {
  BOOST_TEST(assigner_from_option("tumbling").kind() == "tumbling");
  BOOST_TEST(assigner_from_option("hopping").kind() == "sliding");
  BOOST_TEST(assigner_from_option("session").kind() == "session");
  BOOST_TEST(assigner_from_option("count").kind() == "count");
  const auto a = assigner_from_option("sliding");
  BOOST_TEST(a.holds<window::sliding>());
  BOOST_TEST_REQUIRE(a.get_if<window::sliding>() != nullptr);
  BOOST_TEST(a.get_if<window::sliding>()->slide.count() == 4);
  BOOST_TEST(a.get_if<window::tumbling>() == nullptr);
}

// The assigner chosen at run time builds the same operator as the concrete
// kind: same plan node kind and ports, same results, late and skipped records
// on a random workload with late data (disorder 100 ms, watermark bound 10 ms).
BOOST_AUTO_TEST_CASE(pipeline_with_runtime_assigner_matches_concrete_kind) {
  const std::vector<std::string> options{"tumbling", "sliding", "hopping", "session", "count"};
  workload w;
  w.records = 800;
  w.disorder = 100;
  for (const auto& opt : options) {
    for (auto seed : {uint64_t{1}, uint64_t{42}}) {
      BOOST_TEST_CONTEXT("window " << opt << ", seed " << seed) {
        const auto batches = make_batches(seed, w);
        const auto lateness = duration{15};
        const auto any = build(assigner_from_option(opt), lateness);
        std::unique_ptr<built> concrete;
        if (opt == "tumbling")
          concrete = build(window::tumbling::of(duration{10}, duration{3}), lateness);
        if (opt == "sliding")
          concrete = build(window::sliding::of(duration{10}, duration{4}, duration{1}), lateness);
        if (opt == "hopping")
          concrete = build(window::sliding::of(duration{5}, duration{10}, duration{2}), lateness);
        if (opt == "session")
          concrete = build(window::session::with_gap(duration{7}), lateness);
        if (opt == "count")
          concrete = build(window::count::of(3), lateness);
        BOOST_TEST_REQUIRE(concrete != nullptr);

        const plan_node& a = any->window_node();
        const plan_node& c = concrete->window_node();
        BOOST_TEST(a.kind == c.kind);
        if (opt == "count")
          BOOST_TEST(a.num_ports == c.num_ports + 1);  // plus the (empty) late port
        else
          BOOST_TEST(a.num_ports == c.num_ports);

        const auto got = run_node(a, batches);
        const auto expected = run_node(c, batches);
        BOOST_TEST(!expected.results.empty());
        check_same_results(values_of(got.results), values_of(expected.results), opt);
        BOOST_TEST(sorted_ids(got.late) == sorted_ids(expected.late));
        BOOST_TEST(sorted_ids(got.skipped) == sorted_ids(expected.skipped));
        if (opt == "count")
          BOOST_TEST(got.late.empty());
        else
          BOOST_TEST(!got.late.empty(), "the workload should produce late records");
        if (opt == "hopping")
          BOOST_TEST(!got.skipped.empty(), "hopping windows should skip records");
        if (opt != "count")
          check_nothing_lost(got, all_events(batches));  // count: partial windows never fire
      }
    }
  }
}

// late_records() works whatever kind was chosen: it reads port 1 of the
// window node, which is a late port of records, never the dead-letter port.
BOOST_AUTO_TEST_CASE(late_records_of_runtime_assigner_read_a_late_port_for_every_kind) {
  for (std::string opt : {"tumbling", "hopping", "session", "count"}) {
    BOOST_TEST_CONTEXT("window " << opt) {
      pipeline p;
      auto out = p.from_collection<event>({})
                     .key_by(by_key{})
                     .window(assigner_from_option(opt))
                     .aggregate(collect_ids{});
      auto late = out.late_records();
      const plan_node& n = p.plan().nodes.at(out.node_id());
      BOOST_TEST(late.port() == 1u);
      BOOST_TEST(plan::dead_letter_port(n) > 1u, "late_records() would read the dead letters");
    }
  }
}

// An assigner built field by field skips the factories' checks; the pipeline
// checks it when the window is aggregated, before any record flows.
BOOST_AUTO_TEST_CASE(malformed_assigner_is_rejected_when_the_pipeline_is_built) {
  BOOST_CHECK_THROW(build(window::tumbling{duration{10}, duration{10}}, duration{0}),
                    std::invalid_argument);
  BOOST_CHECK_THROW(build(window::sliding{duration{10}, duration{5}, duration{-6}}, duration{0}),
                    std::invalid_argument);
  BOOST_CHECK_THROW(build(window::assigner{window::session{duration{0}}}, duration{0}),
                    std::invalid_argument);
  BOOST_CHECK_THROW(build(window::assigner{window::count{0}}, duration{0}), std::invalid_argument);
}

BOOST_AUTO_TEST_SUITE_END()
