// Custom actor stages: a user actor that never replies fails the job after
// the stage's timeout, with an error naming the stage and instance; a
// stateful stage's actor keeps its state through a failure and a savepoint
// (snapshot and restore messages), and one that does not answer the
// snapshot request is refused at the first checkpoint.
#include <boost/test/unit_test.hpp>

#include <caf/all.hpp>

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <string>
#include <vector>

#include "runtime_util.hpp"
#include "sluice/actors/actor_stage.hpp"

using namespace test_util;
using namespace sluice;
namespace fs = std::filesystem;

namespace {

struct silent_state {
  std::vector<caf::response_promise> pending;  ///< Kept, never delivered.
};

/// Takes every batch and never answers. (The unused argument: CAF 0.17
/// dereferences a null argument tuple for function actors spawned without
/// arguments, which UBSan reports; see README.)
caf::behavior silent(caf::stateful_actor<silent_state>* self, int /*unused*/) {
  return {[self](std::vector<int64_t>&) {
    auto rp = self->make_response_promise();
    self->state.pending.push_back(rp);
    return rp;
  }};
}

/// What every ledger actor of a run received, per actor in spawn order
/// ("batch", "snapshot:<checkpoint>:<balance>", "restore:<balance>").
struct event_log {
  std::mutex mtx;
  std::vector<std::vector<std::string>> per_actor;
  size_t add_actor() {
    std::lock_guard lock{mtx};
    per_actor.emplace_back();
    return per_actor.size() - 1;
  }
  void add(size_t actor, std::string e) {
    std::lock_guard lock{mtx};
    per_actor[actor].push_back(std::move(e));
  }
  std::vector<std::vector<std::string>> copy() {
    std::lock_guard lock{mtx};
    return per_actor;
  }
};

int64_t amount(int64_t i) {
  return (i % 7) * 100 - 250;
}

/// A stateful ledger: for record i it adds amount(i) to its balance and
/// answers "i:balance"; its state is the balance.
using ledger_actor = actors::stateful_stage_actor<int64_t, std::string, int64_t>;

struct ledger_state {
  int64_t balance = 0;
};

ledger_actor::behavior_type ledger(ledger_actor::stateful_pointer<ledger_state> self,
                                   std::shared_ptr<event_log> log, size_t me) {
  return {
      [self, log, me](std::vector<int64_t>& xs) {
        log->add(me, "batch");
        std::vector<std::string> out;
        for (auto i : xs) {
          self->state.balance += amount(i);
          out.push_back(std::to_string(i) + ":" + std::to_string(self->state.balance));
        }
        return out;
      },
      [self, log, me](actors::snapshot_atom, uint64_t id) {
        log->add(me, "snapshot:" + std::to_string(id) + ":" + std::to_string(self->state.balance));
        return self->state.balance;
      },
      [self, log, me](actors::restore_atom, int64_t balance) {
        log->add(me, "restore:" + std::to_string(balance));
        self->state.balance = balance;
      },
  };
}

std::vector<std::string> read_parts(const fs::path& dir) {
  std::vector<std::string> out;
  if (!fs::exists(dir))
    return out;
  for (auto& e : fs::directory_iterator(dir)) {
    if (e.path().filename().string().rfind("part-", 0) != 0)
      continue;
    std::ifstream in(e.path());
    for (std::string line; std::getline(in, line);)
      out.push_back(line);
  }
  std::sort(out.begin(), out.end());
  return out;
}

struct ledger_run {
  actors::job_report report;
  std::vector<std::string> lines;  ///< Sorted.
  std::vector<std::vector<std::string>> events;
};

constexpr uint64_t ledger_records = 6000;

/// Source (rate limited) -> ledger stage -> "after" map -> exactly-once CSV,
/// all at `par`, checkpointing every 20 ms into `dir`.
ledger_run run_ledger(const fs::path& dir, uint32_t par, std::string faults,
                      std::optional<uint64_t> restore_from = std::nullopt,
                      std::chrono::milliseconds stop_with_savepoint_after = {}) {
  auto log = std::make_shared<event_log>();
  pipeline p{"ledger"};
  p.generate(ledger_records, [](uint64_t i) { return static_cast<int64_t>(i); })
      .rate_limit(20000)
      .parallelism(par)
      .via_actor("ledger",
                 [log](caf::actor_system& sys) { return sys.spawn(ledger, log, log->add_actor()); })
      .parallelism(par)
      .map([](std::string s) { return s; })
      .name("after")
      .parallelism(par)
      .write_csv_exactly_once((dir / "out").string())
      .parallelism(par);
  auto cfg = config(par);
  cfg.state_dir = (dir / "state").string();
  cfg.checkpoints.interval = std::chrono::milliseconds(stop_with_savepoint_after.count() ? 0 : 20);
  cfg.restart = "fixed-delay:attempts=3,delay=10ms";
  cfg.faults = std::move(faults);
  cfg.restore_from = restore_from;
  cfg.stop_with_savepoint_after = stop_with_savepoint_after;
  ledger_run r;
  r.report = execute(p, cfg);
  r.lines = read_parts(dir / "out");
  r.events = log->copy();
  return r;
}

struct temp_dir {
  fs::path path;
  explicit temp_dir(const std::string& name)
      : path(fs::temp_directory_path() /
             ("sluice-stage-" + name + "-" + std::to_string(::getpid()))) {
    fs::remove_all(path);
  }
  ~temp_dir() { fs::remove_all(path); }
};

/// Takes batches and answers them, but knows no snapshot request.
caf::behavior forgetful(caf::event_based_actor*, int /*unused*/) {
  return {[](std::vector<int64_t>& xs) {
    return xs;
  }};
}

/// Takes batches and snapshot requests, but never answers the latter.
caf::behavior mute_on_snapshot(caf::stateful_actor<silent_state>* self, int /*unused*/) {
  return {
      [](std::vector<int64_t>& xs) { return xs; },
      [self](actors::snapshot_atom, uint64_t) {
        auto rp = self->make_response_promise();
        self->state.pending.push_back(rp);
        return rp;
      },
  };
}

/// Answers batches and snapshots (its count of records), but knows no
/// restore message.
caf::behavior no_restore(caf::stateful_actor<ledger_state>* self, int /*unused*/) {
  return {
      [self](std::vector<int64_t>& xs) {
        self->state.balance += static_cast<int64_t>(xs.size());
        return xs;
      },
      [self](actors::snapshot_atom, uint64_t) { return self->state.balance; },
  };
}

}  // namespace

