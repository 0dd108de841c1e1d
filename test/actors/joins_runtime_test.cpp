// Broadcast state, window joins and temporal joins on the actor runtime: at
// parallelism 1 and more, through an injected failure and through a savepoint
// restored at another parallelism, exactly-once sinks hold exactly the
// brute-force reference.
#include <boost/test/unit_test.hpp>

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "runtime_util.hpp"

using namespace test_util;
using namespace sluice;
namespace fs = std::filesystem;

namespace {

constexpr int64_t disorder = 40;

struct txn {
  int64_t account = 0;
  int64_t amount = 0;
  int64_t ts = 0;
};
SLUICE_FIELDS(txn, account, amount, ts)

struct threshold {
  int64_t value = 0;
  int64_t ts = 0;
};
SLUICE_FIELDS(threshold, value, ts)

/// `n` transactions of `accounts` accounts at about one per ms, in arrival
/// order (out of time order by less than `disorder`), and a risk threshold
/// changed every ~200 ms.
std::pair<std::vector<txn>, std::vector<threshold>> data(uint32_t seed, int accounts, int n) {
  std::mt19937_64 rng{seed};
  std::vector<std::pair<int64_t, txn>> v;
  std::vector<threshold> rules{{500, 0}};
  for (int64_t i = 1; i <= n; ++i) {
    v.push_back({i + static_cast<int64_t>(rng() % disorder),
                 {static_cast<int64_t>(rng() % accounts), static_cast<int64_t>(rng() % 1000), i}});
    if (i % 200 == 0)
      rules.push_back({200 + static_cast<int64_t>(rng() % 700), i});
  }
  std::sort(v.begin(), v.end(), [](auto& a, auto& b) { return a.first < b.first; });
  std::vector<txn> out;
  for (auto& [_, x] : v)
    out.push_back(x);
  return {out, rules};
}

std::vector<std::string> read_lines(const fs::path& dir) {
  std::vector<std::string> out;
  if (!fs::exists(dir))
    return out;
  for (auto& e : fs::directory_iterator(dir)) {
    if (e.path().filename().string().rfind("part-", 0) != 0)
      continue;
    std::ifstream in(e.path());
    std::string line;
    while (std::getline(in, line))
      out.push_back(line);
  }
  std::sort(out.begin(), out.end());
  return out;
}

/// A fresh directory, removed at the end.
struct temp_dir {
  fs::path path;
  explicit temp_dir(const std::string& name)
      : path(fs::temp_directory_path() /
             ("sluice-joins-" + name + "-" + std::to_string(::getpid()))) {
    fs::remove_all(path);
  }
  ~temp_dir() { fs::remove_all(path); }
};

/// Throws once, at the `at`-th record one instance sees.
auto fail_once(uint64_t at) {
  auto failed = std::make_shared<std::atomic<bool>>(false);
  return [failed, at, seen = uint64_t{0}](auto x) mutable {
    if (++seen == at && !failed->exchange(true))
      throw std::runtime_error("injected failure");
    return x;
  };
}

runtime_config job_config(uint32_t par, const fs::path& dir) {
  auto cfg = config(par);
  cfg.state_dir = (dir / "state").string();
  cfg.checkpoints.interval = std::chrono::milliseconds(20);
  cfg.restart = "fixed-delay:attempts=3,delay=10ms";
  return cfg;
}

// -- broadcast state: a risk threshold changed while the job runs --------------

std::vector<std::string> flagged_reference(const std::vector<txn>& txns,
                                           const std::vector<threshold>& rules) {
  std::vector<txn> by_time = txns;
  std::sort(by_time.begin(), by_time.end(), [](auto& a, auto& b) { return a.ts < b.ts; });
  std::vector<std::string> out;
  size_t r = 0;
  int64_t limit = 0;
  for (auto& t : by_time) {
    while (r < rules.size() && rules[r].ts <= t.ts)
      limit = rules[r++].value;
    if (t.amount > limit)
      out.push_back(std::to_string(t.account) + ":" + std::to_string(t.ts) + ":" +
                    std::to_string(limit));
  }
  std::sort(out.begin(), out.end());
  return out;
}

void risk_pipeline(pipeline& p, const std::vector<txn>& txns, const std::vector<threshold>& rules,
                   uint32_t par, uint64_t fail_at, const fs::path& out) {
  auto tx = p.from_collection(txns)
                .with_watermarks(watermark_strategy<txn>::bounded(
                    duration{disorder}, [](const txn& t) { return timestamp{t.ts}; }))
                .rate_limit(20000)
                .map(fail_once(fail_at))
                .parallelism(par);
  auto limits = p.from_collection(rules)
                    .with_watermarks(watermark_strategy<threshold>::bounded(
                        duration{0}, [](const threshold& t) { return timestamp{t.ts}; }))
                    .rate_limit(100);
  tx.key_by([](const txn& t) { return t.account; })
      .connect_broadcast(limits, broadcast_order::event_time)
      .process(
          [](const int64_t& account, txn t, int64_t& seen, const int64_t& limit,
             collector<std::string>& o) {
            ++seen;
            if (t.amount > limit)
              o.emit(std::to_string(account) + ":" + std::to_string(t.ts) + ":" +
                     std::to_string(limit));
          },
          [](const threshold& r, int64_t& limit) { limit = r.value; })
      .name("risk")
      .parallelism(par)
      .write_csv_exactly_once(out.string())
      .parallelism(par);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(runtime_broadcast)

BOOST_AUTO_TEST_CASE(a_threshold_change_applies_to_all_keys_from_its_time_through_a_failure) {
  const auto d = data(21, 40, 4000);
  const auto& txns = d.first;
  const auto& rules = d.second;
  const auto expected = flagged_reference(txns, rules);
  BOOST_TEST_REQUIRE(expected.size() > 1000u);
  for (uint32_t par : {1u, 4u}) {
    BOOST_TEST_CONTEXT("parallelism " << par) {
      temp_dir dir{"risk-" + std::to_string(par)};
      pipeline p{"risk"};
      risk_pipeline(p, txns, rules, par, 2000 / par, dir.path / "out");
      auto r = execute(p, job_config(par, dir.path));
      require_ok(r);
      BOOST_TEST(r.restarts == 1u);
      BOOST_TEST((read_lines(dir.path / "out") == expected));
    }
  }
}

BOOST_AUTO_TEST_CASE(broadcast_state_survives_a_savepoint_restored_at_another_parallelism) {
  const auto d = data(22, 40, 6000);
  const auto& txns = d.first;
  const auto& rules = d.second;
  const auto expected = flagged_reference(txns, rules);
  temp_dir dir{"risk-rescale"};
  auto run = [&](uint32_t par, std::optional<uint64_t> from, bool stop) {
    pipeline p{"risk"};
    risk_pipeline(p, txns, rules, par, 0, dir.path / "out");
    auto cfg = job_config(par, dir.path);
    cfg.checkpoints.interval = std::chrono::milliseconds(0);  // savepoints only
    cfg.restore_from = from;
    if (stop)
      cfg.stop_with_savepoint_after = std::chrono::milliseconds(100);
    auto r = execute(p, cfg);
    require_ok(r);
    return r;
  };
  auto r1 = run(2, std::nullopt, true);
  BOOST_REQUIRE(r1.savepoint.has_value());
  auto r2 = run(3, r1.savepoint, false);
  BOOST_TEST((r2.restored_from == r1.savepoint));
  for (auto* r : {&r1, &r2})
    for (auto& m : r->metrics)
      BOOST_TEST_MESSAGE(m.name << " in " << m.records_in << " out " << m.records_out
                                << " unconsumed " << m.unconsumed);
  const auto got = read_lines(dir.path / "out");
  std::vector<std::string> missing, extra;
  std::set_difference(expected.begin(), expected.end(), got.begin(), got.end(),
                      std::back_inserter(missing));
  std::set_difference(got.begin(), got.end(), expected.begin(), expected.end(),
                      std::back_inserter(extra));
  BOOST_TEST_INFO("missing " << missing.size() << " (first " << (missing.empty() ? "" : missing[0])
                             << "), extra " << extra.size() << " (first "
                             << (extra.empty() ? "" : extra[0]) << ")");
  BOOST_TEST((got == expected));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(runtime_window_join)

BOOST_AUTO_TEST_CASE(window_join_is_exact_through_a_failure) {
  // Transactions joined with the card events of the same account in the
  // same 50 ms tumbling window, at parallelism 1 and 3.
  const auto txns = data(23, 30, 3000).first;
  std::vector<txn> cards;
  {
    std::mt19937_64 rng{24};
    for (size_t i = 0; i < txns.size(); i += 3)
      cards.push_back({static_cast<int64_t>(rng() % 30), 0, txns[i].ts});
  }
  std::vector<std::string> expected;
  for (auto& a : txns)
    for (auto& b : cards)
      if (a.account == b.account && a.ts / 50 == b.ts / 50)
        expected.push_back(std::to_string(a.account) + ":" + std::to_string(a.ts) + ":" +
                           std::to_string(b.ts));
  std::sort(expected.begin(), expected.end());
  BOOST_TEST_REQUIRE(expected.size() > 300u);
  for (uint32_t par : {1u, 3u}) {
    BOOST_TEST_CONTEXT("parallelism " << par) {
      temp_dir dir{"wjoin-" + std::to_string(par)};
      pipeline p{"window_join"};
      auto by_ts = [](const txn& t) {
        return timestamp{t.ts};
      };
      auto left = p.from_collection(txns)
                      .with_watermarks(watermark_strategy<txn>::bounded(duration{disorder}, by_ts))
                      .rate_limit(20000)
                      .map(fail_once(1500 / par))
                      .parallelism(par);
      auto right = p.from_collection(cards).with_watermarks(
          watermark_strategy<txn>::bounded(duration{disorder}, by_ts));
      auto account = [](const txn& t) {
        return t.account;
      };
      left.join(right)
          .where(account)
          .equal_to(account)
          .window(window::tumbling::of(duration{50}))
          .apply([](const txn& a, const txn& b) {
            return std::to_string(a.account) + ":" + std::to_string(a.ts) + ":" +
                   std::to_string(b.ts);
          })
          .name("tx-card")
          .parallelism(par)
          .write_csv_exactly_once((dir.path / "out").string())
          .parallelism(par);
      auto r = execute(p, job_config(par, dir.path));
      require_ok(r);
      BOOST_TEST(r.restarts == 1u);
      BOOST_TEST((read_lines(dir.path / "out") == expected));
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()

namespace {

/// Each transaction with its account's risk class valid at its time, from a
/// changelog of class changes (upserts and deletes): rows are (account,
/// level in `amount`, time).
std::vector<change<txn>> class_changes(uint32_t seed, int accounts, int64_t until) {
  std::vector<change<txn>> changes;
  std::mt19937_64 rng{seed};
  for (int64_t t = 0; t < until; t += 7) {
    txn row{static_cast<int64_t>(rng() % accounts), static_cast<int64_t>(rng() % 5), t};
    changes.push_back(rng() % 6 == 0 ? change<txn>::erase(row) : change<txn>::upsert(row));
  }
  return changes;
}

std::vector<std::string> classes_reference(const std::vector<txn>& txns,
                                           const std::vector<change<txn>>& changes) {
  std::vector<std::string> expected;
  for (auto& a : txns) {
    const change<txn>* best = nullptr;
    for (auto& c : changes)
      if (c.value.account == a.account && c.value.ts <= a.ts)
        best = &c;  // changes are in time order
    const std::string level =
        best && !best->is_erase() ? std::to_string(best->value.amount) : "none";
    expected.push_back(std::to_string(a.account) + ":" + std::to_string(a.ts) + ":" + level);
  }
  std::sort(expected.begin(), expected.end());
  return expected;
}

void classes_pipeline(pipeline& p, const std::vector<txn>& txns,
                      const std::vector<change<txn>>& changes, uint32_t par, uint64_t fail_at,
                      const fs::path& out) {
  auto left = p.from_collection(txns)
                  .with_watermarks(watermark_strategy<txn>::bounded(
                      duration{disorder}, [](const txn& t) { return timestamp{t.ts}; }))
                  .rate_limit(20000)
                  .map(fail_once(fail_at))
                  .parallelism(par);
  auto table = p.from_collection(changes).with_watermarks(watermark_strategy<change<txn>>::bounded(
      duration{0}, [](const change<txn>& c) { return timestamp{c.value.ts}; }));
  left.key_by([](const txn& t) { return t.account; })
      .temporal_join(table.key_by([](const change<txn>& c) { return c.value.account; }))
      .process([](const txn& a, const txn* row, collector<std::string>& o) {
        o.emit(std::to_string(a.account) + ":" + std::to_string(a.ts) + ":" +
               (row ? std::to_string(row->amount) : "none"));
      })
      .name("tx-class")
      .parallelism(par)
      .write_csv_exactly_once(out.string())
      .parallelism(par);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(runtime_temporal_join)

BOOST_AUTO_TEST_CASE(temporal_join_is_exact_through_a_failure) {
  const auto txns = data(25, 30, 3000).first;
  const auto changes = class_changes(26, 30, 3000);
  const auto expected = classes_reference(txns, changes);
  for (uint32_t par : {1u, 3u}) {
    BOOST_TEST_CONTEXT("parallelism " << par) {
      temp_dir dir{"tjoin-" + std::to_string(par)};
      pipeline p{"temporal_join"};
      classes_pipeline(p, txns, changes, par, 1500 / par, dir.path / "out");
      auto r = execute(p, job_config(par, dir.path));
      require_ok(r);
      BOOST_TEST(r.restarts == 1u);
      BOOST_TEST((read_lines(dir.path / "out") == expected));
    }
  }
}

BOOST_AUTO_TEST_CASE(temporal_join_state_survives_a_savepoint_restored_at_another_parallelism) {
  // Waiting records and row versions move with their key groups: 2 -> 3.
  const auto txns = data(27, 30, 6000).first;
  const auto changes = class_changes(28, 30, 6000);
  const auto expected = classes_reference(txns, changes);
  temp_dir dir{"tjoin-rescale"};
  auto run = [&](uint32_t par, std::optional<uint64_t> from, bool stop) {
    pipeline p{"temporal_join"};
    classes_pipeline(p, txns, changes, par, 0, dir.path / "out");
    auto cfg = job_config(par, dir.path);
    cfg.checkpoints.interval = std::chrono::milliseconds(0);  // savepoints only
    cfg.restore_from = from;
    if (stop)
      cfg.stop_with_savepoint_after = std::chrono::milliseconds(100);
    auto r = execute(p, cfg);
    require_ok(r);
    return r;
  };
  auto r1 = run(2, std::nullopt, true);
  BOOST_REQUIRE(r1.savepoint.has_value());
  auto r2 = run(3, r1.savepoint, false);
  BOOST_TEST((r2.restored_from == r1.savepoint));
  for (auto* r : {&r1, &r2})
    for (auto& m : r->metrics)
      BOOST_TEST_MESSAGE(m.name << " in " << m.records_in << " out " << m.records_out
                                << " unconsumed " << m.unconsumed);
  const auto got = read_lines(dir.path / "out");
  std::vector<std::string> missing, extra;
  std::set_difference(expected.begin(), expected.end(), got.begin(), got.end(),
                      std::back_inserter(missing));
  std::set_difference(got.begin(), got.end(), expected.begin(), expected.end(),
                      std::back_inserter(extra));
  BOOST_TEST_INFO("missing " << missing.size() << " (first " << (missing.empty() ? "" : missing[0])
                             << "), extra " << extra.size() << " (first "
                             << (extra.empty() ? "" : extra[0]) << ")");
  BOOST_TEST((got == expected));
}

BOOST_AUTO_TEST_SUITE_END()
