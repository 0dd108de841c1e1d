// Keyed timers and side outputs on the actor runtime: the "no transaction for
// 60 days" signal at parallelism 1 and 4, through an injected failure, gives
// exactly the brute-force reference, published by exactly-once sinks.
#include <boost/test/unit_test.hpp>

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "runtime_util.hpp"

using namespace test_util;
using namespace sluice;
namespace fs = std::filesystem;

namespace {

constexpr int64_t day = 24 * 3600 * 1000;
constexpr int64_t inactivity = 60 * day;
constexpr int64_t disorder = 5 * day;

struct tx {
  int64_t account = 0;
  int64_t amount = 0;
  int64_t ts = 0;
};
SLUICE_FIELDS(tx, account, amount, ts)

/// A card event of an account (the other side of the interval join).
struct card {
  int64_t account = 0;
  int64_t ts = 0;
};
SLUICE_FIELDS(card, account, ts)

/// Transactions of `accounts` accounts over about 16 years, in arrival order:
/// out of event-time order by less than `disorder`.
std::vector<tx> arrivals(uint32_t seed, int accounts, int n) {
  std::mt19937_64 rng{seed};
  std::vector<std::pair<int64_t, tx>> v;
  int64_t t = 1;
  for (int i = 0; i < n; ++i) {
    t += static_cast<int64_t>(rng() % day);
    tx x{static_cast<int64_t>(rng() % accounts), static_cast<int64_t>(rng() % 1000), t};
    v.emplace_back(t + static_cast<int64_t>(rng() % disorder), x);
  }
  std::sort(v.begin(), v.end(), [](auto& a, auto& b) { return a.first < b.first; });
  std::vector<tx> out;
  for (auto& [_, x] : v)
    out.push_back(x);
  return out;
}

std::vector<std::string> reference_signals(const std::vector<tx>& in) {
  std::map<int64_t, std::vector<int64_t>> by;
  for (auto& x : in)
    by[x.account].push_back(x.ts);
  std::vector<std::string> out;
  for (auto& [a, ts] : by) {
    std::sort(ts.begin(), ts.end());
    for (size_t i = 0; i + 1 < ts.size(); ++i)
      if (ts[i + 1] - ts[i] > inactivity)
        out.push_back(std::to_string(a) + "@" + std::to_string(ts[i] + inactivity));
    out.push_back(std::to_string(a) + "@" + std::to_string(ts.back() + inactivity));
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<std::string> read_lines(const fs::path& dir) {
  std::vector<std::string> out;
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

using account_state = std::pair<int64_t, std::vector<int64_t>>;

struct result {
  actors::job_report report;
  std::vector<std::string> signals, big;
};

result run_inactivity(const std::vector<tx>& in, uint32_t par, uint64_t fail_at,
                      const fs::path& dir) {
  output_tag<std::string> big{"big"};      // consumed
  output_tag<int64_t> refunds{"refunds"};  // never consumed: counted
  auto failed = std::make_shared<std::atomic<bool>>(false);
  pipeline p{"inactivity"};
  auto signals = p.from_collection(in)
                     .with_watermarks(watermark_strategy<tx>::bounded(
                         duration{disorder}, [](const tx& x) { return timestamp{x.ts}; }))
                     .parallelism(par)
                     .rate_limit(30000)
                     .map([failed, fail_at, seen = uint64_t{0}](tx x) mutable {
                       if (++seen == fail_at && !failed->exchange(true))
                         throw std::runtime_error("injected failure");
                       return x;
                     })
                     .parallelism(par)
                     .key_by([](const tx& x) { return x.account; })
                     .process(
                         [big, refunds](const int64_t& a, tx x, account_state& s,
                                        process_context<int64_t>& ctx, collector<std::string>&) {
                           s.second.push_back(ctx.time().ms);
                           ctx.register_event_time_timer(ctx.time());
                           if (x.amount >= 990)
                             ctx.output(big, std::to_string(a) + ":" + std::to_string(x.ts));
                           if (x.amount == 0)
                             ctx.output(refunds, x.ts);
                         },
                         [](const int64_t& a, timestamp t, account_state& s,
                            process_context<int64_t>& ctx, collector<std::string>& out) {
                           auto& [last, pending] = s;
                           const auto at_t = std::remove(pending.begin(), pending.end(), t.ms);
                           const bool transaction = at_t != pending.end();
                           pending.erase(at_t, pending.end());
                           if (transaction) {
                             if (last != 0)
                               ctx.delete_event_time_timer(timestamp{last + inactivity});
                             last = t.ms;
                             ctx.register_event_time_timer(timestamp{last + inactivity});
                           } else if (last != 0 && t.ms == last + inactivity) {
                             out.emit(std::to_string(a) + "@" + std::to_string(t.ms));
                             last = 0;
                             if (pending.empty())
                               ctx.clear_state();
                           }
                         },
                         big, refunds)
                     .name("inactivity")
                     .parallelism(par);
  signals.write_csv_exactly_once((dir / "signals").string()).parallelism(par);
  signals.side_output(big).write_csv_exactly_once((dir / "big").string()).parallelism(2);
  auto cfg = config(par);
  cfg.state_dir = (dir / "state").string();
  cfg.checkpoints.interval = std::chrono::milliseconds(20);
  cfg.restart = "fixed-delay:attempts=3,delay=10ms";
  result r;
  r.report = execute(p, cfg);
  if (r.report.ok) {
    r.signals = read_lines(dir / "signals");
    r.big = read_lines(dir / "big");
  }
  return r;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(runtime_timers)

BOOST_AUTO_TEST_CASE(inactivity_signals_are_exact_through_a_failure_at_parallelism_1_and_4) {
  const auto in = arrivals(5, 30, 6000);
  const auto expected = reference_signals(in);
  std::vector<std::string> big;
  uint64_t refunds = 0;
  for (auto& x : in) {
    if (x.amount >= 990)
      big.push_back(std::to_string(x.account) + ":" + std::to_string(x.ts));
    refunds += x.amount == 0;
  }
  std::sort(big.begin(), big.end());
  for (uint32_t par : {1u, 4u}) {
    BOOST_TEST_CONTEXT("parallelism " << par) {
      const fs::path dir =
          fs::temp_directory_path() /
          ("sluice-timers-" + std::to_string(::getpid()) + "-" + std::to_string(par));
      fs::remove_all(dir);
      auto r = run_inactivity(in, par, 2500 / par, dir);  // in one instance of the map
      for (auto& n : r.report.notes)
        BOOST_TEST_MESSAGE("note: " << n);
      require_ok(r.report);
      BOOST_TEST(r.report.restarts == 1u);
      BOOST_TEST(r.report.restored_from.has_value());
      BOOST_TEST(r.signals.size() == expected.size());
      BOOST_TEST((r.signals == expected));
      BOOST_TEST((r.big == big));
      fs::remove_all(dir);
    }
  }
}

BOOST_AUTO_TEST_CASE(an_unread_side_output_is_counted_in_the_summary) {
  const auto in = arrivals(6, 10, 2000);
  uint64_t refunds = 0;
  for (auto& x : in)
    refunds += x.amount == 0;
  BOOST_TEST_REQUIRE(refunds > 0u);
  const fs::path dir =
      fs::temp_directory_path() / ("sluice-timers-unread-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  auto r = run_inactivity(in, 2, 0, dir);  // no failure: every record counted once
  require_ok(r.report);
  uint64_t unconsumed = 0;
  for (auto& m : r.report.metrics)
    if (m.name == "inactivity")
      unconsumed += m.unconsumed;
  BOOST_TEST(unconsumed == refunds);
  fs::remove_all(dir);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(runtime_interval_join)

BOOST_AUTO_TEST_CASE(interval_join_through_the_api_is_exact_through_a_failure) {
  // Transactions joined with the card events of the same account within
  // [-2 days, +1 day], at parallelism 1 and 3, with a failure in the middle.
  const auto txns = arrivals(8, 25, 3000);
  std::vector<card> cards;
  {
    std::mt19937_64 rng{9};
    for (auto& x : txns)
      if (rng() % 3 == 0)
        cards.push_back(
            {static_cast<int64_t>(rng() % 25), x.ts + static_cast<int64_t>(rng() % day)});
  }
  std::vector<std::string> expected;
  for (auto& a : txns)
    for (auto& b : cards)
      if (a.account == b.account && b.ts >= a.ts - 2 * day && b.ts <= a.ts + day)
        expected.push_back(std::to_string(a.account) + ":" + std::to_string(a.ts) + ":" +
                           std::to_string(b.ts));
  std::sort(expected.begin(), expected.end());
  BOOST_TEST_REQUIRE(expected.size() > 100u);
  for (uint32_t par : {1u, 3u}) {
    BOOST_TEST_CONTEXT("parallelism " << par) {
      const fs::path dir =
          fs::temp_directory_path() /
          ("sluice-ijoin-" + std::to_string(::getpid()) + "-" + std::to_string(par));
      fs::remove_all(dir);
      auto failed = std::make_shared<std::atomic<bool>>(false);
      pipeline p{"interval_join"};
      auto left = p.from_collection(txns)
                      .with_watermarks(watermark_strategy<tx>::bounded(
                          duration{disorder}, [](const tx& x) { return timestamp{x.ts}; }))
                      .rate_limit(20000)
                      .map([failed, seen = uint64_t{0}, par](tx x) mutable {
                        if (++seen == 1500 / par && !failed->exchange(true))
                          throw std::runtime_error("injected failure");
                        return x;
                      })
                      .parallelism(par);
      auto right = p.from_collection(cards).with_watermarks(watermark_strategy<card>::bounded(
          duration{day}, [](const card& c) { return timestamp{c.ts}; }));
      auto joined = left.key_by([](const tx& x) { return x.account; })
                        .interval_join(right.key_by([](const card& c) { return c.account; }))
                        .between(duration{-2 * day}, duration{day})
                        .process([](const tx& a, const card& b, collector<std::string>& out) {
                          out.emit(std::to_string(a.account) + ":" + std::to_string(a.ts) + ":" +
                                   std::to_string(b.ts));
                        })
                        .name("tx-card")
                        .parallelism(par);
      joined.write_csv_exactly_once((dir / "out").string()).parallelism(par);
      auto cfg = config(par);
      cfg.state_dir = (dir / "state").string();
      cfg.checkpoints.interval = std::chrono::milliseconds(20);
      cfg.restart = "fixed-delay:attempts=3,delay=10ms";
      auto r = execute(p, cfg);
      require_ok(r);
      BOOST_TEST(r.restarts == 1u);
      BOOST_TEST((read_lines(dir / "out") == expected));
      uint64_t late = 0;
      for (auto& m : r.metrics)
        if (m.name == "tx-card")
          late += m.unconsumed;
      BOOST_TEST(late == 0u);  // bounded disorder: nothing is late
      fs::remove_all(dir);
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()
