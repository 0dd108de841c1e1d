// The supervisor's dead-letter file: exactly-once output in a checkpointed
// job (staged per epoch, published on completion, recovered after a crash
// that is simulated by dropping the object without finishing it), and the
// plain append of a job without checkpoints.
#define BOOST_TEST_MODULE actors_dead_letter_file
#include <boost/test/unit_test.hpp>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "supervisor/dead_letter_file.hpp"

using namespace sluice;
using sluice::actors::dead_letter_file;
namespace fs = std::filesystem;

namespace {

struct temp_dir {
  fs::path path;
  temp_dir() {
    static int n = 0;
    path = fs::temp_directory_path() /
           ("sluice-dead-letters-" + std::to_string(::getpid()) + "-" + std::to_string(n++));
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~temp_dir() { fs::remove_all(path); }
  std::string file() const { return (path / "dead.jsonl").string(); }
  std::string staging() const { return (path / "state" / "dead-letters").string(); }
};

std::vector<dead_letter> letters(const std::string& tag, int n) {
  std::vector<dead_letter> out;
  for (int i = 0; i < n; ++i)
    out.push_back(
        dead_letter{"source", 0, "tcp:" + std::to_string(i), "bad", tag + "-" + std::to_string(i)});
  return out;
}

/// How often each raw text appears in the file.
std::map<std::string, int> published(const std::string& file) {
  std::map<std::string, int> seen;
  std::ifstream in{file};
  for (std::string line; std::getline(in, line);) {
    const auto at = line.find("\"raw\":\"");
    BOOST_REQUIRE_MESSAGE(at != std::string::npos, "no raw field in " << line);
    const auto end = line.find('"', at + 7);
    ++seen[line.substr(at + 7, end - at - 7)];
  }
  return seen;
}

void must(const result<void>& r) {
  BOOST_REQUIRE_MESSAGE(r.ok(), (r ? std::string{} : to_string(r.error())));
}

}  // namespace

BOOST_AUTO_TEST_SUITE(actors_dead_letter_file)

BOOST_AUTO_TEST_CASE(letters_are_published_when_a_later_checkpoint_completes) {
  temp_dir dir;
  dead_letter_file d{dir.file()};
  d.stage_in(dir.staging());
  must(d.restart_from(0));
  must(d.append(0, letters("a", 3)));  // before checkpoint 1
  must(d.sync());
  BOOST_TEST(!fs::exists(dir.file()));  // staged only
  must(d.append(1, letters("b", 2)));   // after the task snapshotted 1
  must(d.publish(1));
  auto seen = published(dir.file());
  BOOST_TEST(seen.size() == 3u);
  BOOST_TEST(seen.count("a-0") == 1u);
  BOOST_TEST(seen.count("b-0") == 0u);
  must(d.publish(2));
  seen = published(dir.file());
  BOOST_TEST(seen.size() == 5u);
  for (auto& [raw, n] : seen)
    BOOST_TEST(n == 1, raw);
  BOOST_TEST(d.count() == 5u);
  BOOST_TEST(d.finish() == dir.file());
}

// kill -9 after checkpoint 2 completed and was published, with letters of
// epochs 2 and 3 staged: the restart from checkpoint 2 publishes nothing
// twice and drops epochs 2 and 3 (their input is replayed and rejected
// again); a restart from 3 publishes epoch 2.
BOOST_AUTO_TEST_CASE(a_restart_publishes_what_the_restored_checkpoint_covers_and_drops_the_rest) {
  for (uint64_t restore : {2u, 3u}) {
    temp_dir dir;
    {
      dead_letter_file d{dir.file()};
      d.stage_in(dir.staging());
      must(d.restart_from(0));
      must(d.append(0, letters("e0", 2)));
      must(d.append(1, letters("e1", 2)));
      must(d.sync());
      must(d.publish(2));
      must(d.append(2, letters("e2", 2)));
      must(d.append(3, letters("e3", 2)));
      must(d.sync());
      // killed here: no finish
    }
    dead_letter_file d{dir.file()};
    d.stage_in(dir.staging());
    must(d.restart_from(restore));
    auto seen = published(dir.file());
    BOOST_TEST(seen.size() == (restore == 2 ? 4u : 6u));
    for (auto& [raw, n] : seen)
      BOOST_TEST(n == 1, raw);
    BOOST_TEST(seen.count("e2-0") == (restore == 3 ? 1u : 0u));
    BOOST_TEST(seen.count("e3-0") == 0u);
    // The replay rejects the dropped input again.
    must(d.append(restore, letters("e" + std::to_string(restore), 2)));
    must(d.publish(restore + 1));
    seen = published(dir.file());
    for (auto& [raw, n] : seen)
      BOOST_TEST(n == 1, raw);
    BOOST_TEST(seen.count("e2-1") == 1u);
  }
}

// A crash in the middle of a publish (the letters appended to the file but
// the publish not recorded, or recorded but its staged files not deleted).
BOOST_AUTO_TEST_CASE(an_interrupted_publish_is_redone_exactly_once) {
  temp_dir dir;
  {
    std::ofstream{dir.file()} << "{\"raw\":\"older\"}\n";  // not this job's: kept
    dead_letter_file d{dir.file()};
    d.stage_in(dir.staging());
    must(d.restart_from(0));
    must(d.append(0, letters("x", 3)));
    must(d.sync());
  }
  // The publish of checkpoint 1 appended part of the letters, then the
  // process died before it recorded itself.
  { std::ofstream{dir.file(), std::ios::app} << "{\"raw\":\"x-0\"}\n{\"raw\":\"x-1\"}\n"; }
  {
    dead_letter_file d{dir.file()};
    d.stage_in(dir.staging());
    must(d.restart_from(1));
  }
  auto seen = published(dir.file());
  BOOST_TEST(seen.size() == 4u);
  for (auto& [raw, n] : seen)
    BOOST_TEST(n == 1, raw);
  // Recorded, but a staged file survived (it is deleted after the record).
  {
    std::ofstream{dir.staging() + "/staged-0.jsonl"} << "{\"raw\":\"x-0\"}\n";
    dead_letter_file d{dir.file()};
    d.stage_in(dir.staging());
    must(d.restart_from(5));
  }
  seen = published(dir.file());
  BOOST_TEST(seen["x-0"] == 1);
  BOOST_TEST(!fs::exists(dir.staging() + "/staged-0.jsonl"));
}

BOOST_AUTO_TEST_CASE(without_checkpoints_letters_are_appended_at_once) {
  temp_dir dir;
  dead_letter_file d{dir.file()};
  BOOST_TEST(d.finish().empty());  // nothing written: no file
  must(d.append(7, letters("p", 2)));
  BOOST_TEST(d.finish() == dir.file());
  BOOST_TEST(published(dir.file()).size() == 2u);
  BOOST_TEST(d.count() == 2u);
}

BOOST_AUTO_TEST_SUITE_END()
