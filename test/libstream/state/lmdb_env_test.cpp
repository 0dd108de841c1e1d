// The process-wide registry of LMDB environments (the private
// libstream/src/state/lmdb_env.hpp): one environment per directory per
// process, for the snapshot store, the line log and the table alike.
#include "state/lmdb_env.hpp"

#include <boost/test/unit_test.hpp>

#include <stdlib.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "sluice/state/line_log.hpp"
#include "sluice/state/lmdb_table.hpp"
#include "sluice/state/snapshot_store.hpp"

#include "temp_dir.hpp"

using namespace sluice;
using namespace sluice::state;
namespace fs = std::filesystem;
using std::chrono::steady_clock;

namespace {

/// A fresh directory for one test (see temp_dir.hpp).
struct temp_dir : sluice::test::temp_dir {
  temp_dir() : sluice::test::temp_dir("lmdb-env") {}
};

/// Counts the environments of its kind open at once. The destructor holds
/// its environment open until an opener is on its way (bounded), so that a
/// registry that does not wait for a closing owner opens a second one.
struct counted_env {
  static inline std::atomic<int> open_now{0};
  static inline std::atomic<int> most{0};
  static inline std::atomic<int> made{0};
  /// Set by the destructor when it starts; the racing opener waits for it.
  static inline std::atomic<bool> closing{false};
  /// Set by the opener just before it calls `open_once`.
  static inline std::atomic<bool> opener_started{false};

  std::unique_ptr<lmdb::env> env;

  ~counted_env() {
    closing = true;
    const auto give_up = steady_clock::now() + std::chrono::milliseconds(100);
    while (!opener_started && steady_clock::now() < give_up)
      std::this_thread::yield();
    if (opener_started)  // give the opener time to get into open_once
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    env.reset();
    --open_now;
  }

  static void reset_counts() {
    open_now = 0;
    most = 0;
    made = 0;
    closing = false;
    opener_started = false;
  }

  static result<std::shared_ptr<counted_env>> open(const std::string& dir) {
    return lmdb::registry::open_once<counted_env>(
        dir, "counted env", [&]() -> result<std::unique_ptr<counted_env>> {
          const int now = ++open_now;
          for (int m = most.load(); now > m && !most.compare_exchange_weak(m, now);) {
          }
          ++made;
          auto e = lmdb::env::open(dir, size_t{1} << 20, {"x"});
          if (!e) {
            --open_now;
            return std::move(e).error();
          }
          auto p = std::make_unique<counted_env>();
          p->env = std::move(e).value();
          return p;
        });
  }
};

/// Another kind of owner, to open the same directory as.
struct other_env {
  std::unique_ptr<lmdb::env> env;
};

template <class T>
std::string describe(const result<T>& r) {
  return r ? std::string{"ok"} : to_string(r.error());
}

template <class T>
T must(result<T> r) {
  BOOST_REQUIRE_MESSAGE(r.ok(), describe(r));
  return std::move(r).value();
}

std::string canonical(const std::string& dir) {
  return must(lmdb::canonical_directory(dir, true, "test"));
}

}  // namespace

BOOST_AUTO_TEST_SUITE(state_lmdb_env)

BOOST_AUTO_TEST_CASE(same_directory_gives_the_same_environment) {
  counted_env::reset_counts();
  temp_dir dir;
  {
    auto a = must(counted_env::open(canonical(dir.str())));
    auto b = must(counted_env::open(canonical(dir.str() + "/.")));
    BOOST_TEST(a.get() == b.get());
    BOOST_TEST(counted_env::made.load() == 1);
    counted_env::opener_started = true;  // nothing races: the destructor need not wait
  }
  BOOST_TEST(counted_env::open_now.load() == 0);
  // Released: the next open makes a new one.
  counted_env::reset_counts();
  counted_env::opener_started = true;
  {
    auto c = must(counted_env::open(canonical(dir.str())));
    BOOST_TEST(counted_env::made.load() == 1);
  }
  BOOST_TEST(counted_env::most.load() == 1);
}

BOOST_AUTO_TEST_CASE(concurrent_opens_share_one_environment) {
  counted_env::reset_counts();
  counted_env::opener_started = true;
  temp_dir dir;
  const std::string d = canonical(dir.str());
  std::vector<std::shared_ptr<counted_env>> got(8);
  std::vector<std::thread> threads;
  for (size_t i = 0; i < got.size(); ++i)
    threads.emplace_back([&, i] {
      auto r = counted_env::open(d);
      if (r)
        got[i] = std::move(r).value();
    });
  for (auto& t : threads)
    t.join();
  for (auto& p : got) {
    BOOST_REQUIRE(p);
    BOOST_TEST(p.get() == got[0].get());
  }
  BOOST_TEST(counted_env::made.load() == 1);
}