BOOST_AUTO_TEST_SUITE(runtime_actor_stage)

BOOST_AUTO_TEST_CASE(a_stateful_stage_gives_the_failure_free_output_through_an_injected_failure) {
  for (uint32_t par : {1u, 2u}) {
    BOOST_TEST_CONTEXT("parallelism " << par) {
      temp_dir ref_dir{"ref" + std::to_string(par)};
      auto ref = run_ledger(ref_dir.path, par, "");
      require_ok(ref.report);
      BOOST_TEST(ref.report.restarts == 0u);
      BOOST_REQUIRE(ref.lines.size() == ledger_records);
      if (par == 1) {  // one ledger sees every record in order: running sums
        std::vector<std::string> expected;
        int64_t balance = 0;
        for (int64_t i = 0; i < static_cast<int64_t>(ledger_records); ++i)
          expected.push_back(std::to_string(i) + ":" + std::to_string(balance += amount(i)));
        std::sort(expected.begin(), expected.end());
        BOOST_TEST((ref.lines == expected));
      }
      temp_dir dir{"failure" + std::to_string(par)};
      auto r = run_ledger(dir.path, par,
                          "throw:operator=after,instance=0,record=" + std::to_string(3000 / par));
      require_ok(r.report);
      BOOST_TEST(r.report.restarts == 1u);
      BOOST_REQUIRE(r.report.restored_from.has_value());
      BOOST_TEST(r.report.checkpoints_completed > 1u);
      BOOST_TEST((r.lines == ref.lines));  // exact balances, each line once
      size_t restored = 0;
      for (auto& evs : r.events)
        restored += std::count_if(evs.begin(), evs.end(),
                                  [](const std::string& e) { return e.rfind("restore:", 0) == 0; });
      BOOST_TEST(restored == par);  // every instance of the second attempt
    }
  }
}

BOOST_AUTO_TEST_CASE(the_restored_state_reaches_the_actor_before_its_first_batch) {
  temp_dir dir{"order"};
  auto r = run_ledger(dir.path, 1, "throw:operator=after,instance=0,record=3000");
  require_ok(r.report);
  BOOST_REQUIRE(r.report.restored_from.has_value());
  BOOST_REQUIRE(r.events.size() == 2u);  // one actor per attempt
  const auto& first = r.events[0];
  const auto& second = r.events[1];
  BOOST_TEST(std::none_of(first.begin(), first.end(),
                          [](const std::string& e) { return e.rfind("restore:", 0) == 0; }));
  // The state the first actor gave for the restored checkpoint comes back,
  // before anything else reaches the second actor.
  const std::string prefix = "snapshot:" + std::to_string(*r.report.restored_from) + ":";
  auto given = std::find_if(first.begin(), first.end(),
                            [&](const std::string& e) { return e.rfind(prefix, 0) == 0; });
  BOOST_REQUIRE(given != first.end());
  BOOST_REQUIRE(!second.empty());
  BOOST_TEST(second.front() == "restore:" + given->substr(prefix.size()));
  BOOST_TEST(std::count(second.begin(), second.end(), "batch") > 0);
}

