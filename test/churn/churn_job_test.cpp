// The churn job as a user runs it (a process on the shipped data): the model's
// quality, the business rules and the aggregates against brute-force
// references computed here from the input files, identical outputs after a
// kill -9 and a restart, at another parallelism and on a 3-node cluster,
// corrupted lines in the dead-letter output, and the report in Chromium.
#define BOOST_TEST_MODULE churn_job
#include <boost/test/included/unit_test.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cluster_fixture.hpp"
#include "process.hpp"
#include "sluice/sink/part_file.hpp"
#include "sluice/source/parse.hpp"
#include "sluice/state/lmdb_table.hpp"

namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

const fs::path data_dir = CHURN_DATA_DIR;
const std::string churn_bin = CHURN_BIN;
constexpr int64_t day_ms = 86'400'000;

/// The directories `temp_dir` made, removed when the test program ends
/// (several test cases share the reference run's; SLUICE_KEEP_TMP keeps them).
struct made_dirs {
  std::vector<fs::path> paths;
  ~made_dirs() {
    if (std::getenv("SLUICE_KEEP_TMP"))
      return;
    for (auto& p : paths) {
      std::error_code ec;
      fs::remove_all(p, ec);
    }
  }
};
made_dirs& made() {
  static made_dirs m;
  return m;
}

fs::path temp_dir(const std::string& name) {
  auto d = fs::temp_directory_path() / fmt::format("sluice-churn-{}-{}", name, ::getpid());
  fs::remove_all(d);
  fs::create_directories(d);
  made().paths.push_back(d);
  return d;
}

std::vector<std::string> read_lines(const fs::path& f) {
  std::vector<std::string> out;
  std::ifstream in{f};
  for (std::string l; std::getline(in, l);) {
    if (!l.empty() && l.back() == '\r')
      l.pop_back();
    out.push_back(l);
  }
  return out;
}

/// The lines of `text`, sorted.
std::vector<std::string> sorted_lines(const std::string& text) {
  std::vector<std::string> all;
  std::istringstream in{text};
  for (std::string l; std::getline(in, l);)
    all.push_back(l);
  std::sort(all.begin(), all.end());
  return all;
}

/// Every line of the published part files (plain or .zst) of an output
/// directory, sorted.
std::vector<std::string> output_lines(const fs::path& dir) {
  std::string text;
  if (fs::exists(dir))
    for (auto& e : fs::directory_iterator{dir})
      if (e.path().filename().string().rfind("part-", 0) == 0)
        text += sluice::read_part_file(e.path().string());
  return sorted_lines(text);
}

/// Accepts connections on 127.0.0.1 (an ephemeral port), one after the
/// other, and keeps every byte received until destroyed.
class tcp_receiver {
public:
  tcp_receiver() {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    BOOST_REQUIRE(fd_ >= 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    BOOST_REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    BOOST_REQUIRE(::listen(fd_, 4) == 0);
    BOOST_REQUIRE(::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len) == 0);
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] { serve(); });
  }
  ~tcp_receiver() {
    stop_ = true;
    thread_.join();
    ::close(fd_);
  }
  uint16_t port() const { return port_; }
  std::string received() {
    std::lock_guard<std::mutex> guard{mtx_};
    return data_;
  }

private:
  void serve() {
    // Bounded: polls every 100 ms until told to stop.
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 100) <= 0)
        continue;
      const int c = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (c < 0)
        continue;
      char buf[1 << 16];
      while (!stop_) {
        pollfd q{c, POLLIN, 0};
        if (::poll(&q, 1, 100) <= 0)
          continue;
        const ssize_t n = ::read(c, buf, sizeof buf);
        if (n <= 0)
          break;  // the sender closed (or was killed): wait for the next one
        std::lock_guard<std::mutex> guard{mtx_};
        data_.append(buf, static_cast<size_t>(n));
      }
      ::close(c);
    }
  }

  int fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::mutex mtx_;
  std::string data_;
  std::thread thread_;
};

