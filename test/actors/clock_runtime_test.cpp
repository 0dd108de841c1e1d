// The job clock on the actor runtime: tasks take processing time from
// `runtime_config::clock`, so a test decides when a flush interval elapsed.
#include <boost/test/unit_test.hpp>

#include <unistd.h>
#include <atomic>
#include <filesystem>
#include <future>
#include <mutex>
#include <thread>

#include "runtime_util.hpp"
#include "sluice/source/typed_source.hpp"

using namespace test_util;
using namespace sluice;

namespace {

/// Emits `n` records once, then has nothing to say until told to stop.
/// Replayable: its position is what is left to emit.
class few_then_quiet final : public typed_source<uint64_t> {
public:
  few_then_quiet(uint64_t n, std::shared_ptr<std::atomic<bool>> stop)
      : n_(n), stop_(std::move(stop)) {}
  poll_status poll(size_t) override {
    for (; n_ > 0; --n_)
      emit(n_);
    return stop_->load() ? poll_status::end : poll_status::idle;
  }

protected:
  void snapshot_position(state::writer& w) override { state::encode(w, n_); }
  void restore_position(state::reader& r) override { state::decode(r, n_); }

private:
  uint64_t n_;
  std::shared_ptr<std::atomic<bool>> stop_;
};

/// Waits (bounded) until `pred` holds.
template <class Pred>
bool eventually(Pred pred, std::chrono::milliseconds limit = std::chrono::seconds(20)) {
  const auto until = std::chrono::steady_clock::now() + limit;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > until)
      return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(runtime_clock)

BOOST_AUTO_TEST_CASE(a_partial_batch_goes_out_when_the_flush_interval_elapsed_on_the_job_clock) {
  // 3 records never fill a batch of 64: only the flush interval sends them.
  // It is an hour, on a clock that only the test moves.
  auto stop = std::make_shared<std::atomic<bool>>(false);
  auto seen = std::make_shared<std::atomic<int>>(0);
  pipeline p{"flush"};
  p.add_source<uint64_t>("few", [stop] { return std::make_unique<few_then_quiet>(3, stop); })
      .for_each([seen](uint64_t) { seen->fetch_add(1); })
      .start_new_chain();
  auto clk = std::make_shared<actors::test_clock>(timestamp::of(0));
  auto cfg = config(1);
  cfg.clock = clk;
  cfg.flush_interval = std::chrono::hours(1);
  cfg.timeout = std::chrono::seconds(60);
  auto job = std::async(std::launch::async, [&] { return execute(p, cfg); });
  // Time does not pass: the records stay in the source's buffer.
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  BOOST_TEST(seen->load() == 0);
  clk->advance(std::chrono::minutes(59));
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  BOOST_TEST(seen->load() == 0);
  clk->advance(std::chrono::minutes(1));
  BOOST_TEST(eventually([&] { return seen->load() == 3; }));
  stop->store(true);
  require_ok(job.get());
  BOOST_TEST(seen->load() == 3);
}

BOOST_AUTO_TEST_CASE(a_rate_limited_source_emits_only_as_fast_as_the_job_clock_moves) {
  // 1000 records per second of the job clock; the clock does not move until
  // the test says so, then by 100 ms at a time.
  const uint64_t n = 500;
  auto seen = std::make_shared<std::atomic<int>>(0);
  pipeline p{"rate"};
  p.generate(n, [](uint64_t i) { return i; })
      .rate_limit(1000)
      .for_each([seen](uint64_t) { seen->fetch_add(1); })
      .start_new_chain();
  auto clk = std::make_shared<actors::test_clock>(timestamp::of(0));
  auto cfg = config(1);
  cfg.clock = clk;
  // A step's 100 records fill one batch, so no flush (which would wait for
  // the clock too) is involved.
  cfg.batch_size = 100;
  auto job = std::async(std::launch::async, [&] { return execute(p, cfg); });
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  BOOST_TEST(seen->load() == 0);
  for (int step = 1; step <= 5; ++step) {
    clk->advance(duration{100});
    BOOST_TEST(eventually([&] { return seen->load() == 100 * step; }),
               "step " << step << ": " << seen->load());
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    BOOST_TEST(seen->load() == 100 * step);  // and not more
  }
  require_ok(job.get());
}

BOOST_AUTO_TEST_CASE(a_restart_waits_its_delay_on_the_job_clock) {
  // The supervisor takes time from the same clock: a restart delay of an
  // hour passes when the test moves the clock, not before.
  auto failed = std::make_shared<std::atomic<bool>>(false);
  auto seen = std::make_shared<std::atomic<int>>(0);
  pipeline p{"restart_delay"};
  p.generate(1000, [](uint64_t i) { return i; })
      .map([failed](uint64_t x) {
        if (x == 500 && !failed->exchange(true))
          throw std::runtime_error("first attempt fails");
        return x;
      })
      .start_new_chain()
      .for_each([seen](uint64_t) { seen->fetch_add(1); })
      .start_new_chain();
  auto clk = std::make_shared<actors::test_clock>(timestamp::of(0));
  auto cfg = config(1);
  cfg.clock = clk;
  cfg.batch_size = 50;
  cfg.restart = "fixed-delay:attempts=1,delay=1h";
  cfg.timeout = std::chrono::seconds(60);
  auto job = std::async(std::launch::async, [&] { return execute(p, cfg); });
  BOOST_REQUIRE(eventually([&] { return failed->load(); }));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  const int before = seen->load();
  BOOST_TEST(before < 1000);
  clk->advance(std::chrono::minutes(59));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  BOOST_TEST(seen->load() == before);  // still waiting for the delay
  clk->advance(std::chrono::minutes(1));
  auto r = job.get();
  require_ok(r);
  BOOST_TEST(r.restarts == 1u);
  BOOST_TEST(seen->load() >=
             1000);  // without a checkpoint the second attempt starts from the beginning
}

BOOST_AUTO_TEST_CASE(checkpoints_are_due_by_the_interval_on_the_job_clock) {
  // Interval one hour, on a clock only the test moves: no checkpoint before
  // the hour has passed, one after it, the next only after another hour.
  auto stop = std::make_shared<std::atomic<bool>>(false);
  pipeline p{"checkpoint_interval"};
  p.add_source<uint64_t>("few", [stop] { return std::make_unique<few_then_quiet>(3, stop); })
      .for_each([](uint64_t) {})
      .start_new_chain();
  const auto dir =
      std::filesystem::temp_directory_path() / ("sluice-clock-ckpt-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  auto clk = std::make_shared<actors::test_clock>(timestamp::of(0));
  auto cfg = config(1);
  cfg.clock = clk;
  cfg.state_dir = dir.string();
  cfg.checkpoints.interval = std::chrono::hours(1);
  cfg.timeout = std::chrono::seconds(60);
  std::mutex mu;
  std::vector<std::string> completed;
  auto attach = [&](caf::actor_system&, std::shared_ptr<const actors::job_graph>,
                    std::shared_ptr<state::snapshot_store>) {
    actors::cluster_attachment a;
    a.log = [&](bool, const std::string& line) {
      if (line.rfind("completed checkpoint", 0) == 0) {
        std::lock_guard lock{mu};
        completed.push_back(line);
      }
    };
    return a;
  };
  auto count = [&] {
    std::lock_guard lock{mu};
    return completed.size();
  };
  auto job = std::async(std::launch::async, [&] { return actors::execute(p, cfg, attach); });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  BOOST_TEST(count() == 0u);
  clk->advance(std::chrono::minutes(59));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  BOOST_TEST(count() == 0u);  // not yet due
  clk->advance(std::chrono::minutes(1));
  BOOST_TEST(eventually([&] { return count() == 1u; }));
  clk->advance(std::chrono::minutes(30));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  BOOST_TEST(count() == 1u);  // half an interval later: still one
  clk->advance(std::chrono::minutes(30));
  BOOST_TEST(eventually([&] { return count() == 2u; }));
  stop->store(true);
  auto r = job.get();
  require_ok(r);
  BOOST_TEST(r.checkpoints_completed == 3u);  // two periodic ones and the final one
  {
    std::lock_guard lock{mu};
    BOOST_TEST(completed.at(0) == "completed checkpoint 1");
    BOOST_TEST(completed.at(1) == "completed checkpoint 2");
  }
  std::filesystem::remove_all(dir);
}

BOOST_AUTO_TEST_SUITE_END()