BOOST_AUTO_TEST_CASE(a_stateful_actor_without_snapshot_handler_is_refused_at_the_first_checkpoint) {
  for (bool answers_late : {false, true}) {
    BOOST_TEST_CONTEXT((answers_late ? "never answers" : "no handler")) {
      temp_dir dir{answers_late ? "mute" : "forgetful"};
      pipeline p{"refused"};
      auto out = std::make_shared<collected<int64_t>>();
      auto src =
          p.generate(100000, [](uint64_t i) { return static_cast<int64_t>(i); }).rate_limit(20000);
      auto spawn = [answers_late](caf::actor_system& sys) {
        return answers_late ? sys.spawn(mute_on_snapshot, 0) : sys.spawn(forgetful, 0);
      };
      src.via_actor<int64_t>("forgetful", spawn, actors::with_state<int64_t>,
                             std::chrono::milliseconds(300))
          .parallelism(1)
          .collect(out);
      auto cfg = config(1);
      cfg.state_dir = (dir.path / "state").string();
      cfg.checkpoints.interval = std::chrono::milliseconds(20);
      cfg.restart = "fixed-delay:attempts=3,delay=10ms";  // a refusal is not retried
      const auto t0 = std::chrono::steady_clock::now();
      auto r = execute(p, cfg);
      const auto took = std::chrono::steady_clock::now() - t0;
      BOOST_TEST(!r.ok);
      BOOST_TEST_MESSAGE("error: " << r.error);
      BOOST_TEST(
          r.error.find("actor stage 'forgetful' instance 0 is stateful but its actor did "
                       "not answer the snapshot request (snapshot_atom, 1)") != std::string::npos,
          r.error);
      BOOST_TEST(r.error.find(answers_late ? "no reply within 300 ms" : "unexpected_message") !=
                     std::string::npos,
                 r.error);
      BOOST_TEST(r.checkpoints_completed == 0u);
      BOOST_TEST(r.restarts == 0u);
      BOOST_TEST((took < std::chrono::seconds(4)));  // 100,000 records take 5 s
    }
  }
}

BOOST_AUTO_TEST_CASE(a_stateful_actor_that_rejects_its_restored_state_fails_the_job) {
  temp_dir dir{"no-restore"};
  pipeline p{"no_restore"};
  auto out = std::make_shared<collected<int64_t>>();
  p.generate(6000, [](uint64_t i) { return static_cast<int64_t>(i); })
      .rate_limit(20000)
      .via_actor<int64_t>(
          "counter", [](caf::actor_system& sys) { return sys.spawn(no_restore, 0); },
          actors::with_state<int64_t>)
      .parallelism(1)
      .map([](int64_t x) { return x; })
      .name("after")
      .collect(out);
  auto cfg = config(1);
  cfg.state_dir = (dir.path / "state").string();
  cfg.checkpoints.interval = std::chrono::milliseconds(20);
  cfg.restart = "fixed-delay:attempts=3,delay=10ms";
  cfg.faults = "throw:operator=after,instance=0,record=3000";
  auto r = execute(p, cfg);
  BOOST_TEST(!r.ok);
  BOOST_TEST(r.restarts == 1u);  // the injected failure; the refusal is not retried
  BOOST_TEST(r.error.find("actor stage 'counter' instance 0 cannot be restored from checkpoint") !=
                 std::string::npos,
             r.error);
  BOOST_TEST(r.error.find("unexpected_message") != std::string::npos, r.error);
}

BOOST_AUTO_TEST_CASE(a_stateless_stage_is_not_asked_for_snapshots) {
  temp_dir dir{"stateless"};
  pipeline p{"stateless"};
  auto out = std::make_shared<collected<int64_t>>();
  p.generate(3000, [](uint64_t i) { return static_cast<int64_t>(i); })
      .rate_limit(20000)
      .via_actor<int64_t>("plain", [](caf::actor_system& sys) { return sys.spawn(forgetful, 0); })
      .parallelism(1)
      .collect(out);
  auto cfg = config(1);
  cfg.state_dir = (dir.path / "state").string();
  cfg.checkpoints.interval = std::chrono::milliseconds(20);
  auto r = execute(p, cfg);
  require_ok(r);
  BOOST_TEST(r.checkpoints_completed > 1u);
  BOOST_TEST(out->size() == 3000u);
}

