// GCC 12 at -O2 reports a false stringop-overflow for the byte flips below
// (std::string of a size it cannot know); the writes are bounds-checked.
#pragma GCC diagnostic ignored "-Wstringop-overflow"
#include "sluice/state/snapshot_store.hpp"

#include <boost/test/unit_test.hpp>

#include <lmdb.h>
#include <stdlib.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <functional>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "temp_dir.hpp"

using namespace sluice;
using namespace sluice::state;
namespace fs = std::filesystem;

namespace {

/// A fresh directory for one test (see temp_dir.hpp).
struct temp_dir : sluice::test::temp_dir {
  temp_dir() : sluice::test::temp_dir("snapshot") {}
};

template <class T>
std::string describe(const result<T>& r) {
  return r ? std::string{"ok"} : to_string(r.error());
}

/// The value of `r`, failing the test (with the error) if there is none.
template <class T>
T must(result<T> r) {
  BOOST_REQUIRE_MESSAGE(r.ok(), describe(r));
  return std::move(r).value();
}

void must(result<void> r) {
  BOOST_REQUIRE_MESSAGE(r.ok(), describe(r));
}

/// `r` failed with `code` and its message contains every one of `parts`.
template <class T>
void expect_error(const result<T>& r, errc code, std::vector<std::string> parts = {}) {
  BOOST_REQUIRE_MESSAGE(!r.ok(), "expected " << to_string(code) << ", got success");
  BOOST_TEST_MESSAGE(to_string(r.error()));
  BOOST_TEST((r.error().code == code),
             "expected " << to_string(code) << ", got " << to_string(r.error()));
  for (const auto& p : parts)
    BOOST_TEST(r.error().message.find(p) != std::string::npos,
               "message \"" << r.error().message << "\" lacks \"" << p << "\"");
}

snapshot_key op_state(std::string uid, uint32_t instance) {
  return snapshot_key{std::move(uid), instance_index{instance}, snapshot_key::operator_state};
}

snapshot_key keyed(std::string uid, uint32_t instance, uint32_t group) {
  return snapshot_key{std::move(uid), instance_index{instance}, key_group{group}};
}

checkpoint_meta meta_of(uint64_t id, bool savepoint = false) {
  return checkpoint_meta{checkpoint_id{id},
                         savepoint,
                         1'700'000'000'000 + static_cast<int64_t>(id),
                         "test-job",
                         {{"src", 1}, {"agg", 2}}};
}

/// Writes and commits a small checkpoint `id` (one source, a keyed operator).
void write_checkpoint(snapshot_store& s, uint64_t id, bool savepoint = false) {
  const std::string tag = "cp" + std::to_string(id);
  must(s.write(checkpoint_id{id}, {{op_state("src", 0), tag + "-offset"},
                                   {keyed("agg", 0, 3), tag + "-kg3"},
                                   {keyed("agg", 1, 100), tag + "-kg100"}}));
  must(s.commit(meta_of(id, savepoint)));
}

std::vector<uint64_t> completed_ids(snapshot_store& s) {
  std::vector<uint64_t> out;
  for (const auto& m : must(s.completed()))
    out.push_back(m.id.value);
  return out;
}

// --- The on-disk format, written out independently of the implementation --

std::string be(uint64_t x, int bytes) {
  std::string s;
  for (int i = bytes - 1; i >= 0; --i)
    s.push_back(static_cast<char>((x >> (8 * i)) & 0xFF));
  return s;
}

std::string raw_data_key(uint64_t id, const snapshot_key& k) {
  return be(id, 8) + k.operator_uid + std::string(1, '\0') + be(k.instance.value, 4) +
         be(k.group.value, 4);
}

std::string raw_meta_key(uint64_t id) {
  return be(id, 8);
}

/// Runs `f` on a write transaction of the environment in `dir`, through the
/// LMDB API directly. The store must be closed: LMDB forbids opening one
/// environment twice in a process.
void with_raw_env(const std::string& dir, const std::function<void(MDB_txn*)>& f) {
  MDB_env* env = nullptr;
  BOOST_REQUIRE_EQUAL(mdb_env_create(&env), 0);
  BOOST_REQUIRE_EQUAL(mdb_env_set_maxdbs(env, 3), 0);
  BOOST_REQUIRE_EQUAL(mdb_env_open(env, dir.c_str(), 0, 0644), 0);
  MDB_txn* txn = nullptr;
  BOOST_REQUIRE_EQUAL(mdb_txn_begin(env, nullptr, 0, &txn), 0);
  f(txn);
  BOOST_REQUIRE_EQUAL(mdb_txn_commit(txn), 0);
  mdb_env_close(env);
}

MDB_dbi raw_dbi(MDB_txn* txn, const char* name) {
  MDB_dbi dbi = 0;
  BOOST_REQUIRE_EQUAL(mdb_dbi_open(txn, name, 0, &dbi), 0);
  return dbi;
}

std::string raw_get(MDB_txn* txn, MDB_dbi dbi, const std::string& key) {
  MDB_val k{key.size(), const_cast<char*>(key.data())}, v{};
  BOOST_REQUIRE_EQUAL(mdb_get(txn, dbi, &k, &v), 0);
  return std::string{static_cast<const char*>(v.mv_data), v.mv_size};
}

void raw_put(MDB_txn* txn, MDB_dbi dbi, const std::string& key, const std::string& value) {
  MDB_val k{key.size(), const_cast<char*>(key.data())};
  MDB_val v{value.size(), const_cast<char*>(value.data())};
  BOOST_REQUIRE_EQUAL(mdb_put(txn, dbi, &k, &v, 0), 0);
}

/// Replaces the stored bytes under `key` of database `db` by `f(old bytes)`.
void tamper(const std::string& dir, const char* db, const std::string& key,
            const std::function<std::string(std::string)>& f) {
  with_raw_env(dir, [&](MDB_txn* txn) {
    const MDB_dbi dbi = raw_dbi(txn, db);
    raw_put(txn, dbi, key, f(raw_get(txn, dbi, key)));
  });
}

constexpr size_t header_size = 17;  // version u8, length u64, checksum u64

}  // namespace

