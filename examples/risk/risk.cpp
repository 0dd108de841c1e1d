// Risk alerts on generated bank transactions, with the stateful operators of
// docs/joins-and-timers.md working together, embedded or on a cluster:
//
//   transactions --temporal_join--> + the account's risk class valid at the
//   class changes (changelog)        transaction's time
//                --connect_broadcast(event time)--> alert when the amount is
//   risk limits (broadcast)           over the limit in force, lowered by class
//                --> exactly-once CSV: account,time,amount,limit,class
//
//   risk --count N --output DIR [--rate R] [runtime options]
//   risk --count N --output DIR --check     # compare DIR with the reference
//
// Everything is a deterministic function of the record index, so `--check`
// recomputes the expected alerts by brute force (time order, the latest class
// change and limit at or before each transaction) and prints
// `missing=<n> unexpected=<n>`; exit code 0 when the output is exactly that.
#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "sluice/hash.hpp"
#include "sluice/run.hpp"

namespace {

constexpr uint64_t accounts = 64;
constexpr int64_t disorder = 50;     // ms of out-of-orderness of transactions and classes
constexpr uint64_t per_change = 5;   // one class change per 5 transactions
constexpr uint64_t per_limit = 400;  // one new limit per 400 transactions (ms)

struct txn {
  uint64_t account = 0;
  int64_t amount = 0;
  int64_t ts = 0;
};
SLUICE_FIELDS(txn, account, amount, ts)

/// A row of the account-class table: its class (0..3) from `ts` on.
struct account_class {
  uint64_t account = 0;
  int64_t level = 0;
  int64_t ts = 0;
};
SLUICE_FIELDS(account_class, account, level, ts)

struct limit {
  int64_t value = 0;
  int64_t ts = 0;
};
SLUICE_FIELDS(limit, value, ts)

/// One alert, written as a CSV row `account,ts,amount,limit,level`.
struct alert_row {
  uint64_t account = 0;
  int64_t ts = 0;
  int64_t amount = 0;
  int64_t limit = 0;
  int64_t level = 0;
};
SLUICE_FIELDS(alert_row, account, ts, amount, limit, level)

struct classified {
  txn t;
  int64_t level = -1;  // -1: the account has no class at the transaction's time
};
SLUICE_FIELDS(classified, t, level)

int64_t jitter(uint64_t i, uint64_t salt) {
  return static_cast<int64_t>(sluice::mix64(i ^ salt) % disorder);
}

/// Transaction i at about i ms, up to `disorder` early.
txn txn_at(uint64_t i) {
  const uint64_t h = sluice::mix64(i);
  return {h % accounts, static_cast<int64_t>((h >> 20) % 10000),
          std::max<int64_t>(0, static_cast<int64_t>(i) - jitter(i, 0x51))};
}

/// Class change j at a unique time 5j + 2, up to `disorder` early in arrival;
/// every seventh is a delete.
sluice::change<account_class> change_at(uint64_t j) {
  const uint64_t h = sluice::mix64(j ^ 0xc1a55);
  account_class row{h % accounts, static_cast<int64_t>((h >> 16) % 4),
                    static_cast<int64_t>(j * per_change + 2)};
  return j % 7 == 6 ? sluice::change<account_class>::erase(row)
                    : sluice::change<account_class>::upsert(row);
}

/// Limit k from time 400k on.
limit limit_at(uint64_t k) {
  return {4000 + static_cast<int64_t>(sluice::mix64(k ^ 0x11) % 5000),
          static_cast<int64_t>(k * per_limit)};
}

alert_row alert(const txn& t, int64_t lim, int64_t level) {
  return {t.account, t.ts, t.amount, lim, level};
}
std::string csv(const alert_row& a) {
  return fmt::format("{},{},{},{},{}", a.account, a.ts, a.amount, a.limit, a.level);
}

/// A transaction alerts when its amount is over the limit lowered by 1000
/// per class level.
bool alerts(const txn& t, int64_t lim, int64_t level) {
  return t.amount > lim - 1000 * std::max<int64_t>(level, 0);
}

std::vector<std::string> reference(uint64_t count) {
  std::vector<txn> ts;
  for (uint64_t i = 0; i < count; ++i)
    ts.push_back(txn_at(i));
  std::stable_sort(ts.begin(), ts.end(), [](auto& a, auto& b) { return a.ts < b.ts; });
  std::map<uint64_t, std::vector<std::pair<int64_t, int64_t>>> classes;  // per account: (ts, level)
  for (uint64_t j = 0; j < count / per_change; ++j) {
    auto c = change_at(j);
    classes[c.value.account].push_back({c.value.ts, c.is_erase() ? -1 : c.value.level});
  }
  std::vector<std::string> out;
  uint64_t k = 0;
  int64_t lim = 0;
  const uint64_t limits = count / per_limit + 1;
  for (auto& t : ts) {
    while (k < limits && limit_at(k).ts <= t.ts)
      lim = limit_at(k++).value;
    int64_t level = -1;
    for (auto& [at, l] : classes[t.account])
      if (at <= t.ts)
        level = l;
    if (alerts(t, lim, level))
      out.push_back(csv(alert(t, lim, level)));
  }
  std::sort(out.begin(), out.end());
  return out;
}

int check(uint64_t count, const std::string& dir) {
  std::vector<std::string> got;
  std::error_code ec;
  for (std::filesystem::directory_iterator it{dir, ec}, end; !ec && it != end; it.increment(ec)) {
    if (it->path().filename().string().rfind("part-", 0) != 0)
      continue;
    std::ifstream in{it->path()};
    for (std::string line; std::getline(in, line);)
      got.push_back(line);
  }
  if (ec) {
    std::fprintf(stderr, "risk --check: cannot read %s: %s\n", dir.c_str(), ec.message().c_str());
    return 2;
  }
  std::sort(got.begin(), got.end());
  const auto want = reference(count);
  std::vector<std::string> missing, unexpected;
  std::set_difference(want.begin(), want.end(), got.begin(), got.end(),
                      std::back_inserter(missing));
  std::set_difference(got.begin(), got.end(), want.begin(), want.end(),
                      std::back_inserter(unexpected));
  for (size_t i = 0; i < std::min<size_t>(5, missing.size()); ++i)
    std::printf("  missing: %s\n", missing[i].c_str());
  for (size_t i = 0; i < std::min<size_t>(5, unexpected.size()); ++i)
    std::printf("  unexpected: %s\n", unexpected[i].c_str());
  std::printf("alerts=%zu missing=%zu unexpected=%zu\n", want.size(), missing.size(),
              unexpected.size());
  return missing.empty() && unexpected.empty() ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  uint64_t count = 0;
  double rate = 0;
  bool check_only = false;
  std::string output;
  sluice::runtime_config cfg;
  CLI::App app{"Risk alerts: broadcast limits and a temporal join on generated transactions"};
  app.add_option("--count", count, "transactions to generate")->required();
  app.add_option("--output", output, "exactly-once output directory (part-* files)")->required();
  app.add_option("--rate", rate, "transactions per second over all instances (0 = unlimited)")
      ->check(CLI::NonNegativeNumber);
  app.add_flag("--check", check_only, "compare the output directory with the reference and exit");
  sluice::add_runtime_options(app, cfg);
  CLI11_PARSE(app, argc, argv);
  if (check_only)
    return check(count, output);

  using sluice::timestamp;
  sluice::pipeline p{"risk"};
  auto txns = p.generate(count, txn_at)
                  .name("transactions")
                  .uid("transactions")
                  .with_watermarks(sluice::watermark_strategy<txn>::bounded(
                      sluice::duration{disorder}, [](const txn& t) { return timestamp{t.ts}; }));
  if (rate > 0)
    txns.rate_limit(rate);
  auto changes =
      p.generate(count / per_change, change_at)
          .name("class-changes")
          .uid("class-changes")
          .with_watermarks(sluice::watermark_strategy<sluice::change<account_class>>::bounded(
              sluice::duration{disorder},
              [](const sluice::change<account_class>& c) { return timestamp{c.value.ts}; }));
  auto limits = p.generate(count / per_limit + 1, limit_at)
                    .name("limits")
                    .uid("limits")
                    .parallelism(1)
                    .with_watermarks(sluice::watermark_strategy<limit>::bounded(
                        sluice::duration{0}, [](const limit& l) { return timestamp{l.ts}; }));
  txns.key_by([](const txn& t) { return t.account; })
      .temporal_join(
          changes.key_by([](const sluice::change<account_class>& c) { return c.value.account; }))
      .process([](const txn& t, const account_class* row) {
        return classified{t, row ? row->level : -1};
      })
      .name("classify")
      .uid("classify")
      .key_by([](const classified& c) { return c.t.account; })
      .connect_broadcast(limits, sluice::broadcast_order::event_time)
      .process(
          [](const uint64_t&, classified c, uint64_t& seen, const int64_t& lim,
             sluice::collector<alert_row>& out) {
            ++seen;
            if (alerts(c.t, lim, c.level))
              out.emit(alert(c.t, lim, c.level));
          },
          [](const limit& l, int64_t& lim) { lim = l.value; })
      .name("alerts")
      .uid("alerts")
      .write_csv_exactly_once(output)
      .name("write")
      .uid("write");
  return sluice::run(p, cfg);
}
