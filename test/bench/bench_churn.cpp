// Benchmark `churn`: the churn job's Berka behaviour flow — the code the job
// runs (examples/churn/behaviour.cpp, build_behaviour): per-account 30-day
// tumbling and 90-day sliding (30-day slide) windows of credits, debits and
// withdrawals, loans flagged against the account's balance and 90-day outflow
// under the rules in force at each record's event time (broadcast state),
// inactivity from event-time timers — replayed at full speed (no rate limit)
// from the shipped examples/data/berka/trans_head100k.asc and loan.asc, with
// the shipped settings and rules (examples/churn/churn.toml, rules.csv), into
// counting sinks. Baseline: a hand-written single-threaded loop over the same
// files doing the same work — it parses every line itself (no allocation per
// record), keeps the windows, balance and inactivity timer of each account in
// a flat open-addressing table and applies the same rules at the same times.
// Results: 30-day and 90-day windows plus signals; checksum: every field of
// each window (sums bit for bit) and of each signal (kind, account, time,
// score, detail text).
//
// To make a run last long enough to time, `--events N` transactions are
// replayed (default 10,000,000), rounded up to whole copies of the file's
// 99,999: copy k is the file with account ids + k * 100,000, transaction ids
// + k * 80,000,000 and loan ids + k * 100,000, so every copy has the same
// event times (those ids' remainders) and its own accounts, and the copies
// are interleaved line by line (date order is kept). With more than one copy
// the copies are written to a temporary directory first (not timed); both
// sides read that file.
//
//   bench_churn [--events N] [--case churn_p2] [--repeat R] ...
#include <fmt/format.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <limits>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <unistd.h>

#include "behaviour.hpp"
#include "bench_common.hpp"
#include "job.hpp"
#include "parse.hpp"

namespace {

namespace fs = std::filesystem;
using bench::mix64;
using churn::day_ms;

const fs::path berka_dir = fs::path{CHURN_DATA_DIR} / "berka";
const fs::path churn_dir = CHURN_EXAMPLE_DIR;

constexpr uint64_t account_stride = 100'000;
constexpr uint64_t txn_id_stride = 80'000'000;  // txn_time uses trans_id % 80,000,000
constexpr uint64_t loan_id_stride = 100'000;    // loan_time uses loan_id % 100,000
constexpr int64_t block_ms = 30 * day_ms;       // tumbling size = sliding slide

[[noreturn]] void fail(const std::string& what) {
  std::fprintf(stderr, "bench_churn: %s\n", what.c_str());
  std::exit(1);
}

// -- the shipped settings ------------------------------------------------------

/// The job's settings as shipped: churn.toml's [rules] (inactivity days,
/// initial rule values) and rules.csv (the rule changes in event time).
churn::job_config shipped_config() {
  churn::job_config cfg;
  sluice::runtime_config ignored;  // [capacity]: the benchmark's options decide
  churn::load_config_file(churn_dir / "churn.toml", cfg, ignored);
  cfg.rules_file = churn_dir / "rules.csv";
  cfg.data = fs::path{CHURN_DATA_DIR};
  return cfg;
}

// -- the input: the shipped files, or interleaved copies of them ----------------

std::vector<std::string> read_lines(const fs::path& f) {
  std::ifstream in{f};
  if (!in)
    fail("cannot read " + f.string());
  std::vector<std::string> out;
  for (std::string l; std::getline(in, l);)
    out.push_back(std::move(l));
  return out;
}

/// `line` with its first two fields (unsigned integers: id and account)
/// shifted for copy k.
std::string shifted(const std::string& line, uint64_t k, uint64_t id_stride) {
  const size_t a = line.find(';');
  const size_t b = a == std::string::npos ? a : line.find(';', a + 1);
  if (b == std::string::npos)
    fail("unexpected line: " + line);
  const uint64_t id = std::stoull(line.substr(0, a));
  const uint64_t account = std::stoull(line.substr(a + 1, b - a - 1));
  if (account >= account_stride || id >= id_stride)
    fail("ids too large to copy: " + line);
  return fmt::format("{};{}{}", id + k * id_stride, account + k * account_stride, line.substr(b));
}

struct input {
  fs::path txns, loans;
  uint64_t copies = 1;
  uint64_t transactions = 0;
  fs::path temp;  ///< removed at the end, if any