BOOST_AUTO_TEST_CASE(reopen_racing_the_last_owners_destructor_never_opens_two) {
  counted_env::reset_counts();
  temp_dir dir;
  const std::string d = canonical(dir.str());
  int reopened = 0;
  for (int i = 0; i < 50; ++i) {
    counted_env::closing = false;
    counted_env::opener_started = false;
    auto first = must(counted_env::open(d));
    // The last owner lets go in another thread; its destructor is running
    // (and holds the environment open) while this thread opens again.
    std::thread closer([p = std::move(first)]() mutable { p.reset(); });
    const auto give_up = steady_clock::now() + std::chrono::seconds(5);
    while (!counted_env::closing && steady_clock::now() < give_up)
      std::this_thread::yield();
    BOOST_REQUIRE(counted_env::closing.load());
    const int made_before = counted_env::made.load();
    counted_env::opener_started = true;
    auto again = counted_env::open(d);
    closer.join();
    BOOST_REQUIRE_MESSAGE(again.ok(), describe(again));
    reopened += counted_env::made.load() - made_before;
    BOOST_TEST_REQUIRE(counted_env::most.load() == 1, "iteration " << i);
  }
  BOOST_TEST(reopened == 50);  // every iteration opened anew after the destructor
  BOOST_TEST(counted_env::open_now.load() == 0);
}

BOOST_AUTO_TEST_CASE(directory_open_as_another_kind_is_refused_until_released) {
  counted_env::reset_counts();
  counted_env::opener_started = true;
  temp_dir dir;
  const std::string d = canonical(dir.str());
  {
    auto a = must(counted_env::open(d));
    bool made = false;
    auto b = lmdb::registry::open_once<other_env>(d, "other env", [&] {
      made = true;
      return result<std::unique_ptr<other_env>>{std::make_unique<other_env>()};
    });
    BOOST_TEST(!made);
    BOOST_REQUIRE(!b.ok());
    BOOST_TEST((b.error().code == errc::invalid_argument));
    BOOST_TEST(b.error().message.find("counted env") != std::string::npos, b.error().message);
    BOOST_TEST(b.error().message.find(d) != std::string::npos, b.error().message);
  }
  auto c = lmdb::registry::open_once<other_env>(d, "other env", [&] {
    return result<std::unique_ptr<other_env>>{std::make_unique<other_env>()};
  });
  BOOST_TEST(c.ok(), describe(c));
}

BOOST_AUTO_TEST_CASE(failed_open_leaves_the_directory_free) {
  temp_dir dir;
  const std::string d = canonical(dir.str());
  auto failed = lmdb::registry::open_once<other_env>(d, "other env", [] {
    return result<std::unique_ptr<other_env>>{error{errc::io_error, "no"}};
  });
  BOOST_TEST(!failed.ok());
  BOOST_CHECK_THROW(
      lmdb::registry::open_once<other_env>(
          d, "other env",
          []() -> result<std::unique_ptr<other_env>> { throw std::runtime_error("x"); }),
      std::runtime_error);
  auto ok = lmdb::registry::open_once<other_env>(d, "other env", [] {
    return result<std::unique_ptr<other_env>>{std::make_unique<other_env>()};
  });
  BOOST_TEST(ok.ok(), describe(ok));
}

BOOST_AUTO_TEST_CASE(stores_share_the_registry) {
  temp_dir dir;
  {
    auto t = must(lmdb_table::open(dir.str()));
    BOOST_TEST(must(lmdb_table::open(dir.str() + "/.")).get() == t.get());
    // The same directory as a snapshot store or line log would be a second
    // environment on the same files.
    auto s = snapshot_store::open(dir.str());
    BOOST_REQUIRE(!s.ok());
    BOOST_TEST((s.error().code == errc::invalid_argument));
    BOOST_TEST(s.error().message.find("LMDB table") != std::string::npos, s.error().message);
    BOOST_TEST(!line_log::open(dir.str()).ok());
  }
  temp_dir other;
  auto s = must(snapshot_store::open(other.str()));
  BOOST_TEST(must(snapshot_store::open(other.str())).get() == s.get());
}

BOOST_AUTO_TEST_SUITE_END()
