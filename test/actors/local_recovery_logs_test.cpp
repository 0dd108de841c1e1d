// The CAF-free parts of local recovery: the in-flight log (append, truncate
// on completion, the memory bound), the determinant log (recording, marks,
// replay, loss), and an output gate resending to a replaced receiver and
// handing its credits to a replacement of its own task.
#define BOOST_TEST_MODULE actors_local_recovery_logs
#include <boost/test/unit_test.hpp>

#include <unistd.h>

#include <filesystem>
#include <memory>
#include <vector>

#include "sluice/actors/determinant_log.hpp"
#include "sluice/actors/in_flight_log.hpp"
#include "sluice/actors/output_gate.hpp"
#include "sluice/batch_codec.hpp"

using namespace sluice;
using namespace sluice::actors;

namespace {

using ck = channel_element::kind;

batch_ptr batch_of(std::vector<int> xs) {
  auto b = std::make_shared<typed_batch<int>>();
  for (int x : xs)
    b->records.push_back({x, timestamp::of(x)});
  return b;
}

std::vector<int> values(const batch_base& b) {
  std::vector<int> out;
  for (auto& r : batch_cast<int>(const_cast<batch_base&>(b)).records)
    out.push_back(r.value);
  return out;
}

batch_copier int_copier() {
  auto c = make_batch_codec<int>();
  return {c.clone, c.bytes, c.encode, c.decode};
}

channel_element data(std::vector<int> xs) {
  return {ck::batch, batch_of(std::move(xs)), {}, 0};
}
channel_element barrier(uint64_t id) {
  return {ck::barrier, nullptr, {}, id};
}
channel_element watermark(int64_t ms) {
  return {ck::watermark, nullptr, timestamp::of(ms), 0};
}

/// The batches' values of a replay, flattened; -1000-wm for watermarks.
std::vector<int> flatten(const std::vector<channel_element>& es) {
  std::vector<int> out;
  for (auto& e : es) {
    if (e.k == ck::batch)
      for (int v : values(*e.batch))
        out.push_back(v);
    else if (e.k == ck::watermark)
      out.push_back(static_cast<int>(-1000 - e.wm.ms));
    else if (e.k == ck::eos)
      out.push_back(-1);
  }
  return out;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(in_flight_log_suite)

BOOST_AUTO_TEST_CASE(replays_what_followed_a_barrier_as_copies) {
  auto budget = std::make_shared<recovery_budget>(1 << 20);
  in_flight_log log{budget, int_copier()};
  log.append(data({1, 2}));
  log.append(barrier(1));
  auto sent = data({3, 4});
  log.append(sent);
  log.append(watermark(5));
  log.append({ck::latency, nullptr, {}, 0, 42});  // not kept
  log.append(data({6}));
  // The receiver consumes what it got: the log keeps its own copy.
  batch_cast<int>(*sent.batch).records.clear();
  auto r = log.replay(1);
  BOOST_REQUIRE(r.has_value());
  BOOST_TEST(flatten(*r) == (std::vector<int>{3, 4, -1005, 6}));
  // From the start of the run (nothing truncated yet): everything, barriers left out.
  auto all = log.replay(0);
  BOOST_REQUIRE(all.has_value());
  BOOST_TEST(flatten(*all) == (std::vector<int>{1, 2, 3, 4, -1005, 6}));
  BOOST_TEST(log.batches() == 3u);
  BOOST_TEST(budget->used() == log.bytes());
  // An unknown checkpoint cannot be served.
  BOOST_TEST(!log.replay(7).has_value());
}

BOOST_AUTO_TEST_CASE(a_completed_checkpoint_truncates_through_its_barrier) {
  auto budget = std::make_shared<recovery_budget>(1 << 20);
  in_flight_log log{budget, int_copier()};
  log.append(data({1}));
  log.append(barrier(1));
  log.append(data({2}));
  log.append(barrier(2));
  log.append(data({3}));
  const uint64_t before = budget->used();
  log.truncate(1);
  BOOST_TEST(log.batches() == 2u);
  BOOST_TEST(budget->used() < before);
  BOOST_TEST(!log.can_replay(0));  // what preceded barrier 1 is gone
  BOOST_TEST(flatten(*log.replay(1)) == (std::vector<int>{2, 3}));
  log.truncate(2);
  BOOST_TEST(flatten(*log.replay(2)) == (std::vector<int>{3}));
  BOOST_TEST(!log.can_replay(1));
  log.truncate(2);  // again: nothing changes
  BOOST_TEST(log.batches() == 1u);
}

BOOST_AUTO_TEST_CASE(the_memory_bound_stops_the_log_until_a_later_checkpoint_completes) {
  auto c = int_copier();
  const uint64_t one = c.bytes(*batch_of({1}));
  // Room for about two small batches.
  auto budget = std::make_shared<recovery_budget>(3 * (one + 64));
  in_flight_log log{budget, c};
  log.append(barrier(1));
  log.append(data({1}));
  log.append(data({2}));
  log.append(data({3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}));  // over the bound
  BOOST_TEST(log.lost());
  BOOST_TEST(budget->used() == 0u);  // it let go of everything
  BOOST_TEST(budget->refused() == 1u);
  BOOST_TEST(!log.can_replay(1));
  log.append(data({17}));  // not recorded: the log is not whole
  BOOST_TEST(log.batches() == 0u);
  log.append(barrier(2));  // whole again from here
  log.append(data({18}));
  BOOST_TEST(log.can_replay(2));
  BOOST_TEST(!log.can_replay(1));
  log.truncate(2);
  BOOST_TEST(!log.lost());
  BOOST_TEST(flatten(*log.replay(2)) == (std::vector<int>{18}));
}

BOOST_AUTO_TEST_CASE(beyond_the_memory_bound_batches_spill_to_lmdb_and_read_back) {
  const auto dir =
      std::filesystem::temp_directory_path() / ("sluice-spill-test-" + std::to_string(::getpid()));
  auto store = state::spill_store::open(dir.string());
  if (!store)
    BOOST_FAIL(store.error().message);
  auto c = int_copier();
  // Room for one batch of two records with its bookkeeping (in-flight logs
  // may use 7/8 of the limit), not for two.
  const uint64_t room = c.bytes(*batch_of({1, 2})) + 150;
  auto budget = std::make_shared<recovery_budget>(room * 8 / 7 + 1, store.value());
  {
    in_flight_log log{budget, c};
    log.append(barrier(1));
    log.append(data({1, 2}));
    log.append(data({3, 4}));  // spilled
    log.append(watermark(9));
    log.append(data({5, 6}));  // spilled
    log.append(barrier(2));
    log.append(data({7}));  // spilled
    BOOST_TEST(!log.lost());
    BOOST_TEST(log.batches() == 4u);
    BOOST_TEST(log.spilled() == 3u);
    // Spills are written in groups: a replay writes what is pending first.
    BOOST_TEST(store.value()->bytes() == 0u);
    BOOST_TEST(flatten(*log.replay(1)) == (std::vector<int>{1, 2, 3, 4, -1009, 5, 6, 7}));
    BOOST_TEST(store.value()->bytes() > 0u);
    log.truncate(2);  // drops the spilled values before barrier 2
    BOOST_TEST(log.spilled() == 1u);
    BOOST_TEST(flatten(*log.replay(2)) == (std::vector<int>{7}));
  }
  BOOST_TEST(store.value()->bytes() == 0u);  // the log let go of everything
  BOOST_TEST(budget->used() == 0u);
  std::filesystem::remove_all(dir);
}

BOOST_AUTO_TEST_CASE(a_type_without_copies_keeps_no_log) {
  struct move_only {
    std::unique_ptr<int> p;
  };
  auto c = make_batch_codec<move_only>();
  BOOST_TEST(!static_cast<bool>(c.clone));
  const batch_copier copier{c.clone, c.bytes, c.encode, c.decode};
  BOOST_TEST(!copier);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(determinant_log_suite)

BOOST_AUTO_TEST_CASE(records_completed_operations_with_their_clock_reads) {
  auto budget = std::make_shared<recovery_budget>(1 << 20);
  determinant_log d{budget};
  input_gate g{2};
  d.mark(0, g);
  d.arrival(1);
  d.read_clock(timestamp::of(100));
  d.arrival(0);
  d.read_clock(timestamp::of(200));
  d.abandon();  // that operation failed: its read is dropped
  d.read_clock(timestamp::of(300));
  d.timer(timestamp::of(301));
  auto p = d.replay(0);
  BOOST_REQUIRE(p.has_value());
  using k = determinant_log::kind;
  std::vector<std::pair<k, int64_t>> got;
  for (auto& e : p->entries)
    got.emplace_back(e.k, e.k == k::arrival ? e.channel : e.t);
  const std::vector<std::pair<k, int64_t>> want{
      {k::arrival, 1}, {k::clock, 100}, {k::arrival, 0}, {k::clock, 300}, {k::timer, 301}};
  BOOST_TEST((got == want));
}

BOOST_AUTO_TEST_CASE(a_mark_keeps_the_input_state_and_truncation_drops_what_preceded_it) {
  auto budget = std::make_shared<recovery_budget>(1 << 20);
  determinant_log d{budget};
  input_gate g{2};
  d.mark(0, g);
  d.arrival(0);
  d.arrival(1);
  g.on_watermark(0, timestamp::of(50));
  g.on_watermark(1, timestamp::of(70));
  g.on_end(1);
  d.mark(4, g);  // snapshot of checkpoint 4
  d.arrival(0);
  BOOST_TEST(d.replay(0)->entries.size() == 3u);
  auto p = d.replay(4);
  BOOST_REQUIRE(p.has_value());
  BOOST_TEST(p->entries.size() == 1u);
  BOOST_TEST(p->gate.watermark().ms == 50);
  BOOST_TEST(p->gate.ended(1));
  d.truncate(4);
  BOOST_TEST(!d.can_replay(0));
  BOOST_TEST(d.replay(4)->entries.size() == 1u);
  BOOST_TEST(!d.can_replay(9));  // never marked
}

BOOST_AUTO_TEST_CASE(running_out_of_memory_loses_the_log_until_the_next_completed_mark) {
  auto budget = std::make_shared<recovery_budget>(4096);  // one chunk
  determinant_log d{budget};
  input_gate g{1};
  d.mark(0, g);
  for (int i = 0; i < 1000; ++i)  // 16 bytes each: beyond one chunk
    d.arrival(0);
  BOOST_TEST(d.lost());
  BOOST_TEST(!d.can_replay(0));
  d.mark(3, g);
  d.arrival(0);
  BOOST_TEST(d.can_replay(3));
  d.truncate(3);
  BOOST_TEST(!d.lost());
  BOOST_TEST(d.replay(3)->entries.size() == 1u);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(gate_recovery_suite)

namespace {

struct capture {
  std::vector<std::pair<size_t, channel_element>> sent;
  output_gate::send_fn fn() {
    return [this](size_t t, channel_element&& e) {
      sent.emplace_back(t, std::move(e));
    };
  }
  std::vector<int> batches_to(size_t t) const {
    std::vector<int> out;
    for (auto& [to, e] : sent)
      if (to == t && e.k == ck::batch)
        for (int v : values(*e.batch))
          out.push_back(v);
    return out;
  }
};

/// A forward gate (one target) with credits 2 and batches of 2 records.
output_gate logging_gate(capture& c, const std::shared_ptr<recovery_budget>& budget) {
  output_gate g{make_partitioner_factory<int>()(partitioning::forward, 0, 1, 128), 2, 2, c.fn()};
  g.keep_logs(budget, int_copier());
  return g;
}

void add(output_gate& g, std::vector<int> xs) {
  auto b = batch_of(std::move(xs));
  g.add(*b, true);
}

}  // namespace

BOOST_AUTO_TEST_CASE(a_replaced_receiver_gets_what_followed_the_checkpoint_then_the_rest) {
  auto budget = std::make_shared<recovery_budget>(1 << 20);
  capture c;
  auto g = logging_gate(c, budget);
  g.mark(0);
  add(g, {1, 2});
  g.barrier(1);
  add(g, {3, 4});
  add(g, {5, 6});  // no credit left: waits
  BOOST_TEST(c.batches_to(0) == (std::vector<int>{1, 2, 3, 4}));
  c.sent.clear();
  // The receiver failed and was restored from checkpoint 1: the new one
  // gets {3,4} again and {5,6}, with the credits of a new channel.
  auto n = g.replay(0, 1);
  BOOST_REQUIRE(n.has_value());
  BOOST_TEST(*n == 2u);
  BOOST_TEST(c.batches_to(0) == (std::vector<int>{3, 4, 5, 6}));
  BOOST_TEST(g.credits(0) == 0u);
  BOOST_TEST(!g.replay(0, 7).has_value());  // not in the log
}

BOOST_AUTO_TEST_CASE(a_replacement_of_the_sender_sends_only_with_the_credits_the_receiver_has) {
  auto budget = std::make_shared<recovery_budget>(1 << 20);
  capture c;
  auto g = logging_gate(c, budget);
  add(g, {1, 2});  // sent: 1 credit left
  g.hold_credits();
  add(g, {3, 4});  // waits
  BOOST_TEST(c.batches_to(0) == (std::vector<int>{1, 2}));
  // The receiver returned no credit yet: one batch is outstanding.
  g.sync_credits(0, 0);
  BOOST_TEST(c.batches_to(0) == (std::vector<int>{1, 2, 3, 4}));
  BOOST_TEST(g.credits(0) == 0u);
  // It had returned both: two credits in hand.
  g.hold_credits();
  g.sync_credits(0, 2);
  BOOST_TEST(g.credits(0) == 2u);
}

BOOST_AUTO_TEST_SUITE_END()
