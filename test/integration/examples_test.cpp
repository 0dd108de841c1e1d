#define BOOST_TEST_MODULE integration_examples
#include <boost/test/unit_test.hpp>

#include "process.hpp"

#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace fs = std::filesystem;

namespace {

using it::result;
using it::run;

struct temp_dir {
  fs::path path = fs::temp_directory_path() / ("sluice-it-" + std::to_string(::getpid()));
  temp_dir() { fs::create_directories(path); }
  ~temp_dir() { fs::remove_all(path); }
};

std::map<std::string, long> read_counts(const fs::path& p) {
  std::map<std::string, long> out;
  std::ifstream in(p);
  std::string line;
  while (std::getline(in, line)) {
    auto comma = line.rfind(',');
    BOOST_REQUIRE_MESSAGE(comma != std::string::npos, "bad output line: " << line);
    out[line.substr(0, comma)] = std::stol(line.substr(comma + 1));
  }
  return out;
}

}  // namespace

BOOST_AUTO_TEST_CASE(wordcount_counts_words_of_a_file) {
  temp_dir dir;
  {
    std::ofstream f(dir.path / "in.txt");
    f << "The quick brown fox\r\njumps over the lazy dog.\nThe END, the end!\n";
  }
  for (const char* par : {"1", "3"}) {
    auto r = run(std::string(WORDCOUNT_BIN) + " --input " + (dir.path / "in.txt").string() +
                 " --output " + (dir.path / "out.csv").string() + " --parallelism " + par);
    BOOST_TEST_INFO("output: " << r.output);
    BOOST_REQUIRE(r.code == 0);
    BOOST_TEST(r.output.find("job 'wordcount' finished") != std::string::npos);
    auto counts = read_counts(dir.path / "out.csv");
    BOOST_TEST(counts.size() == 9u);
    BOOST_TEST(counts["the"] == 4);
    BOOST_TEST(counts["end"] == 2);
    BOOST_TEST(counts["fox"] == 1);
  }
}

BOOST_AUTO_TEST_CASE(wordcount_on_the_churn_data_counts_geographies) {
  const fs::path data =
      fs::path(SLUICE_SHARED_DATA_DIR) / "churn_modelling" / "Churn_Modelling.csv";
  BOOST_REQUIRE_MESSAGE(fs::exists(data), "shared data set missing: looked for " << data);
  temp_dir dir;
  auto r = run(std::string(WORDCOUNT_BIN) + " --input " + data.string() + " --output " +
               (dir.path / "out.csv").string() + " --parallelism 2");
  BOOST_TEST_INFO("output: " << r.output);
  BOOST_REQUIRE(r.code == 0);
  auto counts = read_counts(dir.path / "out.csv");
  // Known facts of the data set: 5,014 France, 2,509 Germany, 2,477 Spain.
  BOOST_TEST(counts["france"] == 5014);
  BOOST_TEST(counts["germany"] == 2509);
  BOOST_TEST(counts["spain"] == 2477);
}

BOOST_AUTO_TEST_CASE(wordcount_reports_a_missing_input_clearly) {
  temp_dir dir;
  auto r = run(std::string(WORDCOUNT_BIN) + " --input /nonexistent/x.txt --output " +
               (dir.path / "o.csv").string());
  BOOST_TEST(r.code == 1);
  BOOST_TEST(r.output.find("error: operator 'read' instance 0 failed: cannot open input file "
                           "'/nonexistent/x.txt'") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(wordcount_rejects_bad_options) {
  auto r = run(std::string(WORDCOUNT_BIN) + " --input x --workers 0");
  BOOST_TEST(r.code != 0);
  BOOST_TEST(r.output.find("--workers") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(custom_actor_example_runs_the_user_actor) {
  temp_dir dir;
  auto r = run(std::string(CUSTOM_ACTOR_BIN) + " --count 7000 --output " +
               (dir.path / "b.csv").string());
  BOOST_TEST_INFO("output: " << r.output);
  BOOST_REQUIRE(r.code == 0);
  std::ifstream in(dir.path / "b.csv");
  std::string line;
  long lines = 0, last = 0, expected = 0;
  while (std::getline(in, line)) {
    expected += static_cast<long>(lines % 7) * 100 - 250;
    last = std::stol(line);
    BOOST_REQUIRE(last == expected);  // running balance, in order
    ++lines;
  }
  BOOST_TEST(lines == 7000);
}

BOOST_AUTO_TEST_CASE(custom_actor_ledger_keeps_exact_balances_through_kill_9_and_restart) {
  // The ledger actor's balance is its checkpointed state: killed mid-run
  // and started again, the job must write the exact running balances.
  using namespace std::chrono_literals;
  temp_dir dir;
  const long count = 20000;
  const fs::path out = dir.path / "b.csv";
  const std::string job = std::string(CUSTOM_ACTOR_BIN) + " --count " + std::to_string(count) +
                          " --rate 5000 --checkpoint-ms 100 --output " + out.string() +
                          " --state-dir " + (dir.path / "state").string();
  const fs::path first_log = dir.path / "first.log";
  {
    it::child first{job, first_log.string()};
    // Until a good part of the transactions went through (many checkpoints
    // completed by then): at least 30,000 bytes of balances staged.
    const fs::path staged = dir.path / "b.csv.inprogress";
    const auto deadline = std::chrono::steady_clock::now() + 30s;
    auto staged_bytes = [&] {
      std::error_code ec;
      const auto n = fs::file_size(staged, ec);
      return ec ? uintmax_t{0} : n;
    };
    while (std::chrono::steady_clock::now() < deadline && first.running() && staged_bytes() < 30000)
      std::this_thread::sleep_for(20ms);
    std::ifstream log{first_log};
    const std::string text{std::istreambuf_iterator<char>{log}, std::istreambuf_iterator<char>{}};
    BOOST_REQUIRE_MESSAGE(first.running(), "the job ended before it was killed: " << text);
    BOOST_REQUIRE_MESSAGE(staged_bytes() >= 30000, "no progress within 30 s: " << text);
    const int st = first.kill9();
    BOOST_TEST((WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL));
  }
  BOOST_TEST(!fs::exists(out));  // killed mid-run: nothing published yet
  auto second = run(job);
  BOOST_TEST_INFO("restarted run output: " << second.output);
  BOOST_REQUIRE(second.code == 0);
  BOOST_TEST(second.output.find("resuming from checkpoint") != std::string::npos);
  // It resumed: the ledger saw only what followed the checkpoint, so a
  // ledger starting from zero again could not give the exact balances.
  std::istringstream summary{second.output};
  long ledger_in = -1;
  for (std::string line; std::getline(summary, line);) {
    std::istringstream words{line};
    std::string name;
    long par = 0;
    if (words >> name >> par >> ledger_in && name == "ledger")
      break;
    ledger_in = -1;
  }
  BOOST_TEST(ledger_in > 0);
  BOOST_TEST(ledger_in < count);
  // The expected balances, computed here: running sums of the amounts.
  std::vector<long> expected;
  long balance = 0;
  for (long i = 0; i < count; ++i)
    expected.push_back(balance += (i % 7) * 100 - 250);
  std::vector<long> got;
  std::ifstream in(out);
  for (std::string line; std::getline(in, line);)
    got.push_back(std::stol(line));
  BOOST_TEST(got.size() == expected.size());
  BOOST_TEST((got == expected));
}
