// Triggers, evictors, global windows and dynamic sessions end to end on the
// actor runtime, through an injected failure with checkpoints and a restart,
// at parallelism 1 and 4: the exactly-once output equals a brute-force
// reference.
#include <boost/test/unit_test.hpp>

#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "runtime_util.hpp"
#include "sluice/fields.hpp"
#include "sluice/window/count_trigger.hpp"
#include "sluice/window/evictor.hpp"
#include "sluice/window/global.hpp"
#include "sluice/window/purging_trigger.hpp"
#include "sluice/window/session.hpp"

namespace test_util {
// A window with an evictor keeps its records, so they are checkpointed.
SLUICE_FIELDS(event, customer, cents, ts)
}  // namespace test_util

using namespace test_util;
using namespace sluice;
namespace win = sluice::window;
namespace fs = std::filesystem;

namespace {

constexpr uint64_t n = 6000;
constexpr uint32_t customers = 40;
constexpr int64_t jitter = 300;  // the watermark bound below covers it: nothing is late

std::vector<event> events(uint64_t seed) {
  std::vector<event> out;
  for (uint64_t i = 0; i < n; ++i)
    out.push_back(make_event(i, seed, customers, jitter));
  return out;
}

std::string line(const result_t& r) {
  return std::to_string(r.key) + ":" + std::to_string(r.window.start) + ":" +
         std::to_string(r.window.end) + ":" + std::to_string(r.value.first) + ":" +
         std::to_string(r.value.second);
}

std::vector<std::string> read_lines(const fs::path& dir) {
  std::vector<std::string> out;
  for (auto& e : fs::directory_iterator(dir)) {
    if (e.path().filename().string().rfind("part-", 0) != 0)
      continue;
    std::ifstream in(e.path());
    std::string l;
    while (std::getline(in, l))
      out.push_back(l);
  }
  std::sort(out.begin(), out.end());
  return out;
}

/// Runs `window(keyed)` over the events of `seed` from one source instance
/// (each key's arrival order is the generation order, as count triggers and
/// evictors need), with a failure injected after a third of the records,
/// checkpoints every 20 ms and a restart; returns the output lines.
template <class Window>
std::vector<std::string> run(uint64_t seed, uint32_t par, const std::string& name, Window window) {
  const fs::path dir =
      fs::temp_directory_path() /
      ("sluice-triggers-" + std::to_string(::getpid()) + "-" + name + "-" + std::to_string(par));
  fs::remove_all(dir);
  auto failed = std::make_shared<std::atomic<bool>>(false);
  pipeline p{"triggers"};
  auto keyed = p.generate(n, [seed](uint64_t i) { return make_event(i, seed, customers, jitter); })
                   .with_watermarks(watermark_strategy<event>::bounded(
                       duration{jitter + 100}, [](const event& e) { return timestamp::of(e.ts); }))
                   .rate_limit(20000)
                   .parallelism(1)
                   .map([failed, seen = uint64_t{0}](event e) mutable {
                     if (++seen == n / 3 && !failed->exchange(true))
                       throw std::runtime_error("injected failure");
                     return e;
                   })
                   .parallelism(1)
                   .key_by([](const event& e) { return e.customer; });
  window(keyed)
      .name(name)
      .parallelism(par)
      .map([](const result_t& r) { return line(r); })
      .write_csv_exactly_once((dir / "out").string())
      .parallelism(par);
  auto cfg = config(par);
  cfg.state_dir = (dir / "state").string();
  cfg.checkpoints.interval = std::chrono::milliseconds(20);
  cfg.restart = "fixed-delay:attempts=3,delay=10ms";
  auto r = execute(p, cfg);
  require_ok(r);
  BOOST_TEST(r.restarts == 1u);
  auto out = read_lines(dir / "out");
  fs::remove_all(dir);
  return out;
}

std::map<uint32_t, std::vector<event>> by_key(const std::vector<event>& es) {
  std::map<uint32_t, std::vector<event>> out;
  for (auto& e : es)
    out[e.customer].push_back(e);
  return out;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(runtime_triggers)

BOOST_AUTO_TEST_CASE(global_window_with_purging_count_trigger_through_a_failure) {
  std::vector<std::string> ref;
  for (auto& [k, v] : by_key(events(1)))
    for (size_t i = 0; i + 5 <= v.size(); i += 5) {
      int64_t sum = 0;
      for (size_t j = i; j < i + 5; ++j)
        sum += v[j].cents;
      ref.push_back(line(result_t{k, win::global::window(), {5, sum}}));
    }
  std::sort(ref.begin(), ref.end());
  BOOST_TEST_REQUIRE(ref.size() > 1000u);
  for (uint32_t par : {1u, 4u}) {
    auto out = run(1, par, "count", [](auto keyed) {
      using tr = win::purging_trigger<win::count_trigger>;
      return keyed.window(win::global{})
          .trigger(tr::of(win::count_trigger::of(5)))
          .aggregate(count_sum{});
    });
    BOOST_TEST((out == ref), "parallelism " << par);
  }
}

BOOST_AUTO_TEST_CASE(count_evictor_on_tumbling_windows_through_a_failure) {
  // Per (key, 1 s window): the last 3 records in arrival order.
  std::map<std::pair<uint32_t, int64_t>, std::vector<event>> windows;
  for (auto& e : events(2))
    windows[{e.customer, e.ts >= 0 ? e.ts / 1000 * 1000 : (e.ts - 999) / 1000 * 1000}].push_back(e);
  std::vector<std::string> ref;
  for (auto& [kw, v] : windows) {
    int64_t sum = 0, count = 0;
    for (size_t j = v.size() > 3 ? v.size() - 3 : 0; j < v.size(); ++j, ++count)
      sum += v[j].cents;
    ref.push_back(line(result_t{kw.first, {kw.second, kw.second + 1000}, {count, sum}}));
  }
  std::sort(ref.begin(), ref.end());
  for (uint32_t par : {1u, 4u}) {
    auto out = run(2, par, "evict", [](auto keyed) {
      return keyed.window(win::tumbling::of(duration{1000}))
          .evictor(win::count_evictor::of(3))
          .aggregate(count_sum{});
    });
    BOOST_TEST((out == ref), "parallelism " << par);
  }
}

BOOST_AUTO_TEST_CASE(dynamic_sessions_through_a_failure) {
  // Gap 300 ms + (cents % 700) ms: customers' events are ~400 ms apart on
  // average, so sessions both split and merge.
  auto gap = [](const event& e) {
    return 300 + e.cents % 700;
  };
  std::vector<std::string> ref;
  for (auto& [k, v] : by_key(events(3))) {
    std::sort(v.begin(), v.end(), [](auto& a, auto& b) { return a.ts < b.ts; });
    result_t cur{k, {v[0].ts, v[0].ts + gap(v[0])}, {0, 0}};
    for (auto& e : v) {
      if (e.ts > cur.window.end) {
        ref.push_back(line(cur));
        cur = result_t{k, {e.ts, e.ts + gap(e)}, {0, 0}};
      }
      cur.window.end = std::max(cur.window.end, e.ts + gap(e));
      ++cur.value.first;
      cur.value.second += e.cents;
    }
    ref.push_back(line(cur));
  }
  std::sort(ref.begin(), ref.end());
  BOOST_TEST_REQUIRE(ref.size() > 200u);
  for (uint32_t par : {1u, 4u}) {
    auto out = run(3, par, "dynamic", [gap](auto keyed) {
      return keyed
          .window(
              win::session::with_dynamic_gap([gap](const event& e) { return duration{gap(e)}; }))
          .aggregate(count_sum{});
    });
    BOOST_TEST((out == ref), "parallelism " << par);
  }
}

BOOST_AUTO_TEST_SUITE_END()