BOOST_AUTO_TEST_SUITE(state_snapshot_store)

BOOST_AUTO_TEST_CASE(written_and_committed_checkpoint_reads_back) {
  temp_dir dir;
  auto store = must(snapshot_store::open(dir.str()));
  const std::vector<snapshot_store::entry> src{{op_state("src", 0), "offset=42"},
                                               {op_state("src", 1), std::string("\0\x01\xff", 3)}};
  const std::vector<snapshot_store::entry> agg{{keyed("agg", 0, 5), "count=1"},
                                               {keyed("agg", 1, 70), ""}};
  must(store->write(checkpoint_id{1}, src));
  must(store->write(checkpoint_id{1}, agg));  // a second task adds to the same checkpoint
  const checkpoint_meta meta{checkpoint_id{1}, false, 1234, "job", {{"src", 2}, {"agg", 2}}};
  must(store->commit(meta));

  BOOST_TEST((must(store->read(checkpoint_id{1}, "src")) == src));
  BOOST_TEST((must(store->read(checkpoint_id{1}, "agg")) == agg));
  BOOST_TEST(must(store->read(checkpoint_id{1}, "stateless")).empty());
  BOOST_TEST(must(store->read(checkpoint_id{2}, "src")).empty());
  const auto done = must(store->completed());
  BOOST_REQUIRE_EQUAL(done.size(), 1u);
  BOOST_TEST((done[0] == meta));
  must(store->verify(checkpoint_id{1}));
  BOOST_TEST(store->dir() == dir.str());
}