BOOST_AUTO_TEST_CASE(batches_released_after_an_alignment_keep_their_order_through_the_stage) {
  // Two upstream channels and frequent checkpoints: the stage's task holds
  // batches back while aligning and releases several at once. Each split of
  // the generator is one channel's data in order, so it must leave in order.
  temp_dir dir{"aligned"};
  pipeline p{"aligned"};
  p.set_max_parallelism(16);
  auto out = std::make_shared<collected<int64_t>>();
  p.generate(20000, [](uint64_t i) { return static_cast<int64_t>(i); })
      .rate_limit(40000)
      .parallelism(2)
      .via_actor<int64_t>("identity",
                          [](caf::actor_system& sys) { return sys.spawn(forgetful, 0); })
      .parallelism(1)
      .collect(out);
  auto cfg = config(1);
  cfg.batch_size = 8;
  cfg.state_dir = (dir.path / "state").string();
  cfg.checkpoints.interval = std::chrono::milliseconds(5);
  auto r = execute(p, cfg);
  require_ok(r);
  BOOST_TEST(r.checkpoints_completed > 5u);
  auto items = out->items();
  BOOST_REQUIRE(items.size() == 20000u);
  std::vector<int64_t> last(16, -1);
  size_t out_of_order = 0;
  for (auto i : items) {
    out_of_order += i < last[i % 16];
    last[i % 16] = i;
  }
  BOOST_TEST(out_of_order == 0u);
}

BOOST_AUTO_TEST_CASE(a_savepoint_restores_each_instance_at_the_same_parallelism_only) {
  temp_dir ref_dir{"sp-ref"};
  auto ref = run_ledger(ref_dir.path, 2, "");
  require_ok(ref.report);
  temp_dir dir{"sp"};
  auto first = run_ledger(dir.path, 2, "", std::nullopt, std::chrono::milliseconds(100));
  require_ok(first.report);
  BOOST_REQUIRE(first.report.savepoint.has_value());
  BOOST_TEST(first.lines.size() < ledger_records);  // stopped early
  auto other = run_ledger(dir.path, 1, "", first.report.savepoint);
  BOOST_TEST(!other.report.ok);
  BOOST_TEST(other.report.error.find("cannot restore operator 'ledger' with parallelism 1: it has "
                                     "per-instance state from parallelism 2") != std::string::npos,
             other.report.error);
  auto same = run_ledger(dir.path, 2, "", first.report.savepoint);
  require_ok(same.report);
  BOOST_TEST((same.report.restored_from == first.report.savepoint));
  BOOST_TEST(same.events.size() == 2u);
  for (auto& evs : same.events)
    BOOST_TEST((!evs.empty() && evs.front().rfind("restore:", 0) == 0));
  BOOST_TEST((same.lines == ref.lines));
}

BOOST_AUTO_TEST_CASE(a_user_actor_that_never_replies_fails_the_job_naming_stage_and_instance) {
  pipeline p{"hung_stage"};
  auto out = std::make_shared<collected<int64_t>>();
  auto src = p.generate(100, [](uint64_t i) { return static_cast<int64_t>(i); });
  src.via_actor<int64_t>(
         "stuck", [](caf::actor_system& sys) { return sys.spawn(silent, 0); },
         std::chrono::milliseconds(300))
      .parallelism(1)
      .collect(out);
  auto cfg = config(1);
  cfg.timeout =
      std::chrono::seconds(30);  // without the stage's timeout, the job hangs until this one
  const auto t0 = std::chrono::steady_clock::now();
  auto r = execute(p, cfg);
  const auto took = std::chrono::steady_clock::now() - t0;
  BOOST_TEST(!r.ok);
  BOOST_TEST_MESSAGE("error: " << r.error);
  BOOST_TEST(r.error.find("actor stage 'stuck' instance 0 did not reply within 300 ms") !=
                 std::string::npos,
             r.error);
  BOOST_TEST(r.error.find("operator 'stuck' instance 0") != std::string::npos, r.error);
  BOOST_TEST((took < std::chrono::seconds(15)));
  BOOST_TEST(out->size() == 0u);
}

BOOST_AUTO_TEST_CASE(the_default_stage_timeout_is_a_minute) {
  BOOST_TEST(actors::actor_stage_base::default_timeout.count() == 60'000);
}

BOOST_AUTO_TEST_SUITE_END()
