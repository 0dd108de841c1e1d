// The durable line log behind the TCP line source: append, read, reopen, and
// its own error codes for a damaged log.
#include "sluice/state/line_log.hpp"

#include <boost/test/unit_test.hpp>

#include <lmdb.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

#include "temp_dir.hpp"

using namespace sluice;
using namespace sluice::state;
namespace fs = std::filesystem;

namespace {

/// A fresh directory for one test (see temp_dir.hpp).
struct temp_dir : sluice::test::temp_dir {
  temp_dir() : sluice::test::temp_dir("line-log") {}
};

template <class T>
T must(result<T> r) {
  BOOST_REQUIRE_MESSAGE(r.ok(), (r ? std::string{} : to_string(r.error())));
  return std::move(r).value();
}

/// `r` failed with `code` and its message contains every one of `parts`.
template <class T>
void expect_error(const result<T>& r, errc code, std::vector<std::string> parts) {
  BOOST_REQUIRE_MESSAGE(!r.ok(), "expected " << to_string(code) << ", got success");
  BOOST_TEST((r.error().code == code),
             "expected " << to_string(code) << ", got " << to_string(r.error()));
  for (const auto& p : parts)
    BOOST_TEST(r.error().message.find(p) != std::string::npos,
               "message \"" << r.error().message << "\" lacks \"" << p << "\"");
}

std::string seq_key(uint64_t seq) {
  std::string k(8, '\0');
  for (int i = 7; i >= 0; --i, seq >>= 8)
    k[static_cast<size_t>(i)] = static_cast<char>(seq & 0xff);
  return k;
}

/// Runs `f` on a write transaction of the log's "lines" database, through
/// the LMDB API directly. The log must be closed (one environment per
/// directory per process).
void with_raw_lines(const std::string& dir, const std::function<void(MDB_txn*, MDB_dbi)>& f) {
  MDB_env* env = nullptr;
  BOOST_REQUIRE_EQUAL(mdb_env_create(&env), 0);
  BOOST_REQUIRE_EQUAL(mdb_env_set_maxdbs(env, 1), 0);
  BOOST_REQUIRE_EQUAL(mdb_env_open(env, dir.c_str(), 0, 0644), 0);
  MDB_txn* txn = nullptr;
  BOOST_REQUIRE_EQUAL(mdb_txn_begin(env, nullptr, 0, &txn), 0);
  MDB_dbi dbi = 0;
  BOOST_REQUIRE_EQUAL(mdb_dbi_open(txn, "lines", 0, &dbi), 0);
  f(txn, dbi);
  BOOST_REQUIRE_EQUAL(mdb_txn_commit(txn), 0);
  mdb_env_close(env);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(state_line_log)

BOOST_AUTO_TEST_CASE(append_read_and_reopen_are_durable) {
  temp_dir dir;
  {
    auto log = must(line_log::open(dir.str()));
    auto& l = *log;
    BOOST_TEST(must(l.size()) == 0u);
    std::vector<std::string> none;
    BOOST_TEST(must(l.read(1, 10, none)) == 0u);
    BOOST_TEST(must(l.append({"a", "b"})) == 2u);
    BOOST_TEST(must(l.append({"", std::string("x\0y", 3)})) == 4u);
    std::vector<std::string> out;
    BOOST_TEST(must(l.read(1, 10, out)) == 4u);
    BOOST_TEST((out == std::vector<std::string>{"a", "b", "", std::string("x\0y", 3)}));
    out.clear();
    BOOST_TEST(must(l.read(3, 1, out)) == 1u);
    BOOST_TEST((out == std::vector<std::string>{""}));
    out.clear();
    BOOST_TEST(must(l.read(5, 10, out)) == 0u);
    // Opening the same directory again in this process shares the log.
    auto again = must(line_log::open(dir.str() + "/."));
    BOOST_TEST(again.get() == log.get());
  }
  auto log = must(line_log::open(dir.str()));
  BOOST_TEST(must(log->size()) == 4u);
  std::vector<std::string> out;
  BOOST_TEST(must(log->read(2, 2, out)) == 2u);
  BOOST_TEST((out == std::vector<std::string>{"b", ""}));
  std::vector<std::string> many;
  for (int i = 0; i < 5000; ++i)
    many.push_back(std::string(100, static_cast<char>('a' + i % 26)));
  BOOST_TEST(must(log->append(many)) == 5004u);  // grows the map past its first size
  out.clear();
  BOOST_TEST(must(log->read(5004, 10, out)) == 1u);
  BOOST_TEST(out[0] == many.back());
}

BOOST_AUTO_TEST_CASE(gap_in_the_sequence_is_corrupt_log_naming_the_directory) {
  temp_dir dir;
  {
    auto log = must(line_log::open(dir.str()));
    must(log->append({"one", "two", "three"}));
  }
  with_raw_lines(dir.str(), [](MDB_txn* txn, MDB_dbi dbi) {
    const std::string k = seq_key(2);
    MDB_val kv{k.size(), const_cast<char*>(k.data())};
    BOOST_REQUIRE_EQUAL(mdb_del(txn, dbi, &kv, nullptr), 0);
  });
  auto log = must(line_log::open(dir.str()));
  std::vector<std::string> out;
  expect_error(log->read(1, 10, out), errc::corrupt_log,
               {dir.str(), "expected line 2, found line 3"});
  out.clear();
  BOOST_TEST(must(log->read(3, 10, out)) == 1u);  // past the gap the log still reads
}

BOOST_AUTO_TEST_CASE(malformed_key_is_corrupt_log_naming_the_directory) {
  temp_dir dir;
  {
    auto log = must(line_log::open(dir.str()));
    must(log->append({"one"}));
  }
  with_raw_lines(dir.str(), [](MDB_txn* txn, MDB_dbi dbi) {
    std::string k = "abc", v = "junk";  // sorts after every 8-byte sequence key
    MDB_val kv{k.size(), k.data()}, vv{v.size(), v.data()};
    BOOST_REQUIRE_EQUAL(mdb_put(txn, dbi, &kv, &vv, 0), 0);
  });
  auto log = must(line_log::open(dir.str()));
  expect_error(log->size(), errc::corrupt_log, {dir.str(), "a key of 3 bytes"});
  expect_error(log->append({"two"}), errc::corrupt_log, {dir.str()});
}

BOOST_AUTO_TEST_CASE(bad_arguments_and_directories_are_refused) {
  temp_dir dir;
  expect_error(line_log::open(dir.str(), 0), errc::invalid_argument, {dir.str()});
  const std::string file = dir.str() + "/plain-file";
  { std::ofstream{file} << "x"; }
  expect_error(line_log::open(file + "/sub"), errc::io_error, {"line log", "plain-file"});
}

// A sender that resends lines whose acknowledgement it lost (the TCP
// source's idempotent senders) must not put them into the log twice, also
// after the log was closed and opened again (a process killed and started
// again).
BOOST_AUTO_TEST_CASE(sender_lines_at_or_below_its_mark_are_dropped_across_reopen) {
  temp_dir dir;
  {
    auto log = must(line_log::open(dir.str()));
    BOOST_TEST(must(log->sender_mark("s1")) == 0u);
    auto a = must(log->append("s1", 1, {"a1", "a2", "a3"}));
    BOOST_TEST(a.appended == 3u);
    BOOST_TEST(a.dropped == 0u);
    BOOST_TEST(a.mark == 3u);
    BOOST_TEST(must(log->append({"plain"})) == 4u);  // a sender without a name: no marks
    // Lines 2..5 resent: 2 and 3 are dropped, 4 and 5 appended.
    auto b = must(log->append("s1", 2, {"a2", "a3", "a4", "a5"}));
    BOOST_TEST(b.appended == 2u);
    BOOST_TEST(b.dropped == 2u);
    BOOST_TEST(b.mark == 5u);
    // Another sender has marks of its own.
    BOOST_TEST(must(log->append("s2", 1, {"b1"})).appended == 1u);
  }
  auto log = must(line_log::open(dir.str()));
  BOOST_TEST(must(log->sender_mark("s1")) == 5u);
  BOOST_TEST(must(log->sender_mark("s2")) == 1u);
  auto c = must(log->append("s1", 1, {"a1", "a2", "a3", "a4", "a5"}));
  BOOST_TEST(c.appended == 0u);
  BOOST_TEST(c.dropped == 5u);
  BOOST_TEST(c.mark == 5u);
  std::vector<std::string> out;
  BOOST_TEST(must(log->read(1, 100, out)) == 7u);
  BOOST_TEST((out == std::vector<std::string>{"a1", "a2", "a3", "plain", "a4", "a5", "b1"}));
  expect_error(log->append("", 1, {"x"}), errc::invalid_argument, {dir.str()});
  expect_error(log->append("s1", 0, {"x"}), errc::invalid_argument, {dir.str()});
}

BOOST_AUTO_TEST_SUITE_END()
