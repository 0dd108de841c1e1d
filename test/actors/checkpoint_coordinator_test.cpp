#define BOOST_TEST_MODULE actors_coordination
#include <boost/test/unit_test.hpp>

#include <stdexcept>
#include <variant>
#include <vector>

#include "sluice/actors/checkpoint_coordinator.hpp"

using namespace sluice;
using namespace sluice::actors;

namespace {

using ms = duration;

timestamp at(int64_t t) {
  return timestamp::of(t);
}
checkpoint_id cp(uint64_t n) {
  return checkpoint_id{n};
}

const task_id src{0, 0};
const task_id map0{1, 0};
const task_id map1{1, 1};

checkpoint_settings every(int64_t interval, int64_t timeout = 10'000, int64_t pause = 0,
                          uint32_t concurrent = 1) {
  checkpoint_settings s;
  s.interval = ms{interval};
  s.timeout = ms{timeout};
  s.min_pause = ms{pause};
  s.max_concurrent = concurrent;
  return s;
}

checkpoint_coordinator make(checkpoint_settings s, uint64_t first = 1) {
  return checkpoint_coordinator{s, {src, map0, map1}, cp(first), at(0)};
}

ack_stats bytes(uint64_t n, int64_t sync = 0) {
  return {n, ms{sync}, ms{0}};
}

/// Acknowledges `id` from every task; returns the last outcome.
ack_outcome ack_all(checkpoint_coordinator& c, checkpoint_id id, timestamp now) {
  c.acknowledge(id, src, bytes(1), now);
  c.acknowledge(id, map0, bytes(1), now);
  return c.acknowledge(id, map1, bytes(1), now);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(checkpoint_coordinator_suite)

BOOST_AUTO_TEST_CASE(first_checkpoint_is_due_one_interval_after_start) {
  auto c = make(every(1000));
  BOOST_TEST(c.next_trigger().ms == 1000);
  BOOST_TEST(!c.poll(at(0)).has_value());
  BOOST_TEST(!c.poll(at(999)).has_value());
  auto id = c.poll(at(1000));
  BOOST_REQUIRE(id.has_value());
  BOOST_TEST(id->value == 1u);
  BOOST_TEST(c.pending() == 1u);
  BOOST_TEST(c.counters().triggered == 1u);
}

BOOST_AUTO_TEST_CASE(max_concurrent_holds_back_the_next_trigger) {
  auto c = make(every(1000));
  BOOST_REQUIRE(c.poll(at(1000)).has_value());
  // Checkpoint 1 is slow: nothing new while it is in flight, even though due.
  BOOST_TEST(!c.poll(at(2000)).has_value());
  BOOST_TEST(!c.poll(at(2500)).has_value());
  BOOST_TEST(std::holds_alternative<checkpoint_completed>(ack_all(c, cp(1), at(2600))));
  // Overdue: the next one starts right away (min_pause is 0).
  auto id = c.poll(at(2600));
  BOOST_REQUIRE(id.has_value());
  BOOST_TEST(id->value == 2u);
}

BOOST_AUTO_TEST_CASE(several_in_flight_when_max_concurrent_allows) {
  auto c = make(every(1000, 60'000, 0, 2));
  BOOST_REQUIRE(c.poll(at(1000)).has_value());
  BOOST_REQUIRE(c.poll(at(2000)).has_value());
  BOOST_TEST(!c.poll(at(3000)).has_value());
  BOOST_TEST(c.pending() == 2u);
}

BOOST_AUTO_TEST_CASE(min_pause_counts_from_the_end_of_the_previous_checkpoint) {
  auto c = make(every(1000, 10'000, 800));
  BOOST_REQUIRE(c.poll(at(1000)).has_value());
  ack_all(c, cp(1), at(1900));
  // The interval would allow 2000, the pause demands 1900 + 800.
  BOOST_TEST(c.next_trigger().ms == 2700);
  BOOST_TEST(!c.poll(at(2000)).has_value());
  BOOST_TEST(!c.poll(at(2699)).has_value());
  auto id = c.poll(at(2700));
  BOOST_REQUIRE(id.has_value());
  BOOST_TEST(id->value == 2u);
  // A quick checkpoint does not bring the interval forward.
  ack_all(c, cp(2), at(2710));
  BOOST_TEST(c.next_trigger().ms == 3700);
}

BOOST_AUTO_TEST_CASE(min_pause_applies_after_an_abort_too) {
  auto c = make(every(1000, 10'000, 500));
  BOOST_REQUIRE(c.poll(at(1000)).has_value());
  c.decline(cp(1), map0, "snapshot failed", at(1800));
  BOOST_TEST(!c.poll(at(2000)).has_value());
  BOOST_TEST(c.poll(at(2300)).has_value());
}

BOOST_AUTO_TEST_CASE(completes_only_after_every_task_acknowledged) {
  auto c = make(every(1000));
  c.poll(at(1000));
  auto r = c.acknowledge(cp(1), src, bytes(100, 3), at(1010));
  BOOST_REQUIRE(std::holds_alternative<checkpoint_pending>(r));
  BOOST_TEST(std::get<checkpoint_pending>(r).remaining == 2u);
  r = c.acknowledge(cp(1), map1, bytes(200, 9), at(1020));
  BOOST_REQUIRE(std::holds_alternative<checkpoint_pending>(r));
  BOOST_TEST(c.waiting_for(cp(1)) == std::vector<task_id>{map0});
  BOOST_TEST(c.counters().completed == 0u);
  r = c.acknowledge(cp(1), map0, bytes(50, 4), at(1250));
  BOOST_REQUIRE(std::holds_alternative<checkpoint_completed>(r));
  auto& done = std::get<checkpoint_completed>(r);
  BOOST_TEST(done.id.value == 1u);
  BOOST_TEST(!done.savepoint);
  BOOST_TEST(done.elapsed.count() == 250);
  BOOST_TEST(done.bytes == 350u);
  BOOST_TEST(done.max_sync.count() == 9);
  BOOST_TEST(done.subsumed.empty());
  auto& k = c.counters();
  BOOST_TEST(k.completed == 1u);
  BOOST_REQUIRE(k.last_completed.has_value());
  BOOST_TEST(k.last_completed->value == 1u);
  BOOST_TEST(k.last_duration.count() == 250);
  BOOST_TEST(k.last_bytes == 350u);
  BOOST_TEST(k.max_sync.count() == 9);
  BOOST_TEST(c.pending() == 0u);
}

BOOST_AUTO_TEST_CASE(duplicate_ack_never_completes_twice) {
  auto c = make(every(1000));
  c.poll(at(1000));
  c.acknowledge(cp(1), src, bytes(1), at(1001));
  auto r = c.acknowledge(cp(1), src, bytes(1), at(1002));
  BOOST_REQUIRE(std::holds_alternative<checkpoint_ignored>(r));
  BOOST_TEST((std::get<checkpoint_ignored>(r).reason == ignore_reason::duplicate));
  BOOST_TEST(c.waiting_for(cp(1)).size() == 2u);  // the duplicate did not count for another task
  c.acknowledge(cp(1), map0, bytes(1), at(1003));
  BOOST_TEST(
      std::holds_alternative<checkpoint_completed>(c.acknowledge(cp(1), map1, bytes(1), at(1004))));
  // Every further ack of the completed checkpoint is ignored.
  for (auto t : {src, map0, map1}) {
    r = c.acknowledge(cp(1), t, bytes(1), at(1005));
    BOOST_REQUIRE(std::holds_alternative<checkpoint_ignored>(r));
    BOOST_TEST((std::get<checkpoint_ignored>(r).reason == ignore_reason::completed));
  }
  BOOST_TEST(c.counters().completed == 1u);
}

BOOST_AUTO_TEST_CASE(unknown_checkpoints_and_tasks_are_ignored) {
  auto c = make(every(1000), 5);
  c.poll(at(1000));  // checkpoint 5
  auto reason = [](const ack_outcome& r) {
    return std::get<checkpoint_ignored>(r).reason;
  };
  BOOST_TEST(
      (reason(c.acknowledge(cp(6), src, bytes(1), at(1001))) == ignore_reason::unknown_checkpoint));
  BOOST_TEST(
      (reason(c.acknowledge(cp(4), src, bytes(1), at(1001))) == ignore_reason::unknown_checkpoint));
  BOOST_TEST((reason(c.acknowledge(cp(5), task_id{9, 0}, bytes(1), at(1001))) ==
              ignore_reason::unknown_task));
  auto d = c.decline(cp(5), task_id{1, 7}, "who am I", at(1001));
  BOOST_REQUIRE(std::holds_alternative<checkpoint_ignored>(d));
  BOOST_TEST((std::get<checkpoint_ignored>(d).reason == ignore_reason::unknown_task));
  BOOST_TEST(std::get<checkpoint_ignored>(d).message() ==
             "message about checkpoint 5 from task 1#7 ignored: unknown task");
  BOOST_TEST(c.is_pending(cp(5)));
  BOOST_TEST(c.waiting_for(cp(5)).size() == 3u);
}

BOOST_AUTO_TEST_CASE(decline_aborts_with_the_tasks_reason) {
  auto c = make(every(1000));
  c.poll(at(1000));
  c.acknowledge(cp(1), src, bytes(1), at(1001));
  auto d = c.decline(cp(1), map1, "disk full", at(1002));
  BOOST_REQUIRE(std::holds_alternative<checkpoint_aborted>(d));
  auto& a = std::get<checkpoint_aborted>(d);
  BOOST_TEST(a.id.value == 1u);
  BOOST_TEST((a.reason == abort_reason::declined));
  BOOST_TEST(a.message == "checkpoint 1 declined by task 1#1: disk full");
  BOOST_TEST(c.pending() == 0u);
  BOOST_TEST(c.counters().aborted == 1u);
  // Late messages about it are ignored as aborted, and nothing completes.
  auto r = c.acknowledge(cp(1), map0, bytes(1), at(1003));
  BOOST_TEST((std::get<checkpoint_ignored>(r).reason == ignore_reason::aborted));
  r = c.acknowledge(cp(1), map1, bytes(1), at(1003));
  BOOST_TEST((std::get<checkpoint_ignored>(r).reason == ignore_reason::aborted));
  d = c.decline(cp(1), map0, "again", at(1004));
  BOOST_TEST((std::get<checkpoint_ignored>(d).reason == ignore_reason::aborted));
  BOOST_TEST(c.counters().aborted == 1u);
  BOOST_TEST(c.counters().completed == 0u);
  BOOST_TEST(!c.counters().last_completed.has_value());
}

BOOST_AUTO_TEST_CASE(expiry_names_the_tasks_still_waited_for) {
  auto c = make(every(1000, 10'000));
  c.poll(at(1000));  // 1
  c.acknowledge(cp(1), src, bytes(1), at(1100));
  BOOST_REQUIRE(c.next_expiry().has_value());
  BOOST_TEST(c.next_expiry()->ms == 11'000);
  BOOST_TEST(c.expire(at(10'999)).empty());
  auto gone = c.expire(at(11'000));
  BOOST_REQUIRE(gone.size() == 1u);
  BOOST_TEST(gone[0].id.value == 1u);
  BOOST_TEST((gone[0].reason == abort_reason::expired));
  BOOST_TEST(gone[0].message == "checkpoint 1 expired after 10000 ms; waiting for tasks 1#0, 1#1");
  BOOST_TEST(c.pending() == 0u);
  BOOST_TEST(!c.next_expiry().has_value());
  BOOST_TEST(c.counters().aborted == 1u);
  BOOST_TEST(
      (std::get<checkpoint_ignored>(c.acknowledge(cp(1), map0, bytes(1), at(11'001))).reason ==
       ignore_reason::aborted));
}

BOOST_AUTO_TEST_CASE(expiry_only_takes_the_old_ones) {
  auto c = make(every(1000, 5000, 0, 3));
  c.poll(at(1000));  // 1, expires at 6000
  c.poll(at(2000));  // 2, expires at 7000
  c.poll(at(3000));  // 3
  c.acknowledge(cp(2), src, bytes(1), at(3000));
  c.acknowledge(cp(2), map0, bytes(1), at(3000));
  auto gone = c.expire(at(7000));
  BOOST_REQUIRE(gone.size() == 2u);
  BOOST_TEST(gone[0].id.value == 1u);
  BOOST_TEST(gone[1].id.value == 2u);
  BOOST_TEST(gone[1].message == "checkpoint 2 expired after 5000 ms; waiting for task 1#1");
  BOOST_TEST(c.pending() == 1u);
  BOOST_TEST(c.is_pending(cp(3)));
}

BOOST_AUTO_TEST_CASE(completing_a_newer_checkpoint_subsumes_older_pending_ones) {
  auto c = make(every(1000, 60'000, 0, 3));
  c.poll(at(1000));  // 1
  c.poll(at(2000));  // 2
  c.poll(at(3000));  // 3
  c.acknowledge(cp(1), src, bytes(1), at(3100));
  auto r = ack_all(c, cp(2), at(3200));
  BOOST_REQUIRE(std::holds_alternative<checkpoint_completed>(r));
  auto& done = std::get<checkpoint_completed>(r);
  BOOST_TEST(done.id.value == 2u);
  BOOST_REQUIRE(done.subsumed.size() == 1u);
  BOOST_TEST(done.subsumed[0].id.value == 1u);
  BOOST_TEST((done.subsumed[0].reason == abort_reason::subsumed));
  BOOST_TEST(done.subsumed[0].message == "checkpoint 1 subsumed by completed checkpoint 2");
  BOOST_TEST(c.is_pending(cp(3)));  // newer ones are untouched
  BOOST_TEST(!c.is_pending(cp(1)));
  // Checkpoint 1 can no longer complete: completed ids only increase.
  c.acknowledge(cp(1), map0, bytes(1), at(3300));
  r = c.acknowledge(cp(1), map1, bytes(1), at(3300));
  BOOST_TEST((std::get<checkpoint_ignored>(r).reason == ignore_reason::aborted));
  BOOST_TEST(std::holds_alternative<checkpoint_completed>(ack_all(c, cp(3), at(3400))));
  BOOST_TEST(c.counters().completed == 2u);
  BOOST_TEST(c.counters().aborted == 1u);
  BOOST_TEST(c.counters().last_completed->value == 3u);
}

BOOST_AUTO_TEST_CASE(savepoint_starts_whatever_the_schedule) {
  auto c = make(every(1000));
  auto sp = c.trigger_savepoint(at(10));  // long before the first periodic one
  BOOST_TEST(sp.value == 1u);
  BOOST_TEST(c.pending() == 1u);
  // A second one even though max_concurrent (1) are in flight.
  auto sp2 = c.trigger_savepoint(at(20));
  BOOST_TEST(sp2.value == 2u);
  BOOST_TEST(!c.poll(at(5000)).has_value());  // periodic ones wait for free capacity
  auto r = ack_all(c, sp, at(110));
  BOOST_REQUIRE(std::holds_alternative<checkpoint_completed>(r));
  BOOST_TEST(std::get<checkpoint_completed>(r).savepoint);
  BOOST_TEST(std::get<checkpoint_completed>(r).elapsed.count() == 100);
  auto d = c.decline(sp2, src, "operator cannot snapshot", at(120));
  BOOST_TEST(std::get<checkpoint_aborted>(d).savepoint);
  BOOST_TEST(std::get<checkpoint_aborted>(d).message ==
             "savepoint 2 declined by task 0#0: operator cannot snapshot");
  auto id = c.poll(at(1020));  // an interval after the last trigger
  BOOST_REQUIRE(id.has_value());
  BOOST_TEST(id->value == 3u);
}

BOOST_AUTO_TEST_CASE(numbering_continues_after_a_restored_checkpoint) {
  auto c = make(every(1000), 42);
  BOOST_TEST(c.next_id().value == 42u);
  auto id = c.poll(at(1000));
  BOOST_REQUIRE(id.has_value());
  BOOST_TEST(id->value == 42u);
  BOOST_TEST(c.next_id().value == 43u);
}

BOOST_AUTO_TEST_CASE(zero_interval_means_savepoints_only) {
  auto c = make(every(0));
  BOOST_TEST((c.next_trigger() == timestamp::max()));
  BOOST_TEST(!c.poll(at(1'000'000)).has_value());
  BOOST_TEST(c.trigger_savepoint(at(5)).value == 1u);
}

BOOST_AUTO_TEST_CASE(abort_all_gives_up_everything_in_flight) {
  auto c = make(every(1000, 60'000, 0, 2));
  c.poll(at(1000));
  c.poll(at(2000));
  auto gone = c.abort_all("task 1#0 failed", at(2500));
  BOOST_REQUIRE(gone.size() == 2u);
  BOOST_TEST((gone[0].reason == abort_reason::failure));
  BOOST_TEST(gone[1].message == "checkpoint 2 aborted: task 1#0 failed");
  BOOST_TEST(c.pending() == 0u);
  BOOST_TEST(c.counters().aborted == 2u);
}

BOOST_AUTO_TEST_CASE(max_sync_is_the_longest_block_seen) {
  auto c = make(every(1000));
  c.poll(at(1000));
  c.acknowledge(cp(1), src, bytes(1, 40), at(1001));
  c.decline(cp(1), map0, "failed", at(1002));
  BOOST_TEST(c.counters().max_sync.count() == 40);  // the task was blocked even though it aborted
  c.poll(at(2002));
  c.acknowledge(cp(2), src, bytes(1, 5), at(2003));
  BOOST_TEST(c.counters().max_sync.count() == 40);
}

BOOST_AUTO_TEST_CASE(invalid_settings_are_refused) {
  BOOST_CHECK_THROW((checkpoint_coordinator{every(1000), {}, cp(1), at(0)}), std::invalid_argument);
  BOOST_CHECK_THROW((checkpoint_coordinator{every(1000, 10'000, 0, 0), {src}, cp(1), at(0)}),
                    std::invalid_argument);
  BOOST_CHECK_THROW((checkpoint_coordinator{every(1000, 0), {src}, cp(1), at(0)}),
                    std::invalid_argument);
  BOOST_CHECK_THROW((checkpoint_coordinator{every(-1), {src}, cp(1), at(0)}),
                    std::invalid_argument);
}

BOOST_AUTO_TEST_CASE(task_ids_order_and_print) {
  BOOST_TEST((task_id{1, 5} < task_id{2, 0}));
  BOOST_TEST((task_id{1, 0} < task_id{1, 1}));
  BOOST_TEST(to_string(task_id{3, 1}) == "3#1");
}

BOOST_AUTO_TEST_SUITE_END()