BOOST_AUTO_TEST_CASE(keys_sort_by_checkpoint_operator_instance_key_group) {
  temp_dir dir;
  std::vector<std::pair<uint64_t, snapshot_key>> keys;
  // Ids across a byte boundary (255/256) and uids that are prefixes of each other.
  for (uint64_t id : {1u, 255u, 256u})
    for (const char* uid : {"a", "ab", "a-b", "b"})
      for (uint32_t inst : {0u, 1u, 256u})
        for (uint32_t kg : {0u, 1u, 255u, 256u, UINT32_MAX})
          keys.emplace_back(id, keyed(uid, inst, kg));
  auto shuffled = keys;
  std::shuffle(shuffled.begin(), shuffled.end(), std::mt19937{7});
  {
    auto store = must(snapshot_store::open(dir.str()));
    for (const auto& [id, k] : shuffled)
      must(store->write(checkpoint_id{id}, {{k, std::to_string(id) + "/" + k.operator_uid + "/" +
                                                    std::to_string(k.instance.value) + "/" +
                                                    std::to_string(k.group.value)}}));
    // One operator of one checkpoint reads back as exactly its range, in order.
    std::vector<snapshot_key> expected;
    for (const auto& [id, k] : keys)
      if (id == 256 && k.operator_uid == "a")
        expected.push_back(k);
    std::sort(expected.begin(), expected.end());
    const auto got = must(store->read(checkpoint_id{256}, "a"));
    BOOST_REQUIRE_EQUAL(got.size(), expected.size());
    for (size_t i = 0; i < got.size(); ++i) {
      BOOST_TEST((got[i].first == expected[i]));
      BOOST_TEST(got[i].second == "256/a/" + std::to_string(expected[i].instance.value) + "/" +
                                      std::to_string(expected[i].group.value));
    }
    BOOST_TEST(got.back().first.is_operator_state());  // UINT32_MAX sorts last
  }
  // On disk, LMDB's byte order is (checkpoint, uid, instance, key group).
  std::sort(keys.begin(), keys.end());
  std::vector<std::string> raw;
  with_raw_env(dir.str(), [&](MDB_txn* txn) {
    MDB_cursor* c = nullptr;
    BOOST_REQUIRE_EQUAL(mdb_cursor_open(txn, raw_dbi(txn, "data"), &c), 0);
    MDB_val k{}, v{};
    for (int rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(c, &k, &v, MDB_NEXT))
      raw.emplace_back(static_cast<const char*>(k.mv_data), k.mv_size);
    mdb_cursor_close(c);
  });
  BOOST_REQUIRE_EQUAL(raw.size(), keys.size());
  for (size_t i = 0; i < raw.size(); ++i)
    BOOST_TEST(raw[i] == raw_data_key(keys[i].first, keys[i].second));
}

BOOST_AUTO_TEST_CASE(stored_value_format_is_stable) {
  temp_dir dir;
  {
    auto store = must(snapshot_store::open(dir.str()));
    must(store->write(checkpoint_id{1}, {{keyed("g", 2, 3), "abc"}}));
  }
  std::string value;
  with_raw_env(dir.str(), [&](MDB_txn* txn) {
    value = raw_get(txn, raw_dbi(txn, "data"), raw_data_key(1, keyed("g", 2, 3)));
  });
  // version 1 | length 3 | xxh64 checksum | "abc". A change here makes
  // existing state directories unreadable: bump the format version instead.
  const std::string expected =
      std::string("\x01", 1) + be(3, 8) + be(0x46e6fddb7271df38ull, 8) + "abc";
  BOOST_TEST(value == expected);
}

BOOST_AUTO_TEST_CASE(several_checkpoints_and_latest_completed) {
  temp_dir dir;
  auto store = must(snapshot_store::open(dir.str()));
  BOOST_TEST(!must(store->latest_completed()).has_value());
  write_checkpoint(*store, 1);
  // Checkpoint 3 completes before 2: completion order does not matter.
  must(store->write(checkpoint_id{2}, {{op_state("src", 0), "two"}}));
  write_checkpoint(*store, 3);
  must(store->commit(meta_of(2)));
  BOOST_TEST((completed_ids(*store) == std::vector<uint64_t>{1, 2, 3}));
  const auto latest = must(store->latest_completed());
  BOOST_REQUIRE(latest.has_value());
  BOOST_TEST((*latest == meta_of(3)));
  BOOST_TEST(must(store->read(checkpoint_id{2}, "src"))[0].second == "two");
  BOOST_TEST(must(store->read(checkpoint_id{3}, "src"))[0].second == "cp3-offset");
}

