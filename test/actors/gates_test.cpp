#define BOOST_TEST_MODULE actors_gates
#include <boost/test/unit_test.hpp>

#include <vector>

#include "sluice/actors/input_gate.hpp"
#include "sluice/actors/output_gate.hpp"

using namespace sluice;
using namespace sluice::actors;

BOOST_AUTO_TEST_SUITE(input_gate_suite)

BOOST_AUTO_TEST_CASE(watermark_is_minimum_over_channels) {
  input_gate g{2};
  BOOST_TEST(!g.on_watermark(0, timestamp::of(10)).has_value());  // channel 1 still at min
  auto wm = g.on_watermark(1, timestamp::of(5));
  BOOST_REQUIRE(wm.has_value());
  BOOST_TEST(wm->ms == 5);
  wm = g.on_watermark(1, timestamp::of(20));
  BOOST_REQUIRE(wm.has_value());
  BOOST_TEST(wm->ms == 10);
  BOOST_TEST(!g.on_watermark(1, timestamp::of(15)).has_value());  // never goes back
}

BOOST_AUTO_TEST_CASE(idle_channel_does_not_hold_back_event_time) {
  input_gate g{2};
  g.on_watermark(0, timestamp::of(100));
  auto wm = g.on_idle(1, true);
  BOOST_REQUIRE(wm.has_value());
  BOOST_TEST(wm->ms == 100);
  BOOST_TEST(!g.all_idle());
  g.on_idle(0, true);
  BOOST_TEST(g.all_idle());
  // A watermark makes the channel active again.
  g.on_watermark(1, timestamp::of(50));
  BOOST_TEST(!g.all_idle());
}