const char* const outputs[] = {"predictions", "alerts",     "offers",
                               "auc",         "aggregates", "dead-letters"};

std::map<std::string, std::string> table_of(const fs::path& out) {
  auto t = sluice::state::lmdb_table::open((out / "predictions.lmdb").string());
  BOOST_REQUIRE_MESSAGE(t, "cannot open the table of " << out);
  auto rows = t.value()->scan();
  BOOST_REQUIRE(rows);
  return {rows.value().begin(), rows.value().end()};
}

int run_churn(const fs::path& out, const std::string& extra = "") {
  const auto r = it::run(fmt::format("{} --data {} --output {} --quiet {} 2>&1", churn_bin,
                                     data_dir.string(), out.string(), extra));
  if (r.code != 0)
    BOOST_TEST_MESSAGE(r.output);
  return r.code;
}

/// The reference run every other run is compared with (parallelism 2, the
/// shipped settings), made once.
const fs::path& reference_run() {
  static const fs::path out = [] {
    auto d = temp_dir("ref") / "out";
    BOOST_REQUIRE_EQUAL(run_churn(d), 0);
    return d;
  }();
  return out;
}

void require_same_outputs(const fs::path& a, const fs::path& b) {
  for (const char* o : outputs) {
    const auto la = output_lines(a / o), lb = output_lines(b / o);
    BOOST_TEST_CONTEXT("output " << o) {
      BOOST_TEST(la.size() == lb.size());
      BOOST_TEST((la == lb));
    }
  }
  const auto ta = table_of(a), tb = table_of(b);
  BOOST_TEST(ta.size() == tb.size());
  size_t shown = 0;
  for (auto& [k, v] : ta) {
    auto it = tb.find(k);
    if ((it == tb.end() || it->second != v) && shown++ < 3)
      BOOST_TEST_MESSAGE("table row differs: " << k << ": " << v.size() << " bytes vs "
                                               << (it == tb.end() ? 0 : it->second.size())
                                               << " bytes: [" << v << "] vs ["
                                               << (it == tb.end() ? "" : it->second) << "]");
  }
  BOOST_TEST((ta == tb));
}

/// Berka's quoted, semicolon-separated rows, header skipped.
std::vector<sluice::csv_row> berka(const std::string& file, std::vector<std::string>& keep) {
  keep = read_lines(data_dir / "berka" / file);
  keep.erase(keep.begin());
  std::vector<sluice::csv_row> rows;
  for (auto& l : keep)
    rows.emplace_back(l, ';');
  return rows;
}

int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  return era * 146097 + static_cast<int64_t>(yoe * 365 + yoe / 4 - yoe / 100 + doy) - 719468;
}
int64_t day_of(std::string_view yymmdd) {
  const int v = std::stoi(std::string{yymmdd.substr(0, 6)});
  return days_from_civil(1900 + v / 10000, static_cast<unsigned>(v / 100 % 100),
                         static_cast<unsigned>(v % 100));
}

}  // namespace