BOOST_AUTO_TEST_CASE(written_but_uncommitted_checkpoint_is_not_completed) {
  temp_dir dir;
  auto store = must(snapshot_store::open(dir.str()));
  must(store->write(checkpoint_id{5}, {{op_state("src", 0), "pos"}}));
  BOOST_TEST(completed_ids(*store).empty());
  BOOST_TEST(!must(store->latest_completed()).has_value());
  expect_error(store->verify(checkpoint_id{5}), errc::not_found, {"checkpoint 5"});
  const auto rp = must(store->latest_valid());
  BOOST_TEST(!rp.checkpoint.has_value());
  BOOST_TEST(rp.skipped.empty());
  // The entries are there (a recovery never asks for them without a commit).
  BOOST_TEST(must(store->read(checkpoint_id{5}, "src")).size() == 1u);
}

BOOST_AUTO_TEST_CASE(completed_checkpoint_is_immutable) {
  temp_dir dir;
  auto store = must(snapshot_store::open(dir.str()));
  write_checkpoint(*store, 1);
  expect_error(store->commit(meta_of(1)), errc::invalid_argument, {"checkpoint 1"});
  expect_error(store->write(checkpoint_id{1}, {{op_state("src", 0), "late"}}),
               errc::invalid_argument, {"checkpoint 1", "already completed"});
  BOOST_TEST(must(store->read(checkpoint_id{1}, "src"))[0].second == "cp1-offset");
}

BOOST_AUTO_TEST_CASE(bad_operator_uids_are_rejected) {
  temp_dir dir;
  auto store = must(snapshot_store::open(dir.str()));
  const std::string nul("a\0b", 3);
  expect_error(store->write(checkpoint_id{1}, {{op_state(nul, 0), "x"}}), errc::invalid_argument);
  expect_error(store->write(checkpoint_id{1}, {{op_state(std::string(481, 'u'), 0), "x"}}),
               errc::invalid_argument);
  expect_error(store->read(checkpoint_id{1}, nul), errc::invalid_argument);
  must(store->write(checkpoint_id{1},
                    {{op_state(std::string(snapshot_store::max_uid_size, 'u'), 0), "x"}}));
  BOOST_TEST(
      must(store->read(checkpoint_id{1}, std::string(snapshot_store::max_uid_size, 'u'))).size() ==
      1u);
}

BOOST_AUTO_TEST_CASE(drop_removes_entries_and_metadata) {
  temp_dir dir;
  auto store = must(snapshot_store::open(dir.str()));
  write_checkpoint(*store, 1);
  write_checkpoint(*store, 2);
  must(store->drop(checkpoint_id{1}));
  BOOST_TEST((completed_ids(*store) == std::vector<uint64_t>{2}));
  BOOST_TEST(must(store->read(checkpoint_id{1}, "agg")).empty());
  BOOST_TEST(must(store->read(checkpoint_id{2}, "agg")).size() == 2u);
  expect_error(store->drop(checkpoint_id{1}), errc::not_found, {"checkpoint 1"});
  // An uncommitted checkpoint can be dropped too.
  must(store->write(checkpoint_id{3}, {{op_state("src", 0), "x"}}));
  must(store->drop(checkpoint_id{3}));
  BOOST_TEST(must(store->read(checkpoint_id{3}, "src")).empty());
}

