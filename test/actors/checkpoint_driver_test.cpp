#include <boost/test/unit_test.hpp>

#include <unistd.h>

#include <filesystem>
#include <string>
#include <vector>

#include "sluice/actors/checkpoint_driver.hpp"

using namespace sluice;
using namespace sluice::actors;

namespace {

timestamp at(int64_t t) {
  return timestamp::of(t);
}

struct store_dir {
  std::filesystem::path path;
  store_dir() {
    path = std::filesystem::temp_directory_path() /
           ("sluice-driver-" + std::to_string(::getpid()) + "-" + std::to_string(counter()++));
    std::filesystem::remove_all(path);
  }
  ~store_dir() { std::filesystem::remove_all(path); }
  static int& counter() {
    static int n = 0;
    return n;
  }
  std::shared_ptr<state::snapshot_store> open() const {
    auto s = state::snapshot_store::open(path.string());
    BOOST_REQUIRE(s);
    return s.value();
  }
};

runtime_config every(int64_t interval_ms) {
  runtime_config c;
  c.checkpoints.interval = std::chrono::milliseconds{interval_ms};
  c.checkpoints.timeout = std::chrono::milliseconds{10'000};
  c.checkpoints.retained = 2;
  return c;
}

state::checkpoint_meta job() {
  state::checkpoint_meta m;
  m.job_name = "j";
  m.operator_parallelism = {{"op-0", 1}, {"op-1", 2}};
  return m;
}

const std::vector<task_id> tasks{{0, 0}, {1, 0}, {1, 1}};

/// Acknowledges `id` from every task (task k aligned for 4k ms); the last outcome.
std::optional<checkpoint_driver::completion> ack_all(checkpoint_driver& d, uint64_t id,
                                                     timestamp now,
                                                     std::vector<std::string>& notes) {
  std::optional<checkpoint_driver::completion> last;
  int64_t align = 0;
  for (auto t : tasks) {
    auto r =
        d.acknowledge(id, t, ack_stats{10, duration{1}, duration{2}, duration{align}}, now, notes);
    align += 4;
    BOOST_REQUIRE(r);
    last = r.value();
  }
  return last;
}

bool mentions(const std::vector<std::string>& notes, const std::string& s) {
  for (auto& n : notes)
    if (n.find(s) != std::string::npos)
      return true;
  return false;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(checkpoint_driver_suite)

BOOST_AUTO_TEST_CASE(periodic_checkpoints_commit_metadata_and_ids_never_repeat_across_runs) {
  store_dir dir;
  std::vector<std::string> notes;
  uint64_t last = 0;
  {
    checkpoint_driver d{dir.open(), every(100), job(), std::nullopt, at(0)};
    d.begin_attempt(tasks, at(0));
    BOOST_CHECK(!d.poll(at(50), 0, notes));
    auto t = d.poll(at(100), 0, notes);
    BOOST_REQUIRE(t);
    BOOST_CHECK(!t->savepoint);
    auto c = ack_all(d, t->id, at(120), notes);
    BOOST_REQUIRE(c);
    BOOST_CHECK_EQUAL(c->id, t->id);
    BOOST_CHECK(!c->ends_job);
    BOOST_CHECK_EQUAL(d.completed(), 1u);
    last = t->id;
  }
  auto store = dir.open();
  auto metas = store->completed();
  BOOST_REQUIRE(metas);
  BOOST_REQUIRE_EQUAL(metas.value().size(), 1u);
  BOOST_CHECK_EQUAL(metas.value()[0].id.value, last);
  BOOST_CHECK_EQUAL(metas.value()[0].job_name, "j");
  BOOST_CHECK(metas.value()[0].operator_parallelism == job().operator_parallelism);
  // A second run with the same state directory continues the ids.
  checkpoint_driver d2{store, every(100), job(), std::nullopt, at(0)};
  d2.begin_attempt(tasks, at(0));
  auto t = d2.poll(at(100), 0, notes);
  BOOST_REQUIRE(t);
  BOOST_CHECK_GT(t->id, last);
}

BOOST_AUTO_TEST_CASE(the_final_checkpoint_is_not_a_savepoint_to_the_user) {
  store_dir dir;
  std::vector<std::string> notes;
  checkpoint_driver d{dir.open(), every(100), job(), std::nullopt, at(0)};
  d.begin_attempt(tasks, at(0));
  auto periodic = d.poll(at(100), 0, notes);
  BOOST_REQUIRE(periodic);
  // Every task finished before the periodic one completed.
  auto fin = d.trigger_final(at(150), notes);
  BOOST_CHECK(!fin.savepoint);
  auto c = ack_all(d, fin.id, at(160), notes);
  BOOST_REQUIRE(c);
  BOOST_CHECK(c->ends_job);
  BOOST_CHECK(!c->savepoint);
  BOOST_CHECK(!d.savepoint());
  BOOST_CHECK_MESSAGE(!mentions(notes, "savepoint"), "a note names a savepoint nobody asked for");
  BOOST_CHECK(mentions(notes, "checkpoint " + std::to_string(periodic->id) +
                                  " subsumed by completed final checkpoint " +
                                  std::to_string(fin.id)));
  auto metas = dir.open()->completed();
  BOOST_REQUIRE(metas);
  BOOST_CHECK(!metas.value().back().savepoint);
}

BOOST_AUTO_TEST_CASE(a_stop_request_takes_a_savepoint_that_ends_the_job) {
  store_dir dir;
  std::vector<std::string> notes;
  checkpoint_driver d{dir.open(), every(1000), job(), std::nullopt, at(0)};
  d.begin_attempt(tasks, at(0));
  auto t = d.poll(at(10), 2, notes);
  BOOST_REQUIRE(t);
  BOOST_CHECK(t->savepoint);
  BOOST_CHECK(t->stop);
  auto c = ack_all(d, t->id, at(20), notes);
  BOOST_REQUIRE(c);
  BOOST_CHECK(c->savepoint);
  BOOST_CHECK(c->ends_job);
  BOOST_CHECK(d.savepoint() == t->id);
  BOOST_CHECK(mentions(notes, "the job stops when it completes"));
}

BOOST_AUTO_TEST_CASE(stop_with_savepoint_after_a_delay_uses_the_time_it_is_given) {
  store_dir dir;
  std::vector<std::string> notes;
  auto cfg = every(0);
  cfg.stop_with_savepoint_after = std::chrono::milliseconds{5000};
  checkpoint_driver d{dir.open(), cfg, job(), std::nullopt, at(1000)};
  d.begin_attempt(tasks, at(1000));
  BOOST_CHECK(!d.periodic());
  BOOST_CHECK(!d.poll(at(5999), 0, notes));
  auto t = d.poll(at(6000), 0, notes);
  BOOST_REQUIRE(t);
  BOOST_CHECK(t->stop);
}

BOOST_AUTO_TEST_CASE(a_restore_starts_ids_after_the_restored_checkpoint) {
  store_dir dir;
  std::vector<std::string> notes;
  checkpoint_driver d{dir.open(), every(100), job(), uint64_t{41}, at(0)};
  d.begin_attempt(tasks, at(0));
  auto t = d.poll(at(100), 0, notes);
  BOOST_REQUIRE(t);
  BOOST_CHECK_EQUAL(t->id, 42u);
}

BOOST_AUTO_TEST_CASE(aborted_checkpoints_of_every_attempt_are_counted) {
  store_dir dir;
  std::vector<std::string> notes;
  checkpoint_driver d{dir.open(), every(100), job(), std::nullopt, at(0)};
  d.begin_attempt(tasks, at(0));
  BOOST_REQUIRE(d.poll(at(100), 0, notes));
  d.abort_all("job failed", at(150));
  d.begin_attempt(tasks, at(200));
  auto t = d.poll(at(300), 0, notes);
  BOOST_REQUIRE(t);
  d.decline(t->id, tasks[1], "no space", at(310), notes);
  BOOST_CHECK_EQUAL(d.aborted(), 2u);
  BOOST_CHECK(mentions(notes, "no space"));
}

BOOST_AUTO_TEST_CASE(an_aborted_final_checkpoint_is_reported_once_and_a_periodic_one_is_not) {
  store_dir dir;
  std::vector<std::string> notes;
  checkpoint_driver d{dir.open(), every(100), job(), std::nullopt, at(0)};
  d.begin_attempt(tasks, at(0));
  auto periodic = d.poll(at(100), 0, notes);
  BOOST_REQUIRE(periodic);
  d.decline(periodic->id, tasks[1], "disk full", at(110), notes);
  BOOST_CHECK(!d.take_final_abort());  // a periodic checkpoint may fail; the job goes on
  auto fin = d.trigger_final(at(200), notes);
  d.decline(fin.id, tasks[0], "source 's' is not replayable", at(210), notes);
  auto why = d.take_final_abort();
  BOOST_REQUIRE(why);
  BOOST_CHECK_MESSAGE(why->find("not replayable") != std::string::npos, *why);
  BOOST_CHECK(!d.take_final_abort());
  // Expired rather than declined: the same.
  d.begin_attempt(tasks, at(1000));
  auto fin2 = d.trigger_final(at(1000), notes);
  d.expire(at(1000 + 10'001), notes);
  auto expired = d.take_final_abort();
  BOOST_REQUIRE(expired);
  BOOST_CHECK_MESSAGE(expired->find(std::to_string(fin2.id)) != std::string::npos, *expired);
}

BOOST_AUTO_TEST_CASE(the_history_keeps_every_checkpoint_with_its_outcome) {
  store_dir dir;
  std::vector<std::string> notes;
  checkpoint_driver d{dir.open(), every(100), job(), std::nullopt, at(0)};
  d.begin_attempt(tasks, at(0));
  using st = checkpoint_driver::record::status;
  // Completed: duration from trigger to the last ack, bytes summed.
  auto a = d.poll(at(100), 0, notes);
  BOOST_REQUIRE(a);
  BOOST_REQUIRE_EQUAL(d.history().size(), 1u);
  BOOST_CHECK(d.history().back().state == st::in_progress);
  const auto v0 = d.history_version();
  BOOST_REQUIRE(ack_all(d, a->id, at(130), notes));
  BOOST_CHECK(d.history_version() != v0);
  auto h = d.history().back();
  BOOST_CHECK(h.state == st::completed);
  BOOST_CHECK_EQUAL(h.id, a->id);
  BOOST_CHECK_EQUAL(h.trigger_ms, 100);
  BOOST_CHECK_EQUAL(h.duration_ms, 30);
  BOOST_CHECK_EQUAL(h.size_bytes, 30u);  // 3 tasks x 10 bytes
  BOOST_CHECK_EQUAL(h.max_sync_ms, 1);
  BOOST_CHECK_EQUAL(h.max_alignment_ms, 8);  // the longest alignment of a task
  BOOST_CHECK(!h.savepoint);
  // Declined: aborted with the reason.
  auto b = d.poll(at(300), 0, notes);
  BOOST_REQUIRE(b);
  d.decline(b->id, tasks[2], "disk full", at(310), notes);
  BOOST_CHECK(d.history().back().state == st::aborted);
  BOOST_CHECK(d.history().back().failure.find("disk full") != std::string::npos);
  BOOST_CHECK(d.last_failure().find("disk full") != std::string::npos);
  // A savepoint in flight when the job fails: aborted by the failure.
  auto c = d.poll(at(400), 1, notes);
  BOOST_REQUIRE(c);
  BOOST_CHECK(d.history().back().savepoint);
  d.abort_all("job failed: boom", at(450));
  BOOST_CHECK(d.history().back().state == st::aborted);
  BOOST_CHECK_EQUAL(d.history().back().duration_ms, 50);
  BOOST_CHECK(d.history().back().failure.find("boom") != std::string::npos);
  // Bounded.
  for (int i = 0; i < 150; ++i) {
    d.begin_attempt(tasks, at(1000 + i * 200));
    auto t = d.poll(at(1100 + i * 200), 0, notes);
    BOOST_REQUIRE(t);
    ack_all(d, t->id, at(1150 + i * 200), notes);
  }
  BOOST_CHECK_EQUAL(d.history().size(), checkpoint_driver::history_size);
  BOOST_CHECK(d.history().back().state == st::completed);
}

BOOST_AUTO_TEST_SUITE_END()