BOOST_AUTO_TEST_CASE(model_quality_and_counts) {
  const auto& out = reference_run();
  // AUC over time: one point per retraining (every 1,000 training labels)
  // and the final one; the final model reaches the target on held-out
  // customers.
  auto auc = output_lines(out / "auc");
  BOOST_TEST(auc.size() == 8u);  // 7 retrainings on the way, the last at the end of the input
  std::map<uint64_t, double> by_version;
  for (auto& l : auc) {
    sluice::csv_row r{l, ','};
    by_version[r.get<uint64_t>(0)] = r.get<double>(4);
  }
  BOOST_TEST_MESSAGE("final held-out AUC " << by_version.rbegin()->second);
  BOOST_TEST(by_version.rbegin()->second >= 0.85);

  // Every Churn_Modelling customer is scored exactly once (features never change).
  std::set<std::string> scored;
  size_t churn_rows = 0;
  for (auto& l : output_lines(out / "predictions")) {
    sluice::csv_row r{l, ','};
    if (r.text(1) == "churn_model") {
      ++churn_rows;
      scored.insert(std::string{r.text(0)});
    }
  }
  BOOST_TEST(churn_rows == 10000u);
  BOOST_TEST(scored.size() == 10000u);
  BOOST_TEST(output_lines(out / "dead-letters").empty());  // the shipped files are clean

  // One alert per persisted event scoring at least the threshold (0.7), with
  // its id, and no other.
  std::vector<std::string> want_ids, got_ids;
  for (auto& l : output_lines(out / "predictions")) {
    sluice::csv_row r{l, ','};
    if (r.get<double>(2) >= 0.7)
      want_ids.push_back(fmt::format("{}/{}/{}", r.text(0), r.text(1), r.text(5)));
  }
  for (auto& l : output_lines(out / "alerts")) {
    const auto at = l.find("{\"id\":\"");
    BOOST_REQUIRE(at == 0u);
    got_ids.push_back(l.substr(7, l.find('"', 7) - 7));
  }
  std::sort(want_ids.begin(), want_ids.end());
  std::sort(got_ids.begin(), got_ids.end());
  BOOST_TEST_MESSAGE("alerts: " << got_ids.size());
  BOOST_TEST(!got_ids.empty());
  BOOST_TEST((got_ids == want_ids));
  BOOST_TEST(fs::file_size(out / "report.html") > 100'000u);
}

BOOST_AUTO_TEST_CASE(window_aggregates_match_a_brute_force_reference) {
  // 30-day tumbling and 90-day sliding (30-day slide) windows per account:
  // every window that holds a transaction, with exact counts and sums.
  std::vector<std::string> keep;
  const auto rows = berka("trans_head100k.asc", keep);
  for (const auto& [name, days] : {std::pair<std::string, int64_t>{"30d", 30}, {"90d", 90}}) {
    const int64_t slide = 30 * day_ms, size = days * day_ms;
    // (account, window start) -> credits, credit sum, debits, debit sum
    std::map<std::pair<uint64_t, int64_t>, std::tuple<uint64_t, double, uint64_t, double>> want;
    for (auto& r : rows) {
      const int64_t ts = day_of(r.text(2)) * day_ms + r.get<int64_t>(0) % 80'000'000;
      for (int64_t start = ts / slide * slide; start > ts - size; start -= slide) {
        auto& w = want[{r.get<uint64_t>(1), start}];
        if (r.text(3) == "PRIJEM") {
          ++std::get<0>(w);
          std::get<1>(w) += r.get<double>(5);
        } else {
          ++std::get<2>(w);
          std::get<3>(w) += r.get<double>(5);
        }
      }
    }
    size_t got = 0, wrong = 0;
    for (auto& l : output_lines(reference_run() / "aggregates")) {
      sluice::csv_row r{l, ','};
      if (r.text(1) != name)
        continue;
      ++got;
      auto it = want.find({r.get<uint64_t>(0), r.get<int64_t>(2)});
      if (it == want.end() || r.get<int64_t>(3) != r.get<int64_t>(2) + size ||
          std::get<0>(it->second) != r.get<uint64_t>(4) ||
          std::abs(std::get<1>(it->second) - r.get<double>(5)) > 0.01 ||
          std::get<2>(it->second) != r.get<uint64_t>(6) ||
          std::abs(std::get<3>(it->second) - r.get<double>(7)) > 0.01) {
        if (++wrong < 5)
          BOOST_TEST_MESSAGE("unexpected " << name << " row: " << l);
      }
    }
    BOOST_TEST_CONTEXT("windows " << name) {
      BOOST_TEST_MESSAGE(name << " windows: " << got);
      BOOST_TEST(got == want.size());
      BOOST_TEST(wrong == 0u);
    }
  }
}

BOOST_AUTO_TEST_CASE(loan_flags_and_offers_match_a_brute_force_reference) {
  // The shipped rules: loan_asset_share 0.1, 0.15 from 1994-01-01 (rules.csv);
  // offers: min score 0.6, valid 60 days, cool-down 90 days, 120 from 1994-07-01.
  const int64_t y94 = days_from_civil(1994, 1, 1) * day_ms;
  const int64_t jul94 = days_from_civil(1994, 7, 1) * day_ms;
  std::vector<std::string> k1, k2, k3, k4;
  std::map<uint64_t, std::vector<std::pair<int64_t, double>>> balances;  // account -> (ts, balance)
  for (auto& r : berka("trans_head100k.asc", k1))
    balances[r.get<uint64_t>(1)].push_back(
        {day_of(r.text(2)) * day_ms + r.get<int64_t>(0) % 80'000'000, r.get<double>(6)});
  for (auto& [a, v] : balances)
    std::sort(v.begin(), v.end());
  std::set<uint64_t> want_flags;
  for (auto& r : berka("loan.asc", k2)) {
    const int64_t ts = day_of(r.text(2)) * day_ms + 86'000'000 + r.get<int64_t>(0);
    const double share = ts >= y94 ? 0.15 : 0.1;
    const auto& v = balances[r.get<uint64_t>(1)];
    auto it = std::lower_bound(v.begin(), v.end(), std::pair{ts, -1e300});
    if (it == v.begin() || std::prev(it)->second < share * r.get<double>(3))
      want_flags.insert(r.get<uint64_t>(0));
  }
  std::set<uint64_t> got_flags;
  struct ev {
    int64_t ts;
    int kind;  // 0 signal, 1 take-up
    double score;
    std::string reason;
  };
  std::map<std::string, std::vector<ev>> per_client;
  for (auto& l : output_lines(reference_run() / "predictions")) {
    sluice::csv_row r{l, ','};
    if (r.text(0).rfind("bk-", 0) != 0)
      continue;
    per_client[std::string{r.text(0)}].push_back(
        {r.get<int64_t>(5), 0, r.get<double>(2), std::string{r.text(1)}});
    if (r.text(1) == "low_assets_loan") {
      const std::string d{r.text(4)};
      const auto at = d.find(": loan ");
      BOOST_REQUIRE(at != std::string::npos);
      got_flags.insert(std::stoull(d.substr(at + 7)));
    }
  }
  BOOST_TEST(got_flags.size() == want_flags.size());
  BOOST_TEST((got_flags == want_flags));

  std::map<uint64_t, uint64_t> disp_client;
  for (auto& r : berka("disp.asc", k3))
    disp_client[r.get<uint64_t>(0)] = r.get<uint64_t>(1);
  for (auto& r : berka("card.asc", k4))
    per_client[fmt::format("bk-{}", disp_client.at(r.get<uint64_t>(1)))].push_back(
        {day_of(r.text(3)) * day_ms + 85'000'000 + r.get<int64_t>(0), 1, 0, {}});
  std::vector<std::string> want_offers;
  for (auto& [c, evs] : per_client) {
    std::sort(evs.begin(), evs.end(), [](auto& a, auto& b) { return a.ts < b.ts; });
    int64_t open = -1, last_end = -1;
    std::string open_reason;
    for (auto& e : evs) {
      if (open >= 0 && open + 60 * day_ms <= e.ts) {
        want_offers.push_back(fmt::format("{},expired,{},{}", c, open_reason, open + 60 * day_ms));
        last_end = open + 60 * day_ms;
        open = -1;
      }
      if (e.kind == 1) {
        if (open >= 0) {
          want_offers.push_back(fmt::format("{},taken_up,", c));  // prefix compared below
          last_end = e.ts;
          open = -1;
        }
        continue;
      }
      const int64_t cooldown = (e.ts >= jul94 ? 120 : 90) * day_ms;
      if (e.score < 0.6 || open >= 0 || (last_end >= 0 && e.ts < last_end + cooldown))
        continue;
      open = e.ts;
      open_reason = e.reason;
      want_offers.push_back(fmt::format("{},issued,{},{}", c, e.reason, e.ts));
    }
  }
  std::vector<std::string> got_offers;
  for (auto& l : output_lines(reference_run() / "offers")) {
    // taken_up rows name the card: compare their customer and kind only
    if (l.find(",taken_up,") != std::string::npos)
      got_offers.push_back(l.substr(0, l.find(",taken_up,") + 10));
    else
      got_offers.push_back(l);
  }
  std::sort(want_offers.begin(), want_offers.end());
  std::sort(got_offers.begin(), got_offers.end());
  BOOST_TEST(got_offers.size() == want_offers.size());
  BOOST_TEST((got_offers == want_offers));
  // One open offer per customer at a time: between two issues, the first ended.
  BOOST_TEST(std::count_if(got_offers.begin(), got_offers.end(),
                           [](auto& l) { return l.find(",issued,") != std::string::npos; }) > 100);
}

BOOST_AUTO_TEST_CASE(another_parallelism_gives_identical_outputs) {
  auto out = temp_dir("p1") / "out";
  BOOST_REQUIRE_EQUAL(run_churn(out, "--parallelism 1 --no-report"), 0);
  require_same_outputs(reference_run(), out);
}

BOOST_AUTO_TEST_CASE(failures_inside_instances_recover_alone_with_identical_outputs) {
  // --recovery local: exceptions in a sliding aggregate, the business rules
  // and the online model, and a killed task actor, each recovered alone
  // while the rest of the job runs; the outputs are those of the reference.
  auto dir = temp_dir("local");
  auto out = dir / "out";
  const auto r = it::run(fmt::format(
      "{} --data {} --output {} --no-report --state-dir {} --checkpoint-ms 100 --workers 2 "
      "--recovery local --restart fixed-delay:attempts=5,delay=1ms --faults "
      "'throw:operator=flows-90d,instance=1,record=30000;throw:operator=offers,instance=0,"
      "record=1000;kill:operator=by-customer,instance=1,record=3000;"
      "throw:operator=churn-model,instance=0,record=12000' 2>&1",
      churn_bin, data_dir.string(), out.string(), (dir / "state").string()));
  BOOST_TEST_MESSAGE(r.output);
  BOOST_REQUIRE_EQUAL(r.code, 0);
  size_t failures = 0, local = 0;
  std::istringstream lines{r.output};
  for (std::string l; std::getline(lines, l);) {
    failures += l.rfind("  failure: ", 0) == 0;
    local += l.rfind("  recovery: ", 0) == 0 && l.find("recovered locally") != std::string::npos;
  }
  BOOST_TEST(failures == 4u);
  BOOST_TEST(local == 4u);
  require_same_outputs(reference_run(), out);
}

BOOST_AUTO_TEST_CASE(kill_and_restart_give_identical_outputs) {
  auto dir = temp_dir("kill");
  auto out = dir / "out";
  // A slower replay (rate limit from a config file), so the kill lands mid-run.
  // The shipped settings, with a rate limit on the sources.
  std::string toml = it::read_file(data_dir / ".." / "churn" / "churn.toml");
  const std::string unlimited = "source_rate = 0 ";
  BOOST_REQUIRE(toml.find(unlimited) != std::string::npos);
  toml.replace(toml.find(unlimited), unlimited.size(), "source_rate = 25000 ");
  std::ofstream{dir / "slow.toml"} << toml;
  // Alerts also go to a TCP receiver, from both runs.
  tcp_receiver receiver;
  const std::string cmd = fmt::format(
      "{} --data {} --output {} --quiet --no-report --config {} --alerts-to tcp://127.0.0.1:{}",
      churn_bin, data_dir.string(), out.string(), (dir / "slow.toml").string(), receiver.port());
  {
    it::child c{cmd, (dir / "run1.log").string()};
    std::this_thread::sleep_for(2500ms);
    BOOST_REQUIRE_MESSAGE(c.running(),
                          "the job ended before the kill: " << it::read_file(dir / "run1.log"));
    c.kill9();
  }
  BOOST_TEST(!fs::exists(out / "FINISHED"));
  const auto r = it::run(cmd + " 2>&1");
  BOOST_TEST_MESSAGE(r.output);
  BOOST_REQUIRE_EQUAL(r.code, 0);
  require_same_outputs(reference_run(), out);
  // The receiver got every alert; a part handed over just before the kill
  // may come again, and a receiver keeping the ids it has seen has each once.
  const auto got = sorted_lines(receiver.received());
  std::vector<std::string> distinct = got;
  distinct.erase(std::unique(distinct.begin(), distinct.end()), distinct.end());
  BOOST_TEST_MESSAGE("alerts over TCP: " << got.size() << ", distinct " << distinct.size());
  BOOST_TEST((distinct == output_lines(reference_run() / "alerts")));
}

BOOST_AUTO_TEST_CASE(compressed_outputs_and_alerts_on_stdout_match_the_reference) {
  auto out = temp_dir("zstd") / "out";
  // Standard output only: it::run adds 2>&1 to the command, so the group's
  // own 2>/dev/null keeps the log lines (standard error) out.
  const auto r = it::run(fmt::format(
      "{{ {} --data {} --output {} --quiet --no-report --compression zstd --alerts-to stdout "
      "2>/dev/null; }}",
      churn_bin, data_dir.string(), out.string()));
  BOOST_REQUIRE_EQUAL(r.code, 0);
  // Every part file is a zstd frame, and what it holds is the reference's.
  size_t parts = 0;
  for (const char* o : outputs)
    for (auto& e : fs::directory_iterator{out / o})
      if (e.is_regular_file()) {
        ++parts;
        BOOST_TEST(e.path().extension() == ".zst");
      }
  BOOST_TEST(parts > 6u);
  require_same_outputs(reference_run(), out);
  // Standard output carried the alerts, each once (no failure here).
  BOOST_TEST((sorted_lines(r.output) == output_lines(reference_run() / "alerts")));
}

BOOST_AUTO_TEST_CASE(a_replay_speedup_paces_the_job_and_changes_no_result) {
  // Pace the longest event stream (loans, cards or transactions: days apart)
  // to about 5 s; a progress line shows on a terminal (util-linux `script`).
  int64_t first = INT64_MAX, last = INT64_MIN;
  for (auto [file, col] : {std::pair{"loan.asc", 2}, {"card.asc", 3}, {"trans_head100k.asc", 2}}) {
    std::vector<std::string> keep;
    for (auto& r : berka(file, keep)) {
      const int64_t d = day_of(r.text(static_cast<size_t>(col)));
      first = std::min(first, d);
      last = std::max(last, d);
    }
  }
  const double span_ms = static_cast<double>(last - first) * day_ms;
  const double speedup = span_ms / 5000.0;
  auto out = temp_dir("speedup") / "out";
  const auto start = std::chrono::steady_clock::now();
  const auto r = it::run(
      fmt::format("script -qfec '{} --data {} --output {} --no-report --speedup {:.0f}' /dev/null",
                  churn_bin, data_dir.string(), out.string(), speedup));
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  BOOST_REQUIRE_MESSAGE(r.code == 0, r.output);
  BOOST_TEST_MESSAGE("speed-up " << speedup << ": " << seconds << " s");
  BOOST_TEST(seconds >= 0.95 * span_ms / speedup / 1000.0);
  require_same_outputs(reference_run(), out);
  // The progress line (on a terminal) ends with the whole input read.
  BOOST_TEST(r.output.find("progress: ") != std::string::npos);
  BOOST_TEST(r.output.find("100 % of the input") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(corrupted_lines_land_in_the_dead_letter_output) {
  auto dir = temp_dir("bad");
  auto data = dir / "data";
  fs::create_directories(data);
  fs::copy(data_dir / "berka", data / "berka", fs::copy_options::recursive);
  fs::copy(data_dir / "churn_modelling", data / "churn_modelling", fs::copy_options::recursive);
  // Three bad customer rows (appended: RowNumber 10001..10003) and two bad
  // transactions (inserted after the first).
  {
    std::ofstream cm{data / "churn_modelling" / "Churn_Modelling.csv", std::ios::app};
    cm << "10001,99000001,Short,600,France\r\n"                                  // 5 fields
       << "10002,99000002,Digits,6x0,France,Male,40,3,0,1,1,1,5000.5,0\r\n"      // CreditScore
       << "10003,99000003,Nowhere,600,Atlantis,Male,40,3,0,1,1,1,5000.5,0\r\n";  // Geography
  }
  {
    auto lines = read_lines(data / "berka" / "trans_head100k.asc");
    lines.insert(lines.begin() + 2, "1;1;930101;\"BOGUS\";\"VKLAD\";1.00;1.00;\"\";;");
    lines.insert(lines.begin() + 3, "2;1;931350;\"PRIJEM\";\"VKLAD\";1.00;1.00;\"\";;");
    std::ofstream t{data / "berka" / "trans_head100k.asc"};
    for (auto& l : lines)
      t << l << "\r\n";
  }
  auto out = dir / "out";
  const auto r = it::run(fmt::format(
      "{} --data {} --output {} --quiet --no-report "
      "--rules {} --config {} 2>&1",
      churn_bin, data.string(), out.string(), (data_dir / ".." / "churn" / "rules.csv").string(),
      (data_dir / ".." / "churn" / "churn.toml").string()));
  BOOST_TEST_MESSAGE(r.output);
  BOOST_REQUIRE_EQUAL(r.code, 0);
  const auto dead = output_lines(out / "dead-letters");
  // The short row fails in all three streams that read the file; the bad
  // number only in the account stream; the unknown country only in the
  // profile stream; each bad transaction once.
  BOOST_TEST(dead.size() == 7u);
  auto count = [&](const std::string& needle) {
    return std::count_if(dead.begin(), dead.end(),
                         [&](auto& l) { return l.find(needle) != std::string::npos; });
  };
  BOOST_TEST(count("expected 14 fields, got 5") == 3);
  BOOST_TEST(count("Churn_Modelling.csv:10002\"") == 3);  // line 10002 = RowNumber 10001
  BOOST_TEST(count("Churn_Modelling.csv:10003\"") == 1);
  BOOST_TEST(count("Churn_Modelling.csv:10004\"") == 1);
  BOOST_TEST(count("trans_head100k.asc:3\"") == 1);
  BOOST_TEST(count("unknown Geography 'Atlantis'") == 1);
  BOOST_TEST(count("unknown transaction type 'BOGUS'") == 1);
  BOOST_TEST(count("trans_head100k.asc:4\"") == 1);
  // The job went on: every good customer was scored.
  size_t churn_rows = 0;
  for (auto& l : output_lines(out / "predictions"))
    churn_rows += l.find(",churn_model,") != std::string::npos;
  BOOST_TEST(churn_rows == 10000u);
}

BOOST_AUTO_TEST_CASE(a_three_node_cluster_gives_identical_outputs) {
  it::local_cluster c{"churn"};
  const auto out = c.dir() / "out";
  for (auto& n : c.names())
    c.start(n, {churn_bin, "--data", data_dir.string(), "--output", out.string(), "--quiet",
                "--no-report"});
  for (auto& n : c.names())
    BOOST_REQUIRE_MESSAGE(c.wait(n, 120s) == 0, "node " << n << " failed:\n" << c.logs());
  require_same_outputs(reference_run(), out);
}

BOOST_AUTO_TEST_CASE(the_report_renders_in_headless_chromium) {
  if (!fs::exists("/usr/bin/chromium")) {
    BOOST_TEST_MESSAGE("chromium is not installed (scripts/setup.sh --test installs it): skipped");
    return;
  }
  const fs::path shots = fs::path{CHURN_TEST_OUTPUT} / "report-screenshots";
  fs::create_directories(shots);
  const auto r = it::run(fmt::format("bash {} {} {} 2>&1", CHECK_REPORT_SH,
                                     (reference_run() / "report.html").string(), shots.string()));
  BOOST_TEST_MESSAGE(r.output);
  BOOST_TEST(r.code == 0);
  BOOST_TEST(fs::exists(shots / "report.png"));
}
