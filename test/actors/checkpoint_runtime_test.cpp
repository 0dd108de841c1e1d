// Checkpoints and recovery end to end: LMDB snapshots, barriers, restart
// strategies, replay, exactly-once state.
#include <boost/test/unit_test.hpp>

#include <atomic>
#include <filesystem>
#include <fstream>

#include "runtime_util.hpp"

using namespace test_util;
using namespace sluice;
namespace fs = std::filesystem;

namespace {

struct state_dir {
  fs::path path;
  state_dir() {
    static int n = 0;
    path = fs::temp_directory_path() / ("sluice-ckpt-" + std::to_string(::getpid()) + "-" + std::to_string(n++));
    fs::remove_all(path);
  }
  ~state_dir() { fs::remove_all(path); }
};

runtime_config ckpt_config(const state_dir& dir, uint32_t par) {
  auto cfg = config(par);
  cfg.state_dir = dir.path.string();
  cfg.checkpoints.interval = std::chrono::milliseconds(20);
  cfg.restart = "fixed-delay:attempts=3,delay=10ms";
  cfg.timeout = std::chrono::seconds(15);
  return cfg;
}

using kv = std::pair<uint64_t, uint64_t>;

/// Counts per key over `n` records, failing once at record `fail_at` (after
/// `min_checkpoints` checkpoints), emitting final counts at the end.
actors::job_report run_counting(const runtime_config& cfg, uint64_t n, uint64_t fail_at, std::shared_ptr<collected<kv>> out,
                        uint32_t par) {
  auto failed = std::make_shared<std::atomic<bool>>(false);
  pipeline p{"counting"};
  p.generate(n, [](uint64_t i) { return kv{i % 10, 1}; })
      .rate_limit(20000)
      .parallelism(par)
      .map([failed, fail_at, seen = uint64_t{0}](kv x) mutable {
        if (++seen == fail_at && !failed->exchange(true)) throw std::runtime_error("injected failure");
        return x;
      })
      .parallelism(par)
      .key_by([](const kv& x) { return x.first; })
      .reduce([](kv a, const kv& b) { return kv{a.first, a.second + b.second}; }, emit_policy::at_end())
      .parallelism(par)
      .collect(out);
  return execute(p, cfg);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(runtime_checkpoints)

BOOST_AUTO_TEST_CASE(failure_after_a_checkpoint_restores_state_and_replays_exactly_once) {
  state_dir dir;
  auto out = std::make_shared<collected<kv>>();
  auto r = run_counting(ckpt_config(dir, 2), 6000, 2500, out, 2);
  for (auto& n : r.notes) BOOST_TEST_MESSAGE("note: " << n);
  require_ok(r);
  BOOST_TEST(r.restarts == 1u);
  BOOST_TEST(r.restored_from.has_value());  // state came from a checkpoint, not from scratch
  BOOST_TEST(r.checkpoints_completed > 0u);
  auto items = sorted(out->items());
  BOOST_REQUIRE(items.size() == 10u);
  for (auto& [k, c] : items) BOOST_TEST(c == 600u);
}

BOOST_AUTO_TEST_CASE(without_restarts_the_failure_fails_the_job) {
  state_dir dir;
  auto cfg = ckpt_config(dir, 1);
  cfg.restart = "none";
  auto out = std::make_shared<collected<kv>>();
  auto r = run_counting(cfg, 3000, 1000, out, 1);
  BOOST_TEST(!r.ok);
  BOOST_TEST(r.error.find("injected failure") != std::string::npos);
}

namespace {

std::vector<uint64_t> read_parts(const fs::path& dir) {
  std::vector<uint64_t> out;
  for (auto& e : fs::directory_iterator(dir)) {
    if (e.path().filename().string().rfind("part-", 0) != 0) continue;
    std::ifstream in(e.path());
    std::string line;
    while (std::getline(in, line)) out.push_back(std::stoull(line));
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

BOOST_AUTO_TEST_CASE(exactly_once_file_sink_publishes_every_record_once_across_a_failure) {
  state_dir dir;
  const fs::path outdir = dir.path / "out";
  const uint64_t n = 8000;
  auto failed = std::make_shared<std::atomic<bool>>(false);
  pipeline p{"eo_files"};
  p.generate(n, [](uint64_t i) { return i; })
      .rate_limit(40000)
      .parallelism(2)
      .map([failed, seen = uint64_t{0}](uint64_t x) mutable {
        if (++seen == 2500 && !failed->exchange(true)) throw std::runtime_error("injected failure");
        return x;
      })
      .parallelism(2)
      .write_csv_exactly_once(outdir.string())
      .parallelism(3);
  auto cfg = ckpt_config(dir, 2);
  auto r = execute(p, cfg);
  for (auto& note : r.notes) BOOST_TEST_MESSAGE("note: " << note);
  require_ok(r);
  BOOST_TEST(r.restarts == 1u);
  BOOST_TEST(r.restored_from.has_value());
  auto got = read_parts(outdir);
  std::vector<uint64_t> all(n);
  for (uint64_t i = 0; i < n; ++i) all[i] = i;
  BOOST_TEST(got.size() == n);
  BOOST_TEST((got == all));
  BOOST_TEST(fs::is_empty(outdir / ".pending"));  // nothing left staged or in progress
}

BOOST_AUTO_TEST_CASE(exactly_once_file_sink_without_checkpoints_publishes_at_close) {
  state_dir dir;
  fs::create_directories(dir.path);
  pipeline p{"eo_plain"};
  p.generate(1000, [](uint64_t i) { return i; }).write_csv_exactly_once((dir.path / "out").string()).parallelism(2);
  require_ok(execute(p, config(2)));
  BOOST_TEST(read_parts(dir.path / "out").size() == 1000u);
  BOOST_TEST(fs::exists(dir.path / "out" / "part-0-final"));
}

BOOST_AUTO_TEST_SUITE_END()
