// `.trigger(t)` and `.evictor(e)` on windowed streams, global windows and
// dynamic-gap sessions through the typed API: which operator the plan gets,
// and that it behaves as configured. Plans are driven through their operator
// factories, without the actor runtime.
#include <boost/test/unit_test.hpp>

#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "sluice/pipeline.hpp"
#include "sluice/testing/harness.hpp"
#include "sluice/window/assigner.hpp"
#include "sluice/window/continuous_trigger.hpp"
#include "sluice/window/count_trigger.hpp"
#include "sluice/window/purging_trigger.hpp"
#include "trigger_fixture.hpp"

using namespace sluice;
using namespace sluice::test;

namespace {

auto keyed(pipeline& p) {
  return p.from_collection<kv>({}).key_by([](const kv& v) { return v.first; });
}

testing::harness host(const pipeline& p, uint32_t id) {
  return testing::harness{p.plan().nodes.at(id).make()};
}

const plan_node& node(const pipeline& p, uint32_t id) {
  return p.plan().nodes.at(id);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(windowed_stream_triggers)

BOOST_AUTO_TEST_CASE(without_trigger_or_evictor_a_window_keeps_its_fast_operator) {
  pipeline p;
  auto out = keyed(p).window(window::tumbling::of(duration{10})).aggregate(sum_agg{});
  BOOST_TEST(node(p, out.node_id()).kind == "window");
}

BOOST_AUTO_TEST_CASE(a_trigger_replaces_the_default_one) {
  pipeline p;
  auto out = keyed(p)
                 .window(window::tumbling::of(duration{10}))
                 .trigger(window::count_trigger::of(2))
                 .aggregate(sum_agg{});
  BOOST_TEST(node(p, out.node_id()).kind == "triggered_window");
  BOOST_TEST(node(p, out.node_id()).num_ports == 3u);
  auto h = host(p, out.node_id());
  h.push(kv{"a", 1}, timestamp::of(1));
  h.push(kv{"a", 2}, timestamp::of(2));
  h.push(kv{"a", 4}, timestamp::of(3));
  h.watermark(timestamp::of(100));  // the count trigger alone decides: no firing at the end
  BOOST_TEST((take_fired(h) == std::vector<fired>{{"a", 3, 9}}));
}

BOOST_AUTO_TEST_CASE(an_evictor_keeps_records_and_reduce_runs_over_what_is_left) {
  pipeline p;
  auto out = keyed(p)
                 .window(window::global{})
                 .trigger(window::count_trigger::of(2))
                 .evictor(window::count_evictor::of(3))
                 .reduce([](kv a, const kv& b) {
                   a.second += b.second;
                   return a;
                 });
  auto h = host(p, out.node_id());
  for (int i = 1; i <= 6; ++i)
    h.push(kv{"a", i});
  std::vector<int> sums;
  for (auto& r : h.values<window::window_result<std::string, kv>>())
    sums.push_back(r.value.second);
  BOOST_TEST((sums == std::vector<int>{1 + 2, 2 + 3 + 4, 4 + 5 + 6}));
}

BOOST_AUTO_TEST_CASE(a_dynamic_session_uses_the_event_time_trigger_by_default) {
  pipeline p;
  auto out =
      keyed(p)
          .window(window::session::with_dynamic_gap([](const kv& v) { return duration{v.second}; }))
          .allowed_lateness(duration{5})
          .aggregate(sum_agg{});
  BOOST_TEST(node(p, out.node_id()).kind == "triggered_window");
  auto h = host(p, out.node_id());
  h.push(kv{"a", 10}, timestamp::of(0));  // [0, 10)
  h.push(kv{"a", 3}, timestamp::of(12));  // [12, 15)
  h.push(kv{"a", 2}, timestamp::of(10));  // [10, 12) joins both: [0, 15)
  h.watermark(timestamp::of(14));
  auto rs = h.output<kv_result>(0);
  BOOST_TEST_REQUIRE(rs.size() == 1u);
  BOOST_TEST((rs[0].value.window == window::time_window{0, 15}));
  BOOST_TEST(rs[0].value.value == 15);
  h.push(kv{"a", 1}, timestamp::of(14));  // late, within the lateness: fires again
  BOOST_TEST(take_fired(h) == (std::vector<fired>{{"a", 16, 14}}));
}

BOOST_AUTO_TEST_CASE(a_run_time_assigner_takes_a_trigger_but_a_count_window_refuses_it) {
  pipeline p;
  window::assigner a = window::sliding::of(duration{10}, duration{5});
  auto out = keyed(p)
                 .window(a)
                 .trigger(window::continuous_event_time_trigger::of(duration{2}))
                 .aggregate(sum_agg{});
  BOOST_TEST(node(p, out.node_id()).kind == "triggered_window");
  window::assigner c = window::count::of(3);
  BOOST_CHECK_THROW(keyed(p).window(c).trigger(window::count_trigger::of(2)).aggregate(sum_agg{}),
                    std::invalid_argument);
}

BOOST_AUTO_TEST_SUITE_END()
