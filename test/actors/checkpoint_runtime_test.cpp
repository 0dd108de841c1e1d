// Checkpoints and recovery end to end: LMDB snapshots, barriers, restart
// strategies, replay, exactly-once state.
#include <boost/test/unit_test.hpp>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>
#include <thread>

#include <lmdb.h>

#include "sluice/sink/part_file.hpp"
#include "sluice/source/typed_source.hpp"
#include "sluice/state/lmdb_table.hpp"
#include "sluice/state/snapshot_store.hpp"

#include "runtime_util.hpp"

using namespace test_util;
using namespace sluice;
namespace fs = std::filesystem;

namespace {

struct state_dir {
  fs::path path;
  state_dir() {
    static int n = 0;
    path = fs::temp_directory_path() /
           ("sluice-ckpt-" + std::to_string(::getpid()) + "-" + std::to_string(n++));
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
actors::job_report run_counting(const runtime_config& cfg, uint64_t n, uint64_t fail_at,
                                std::shared_ptr<collected<kv>> out, uint32_t par) {
  auto failed = std::make_shared<std::atomic<bool>>(false);
  pipeline p{"counting"};
  p.generate(n,
             [](uint64_t i) {
               return kv{i % 10, 1};
             })
      .rate_limit(20000)
      .parallelism(par)
      .map([failed, fail_at, seen = uint64_t{0}](kv x) mutable {
        if (++seen == fail_at && !failed->exchange(true))
          throw std::runtime_error("injected failure");
        return x;
      })
      .parallelism(par)
      .key_by([](const kv& x) { return x.first; })
      .reduce(
          [](kv a, const kv& b) {
            return kv{a.first, a.second + b.second};
          },
          emit_policy::at_end())
      .parallelism(par)
      .collect(out);
  return execute(p, cfg);
}

/// Flips the last byte of every stored value of checkpoint `id`, with the raw
/// LMDB API (the store itself offers no way to damage data). Keys start with
/// the checkpoint id in big-endian order.
void damage_checkpoint(const fs::path& dir, uint64_t id) {
  MDB_env* env = nullptr;
  BOOST_REQUIRE(mdb_env_create(&env) == 0);
  mdb_env_set_maxdbs(env, 8);
  BOOST_REQUIRE(mdb_env_open(env, dir.c_str(), MDB_NOTLS, 0644) == 0);
  MDB_txn* txn = nullptr;
  BOOST_REQUIRE(mdb_txn_begin(env, nullptr, 0, &txn) == 0);
  MDB_dbi dbi;
  BOOST_REQUIRE(mdb_dbi_open(txn, "data", 0, &dbi) == 0);
  MDB_cursor* cur = nullptr;
  BOOST_REQUIRE(mdb_cursor_open(txn, dbi, &cur) == 0);
  MDB_val k, v;
  int damaged = 0;
  std::vector<std::pair<std::string, std::string>> changes;
  for (int rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
       rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
    if (k.mv_size < 8)
      continue;
    uint64_t kid = 0;
    for (int i = 0; i < 8; ++i)
      kid = (kid << 8) | static_cast<unsigned char>(static_cast<const char*>(k.mv_data)[i]);
    if (kid != id)
      continue;
    std::string val(static_cast<const char*>(v.mv_data), v.mv_size);
    val.back() = static_cast<char>(val.back() ^ 0x5a);
    changes.emplace_back(std::string(static_cast<const char*>(k.mv_data), k.mv_size),
                         std::move(val));
  }
  mdb_cursor_close(cur);
  for (auto& [key, val] : changes) {
    MDB_val kk{key.size(), key.data()}, vv{val.size(), val.data()};
    BOOST_REQUIRE(mdb_put(txn, dbi, &kk, &vv, 0) == 0);
    ++damaged;
  }
  BOOST_REQUIRE(mdb_txn_commit(txn) == 0);
  mdb_env_close(env);
  BOOST_REQUIRE(damaged > 0);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(runtime_checkpoints)

BOOST_AUTO_TEST_CASE(failure_after_a_checkpoint_restores_state_and_replays_exactly_once) {
  state_dir dir;
  auto out = std::make_shared<collected<kv>>();
  auto r = run_counting(ckpt_config(dir, 2), 6000, 2500, out, 2);
  for (auto& n : r.notes)
    BOOST_TEST_MESSAGE("note: " << n);
  require_ok(r);
  BOOST_TEST(r.restarts == 1u);
  BOOST_TEST(r.restored_from.has_value());  // state came from a checkpoint, not from scratch
  BOOST_TEST(r.checkpoints_completed > 0u);
  auto items = sorted(out->items());
  BOOST_REQUIRE(items.size() == 10u);
  for (auto& [k, c] : items)
    BOOST_TEST(c == 600u);
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

/// A source that keeps no read position: it cannot take part in checkpoints.
class forgetful_source final : public typed_source<uint64_t> {
public:
  poll_status poll(size_t max) override {
    for (size_t k = 0; k < max && i_ < 2000; ++k)
      emit(i_++);
    return i_ < 2000 ? poll_status::more : poll_status::end;
  }

private:
  uint64_t i_ = 0;
};

}  // namespace

BOOST_AUTO_TEST_CASE(a_final_checkpoint_that_cannot_complete_fails_the_job_with_the_cause) {
  // Without the final checkpoint the exactly-once sink cannot publish its
  // tail: the run must not report success (it used to wait forever).
  state_dir dir;
  auto cfg = ckpt_config(dir, 1);
  cfg.restart = "fixed-delay:attempts=1,delay=10ms";
  pipeline p{"forgetful"};
  p.add_source<uint64_t>("forgetful", [] { return std::make_unique<forgetful_source>(); })
      .map([](uint64_t x) { return std::to_string(x); })
      .write_csv_exactly_once((dir.path / "out").string());
  auto r = execute(p, cfg);
  BOOST_TEST(!r.ok);
  BOOST_TEST(r.error.find("the final checkpoint did not complete") != std::string::npos, r.error);
  BOOST_TEST(r.error.find("source 'forgetful' is not replayable") != std::string::npos, r.error);
  BOOST_TEST(r.restarts == 1u);  // the restart strategy decided, as for any failure
}

namespace {

/// Per-key state built from the typed state handles.
struct account_state {
  value_state<uint64_t> count;
  list_state<uint64_t> recent;  // last 3 values seen
  map_state<uint64_t, uint64_t> by_bucket;
};
SLUICE_FIELDS(account_state, count, recent, by_bucket)

}  // namespace

BOOST_AUTO_TEST_CASE(value_list_and_map_state_survive_a_failure_exactly) {
  state_dir dir;
  const uint64_t n = 9000;
  using out_t =
      std::tuple<uint64_t, uint64_t, uint64_t, uint64_t>;  // key, count, recent size, buckets
  auto out = std::make_shared<collected<out_t>>();
  auto failed = std::make_shared<std::atomic<bool>>(false);
  auto seen = std::make_shared<std::atomic<uint64_t>>(0);
  pipeline p{"typed_state"};
  // One source and one relay instance keep each key's records in order, so
  // a key's last record is also the last one its state sees.
  p.generate(n,
             [](uint64_t i) {
               return kv{i % 9, i};
             })
      .rate_limit(40000)
      .parallelism(1)
      .map([failed, seen](kv x) {
        if (seen->fetch_add(1) + 1 == 4000 && !failed->exchange(true))
          throw std::runtime_error("injected failure");
        return x;
      })
      .parallelism(1)
      .key_by([](const kv& x) { return x.first; })
      .process<account_state, out_t>(
          [n](const uint64_t& k, kv x, account_state& st, collector<out_t>& o) {
            st.count.update(st.count.value_or(0) + 1);
            st.recent.add(x.second);
            if (st.recent.size() > 3)
              st.recent.update({st.recent.get().end() - 3, st.recent.get().end()});
            const uint64_t b = x.second % 4;
            st.by_bucket.put(b, (st.by_bucket.get(b) ? *st.by_bucket.get(b) : 0) + 1);
            if (x.second + 9 >= n)
              o.emit({k, *st.count.get(), st.recent.size(),
                      st.by_bucket.size()});  // last record of the key
          })
      .collect(out);
  auto r = execute(p, ckpt_config(dir, 2));
  require_ok(r);
  BOOST_TEST(r.restarts == 1u);
  auto items = sorted(out->items());
  BOOST_REQUIRE(items.size() == 9u);
  for (auto& [k, count, recent, buckets] : items) {
    BOOST_TEST(count == n / 9);
    BOOST_TEST(recent == 3u);
    BOOST_TEST(buckets == 4u);
  }
}

namespace {

void numbers_in(const std::string& text, std::vector<uint64_t>& out) {
  std::istringstream in{text};
  for (std::string line; std::getline(in, line);)
    out.push_back(std::stoull(line));
}

/// Every record of the published part files (plain or .zst), sorted.
std::vector<uint64_t> read_parts(const fs::path& dir) {
  std::vector<uint64_t> out;
  for (auto& e : fs::directory_iterator(dir))
    if (e.path().filename().string().rfind("part-", 0) == 0)
      numbers_in(read_part_file(e.path().string()), out);
  std::sort(out.begin(), out.end());
  return out;
}

/// Records 0..n-1 through a map that fails once (at its 2,500th record)
/// into an exactly-once CSV directory `outdir` with `opts`; one restart.
actors::job_report run_failing_once_into(const state_dir& dir, const fs::path& outdir, uint64_t n,
                                         part_file_options opts = {}) {
  auto failed = std::make_shared<std::atomic<bool>>(false);
  pipeline p{"eo_files"};
  p.generate(n, [](uint64_t i) { return i; })
      .rate_limit(40000)
      .parallelism(2)
      .map([failed, seen = uint64_t{0}](uint64_t x) mutable {
        if (++seen == 2500 && !failed->exchange(true))
          throw std::runtime_error("injected failure");
        return x;
      })
      .parallelism(2)
      .write_csv_exactly_once(outdir.string(), std::move(opts))
      .parallelism(3);
  auto r = execute(p, ckpt_config(dir, 2));
  for (auto& note : r.notes)
    BOOST_TEST_MESSAGE("note: " << note);
  return r;
}

}  // namespace

BOOST_AUTO_TEST_CASE(exactly_once_file_sink_publishes_every_record_once_across_a_failure) {
  state_dir dir;
  const fs::path outdir = dir.path / "out";
  const uint64_t n = 8000;
  auto r = run_failing_once_into(dir, outdir, n);
  require_ok(r);
  BOOST_TEST(r.restarts == 1u);
  BOOST_TEST(r.restored_from.has_value());
  auto got = read_parts(outdir);
  std::vector<uint64_t> all(n);
  for (uint64_t i = 0; i < n; ++i)
    all[i] = i;
  BOOST_TEST(got.size() == n);
  BOOST_TEST((got == all));
  BOOST_TEST(fs::is_empty(outdir / ".pending"));  // nothing left staged or in progress
}

BOOST_AUTO_TEST_CASE(compressed_parts_and_the_publish_hook_carry_every_record_once) {
  state_dir dir;
  const fs::path outdir = dir.path / "out";
  const uint64_t n = 8000;
  // What the hook was handed, read when it was handed over (still staged).
  struct handed {
    std::mutex mtx;
    std::vector<uint64_t> records;
    std::vector<std::string> names;
  };
  auto got = std::make_shared<handed>();
  part_file_options opts;
  opts.compression = compression::zstd;
  opts.level = 5;
  opts.before_publish = [got](const std::string& staged) {
    const std::string text = read_part_file(staged);
    std::lock_guard<std::mutex> guard{got->mtx};
    numbers_in(text, got->records);
    got->names.push_back(fs::path{staged}.filename().string());
  };
  auto r = run_failing_once_into(dir, outdir, n, opts);
  require_ok(r);
  BOOST_TEST(r.restarts == 1u);
  std::vector<uint64_t> all(n);
  for (uint64_t i = 0; i < n; ++i)
    all[i] = i;
  BOOST_TEST((read_parts(outdir) == all));
  size_t parts = 0;
  for (auto& e : fs::directory_iterator(outdir)) {
    if (!e.is_regular_file())
      continue;
    ++parts;
    const std::string name = e.path().filename().string();
    BOOST_TEST(name.size() > 4);
    BOOST_TEST(name.substr(name.size() - 4) == ".zst");
    std::ifstream in{e.path(), std::ios::binary};
    unsigned char magic[4] = {};
    in.read(reinterpret_cast<char*>(magic), 4);
    BOOST_TEST((magic[0] == 0x28 && magic[1] == 0xb5 && magic[2] == 0x2f && magic[3] == 0xfd));
  }
  // The failure was an exception, not a crash between hand-over and
  // publication: every part was handed over exactly once, before it was published.
  std::lock_guard<std::mutex> guard{got->mtx};
  std::sort(got->records.begin(), got->records.end());
  BOOST_TEST((got->records == all));
  BOOST_TEST(got->names.size() == parts);
}

BOOST_AUTO_TEST_CASE(a_damaged_compressed_part_is_an_error_naming_the_file) {
  state_dir dir;
  fs::create_directories(dir.path);
  const std::string f = (dir.path / "part-0-000000000001.zst").string();
  part_writer w;
  w.open(f, compression::zstd, 3);
  w.append("1\n2\n3\n");
  w.finish();
  BOOST_TEST(read_part_file(f) == "1\n2\n3\n");
  fs::resize_file(f, fs::file_size(f) - 3);
  try {
    read_part_file(f);
    BOOST_FAIL("a truncated frame was read");
  } catch (const std::runtime_error& e) {
    BOOST_TEST(std::string{e.what()}.find(f) != std::string::npos);
  }
}

BOOST_AUTO_TEST_CASE(exactly_once_file_sink_without_checkpoints_publishes_at_close) {
  state_dir dir;
  fs::create_directories(dir.path);
  pipeline p{"eo_plain"};
  p.generate(1000, [](uint64_t i) { return i; })
      .write_csv_exactly_once((dir.path / "out").string())
      .parallelism(2);
  require_ok(execute(p, config(2)));
  BOOST_TEST(read_parts(dir.path / "out").size() == 1000u);
  BOOST_TEST(fs::exists(dir.path / "out" / "part-0-final"));
}

namespace {

/// Counts per key with a keyed window and a reduce; faults come from rules.
std::pair<actors::job_report, std::map<uint64_t, uint64_t>> run_with_faults(const state_dir& dir,
                                                                            std::string faults,
                                                                            std::string restart,
                                                                            uint64_t n) {
  auto out = std::make_shared<collected<kv>>();
  pipeline p{"faulty"};
  p.generate(n,
             [](uint64_t i) {
               return kv{i % 13, 1};
             })
      .rate_limit(40000)
      .parallelism(2)
      .map([](kv x) { return x; })
      .name("relay")
      .parallelism(3)
      .key_by([](const kv& x) { return x.first; })
      .reduce(
          [](kv a, const kv& b) {
            return kv{a.first, a.second + b.second};
          },
          emit_policy::at_end())
      .name("count")
      .parallelism(2)
      .collect(out);
  auto cfg = ckpt_config(dir, 2);
  cfg.faults = std::move(faults);
  cfg.restart = std::move(restart);
  auto r = execute(p, cfg);
  auto items = out->items();
  return {r, std::map<uint64_t, uint64_t>(items.begin(), items.end())};
}

std::map<uint64_t, uint64_t> expected_counts(uint64_t n) {
  std::map<uint64_t, uint64_t> m;
  for (uint64_t i = 0; i < n; ++i)
    ++m[i % 13];
  return m;
}

}  // namespace

BOOST_AUTO_TEST_CASE(injected_fault_at_a_record_of_one_instance_recovers_exactly_once) {
  state_dir dir;
  auto [r, got] = run_with_faults(dir, "throw:operator=count,instance=1,record=1500",
                                  "fixed-delay:attempts=2,delay=5ms", 8000);
  for (auto& note : r.notes)
    BOOST_TEST_MESSAGE("note: " << note);
  require_ok(r);
  BOOST_TEST(r.restarts == 1u);
  BOOST_REQUIRE(r.failures.size() == 1u);
  BOOST_TEST(r.failures[0].find("injected fault at record 1500 of count instance 1") !=
             std::string::npos);
  BOOST_TEST((got == expected_counts(8000)));
}

BOOST_AUTO_TEST_CASE(random_faults_in_every_operator_still_give_exact_results) {
  for (uint64_t seed : {1u, 2u, 3u}) {
    state_dir dir;
    auto [r, got] = run_with_faults(dir, "throw:probability=0.01,seed=" + std::to_string(seed),
                                    "failure-rate:max=100,interval=1m,delay=1ms", 8000);
    BOOST_TEST_MESSAGE("seed " << seed << ": " << r.restarts << " restarts, "
                               << r.checkpoints_completed << " checkpoints");
    require_ok(r);
    BOOST_TEST(r.restarts > 0u);
    BOOST_TEST((got == expected_counts(8000)));
  }
}

BOOST_AUTO_TEST_CASE(repeated_failures_exhaust_the_restart_strategy) {
  state_dir dir;
  auto [r, got] = run_with_faults(dir, "throw:operator=relay,probability=1",
                                  "fixed-delay:attempts=2,delay=1ms", 4000);
  BOOST_TEST(!r.ok);
  BOOST_TEST(r.restarts == 2u);
  BOOST_TEST(r.failures.size() == 3u);
  BOOST_TEST_MESSAGE(r.error);
  BOOST_TEST(r.error.find("after 2 restarts") != std::string::npos);
  BOOST_TEST(r.error.find("injected random fault in relay") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(lmdb_table_sink_holds_exact_final_values_across_a_failure) {
  state_dir dir;
  const fs::path table_dir = dir.path / "table";
  const uint64_t n = 8000;
  auto failed = std::make_shared<std::atomic<bool>>(false);
  pipeline p{"table"};
  p.generate(n,
             [](uint64_t i) {
               return kv{i % 50, 1};
             })
      .rate_limit(40000)
      .key_by([](const kv& x) { return x.first; })
      .reduce([](kv a, const kv& b) {
        return kv{a.first, a.second + b.second};
      })  // continuous
      .map([failed, seen = std::make_shared<std::atomic<uint64_t>>(0)](kv x) {
        if (seen->fetch_add(1) + 1 == 5000 && !failed->exchange(true))
          throw std::runtime_error("injected failure");
        return x;
      })
      .write_lmdb_table(
          table_dir.string(), [](const kv& x) { return x.first; },
          [](const kv& x) { return x.second; })
      .parallelism(2);
  auto r = execute(p, ckpt_config(dir, 2));
  require_ok(r);
  BOOST_TEST(r.restarts == 1u);
  auto table = state::lmdb_table::open(table_dir.string());
  BOOST_REQUIRE(table.ok());
  auto rows = table.value()->scan();
  BOOST_REQUIRE(rows.ok());
  // Exactly the keys 0..49, each with its final count.
  std::vector<uint64_t> keys, all_keys;
  for (auto& [k, v] : rows.value()) {
    keys.push_back(state::from_bytes<uint64_t>(k));
    BOOST_TEST(state::from_bytes<uint64_t>(v) == n / 50, "value of key " << keys.back());
  }
  for (uint64_t key = 0; key < 50; ++key)
    all_keys.push_back(key);
  BOOST_TEST(sorted(keys) == all_keys, boost::test_tools::per_element());
  auto c0 = table.value()->committed(0);
  BOOST_REQUIRE(c0.ok());
  BOOST_TEST(c0.value() > 0u);  // written at checkpoint completion
}

namespace {

/// A source whose first poll takes a while (a slow external system): its
/// barrier for the first checkpoint comes late, after one record.
class slow_start_source final : public typed_source<kv> {
public:
  poll_status poll(size_t) override {
    if (next_ == 0)
      std::this_thread::sleep_for(std::chrono::milliseconds(300));
    if (next_ >= 20)
      return poll_status::end;
    emit(kv{next_ % 5, 1000});
    ++next_;
    return next_ >= 20 ? poll_status::end : poll_status::more;
  }

protected:
  void snapshot_position(state::writer& w) override { state::encode(w, next_); }
  void restore_position(state::reader& r) override { state::decode(r, next_); }

private:
  uint64_t next_ = 0;
};

}  // namespace

BOOST_AUTO_TEST_CASE(failure_while_aligning_a_barrier_recovers_exactly) {
  // Input 0 delivers the first checkpoint's barrier quickly and is held back;
  // input 1's first record arrives before its barrier, and processing it
  // fails: the task fails in the middle of an alignment.
  state_dir dir;
  auto failed = std::make_shared<std::atomic<bool>>(false);
  auto out = std::make_shared<collected<kv>>();
  pipeline p{"align_failure"};
  auto fast = p.generate(4000,
                         [](uint64_t i) {
                           return kv{i % 5, 1};
                         })
                  .rate_limit(20000)
                  .parallelism(1);
  auto slow = p.add_source<kv>("slow", [] { return std::make_unique<slow_start_source>(); });
  fast.key_by([](const kv& x) { return x.first; })
      .connect(slow.key_by([](const kv& x) { return x.first; }))
      .process<uint64_t, kv>(
          [](const uint64_t& k, kv x, uint64_t& sum, collector<kv>& o) {
            sum += x.second;
            o.emit({k, sum});
          },
          [failed](const uint64_t& k, kv x, uint64_t& sum, collector<kv>& o) {
            if (!failed->exchange(true))
              throw std::runtime_error("failure during alignment");
            sum += x.second;
            o.emit({k, sum});
          })
      .name("join")
      .parallelism(1)
      // The final sum per key is the largest one emitted.
      .key_by([](const kv& x) { return x.first; })
      .reduce(
          [](kv a, const kv& b) {
            return kv{a.first, std::max(a.second, b.second)};
          },
          emit_policy::at_end())
      .collect(out);
  auto r = execute(p, ckpt_config(dir, 1));
  for (auto& f : r.failures)
    BOOST_TEST_MESSAGE("failure: " << f);
  require_ok(r);
  BOOST_REQUIRE(r.failures.size() == 1u);
  BOOST_TEST(r.failures[0].find("while aligning checkpoint") != std::string::npos);
  BOOST_TEST(r.restarts == 1u);
  auto items = sorted(out->items());
  BOOST_REQUIRE(items.size() == 5u);
  for (auto& [k, sum] : items)
    BOOST_TEST(sum == 4000u / 5u + 4u * 1000u);  // each record counted once
}

BOOST_AUTO_TEST_CASE(savepoint_restores_with_other_parallelism_2_4_1) {
  // Stop with a savepoint at parallelism 2, resume at 4 and stop again, then
  // finish at 1: keyed state is redistributed by key group each time, the
  // source's split positions too (its parallelism goes 1 -> 3 -> 1), and the
  // final counts are exact.
  state_dir dir;
  const uint64_t n = 9000;
  auto run = [&](uint32_t par, std::optional<uint64_t> from, bool stop) {
    auto out = std::make_shared<collected<kv>>();
    pipeline p{"rescale"};
    p.generate(n,
               [](uint64_t i) {
                 return kv{i % 37, 1};
               })
        .rate_limit(30000)
        .parallelism(std::max(1u, par - 1))
        .key_by([](const kv& x) { return x.first; })
        .reduce(
            [](kv a, const kv& b) {
              return kv{a.first, a.second + b.second};
            },
            emit_policy::at_end())
        .parallelism(par)
        .collect(out);
    auto cfg = ckpt_config(dir, par);
    cfg.checkpoints.interval = std::chrono::milliseconds(0);  // savepoints only
    cfg.restore_from = from;
    if (stop)
      cfg.stop_with_savepoint_after = std::chrono::milliseconds(80);
    auto r = execute(p, cfg);
    require_ok(r);
    return std::pair{r, out->items()};
  };
  auto [r1, out1] = run(2, std::nullopt, true);
  BOOST_REQUIRE(r1.savepoint.has_value());
  BOOST_TEST(out1.empty());  // stopped before the end: nothing emitted yet
  auto [r2, out2] = run(4, r1.savepoint, true);
  BOOST_REQUIRE(r2.savepoint.has_value());
  BOOST_TEST(*r2.savepoint > *r1.savepoint);
  BOOST_TEST((r2.restored_from == r1.savepoint));
  auto [r3, out3] = run(1, r2.savepoint, false);
  BOOST_TEST((r3.restored_from == r2.savepoint));
  std::map<uint64_t, uint64_t> expected;
  for (uint64_t i = 0; i < n; ++i)
    ++expected[i % 37];
  std::map<uint64_t, uint64_t> got(out3.begin(), out3.end());
  BOOST_TEST(out3.size() == 37u);
  BOOST_TEST((got == expected));
}

BOOST_AUTO_TEST_CASE(savepoint_on_request_while_running_and_stop_with_savepoint_on_request) {
  state_dir dir;
  const uint64_t n = 12000;
  auto run_async = [&](std::optional<uint64_t> from, bool stop) {
    auto out = std::make_shared<collected<kv>>();
    pipeline p{"on_request"};
    p.generate(n,
               [](uint64_t i) {
                 return kv{i % 7, 1};
               })
        .rate_limit(30000)
        .key_by([](const kv& x) { return x.first; })
        .reduce(
            [](kv a, const kv& b) {
              return kv{a.first, a.second + b.second};
            },
            emit_policy::at_end())
        .collect(out);
    auto cfg = ckpt_config(dir, 2);
    cfg.restore_from = from;
    actors::job_report r;
    std::thread job{[&] {
      r = execute(p, cfg);
    }};
    std::this_thread::sleep_for(std::chrono::milliseconds(100));  // the job is running
    actors::request_savepoint(stop);
    job.join();
    return std::pair{r, out->items()};
  };
  // 1. A savepoint while running: the job goes on to the end.
  auto [r1, out1] = run_async(std::nullopt, false);
  require_ok(r1);
  BOOST_REQUIRE(r1.savepoint.has_value());
  BOOST_TEST(out1.size() == 7u);
  // 2. From that savepoint, a new run stopped with a savepoint on request...
  auto [r2, out2] = run_async(r1.savepoint, true);
  require_ok(r2);
  BOOST_REQUIRE(r2.savepoint.has_value());
  BOOST_TEST(out2.empty());  // stopped before the end
  // ...and resumed from it to the end: exact counts.
  auto out3 = std::make_shared<collected<kv>>();
  pipeline p{"on_request"};
  p.generate(n,
             [](uint64_t i) {
               return kv{i % 7, 1};
             })
      .key_by([](const kv& x) { return x.first; })
      .reduce(
          [](kv a, const kv& b) {
            return kv{a.first, a.second + b.second};
          },
          emit_policy::at_end())
      .collect(out3);
  auto cfg = ckpt_config(dir, 2);
  cfg.restore_from = r2.savepoint;
  require_ok(execute(p, cfg));
  std::map<uint64_t, uint64_t> got;
  for (auto& [k, c] : out3->items())
    got[k] = c;
  BOOST_TEST(got.size() == 7u);
  for (auto& [k, c] : got)
    BOOST_TEST(c == (n - k + 6) / 7);
}

BOOST_AUTO_TEST_CASE(damaged_latest_checkpoint_falls_back_to_the_previous_one) {
  // Resume after a "crash" whose latest checkpoint is damaged on disk: the
  // store skips it with a reason and the job resumes from the one before.
  state_dir dir;
  const uint64_t n = 6000;
  auto job = [&](std::optional<uint64_t> stop_after_ms) {
    auto out = std::make_shared<collected<kv>>();
    pipeline p{"fallback"};
    p.generate(n,
               [](uint64_t i) {
                 return kv{i % 5, 1};
               })
        .rate_limit(20000)
        .key_by([](const kv& x) { return x.first; })
        .reduce(
            [](kv a, const kv& b) {
              return kv{a.first, a.second + b.second};
            },
            emit_policy::at_end())
        .collect(out);
    auto cfg = ckpt_config(dir, 1);
    cfg.checkpoints.retained = 3;
    if (stop_after_ms)
      cfg.timeout = std::chrono::milliseconds(*stop_after_ms);  // "crash": stopped mid-run
    return std::pair{execute(p, cfg), out->items()};
  };
  auto [r1, out1] = job(150);
  BOOST_REQUIRE(!r1.ok);  // stopped by its timeout, not finished: the next run resumes
  BOOST_REQUIRE(r1.last_checkpoint.has_value());
  uint64_t newest = 0;
  {
    auto store = state::snapshot_store::open(dir.path.string());
    BOOST_REQUIRE(store.ok());
    auto all = store.value()->completed();
    BOOST_REQUIRE(all.ok());
    BOOST_REQUIRE(all.value().size() >= 2u);
    newest = all.value().back().id.value;
  }
  BOOST_TEST_MESSAGE("damaging checkpoint " << newest);
  damage_checkpoint(dir.path, newest);
  auto [r2, out2] = job(std::nullopt);
  for (auto& note : r2.notes)
    BOOST_TEST_MESSAGE("note: " << note);
  require_ok(r2);
  BOOST_REQUIRE(r2.restored_from.has_value());
  BOOST_TEST(*r2.restored_from < newest);
  bool reported = false;
  for (auto& note : r2.notes)
    reported = reported || note.find("skipped damaged checkpoint " + std::to_string(newest)) !=
                               std::string::npos;
  BOOST_TEST(reported);
  std::map<uint64_t, uint64_t> got(out2.begin(), out2.end());
  for (uint64_t k = 0; k < 5; ++k)
    BOOST_TEST(got[k] == n / 5);
}

BOOST_AUTO_TEST_SUITE_END()