BOOST_AUTO_TEST_CASE(retain_keeps_newest_and_savepoints_and_drops_abandoned) {
  temp_dir dir;
  auto store = must(snapshot_store::open(dir.str()));
  write_checkpoint(*store, 1);
  write_checkpoint(*store, 2, /*savepoint=*/true);
  write_checkpoint(*store, 3);
  must(store->write(checkpoint_id{4}, {{op_state("src", 0), "abandoned"}}));
  write_checkpoint(*store, 5);
  write_checkpoint(*store, 6);
  must(store->write(checkpoint_id{7}, {{op_state("src", 0), "abandoned"}}));
  write_checkpoint(*store, 8);
  must(store->write(checkpoint_id{9}, {{op_state("src", 0), "in flight"}}));

  expect_error(store->retain(0), errc::invalid_argument);
  must(store->retain(2));
  BOOST_TEST((completed_ids(*store) == std::vector<uint64_t>{2, 6, 8}));
  for (uint64_t gone : {1, 3, 4, 5, 7})
    BOOST_TEST(must(store->read(checkpoint_id{gone}, "src")).empty(), "checkpoint " << gone);
  for (uint64_t kept : {2, 6, 8, 9})
    BOOST_TEST(must(store->read(checkpoint_id{kept}, "src")).size() == 1u, "checkpoint " << kept);

  must(store->retain(2));  // idempotent
  BOOST_TEST((completed_ids(*store) == std::vector<uint64_t>{2, 6, 8}));
  must(store->retain(1));
  BOOST_TEST((completed_ids(*store) == std::vector<uint64_t>{2, 8}));
  must(store->verify(checkpoint_id{2}));
}

BOOST_AUTO_TEST_CASE(truncated_value_is_corrupt_and_names_checkpoint_and_key) {
  temp_dir dir;
  { write_checkpoint(*must(snapshot_store::open(dir.str())), 7); }
  const auto key = raw_data_key(7, keyed("agg", 1, 100));
  tamper(dir.str(), "data", key, [](std::string v) { return v.substr(0, v.size() - 2); });
  {
    auto store = must(snapshot_store::open(dir.str()));
    expect_error(store->read(checkpoint_id{7}, "agg"), errc::corrupt_snapshot,
                 {"checkpoint 7", "operator \"agg\" instance 1 key group 100", "truncated"});
    expect_error(store->verify(checkpoint_id{7}), errc::corrupt_snapshot, {"checkpoint 7"});
    BOOST_TEST(must(store->read(checkpoint_id{7}, "src")).size() == 1u);  // others are fine
  }
  // Shorter than the header.
  tamper(dir.str(), "data", key, [](std::string v) { return v.substr(0, 10); });
  expect_error(must(snapshot_store::open(dir.str()))->read(checkpoint_id{7}, "agg"),
               errc::corrupt_snapshot, {"checkpoint 7", "key group 100", "truncated"});
  tamper(dir.str(), "data", key, [](std::string) { return std::string{}; });
  expect_error(must(snapshot_store::open(dir.str()))->read(checkpoint_id{7}, "agg"),
               errc::corrupt_snapshot, {"checkpoint 7", "key group 100"});
}

BOOST_AUTO_TEST_CASE(flipped_byte_is_corrupt) {
  temp_dir dir;
  { write_checkpoint(*must(snapshot_store::open(dir.str())), 7); }
  const auto key = raw_data_key(7, op_state("src", 0));
  // In the payload, the length field and the checksum.
  auto flip = [](size_t pos) {
    return [pos](std::string v) {
      v[pos] = static_cast<char>(v[pos] ^ 0x10);
      return v;
    };
  };
  // A byte of the payload, of the length field, of the checksum.
  for (size_t pos : {header_size + 3, size_t{5}, size_t{12}}) {
    BOOST_TEST_CONTEXT("flipped byte " << pos) {
      tamper(dir.str(), "data", key, flip(pos));
      expect_error(must(snapshot_store::open(dir.str()))->read(checkpoint_id{7}, "src"),
                   errc::corrupt_snapshot,
                   {"checkpoint 7", "operator \"src\" instance 0 operator state"});
      tamper(dir.str(), "data", key, flip(pos));  // undo
      BOOST_TEST(
          must(must(snapshot_store::open(dir.str()))->read(checkpoint_id{7}, "src")).size() == 1u);
    }
  }
}

