#define BOOST_TEST_MODULE integration_crash_points
#include <boost/test/unit_test.hpp>

#include "process.hpp"

#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

// The oracle job crashes the whole process (exit 137, no cleanup) at each
// interesting moment of a checkpoint, is started again on the same state
// directory, and its exactly-once output must then hold every record once.

namespace fs = std::filesystem;

namespace {

using it::result;
using it::run;

void crash_then_resume(const std::string& point, const std::string& checkpoint,
                       const std::string& par) {
  const fs::path dir =
      fs::temp_directory_path() / ("sluice-crash-" + std::to_string(::getpid()) + "-" + point);
  fs::remove_all(dir);
  fs::create_directories(dir);
  const std::string job = std::string(ORACLE_BIN) +
                          " --count 20000 --keys 8 --rate 40000 --output " +
                          (dir / "out").string() + " --state-dir " + (dir / "state").string() +
                          " --checkpoint-ms 50 --parallelism " + par;
  std::string rule = "crash:at=" + point + (checkpoint.empty() ? "" : ",checkpoint=" + checkpoint);
  auto first = run("SLUICE_FAULTS='" + rule + "' " + job);
  BOOST_TEST_INFO("crash run output: " << first.output);
  BOOST_TEST(first.code == 137);
  BOOST_TEST(first.output.find("injected crash at " + point) != std::string::npos);
  auto second = run(job);
  BOOST_TEST_INFO("resumed run output: " << second.output);
  BOOST_TEST(second.code == 0);
  BOOST_TEST(second.output.find("resuming from checkpoint") != std::string::npos);
  auto check = run(std::string(ORACLE_CHECK_BIN) + " --count 20000 --keys 8 --output " +
                   (dir / "out").string());
  BOOST_TEST_INFO("check: " << check.output);
  BOOST_TEST(check.code == 0);
  BOOST_TEST(check.output.find("lost=0 duplicated=0 mismatched=0") != std::string::npos);
  fs::remove_all(dir);
}

}  // namespace

BOOST_AUTO_TEST_CASE(crash_after_snapshot_write_before_acknowledgement) {
  crash_then_resume("after_snapshot_write", "3", "2");
}

BOOST_AUTO_TEST_CASE(crash_between_checkpoint_completion_and_sink_commit) {
  crash_then_resume("before_sink_commit", "3", "2");
}

BOOST_AUTO_TEST_CASE(crash_after_sink_commit) {
  crash_then_resume("after_sink_commit", "3", "1");
}

BOOST_AUTO_TEST_CASE(crash_during_recovery_itself) {
  // First a crash after checkpoint 3 completed, then a crash while the next
  // start restores it; the third start must still be exact.
  const fs::path dir =
      fs::temp_directory_path() / ("sluice-crash-rec-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  const std::string job =
      std::string(ORACLE_BIN) + " --count 20000 --keys 8 --rate 40000 --output " +
      (dir / "out").string() + " --state-dir " + (dir / "state").string() + " --checkpoint-ms 50";
  BOOST_TEST(run("SLUICE_FAULTS='crash:at=before_sink_commit,checkpoint=3' " + job).code == 137);
  auto during = run("SLUICE_FAULTS='crash:at=during_recovery' " + job);
  BOOST_TEST(during.code == 137);
  BOOST_TEST(during.output.find("injected crash at during_recovery") != std::string::npos);
  BOOST_TEST(run(job).code == 0);
  auto check = run(std::string(ORACLE_CHECK_BIN) + " --count 20000 --keys 8 --output " +
                   (dir / "out").string());
  BOOST_TEST_INFO("check: " << check.output);
  BOOST_TEST(check.output.find("lost=0 duplicated=0 mismatched=0") != std::string::npos);
  fs::remove_all(dir);
}

BOOST_AUTO_TEST_CASE(partial_check_of_a_job_killed_before_its_first_output_is_not_a_failure) {
  // A job killed before it created its output directory published nothing:
  // a partial check accepts that; a final check does not.
  const fs::path dir =
      fs::temp_directory_path() / ("sluice-no-output-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  const std::string check =
      std::string(ORACLE_CHECK_BIN) + " --count 100 --keys 4 --output " + dir.string();
  auto partial = run(check + " --partial");
  BOOST_TEST_INFO(partial.output);
  BOOST_TEST(partial.code == 0);
  BOOST_TEST(partial.output.find("nothing published") != std::string::npos);
  auto final_check = run(check);
  BOOST_TEST_INFO(final_check.output);
  BOOST_TEST(final_check.code == 2);
  BOOST_TEST(final_check.output.find("cannot list") != std::string::npos);
}

namespace {

std::string slurp(const fs::path& p) {
  std::ifstream in{p, std::ios::binary};
  return {std::istreambuf_iterator<char>{in}, std::istreambuf_iterator<char>{}};
}

/// wordcount (plain write_csv sink, at_end results) crashed at `point` of its
/// final checkpoint (the only one: the interval is an hour), then started
/// again with the same command: the output must equal a run without faults,
/// never be emptied or cut.
void wordcount_crash_at_the_end(const std::string& point) {
  const fs::path dir =
      fs::temp_directory_path() / ("sluice-crash-end-" + std::to_string(::getpid()) + "-" + point);
  fs::remove_all(dir);
  fs::create_directories(dir);
  const std::string input = SLUICE_SHARED_DATA_DIR "/churn_modelling/Churn_Modelling.csv";
  auto reference = run(std::string(WORDCOUNT_BIN) + " --input " + input + " --output " +
                       (dir / "ref.csv").string());
  BOOST_REQUIRE_MESSAGE(reference.code == 0, reference.output);
  const std::string job = std::string(WORDCOUNT_BIN) + " --input " + input + " --output " +
                          (dir / "out.csv").string() + " --state-dir " + (dir / "state").string() +
                          " --checkpoint-ms 3600000";
  auto first = run("SLUICE_FAULTS='crash:at=" + point + "' " + job);
  BOOST_TEST_INFO("crash run output: " << first.output);
  BOOST_REQUIRE(first.code == 137);
  auto second = run(job);
  BOOST_TEST_INFO("restarted run output: " << second.output);
  BOOST_REQUIRE(second.code == 0);
  const auto expected = slurp(dir / "ref.csv");
  BOOST_REQUIRE(!expected.empty());
  BOOST_TEST(slurp(dir / "out.csv") == expected);
  BOOST_TEST(!fs::exists(dir / "out.csv.inprogress"));
  fs::remove_all(dir);
}

}  // namespace

BOOST_AUTO_TEST_CASE(plain_csv_output_survives_a_crash_after_the_final_checkpoint_completed) {
  wordcount_crash_at_the_end("before_sink_commit");
}

BOOST_AUTO_TEST_CASE(
    plain_csv_output_survives_a_crash_after_it_was_published_before_the_end_was_recorded) {
  wordcount_crash_at_the_end("after_sink_commit");
}
