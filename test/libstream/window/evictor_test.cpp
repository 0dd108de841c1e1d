// Evictors on the generic window operator: cases transcribed from Flink's
// EvictingWindowOperatorTest (the test each case comes from is named above
// it).
#include "sluice/window/evictor.hpp"

#include <boost/test/unit_test.hpp>

#include <string>
#include <utility>
#include <vector>

#include "sluice/window/count_trigger.hpp"
#include "sluice/window/global.hpp"
#include "sluice/window/tumbling.hpp"
#include "trigger_fixture.hpp"

using namespace sluice;
using namespace sluice::test;

namespace {

timestamp ts(int64_t ms) {
  return timestamp::of(ms);
}

void push_all(testing::harness& h, const std::vector<std::pair<std::string, int64_t>>& rs) {
  for (auto& [k, t] : rs)
    h.push(kv{k, 1}, ts(t));
}

}  // namespace

BOOST_AUTO_TEST_SUITE(window_evictor)

// EvictingWindowOperatorTest.testCountTrigger: a sliding count window, the
// sum of the last 4 records every 2 records (global window, count trigger of
// 2, count evictor of 4).
BOOST_AUTO_TEST_CASE(count_evictor_keeps_the_last_n_records) {
  testing::harness h{
      make_kv_op(window::global{}, window::count_trigger::of(2), window::count_evictor::of(4))};
  push_all(h, {{"key2", 3000},
               {"key2", 3999},
               {"key1", 20},
               {"key1", 0},
               {"key1", 999},
               {"key2", 1998},
               {"key2", 1999},
               {"key2", 1000}});
  BOOST_TEST(
      (take_fired(h) ==
       std::vector<fired>{{"key1", 2, global_ts}, {"key2", 2, global_ts}, {"key2", 4, global_ts}}));
  push_all(h, {{"key1", 10999}, {"key2", 1000}});
  BOOST_TEST((take_fired(h) == std::vector<fired>{{"key1", 4, global_ts}, {"key2", 4, global_ts}}));
}

// EvictingWindowOperatorTest.testTumblingWindowWithApply: an event-time
// window with a count evictor sums its last 4 records when it fires.
BOOST_AUTO_TEST_CASE(count_evictor_on_an_event_time_window) {
  testing::harness h{make_kv_op(window::tumbling::of(duration{4000}), window::event_time_trigger{},
                                window::count_evictor::of(4))};
  push_all(h, {{"key1", 10}, {"key1", 100}});
  h.watermark(ts(1999));
  push_all(h, {{"key1", 1997},
               {"key1", 1998},
               {"key1", 2310},
               {"key1", 2310},
               {"key2", 2310},
               {"key2", 2310}});
  BOOST_TEST(take_fired(h).empty());
  h.watermark(ts(3999));
  BOOST_TEST((take_fired(h) == std::vector<fired>{{"key1", 4, 3999}, {"key2", 2, 3999}}));
}

// EvictingWindowOperatorTest.testTimeEvictorEvictBefore: before each firing
// (count trigger of 2) the records more than 2 s older than the newest one
// leave the window, for good.
BOOST_AUTO_TEST_CASE(time_evictor_before_the_aggregation) {
  testing::harness h{make_kv_op(window::tumbling::of(duration{4000}), window::count_trigger::of(2),
                                window::time_evictor::of(duration{2000}))};
  push_all(h, {{"key2", 1000},
               {"key2", 3999},
               {"key1", 20},
               {"key1", 0},
               {"key1", 999},
               {"key1", 5999},
               {"key2", 3500},
               {"key2", 2001},
               {"key2", 1001}});
  BOOST_TEST((take_fired(h) ==
              std::vector<fired>{{"key1", 2, 3999}, {"key2", 1, 3999}, {"key2", 3, 3999}}));
  push_all(h, {{"key1", 6500}, {"key2", 1002}});
  BOOST_TEST((take_fired(h) == std::vector<fired>{{"key1", 2, 7999}, {"key2", 3, 3999}}));
}

// EvictingWindowOperatorTest.testTimeEvictorNoTimestamp: records without a
// timestamp are never evicted by time.
BOOST_AUTO_TEST_CASE(time_evictor_keeps_records_without_timestamps) {
  testing::harness h{make_kv_op(window::global{}, window::count_trigger::of(2),
                                window::time_evictor::of(duration{2000}, true))};
  for (auto k : {"key2", "key2", "key1", "key1", "key1", "key2", "key2", "key2"})
    h.push(kv{k, 1});
  BOOST_TEST(
      (take_fired(h) ==
       std::vector<fired>{{"key1", 2, global_ts}, {"key2", 2, global_ts}, {"key2", 4, global_ts}}));
  h.push(kv{"key1", 1});
  h.push(kv{"key2", 1});
  BOOST_TEST((take_fired(h) == std::vector<fired>{{"key1", 4, global_ts}, {"key2", 6, global_ts}}));
}

// CountEvictor with doEvictAfter (EvictingWindowOperatorTest's evict-after
// cases): the aggregation sees every record, then the window keeps the last n.
BOOST_AUTO_TEST_CASE(count_evictor_after_the_aggregation) {
  testing::harness h{make_kv_op(window::global{}, window::count_trigger::of(2),
                                window::count_evictor::of(1, true))};
  push_all(h, {{"k", 0}, {"k", 0}});
  BOOST_TEST((take_fired(h) == std::vector<fired>{{"k", 2, global_ts}}));
  push_all(h, {{"k", 0}, {"k", 0}});  // one kept + two new
  BOOST_TEST((take_fired(h) == std::vector<fired>{{"k", 3, global_ts}}));
}

BOOST_AUTO_TEST_SUITE_END()