BOOST_AUTO_TEST_CASE(value_under_another_key_is_corrupt) {
  temp_dir dir;
  { write_checkpoint(*must(snapshot_store::open(dir.str())), 7); }
  with_raw_env(dir.str(), [&](MDB_txn* txn) {
    const MDB_dbi data = raw_dbi(txn, "data");
    raw_put(txn, data, raw_data_key(7, keyed("agg", 0, 3)),
            raw_get(txn, data, raw_data_key(7, keyed("agg", 1, 100))));
  });
  expect_error(must(snapshot_store::open(dir.str()))->read(checkpoint_id{7}, "agg"),
               errc::corrupt_snapshot, {"checkpoint 7", "key group 3", "checksum"});
}

BOOST_AUTO_TEST_CASE(unknown_format_version_is_reported_as_such) {
  temp_dir dir;
  { write_checkpoint(*must(snapshot_store::open(dir.str())), 7); }
  tamper(dir.str(), "data", raw_data_key(7, op_state("src", 0)), [](std::string v) {
    v[0] = 2;
    return v;
  });
  auto store = must(snapshot_store::open(dir.str()));
  expect_error(store->read(checkpoint_id{7}, "src"), errc::unknown_format_version,
               {"checkpoint 7", "operator \"src\"", "version 2"});
  expect_error(store->verify(checkpoint_id{7}), errc::unknown_format_version);
}

BOOST_AUTO_TEST_CASE(latest_valid_falls_back_past_corrupt_checkpoints) {
  temp_dir dir;
  {
    auto store = must(snapshot_store::open(dir.str()));
    for (uint64_t id : {1, 2, 3})
      write_checkpoint(*store, id);
    must(store->write(checkpoint_id{4}, {{op_state("src", 0), "in flight"}}));
  }
  // 3: a damaged entry; 2: damaged metadata.
  tamper(dir.str(), "data", raw_data_key(3, keyed("agg", 0, 3)), [](std::string v) {
    v.back() = static_cast<char>(v.back() ^ 1);
    return v;
  });
  tamper(dir.str(), "meta", raw_meta_key(2), [](std::string v) {
    v.at(header_size + 9) = static_cast<char>(v.at(header_size + 9) ^ 1);
    return v;
  });
  auto store = must(snapshot_store::open(dir.str()));
  const auto rp = must(store->latest_valid());
  BOOST_REQUIRE(rp.checkpoint.has_value());
  BOOST_TEST(rp.checkpoint->id.value == 1u);
  BOOST_TEST((*rp.checkpoint == meta_of(1)));
  BOOST_REQUIRE_EQUAL(rp.skipped.size(), 2u);
  BOOST_TEST(rp.skipped[0].id.value == 3u);
  BOOST_TEST((rp.skipped[0].reason.code == errc::corrupt_snapshot));
  BOOST_TEST(rp.skipped[0].reason.message.find("checkpoint 3, operator \"agg\" instance 0") !=
             std::string::npos);
  BOOST_TEST(rp.skipped[1].id.value == 2u);
  BOOST_TEST(rp.skipped[1].reason.message.find("checkpoint 2 metadata") != std::string::npos);
  // completed() leaves out what it cannot decode; verify() says why.
  BOOST_TEST((completed_ids(*store) == std::vector<uint64_t>{1, 3}));
  expect_error(store->verify(checkpoint_id{2}), errc::corrupt_snapshot, {"checkpoint 2"});
  // Retention does not count checkpoint 2 (unreadable metadata) towards
  // `keep`; it does not read entries, so it trusts checkpoint 3.
  must(store->retain(2));
  BOOST_TEST((completed_ids(*store) == std::vector<uint64_t>{1, 3}));
  expect_error(store->verify(checkpoint_id{2}), errc::corrupt_snapshot);  // still there
  must(store->retain(1));
  BOOST_TEST((completed_ids(*store) == std::vector<uint64_t>{3}));
  expect_error(store->verify(checkpoint_id{2}), errc::not_found);
  BOOST_TEST(must(store->read(checkpoint_id{4}, "src")).size() == 1u);  // in flight
}