  input() = default;
  input(const input&) = delete;
  input& operator=(const input&) = delete;
  ~input() {
    if (!temp.empty()) {
      std::error_code ec;
      fs::remove_all(temp, ec);
    }
  }
};

void write_copies(const fs::path& from, const fs::path& to, uint64_t copies, uint64_t id_stride) {
  const auto lines = read_lines(from);
  std::ofstream out{to};
  out << lines.at(0) << '\n';
  for (size_t i = 1; i < lines.size(); ++i)
    for (uint64_t k = 0; k < copies; ++k)
      out << (k == 0 ? lines[i] : shifted(lines[i], k, id_stride)) << '\n';
  if (!out.flush())
    fail("cannot write " + to.string());
}

void prepare(input& in, uint64_t events) {
  const fs::path txns = berka_dir / "trans_head100k.asc", loans = berka_dir / "loan.asc";
  const uint64_t rows = read_lines(txns).size() - 1;
  in.copies = std::max<uint64_t>(1, (events + rows - 1) / rows);
  in.transactions = rows * in.copies;
  if (in.copies == 1) {
    in.txns = txns;
    in.loans = loans;
    return;
  }
  in.temp = fs::temp_directory_path() / fmt::format("sluice-bench-churn-{}", ::getpid());
  fs::create_directories(in.temp);
  in.txns = in.temp / "trans.asc";
  in.loans = in.temp / "loan.asc";
  write_copies(txns, in.txns, in.copies, txn_id_stride);
  write_copies(loans, in.loans, in.copies, loan_id_stride);
}

// -- what both sides fold: the same fields, bit for bit ------------------------

uint64_t fold_window(uint64_t account, int64_t start, int64_t end, uint64_t credits,
                     double credit_sum, uint64_t debits, double debit_sum, uint64_t withdrawals,
                     double withdrawal_sum, double first_balance, double last_balance) {
  uint64_t h = mix64(account ^ 0x77696e646f77ull);
  for (uint64_t x :
       {static_cast<uint64_t>(start), static_cast<uint64_t>(end), credits,
        std::bit_cast<uint64_t>(credit_sum), debits, std::bit_cast<uint64_t>(debit_sum),
        withdrawals, std::bit_cast<uint64_t>(withdrawal_sum),
        std::bit_cast<uint64_t>(first_balance), std::bit_cast<uint64_t>(last_balance)})
    h = mix64(h ^ x);
  return h;
}

uint64_t fold(const churn::flow_window& w) {
  const churn::flows& f = w.value;
  return fold_window(w.key, w.window.start, w.window.end, f.credits, f.credit_sum, f.debits,
                     f.debit_sum, f.withdrawals, f.withdrawal_sum, f.first_balance, f.last_balance);
}

uint64_t fold_signal(uint64_t account, std::string_view kind, double score, std::string_view detail,
                     int64_t ts) {
  uint64_t h = mix64(account ^ 0x7369676e616cull);
  for (uint64_t x : {std::hash<std::string_view>{}(kind), std::bit_cast<uint64_t>(score),
                     std::hash<std::string_view>{}(detail), static_cast<uint64_t>(ts)})
    h = mix64(h ^ x);
  return h;
}

uint64_t fold(const churn::account_signal& s) {
  return fold_signal(s.account, s.kind, s.score, s.detail, s.ts);
}

// -- Sluice: the job's behaviour flow ----------------------------------------

/// The sources as the job makes them (job.cpp): transactions read by one
/// instance in file (= date) order, transactions and loans with watermarks a
/// day behind, the rules as initial values at time 0 and the rules file; then
/// the job's own build_behaviour, its four streams counted.
void churn_job(sluice::pipeline& p, const input& in, const churn::job_config& cfg,
               std::shared_ptr<bench::totals> t) {
  using sluice::duration;
  using sluice::timestamp;
  using sluice::watermark_strategy;
  const sluice::text_file_options bk_csv{true, ';'};
  auto txns = p.read_csv(in.txns.string(), churn::parse_bk_txn, bk_csv)
                  .name("bk-transactions")
                  .parallelism(1)
                  .with_watermarks(watermark_strategy<churn::bk_txn>::bounded(
                      duration{day_ms},
                      [](const churn::bk_txn& x) { return timestamp{churn::txn_time(x)}; }));
  auto loans = p.read_csv(in.loans.string(), churn::parse_bk_loan, bk_csv)
                   .name("bk-loans")
                   .with_watermarks(watermark_strategy<churn::bk_loan>::bounded(
                       duration{day_ms},
                       [](const churn::bk_loan& x) { return timestamp{churn::loan_time(x)}; }));
  auto rules = p.from_collection(churn::initial_rule_changes(cfg.initial_rules))
                   .name("rules-initial")
                   .parallelism(1)
                   .with_watermarks(watermark_strategy<churn::rule_change>::monotonous(
                       [](const churn::rule_change& c) { return timestamp{c.ts}; }))
                   .union_with(p.read_csv(cfg.rules_file.string(), churn::parse_rule,
                                          sluice::text_file_options{true, ','})
                                   .name("rules")
                                   .parallelism(1)
                                   .with_watermarks(watermark_strategy<churn::rule_change>::bounded(
                                       duration{day_ms}, [](const churn::rule_change& c) {
                                         return timestamp{c.ts};
                                       })));
  auto [win30, win90, asset_signals, inactive] = churn::build_behaviour(txns, loans, rules, cfg);
  bench::count_into(win30.union_with(win90), t, [](const churn::flow_window& w) {
    return fold(w);
  }).name("count-windows");
  bench::count_into(asset_signals.union_with(inactive), t, [](const churn::account_signal& s) {
    return fold(s);
  }).name("count-signals");
}

// -- baseline: one loop, flat tables ------------------------------------------

/// Calls `f(line)` for every line of `path` after the header, reading it in
/// chunks into `buf` (reused).
template <class F>
void for_each_line(const fs::path& path, std::vector<char>& buf, F&& f) {
  FILE* fp = std::fopen(path.c_str(), "rb");
  if (!fp)
    fail("cannot read " + path.string());
  if (buf.size() < (1u << 20))
    buf.resize(1u << 20);
  size_t have = 0;
  bool header = true;
  auto line = [&](const char* b, const char* e) {
    if (e > b && e[-1] == '\r')
      --e;
    if (header)
      header = false;
    else
      f(std::string_view{b, static_cast<size_t>(e - b)});
  };
  for (;;) {
    const size_t n = std::fread(buf.data() + have, 1, buf.size() - have, fp);
    have += n;
    const char* b = buf.data();
    const char* end = buf.data() + have;
    while (const void* nl = std::memchr(b, '\n', static_cast<size_t>(end - b))) {
      line(b, static_cast<const char*>(nl));
      b = static_cast<const char*>(nl) + 1;
    }
    have = static_cast<size_t>(end - b);
    std::memmove(buf.data(), b, have);
    if (n == 0) {
      if (have > 0)
        line(buf.data(), buf.data() + have);
      break;
    }
    if (have == buf.size())
      buf.resize(buf.size() * 2);  // a line longer than the buffer
  }
  std::fclose(fp);
}

/// Splits `line` at ';' into `out` (n fields); false if the count differs.
/// (Berka's quoted fields contain no ';'.)
template <size_t N>
bool split(std::string_view line, std::string_view (&out)[N]) {
  size_t i = 0, pos = 0;
  for (;;) {
    const size_t semi = line.find(';', pos);
    if (i == N)
      return false;
    out[i++] = line.substr(pos, semi == std::string_view::npos ? semi : semi - pos);
    if (semi == std::string_view::npos)
      return i == N;
    pos = semi + 1;
  }
}

bool parse_uint(std::string_view s, uint64_t& v) {
  if (s.empty())
    return false;
  v = 0;
  for (char c : s) {
    if (c < '0' || c > '9')
      return false;
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  return true;
}

/// A decimal with at most 15 digits: the integer of its digits divided by a
/// power of ten, which IEEE division rounds correctly — the same double as
/// std::from_chars (what the job's parser uses).
bool parse_decimal(std::string_view s, double& v) {
  static constexpr double pow10[] = {1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8};
  const bool negative = !s.empty() && s[0] == '-';
  if (negative)
    s.remove_prefix(1);
  uint64_t m = 0;
  int digits = 0, decimals = -1;
  for (char c : s) {
    if (c == '.' && decimals < 0) {
      decimals = 0;
    } else if (c >= '0' && c <= '9') {
      m = m * 10 + static_cast<uint64_t>(c - '0');
      ++digits;
      if (decimals >= 0)
        ++decimals;
    } else {
      return false;
    }
  }
  if (digits == 0 || digits > 15 || decimals > 8)
    return false;
  v = static_cast<double>(m) / pow10[std::max(decimals, 0)];
  if (negative)
    v = -v;
  return true;
}

/// The day number of a date field YYMMDD (the file is in date order: the
/// last one is remembered).
struct day_cache {
  uint64_t yymmdd = std::numeric_limits<uint64_t>::max();
  int64_t day = 0;
  bool get(std::string_view s, int64_t& out) {
    uint64_t v = 0;
    if (s.size() != 6 || !parse_uint(s, v))
      return false;
    if (v != yymmdd) {
      try {
        day = churn::berka_day(static_cast<int64_t>(v));
      } catch (const std::invalid_argument&) {
        return false;
      }
      yymmdd = v;
    }
    out = day;
    return true;
  }
};

/// A window's flows, as churn::flows without the wall-clock field.
struct flow_acc {
  uint64_t credits = 0, debits = 0, withdrawals = 0;
  double credit_sum = 0, debit_sum = 0, withdrawal_sum = 0;
  int64_t first_ts = 0, last_ts = 0;
  double first_balance = 0, last_balance = 0;

  void add(bool credit, bool withdrawal, double amount, int64_t ts, double balance) {
    if (credit) {
      ++credits;
      credit_sum += amount;
    } else {
      ++debits;
      debit_sum += amount;
    }
    if (withdrawal) {
      ++withdrawals;
      withdrawal_sum += amount;
    }
    if (credits + debits == 1 || ts < first_ts) {
      first_ts = ts;
      first_balance = balance;
    }
    if (credits + debits == 1 || ts > last_ts) {
      last_ts = ts;
      last_balance = balance;
    }
  }
};

/// Everything the loop keeps per account.
struct account_state {
  uint64_t account = 0;
  int64_t block30 = -1;  ///< the open 30-day window (block number), -1: none
  flow_acc w30;
  int64_t block90[3] = {-1, -1, -1};  ///< open 90-day windows by first block % 3
  flow_acc w90[3];
  bool has_balance = false;
  double balance = 0;
  int64_t balance_ts = std::numeric_limits<int64_t>::min();
  int64_t last = -1;   ///< latest transaction time
  int64_t timer = -1;  ///< inactivity deadline, -1: none
};

/// Account id -> index into a vector of states: open addressing, linear
/// probing, power-of-two capacity, at most half full.
class account_table {
public:
  account_state& get(uint64_t account) {
    if ((states.size() + 1) * 2 > slots_.size())
      grow();
    size_t i = mix64(account) & (slots_.size() - 1);
    for (;; i = (i + 1) & (slots_.size() - 1)) {
      const uint32_t s = slots_[i];
      if (s == empty) {
        slots_[i] = static_cast<uint32_t>(states.size());
        states.push_back(account_state{});
        states.back().account = account;
        return states.back();
      }
      if (states[s].account == account)
        return states[s];
    }
  }
  void clear() {
    states.clear();
    std::fill(slots_.begin(), slots_.end(), empty);
  }

  std::vector<account_state> states;

private:
  static constexpr uint32_t empty = std::numeric_limits<uint32_t>::max();
  void grow() {
    std::vector<uint32_t> next(std::max<size_t>(1024, slots_.size() * 2), empty);
    for (uint32_t s = 0; s < states.size(); ++s) {
      size_t i = mix64(states[s].account) & (next.size() - 1);
      while (next[i] != empty)
        i = (i + 1) & (next.size() - 1);
      next[i] = s;
    }
    slots_ = std::move(next);
  }
  std::vector<uint32_t> slots_;
};

struct loan_rec {
  uint64_t id = 0;
  uint64_t account = 0;
  int64_t day = 0;
  double amount = 0;
};

/// Counts per kind of result (printed with --verbose).
struct tally {
  uint64_t win30 = 0, win90 = 0, loans = 0, outflows = 0, inactivity = 0, rejected = 0;
};

/// The hand-written loop. Buffers and tables live across calls (reused).
class baseline {
public:
  baseline(const input& in, const churn::job_config& cfg) : in_(in), cfg_(cfg) {}

  bench::outcome run() {
    out_ = {};
    counts_ = {};
    table_.clear();
    load_rules();
    load_loans();
    const int64_t gap = cfg_.inactivity_days * day_ms;
    size_t next_loan = 0;
    int64_t max_ts = std::numeric_limits<int64_t>::min();
    int64_t prev_day = std::numeric_limits<int64_t>::min();
    day_cache days;
    for_each_line(in_.txns, buf_, [&](std::string_view line) {
      // "trans_id";"account_id";"date";"type";"operation";"amount";"balance";...
      std::string_view f[10];
      uint64_t id = 0, account = 0;
      int64_t day = 0;
      double amount = 0, balance = 0;
      if (!split(line, f) || !parse_uint(f[0], id) || !parse_uint(f[1], account) ||
          !days.get(f[2], day) || !parse_decimal(f[5], amount) || !parse_decimal(f[6], balance) ||
          amount < 0) {
        ++counts_.rejected;
        return;
      }
      const bool credit = f[3] == "\"PRIJEM\"";
      if (!credit && f[3] != "\"VYDAJ\"" && f[3] != "\"VYBER\"") {
        ++counts_.rejected;
        return;
      }
      const bool withdrawal = f[4] == "\"VYBER\"" || f[4] == "\"VYBER KARTOU\"";
      if (day < prev_day)
        fail("the transactions are not in date order: this loop relies on it");
      prev_day = day;
      // A day's loans come after all of its transactions (86,000,000 ms into
      // the day, transactions before 80,000,000): they see every balance up
      // to their day.
      while (next_loan < loans_.size() && loans_[next_loan].day < day)
        on_loan(loans_[next_loan++]);
      const int64_t ts = day * day_ms + static_cast<int64_t>(id % 80'000'000);  // txn_time
      max_ts = std::max(max_ts, ts);
      account_state& s = table_.get(account);
      on_transaction(s, credit, withdrawal, amount, balance, ts, gap);
    });
    while (next_loan < loans_.size())
      on_loan(loans_[next_loan++]);
    // End of input: every open window fires; an inactivity deadline fires
    // only if the last watermark before the end (a day behind the latest
    // transaction) passed it.
    const int64_t last_watermark = max_ts - day_ms - 1;
    for (auto& s : table_.states) {
      if (s.block30 >= 0)
        emit_window(s.account, s.block30, 1, s.w30);
      for (int j = 0; j < 3; ++j)
        if (s.block90[j] >= 0)
          emit_window(s.account, s.block90[j], 3, s.w90[j]);
      if (s.timer >= 0 && s.timer <= last_watermark)
        emit_inactivity(s);
    }
    return out_;
  }

  const tally& counts() const { return counts_; }

private:
  void on_transaction(account_state& s, bool credit, bool withdrawal, double amount, double balance,
                      int64_t ts, int64_t gap) {
    const int64_t block = ts / block_ms;
    if (s.block30 != block) {
      if (s.block30 >= 0)
        emit_window(s.account, s.block30, 1, s.w30);
      s.block30 = block;
      s.w30 = {};
    }
    s.w30.add(credit, withdrawal, amount, ts, balance);
    for (int64_t first = block - 2; first <= block; ++first) {
      const auto slot = static_cast<size_t>(first % 3);
      if (s.block90[slot] != first) {
        if (s.block90[slot] >= 0)
          emit_window(s.account, s.block90[slot], 3, s.w90[slot]);
        s.block90[slot] = first;
        s.w90[slot] = {};
      }
      s.w90[slot].add(credit, withdrawal, amount, ts, balance);
    }
    if (ts > s.balance_ts) {
      s.has_balance = true;
      s.balance = balance;
      s.balance_ts = ts;
    }
    if (s.timer >= 0 && s.timer < ts) {
      emit_inactivity(s);
      s.timer = -1;
    }
    if (ts > s.last) {
      s.last = ts;
      s.timer = ts + gap;
    }
  }

  void emit_window(uint64_t account, int64_t first_block, int64_t blocks, const flow_acc& a) {
    const int64_t start = first_block * block_ms, end = start + blocks * block_ms;
    ++out_.results;
    out_.checksum +=
        fold_window(account, start, end, a.credits, a.credit_sum, a.debits, a.debit_sum,
                    a.withdrawals, a.withdrawal_sum, a.first_balance, a.last_balance);
    if (blocks == 1) {
      ++counts_.win30;
      return;
    }
    ++counts_.win90;
    const churn::rules& r = rules_at(end - 1);
    if (a.credit_sum > 0 && a.debit_sum > r.outflow_ratio * a.credit_sum &&
        a.last_balance < a.first_balance) {
      const double ratio = a.debit_sum / a.credit_sum;
      const double score =
          std::clamp(0.5 + (ratio - r.outflow_ratio) / (2 * r.outflow_ratio), 0.5, 1.0);
      text_.clear();
      fmt::format_to(std::back_inserter(text_),
                     "90 days to {}: debits {:.0f} = {:.1f}x credits, balance {:.0f} -> {:.0f}",
                     churn::day_text(end / day_ms), a.debit_sum, ratio, a.first_balance,
                     a.last_balance);
      emit_signal(account, "outflow", std::round(score * 1e4) / 1e4, end - 1);
      ++counts_.outflows;
    }
  }

  void on_loan(const loan_rec& l) {
    const int64_t ts = l.day * day_ms + 86'000'000 + static_cast<int64_t>(l.id % 100'000);
    const account_state& s = table_.get(l.account);
    const churn::rules& r = rules_at(ts);
    const double need = r.loan_asset_share * l.amount;
    if (s.has_balance && s.balance >= need)
      return;
    const double score =
        s.has_balance ? std::clamp(1.0 - s.balance / std::max(need, 1.0), 0.5, 1.0) : 0.9;
    text_.clear();
    if (s.has_balance)
      fmt::format_to(std::back_inserter(text_),
                     "loan {} of {:.0f}: balance {:.2f} below {:.0f}% of it", l.id, l.amount,
                     s.balance, r.loan_asset_share * 100);
    else
      fmt::format_to(std::back_inserter(text_), "loan {} of {:.0f}: no balance known", l.id,
                     l.amount);
    emit_signal(l.account, "low_assets_loan", std::round(score * 1e4) / 1e4, ts);
    ++counts_.loans;
  }

  void emit_inactivity(const account_state& s) {
    text_.clear();
    fmt::format_to(std::back_inserter(text_), "no transaction for {} days after {}",
                   cfg_.inactivity_days, churn::day_text(s.last / day_ms));
    emit_signal(s.account, "inactivity", 0.6, s.timer);
    ++counts_.inactivity;
  }

  void emit_signal(uint64_t account, std::string_view kind, double score, int64_t ts) {
    ++out_.results;
    out_.checksum +=
        fold_signal(account, kind, score, std::string_view{text_.data(), text_.size()}, ts);
  }

  /// The rules in force at `ts`: the initial values at time 0, then the
  /// rules file's changes at their times (an update applies to records of
  /// its own time, as in the job).
  void load_rules() {
    std::vector<churn::rule_change> changes = churn::initial_rule_changes(cfg_.initial_rules);
    std::vector<char> buf;
    for_each_line(cfg_.rules_file, buf, [&](std::string_view line) {
      auto r = churn::parse_rule(sluice::csv_row{line, ','});
      if (!r.ok())
        fail(fmt::format("rules file: {}: {}", line, r.error()));
      changes.push_back(std::move(r.value()));
    });
    std::stable_sort(changes.begin(), changes.end(),
                     [](const auto& a, const auto& b) { return a.ts < b.ts; });
    rules_.clear();
    churn::rules current;
    for (auto& c : changes) {
      churn::apply_rule(c, current);
      if (!rules_.empty() && rules_.back().first == c.ts)
        rules_.back().second = current;
      else
        rules_.emplace_back(c.ts, current);
    }
  }

  const churn::rules& rules_at(int64_t ts) const {
    for (size_t i = rules_.size(); i-- > 0;)
      if (rules_[i].first <= ts)
        return rules_[i].second;
    return defaults_;
  }

  void load_loans() {
    loans_.clear();
    day_cache days;
    for_each_line(in_.loans, buf_, [&](std::string_view line) {
      // "loan_id";"account_id";"date";"amount";"duration";"payments";"status"
      std::string_view f[7];
      loan_rec l;
      uint64_t duration = 0;
      if (!split(line, f) || !parse_uint(f[0], l.id) || !parse_uint(f[1], l.account) ||
          !days.get(f[2], l.day) || !parse_decimal(f[3], l.amount) || !parse_uint(f[4], duration) ||
          f[6].size() != 3 || f[6][1] < 'A' || f[6][1] > 'D') {
        ++counts_.rejected;
        return;
      }
      if (!loans_.empty() && l.day < loans_.back().day)
        fail("the loans are not in date order: this loop relies on it");
      loans_.push_back(l);
    });
  }

  const input& in_;
  const churn::job_config& cfg_;
  bench::outcome out_;
  tally counts_;
  account_table table_;
  std::vector<char> buf_;
  std::vector<loan_rec> loans_;
  std::vector<std::pair<int64_t, churn::rules>> rules_;
  churn::rules defaults_;
  fmt::memory_buffer text_;
};

}  // namespace

int main(int argc, char** argv) {
  bench::runner r{argc, argv};
  const auto& par = r.opt().parallelism;
  if (std::none_of(par.begin(), par.end(), [&](uint32_t p) {
        return r.opt().selected("churn", "churn_p" + std::to_string(p));
      }))
    return r.finish(argv[0]);  // nothing to prepare
  const churn::job_config cfg = shipped_config();
  static input in;  // static: its copies are removed on exit(1) too
  prepare(in, r.opt().events);
  baseline loop{in, cfg};
  r.run(
      "churn", in.transactions,
      [&] {
        const auto o = loop.run();
        if (r.opt().verbose) {
          const tally& c = loop.counts();
          std::fprintf(
              stderr,
              "BENCH-DETAIL name=churn copies=%llu transactions=%llu windows_30d=%llu "
              "windows_90d=%llu loan_flags=%llu outflow=%llu inactivity=%llu "
              "rejected=%llu\n",
              static_cast<unsigned long long>(in.copies),
              static_cast<unsigned long long>(in.transactions),
              static_cast<unsigned long long>(c.win30), static_cast<unsigned long long>(c.win90),
              static_cast<unsigned long long>(c.loans), static_cast<unsigned long long>(c.outflows),
              static_cast<unsigned long long>(c.inactivity),
              static_cast<unsigned long long>(c.rejected));
        }
        return o;
      },
      [&](sluice::pipeline& p, std::shared_ptr<bench::totals> t) { churn_job(p, in, cfg, t); });
  return r.finish(argv[0]);
}
