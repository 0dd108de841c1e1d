#define BOOST_TEST_MODULE integration_examples
#include <boost/test/unit_test.hpp>

#include "process.hpp"

#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>

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