BOOST_AUTO_TEST_CASE(latest_valid_reports_when_every_checkpoint_is_corrupt) {
  temp_dir dir;
  { write_checkpoint(*must(snapshot_store::open(dir.str())), 1); }
  tamper(dir.str(), "data", raw_data_key(1, op_state("src", 0)),
         [](std::string v) { return v.substr(0, header_size); });
  const auto rp = must(must(snapshot_store::open(dir.str()))->latest_valid());
  BOOST_TEST(!rp.checkpoint.has_value());
  BOOST_REQUIRE_EQUAL(rp.skipped.size(), 1u);
  BOOST_TEST(rp.skipped[0].id.value == 1u);
}

BOOST_AUTO_TEST_CASE(instance_beyond_recorded_parallelism_fails_verification) {
  temp_dir dir;
  auto store = must(snapshot_store::open(dir.str()));
  must(store->write(checkpoint_id{1}, {{keyed("agg", 2, 0), "x"}}));  // "agg" had parallelism 2
  must(store->commit(meta_of(1)));
  expect_error(store->verify(checkpoint_id{1}), errc::corrupt_snapshot,
               {"checkpoint 1", "instance 2", "parallelism 2"});
}

BOOST_AUTO_TEST_CASE(reopened_store_sees_the_same_data) {
  temp_dir dir;
  {
    auto store = must(snapshot_store::open(dir.str()));
    write_checkpoint(*store, 1);
    write_checkpoint(*store, 2, true);
    must(store->put_meta("sink/committed", "2"));
    // Opening the same directory again in this process shares the store.
    auto again = must(snapshot_store::open(dir.str() + "/."));
    BOOST_TEST(again.get() == store.get());
  }
  auto store = must(snapshot_store::open(dir.str()));
  BOOST_TEST((completed_ids(*store) == std::vector<uint64_t>{1, 2}));
  BOOST_TEST(must(store->latest_completed())->savepoint);
  BOOST_TEST(must(store->read(checkpoint_id{2}, "agg"))[1].second == "cp2-kg100");
  BOOST_TEST(*must(store->get_meta("sink/committed")) == "2");
  must(store->verify(checkpoint_id{1}));
}

BOOST_AUTO_TEST_CASE(meta_records_round_trip_and_are_verified) {
  temp_dir dir;
  {
    auto store = must(snapshot_store::open(dir.str()));
    BOOST_TEST(!must(store->get_meta("absent")).has_value());
    must(store->put_meta("k", "v1"));
    must(store->put_meta("k", "v2"));
    must(store->put_meta("empty", ""));
    BOOST_TEST(*must(store->get_meta("k")) == "v2");
    BOOST_TEST(*must(store->get_meta("empty")) == "");
    must(store->erase_meta("empty"));
    must(store->erase_meta("never-there"));
    BOOST_TEST(!must(store->get_meta("empty")).has_value());
    expect_error(store->put_meta("", "x"), errc::invalid_argument);
    expect_error(store->get_meta(std::string(481, 'k')), errc::invalid_argument);
  }
  tamper(dir.str(), "kv", "k", [](std::string v) {
    v.back() = 'X';
    return v;
  });
  expect_error(must(snapshot_store::open(dir.str()))->get_meta("k"), errc::corrupt_snapshot,
               {"meta record \"k\"", "checksum"});
}