BOOST_AUTO_TEST_CASE(ended_channel_counts_as_end_of_time) {
  input_gate g{2};
  g.on_watermark(0, timestamp::of(7));
  auto wm = g.on_end(1);
  BOOST_REQUIRE(wm.has_value());
  BOOST_TEST(wm->ms == 7);
  BOOST_TEST(!g.all_ended());
  wm = g.on_end(0);
  BOOST_REQUIRE(wm.has_value());
  BOOST_TEST((*wm == timestamp::max()));
  BOOST_TEST(g.all_ended());
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(output_gate_suite)

namespace {

struct sent {
  size_t target;
  channel_element::kind k;
  size_t records;
  int64_t wm;
};

struct fixture {
  std::vector<sent> log;
  output_gate make(partitioning kind, uint32_t targets, uint32_t credits, uint32_t batch) {
    auto part = make_partitioner_factory<int>([](int x) { return x; })(kind, 0, targets, 128);
    return output_gate{std::move(part), credits, batch, [this](size_t t, channel_element&& e) {
                         log.push_back({t, e.k, e.batch ? e.batch->size() : 0, e.wm.ms});
                       }};
  }
};

typed_batch<int> ints(int from, int n) {
  typed_batch<int> b;
  for (int i = 0; i < n; ++i)
    b.records.push_back({from + i, timestamp::of(from + i)});
  return b;
}

}  // namespace

BOOST_FIXTURE_TEST_CASE(sends_only_with_credit_and_resumes_on_credit, fixture) {
  auto g = make(partitioning::forward, 1, 2, 4);
  auto b = ints(0, 16);
  g.add(b, true);
  g.flush();
  // 16 records in a forward swap become one batch; cut at add since >= 4.
  BOOST_TEST(log.size() == 1u);
  auto b2 = ints(16, 4);
  g.add(b2, true);
  auto b3 = ints(20, 4);
  g.add(b3, true);
  BOOST_TEST(log.size() == 2u);  // credits exhausted after two batches
  BOOST_TEST(g.queued_batches(0) == 1u);
  BOOST_TEST(!g.backpressured(2));
  BOOST_TEST(g.backpressured(1));
  g.credit(0, 1);
  BOOST_TEST(log.size() == 3u);
  BOOST_TEST(g.queued_batches(0) == 0u);
  BOOST_TEST(g.drained());
}

BOOST_FIXTURE_TEST_CASE(watermark_and_eos_follow_buffered_data, fixture) {
  auto g = make(partitioning::forward, 1, 1, 100);
  auto b = ints(0, 3);
  g.add(b, true);
  g.watermark(timestamp::of(2));  // must wait behind the 3 buffered records
  BOOST_TEST(log.empty());
  g.flush();
  BOOST_REQUIRE(log.size() == 2u);
  BOOST_TEST((log[0].k == channel_element::kind::batch));
  BOOST_TEST(log[0].records == 3u);
  BOOST_TEST((log[1].k == channel_element::kind::watermark));
  BOOST_TEST(log[1].wm == 2);
  auto b2 = ints(3, 1);
  g.add(b2, true);
  g.end();  // no credit left: batch and eos wait, in order
  BOOST_TEST(log.size() == 2u);
  BOOST_TEST(!g.drained());
  g.credit(0, 1);
  BOOST_REQUIRE(log.size() == 4u);
  BOOST_TEST((log[2].k == channel_element::kind::batch));
  BOOST_TEST((log[3].k == channel_element::kind::eos));
  BOOST_TEST(g.drained());
}

BOOST_FIXTURE_TEST_CASE(hash_gate_routes_every_record_once, fixture) {
  auto g = make(partitioning::hash, 3, 100, 1000);
  auto b = ints(0, 999);
  g.add(b, true);
  g.flush();
  size_t total = 0;
  for (auto& s : log)
    total += s.records;
  BOOST_TEST(total == 999u);
  BOOST_TEST(log.size() == 3u);
}

BOOST_FIXTURE_TEST_CASE(active_again_repeats_the_last_watermark_after_the_data, fixture) {
  auto g = make(partitioning::forward, 1, 10, 100);
  g.idle(true);
  g.idle(false);  // before any watermark: the channel's is still "no time yet"
  BOOST_REQUIRE(log.size() == 2u);
  BOOST_TEST((log[0].k == channel_element::kind::idle));
  BOOST_TEST((log[1].k == channel_element::kind::active));
  BOOST_TEST(log[1].wm == timestamp::min().ms);
  auto b = ints(0, 3);
  g.add(b, true);
  g.watermark(timestamp::of(40));  // behind the 3 buffered records
  g.idle(true);                    // flushes them first
  g.idle(false);
  BOOST_REQUIRE(log.size() == 6u);
  BOOST_TEST((log[2].k == channel_element::kind::batch));
  BOOST_TEST((log[3].k == channel_element::kind::watermark));
  BOOST_TEST((log[4].k == channel_element::kind::idle));
  BOOST_TEST((log[5].k == channel_element::kind::active));
  BOOST_TEST(log[5].wm == 40);  // a receiver takes it as a watermark: active, no time lost
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(latency_marker_suite)

namespace {

struct marker_log {
  std::vector<std::pair<size_t, channel_element>> sent;
  output_gate make(uint32_t targets, uint32_t credits, uint32_t batch) {
    auto part = make_partitioner_factory<int>([](int x) { return x; })(partitioning::rebalance, 0,
                                                                       targets, 128);
    return output_gate{std::move(part), credits, batch, [this](size_t t, channel_element&& e) {
                         sent.emplace_back(t, std::move(e));
                       }};
  }
};

}  // namespace

// Like Flink's LatencyMarker: one target per marker, in turn, and the marker
// queues behind the records ahead of it, so it sees the delay they see.
BOOST_FIXTURE_TEST_CASE(marker_goes_to_one_target_in_turn_behind_buffered_records, marker_log) {
  auto g = make(2, 8, 100);
  g.latency_marker(1000);  // nothing buffered: out at once, to target 0
  BOOST_REQUIRE(sent.size() == 1u);
  BOOST_TEST(sent[0].first == 0u);
  BOOST_TEST((sent[0].second.k == channel_element::kind::latency));
  BOOST_TEST(sent[0].second.marked_us == 1000);

  typed_batch<int> b;
  for (int i = 0; i < 4; ++i)
    b.records.push_back({i, timestamp::of(i)});
  g.add(b, true);          // rebalanced: 2 records buffered per target
  g.latency_marker(2000);  // target 1's turn: waits for its buffer
  g.latency_marker(3000);  // target 0's turn: waits too
  BOOST_TEST(sent.size() == 1u);
  g.flush();
  BOOST_REQUIRE(sent.size() == 5u);
  // Per target: the batch, then the marker.
  for (size_t t = 0; t < 2; ++t) {
    std::vector<channel_element::kind> kinds;
    std::vector<int64_t> marks;
    for (auto& [to, e] : sent)
      if (to == t && e.marked_us != 1000) {
        kinds.push_back(e.k);
        marks.push_back(e.marked_us);
      }
    BOOST_REQUIRE(kinds.size() == 2u);
    BOOST_TEST((kinds[0] == channel_element::kind::batch));
    BOOST_TEST((kinds[1] == channel_element::kind::latency));
    BOOST_TEST(marks[1] == (t == 0 ? 3000 : 2000));
  }
}

BOOST_FIXTURE_TEST_CASE(marker_waits_behind_batches_without_credit_but_needs_none, marker_log) {
  auto g = make(1, 1, 2);
  for (int from : {0, 2}) {  // two batches of 2: one sent, one waits for credit
    typed_batch<int> b;
    for (int i = from; i < from + 2; ++i)
      b.records.push_back({i, timestamp::of(i)});
    g.add(b, true);
  }
  BOOST_TEST(sent.size() == 1u);
  BOOST_TEST(g.queued_batches(0) == 1u);
  g.latency_marker(5000);
  BOOST_TEST(sent.size() == 1u);  // behind the waiting batch
  g.credit(0, 1);
  BOOST_REQUIRE(sent.size() == 3u);
  BOOST_TEST((sent[1].second.k == channel_element::kind::batch));
  BOOST_TEST((sent[2].second.k == channel_element::kind::latency));
  BOOST_TEST(g.credits(0) == 0u);  // the marker took no credit
}

BOOST_AUTO_TEST_SUITE_END()