BOOST_AUTO_TEST_CASE(concurrent_writers_of_different_checkpoints) {
  temp_dir dir;
  // A small map, so that it also grows while the other threads are busy.
  auto store = must(snapshot_store::open(dir.str(), size_t{64} << 10));
  constexpr uint64_t per_thread = 20;
  constexpr uint32_t entries_per_call = 100;
  std::atomic<bool> writers_done{false};
  std::atomic<int> failures{0};
  auto writer = [&](uint64_t parity) {
    for (uint64_t n = 0; n < per_thread; ++n) {
      const uint64_t id = 2 * n + parity + 1;
      for (uint32_t inst = 0; inst < 2; ++inst) {  // two tasks' writes
        std::vector<snapshot_store::entry> es;
        for (uint32_t kg = 0; kg < entries_per_call; ++kg)
          es.emplace_back(keyed("agg", inst, kg), std::to_string(id * 1000 + kg));
        if (!store->write(checkpoint_id{id}, es))
          ++failures;
      }
      if (!store->commit(meta_of(id)))
        ++failures;
    }
  };
  // A reader runs alongside: it must always see whole checkpoints.
  std::thread reader([&] {
    while (!writers_done.load()) {
      auto rp = store->latest_valid();
      if (!rp || !rp->skipped.empty())
        ++failures;
    }
  });
  std::thread a(writer, 0), b(writer, 1);
  a.join();
  b.join();
  writers_done = true;
  reader.join();
  BOOST_TEST(failures.load() == 0);
  BOOST_TEST(fs::file_size(fs::path{dir.str()} / "data.mdb") > size_t{64} << 10);  // it grew
  BOOST_TEST(completed_ids(*store).size() == 2 * per_thread);
  for (uint64_t id = 1; id <= 2 * per_thread; ++id) {
    must(store->verify(checkpoint_id{id}));
    const auto es = must(store->read(checkpoint_id{id}, "agg"));
    BOOST_REQUIRE_EQUAL(es.size(), 2u * entries_per_call);
    BOOST_TEST(es[entries_per_call + 7].second == std::to_string(id * 1000 + 7));
  }
}

BOOST_AUTO_TEST_CASE(large_checkpoint_round_trips_and_grows_the_map) {
  temp_dir dir;
  // 1 MiB initial map; 100k entries need several: the store grows the map.
  auto store = must(snapshot_store::open(dir.str(), size_t{1} << 20));
  constexpr uint32_t n = 100'000;
  constexpr uint32_t groups = 128;
  std::vector<snapshot_store::entry> es;
  es.reserve(n);
  for (uint32_t i = 0; i < n; ++i)
    es.emplace_back(keyed("big", i / groups, i % groups),
                    "value-" + std::to_string(i) + std::string(i % 50, 'x'));
  std::shuffle(es.begin(), es.end(), std::mt19937{42});
  must(store->write(checkpoint_id{1}, es));
  must(
      store->commit(checkpoint_meta{checkpoint_id{1}, false, 0, "big", {{"big", n / groups + 1}}}));
  must(store->verify(checkpoint_id{1}));
  const auto got = must(store->read(checkpoint_id{1}, "big"));
  BOOST_REQUIRE_EQUAL(got.size(), size_t{n});
  size_t bad = 0;
  for (uint32_t i = 0; i < n; ++i) {
    const bool ok = got[i].first == keyed("big", i / groups, i % groups) &&
                    got[i].second == "value-" + std::to_string(i) + std::string(i % 50, 'x');
    bad += ok ? 0 : 1;
  }
  BOOST_TEST(bad == 0u);
  BOOST_TEST(fs::file_size(fs::path{dir.str()} / "data.mdb") > size_t{1} << 20);  // it grew
  must(store->drop(checkpoint_id{1}));
  BOOST_TEST(must(store->read(checkpoint_id{1}, "big")).empty());
}

BOOST_AUTO_TEST_CASE(open_fails_cleanly_on_a_bad_directory) {
  temp_dir dir;
  const std::string file = dir.str() + "/plain-file";
  { std::ofstream{file} << "x"; }
  expect_error(snapshot_store::open(file + "/sub"), errc::io_error, {"plain-file"});
  expect_error(snapshot_store::open(dir.str(), 0), errc::invalid_argument);
}

BOOST_AUTO_TEST_SUITE_END()
