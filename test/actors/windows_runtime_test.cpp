// Windows end to end on the actor runtime: every kind against a brute-force
// reference on random data with random out-of-orderness, and identical
// results at parallelism 1 and 4.
#include <boost/test/unit_test.hpp>

#include <map>
#include <set>

#include "runtime_util.hpp"
#include "sluice/window/count.hpp"
#include "sluice/window/session.hpp"

using namespace test_util;
using namespace sluice;
namespace win = sluice::window;

namespace {

constexpr int64_t disorder = 300;  // ms; the watermark bound covers it, so nothing is late

std::vector<event> events(uint64_t n, uint64_t seed, uint32_t customers) {
  std::vector<event> out;
  for (uint64_t i = 0; i < n; ++i)
    out.push_back(make_event(i, seed, customers, disorder));
  return out;
}

template <class Assigner>
std::vector<result_t> run_windows(uint64_t n, uint64_t seed, uint32_t customers, Assigner a,
                                  uint32_t par, uint32_t source_par) {
  pipeline p{"windows"};
  auto out = std::make_shared<collected<result_t>>();
  p.generate(n, [seed, customers](uint64_t i) { return make_event(i, seed, customers, disorder); })
      .with_watermarks(watermark_strategy<event>::bounded(
          duration{disorder}, [](const event& e) { return timestamp::of(e.ts); }))
      .parallelism(source_par)
      .key_by([](const event& e) { return e.customer; })
      .window(a)
      .aggregate(count_sum{})
      .collect(out);
  auto r = execute(p, config(par));
  require_ok(r);
  return sorted(out->items());
}

/// Brute force for non-merging time windows: every window of every record.
template <class Assigner>
std::vector<result_t> reference_time(const std::vector<event>& es, Assigner a) {
  std::map<std::tuple<uint32_t, int64_t, int64_t>, std::pair<int64_t, int64_t>> acc;
  for (auto& e : es)
    a.assign(e.ts, [&](win::time_window w) {
      auto& x = acc[{e.customer, w.start, w.end}];
      ++x.first;
      x.second += e.cents;
    });
  std::vector<result_t> out;
  for (auto& [k, v] : acc)
    out.push_back(result_t{std::get<0>(k), {std::get<1>(k), std::get<2>(k)}, v});
  return sorted(out);
}

/// Brute force for sessions: sort each key's timestamps and cut at gaps > gap.
std::vector<result_t> reference_sessions(const std::vector<event>& es, int64_t gap) {
  std::map<uint32_t, std::vector<event>> by_key;
  for (auto& e : es)
    by_key[e.customer].push_back(e);
  std::vector<result_t> out;
  for (auto& [k, v] : by_key) {
    std::sort(v.begin(), v.end(), [](auto& a, auto& b) { return a.ts < b.ts; });
    result_t cur{k, {v[0].ts, v[0].ts + gap}, {0, 0}};
    for (auto& e : v) {
      if (e.ts > cur.window.end) {
        out.push_back(cur);
        cur = result_t{k, {e.ts, e.ts + gap}, {0, 0}};
      }
      cur.window.end = std::max(cur.window.end, e.ts + gap);
      ++cur.value.first;
      cur.value.second += e.cents;
    }
    out.push_back(cur);
  }
  return sorted(out);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(runtime_windows)

BOOST_AUTO_TEST_CASE(tumbling_matches_reference_at_parallelism_1_and_4) {
  for (uint64_t seed : {1u, 2u}) {
    auto a = win::tumbling::of(duration{1000});
    auto ref = reference_time(events(20000, seed, 50), a);
    auto p1 = run_windows(20000, seed, 50, a, 1, 1);
    auto p4 = run_windows(20000, seed, 50, a, 4, 4);
    BOOST_TEST(ref.size() > 100u);
    BOOST_TEST((p1 == ref));
    BOOST_TEST((p4 == ref));
  }
}

BOOST_AUTO_TEST_CASE(sliding_matches_reference_at_parallelism_1_and_4) {
  auto a = win::sliding::of(duration{1000}, duration{300});
  auto ref = reference_time(events(15000, 3, 40), a);
  BOOST_TEST((run_windows(15000, 3, 40, a, 1, 1) == ref));
  BOOST_TEST((run_windows(15000, 3, 40, a, 4, 2) == ref));
}

BOOST_AUTO_TEST_CASE(session_matches_reference_at_parallelism_1_and_4) {
  // 400 customers, one event per 10 ms overall: a customer's events are
  // ~4 s apart on average, so a 3 s gap both splits and merges sessions.
  auto a = win::session::with_gap(duration{3000});
  auto ref = reference_sessions(events(20000, 4, 400), 3000);
  BOOST_TEST(ref.size() > 400u);
  BOOST_TEST((run_windows(20000, 4, 400, a, 1, 1) == ref));
  BOOST_TEST((run_windows(20000, 4, 400, a, 4, 3) == ref));
}

BOOST_AUTO_TEST_CASE(count_windows_match_reference_at_parallelism_1_and_4) {
  // One source instance keeps each key's arrival order, which count windows depend on.
  auto es = events(10000, 5, 30);
  std::map<uint32_t, std::vector<event>> by_key;
  for (auto& e : es)
    by_key[e.customer].push_back(e);
  std::vector<result_t> ref;
  for (auto& [k, v] : by_key)
    for (size_t i = 0; i + 7 <= v.size(); i += 7) {
      int64_t lo = INT64_MAX, hi = INT64_MIN, sum = 0;
      for (size_t j = i; j < i + 7; ++j) {
        lo = std::min(lo, v[j].ts);
        hi = std::max(hi, v[j].ts);
        sum += v[j].cents;
      }
      ref.push_back(result_t{k, {lo, hi + 1}, {7, sum}});
    }
  ref = sorted(ref);
  BOOST_TEST((run_windows(10000, 5, 30, win::count::of(7), 1, 1) == ref));
  BOOST_TEST((run_windows(10000, 5, 30, win::count::of(7), 4, 1) == ref));
}

BOOST_AUTO_TEST_CASE(late_records_go_to_side_output_and_nothing_is_lost) {
  // Disorder of up to 2 s against a watermark bound of 100 ms: many records are late.
  const uint64_t n = 5000;
  pipeline p{"late"};
  auto results = std::make_shared<collected<result_t>>();
  auto late = std::make_shared<collected<event>>();
  auto w = p.generate(n, [](uint64_t i) { return make_event(i, 9, 20, 2000); })
               .with_watermarks(watermark_strategy<event>::bounded(
                   duration{100}, [](const event& e) { return timestamp::of(e.ts); }))
               .key_by([](const event& e) { return e.customer; })
               .window(win::tumbling::of(duration{500}))
               .aggregate(count_sum{});
  w.collect(results);
  w.late_records().collect(late);
  require_ok(execute(p, config(2)));
  int64_t counted = 0;
  for (auto& r : results->items())
    counted += r.value.first;
  BOOST_TEST(late->size() > 0u);
  BOOST_TEST(static_cast<uint64_t>(counted) + late->size() == n);
}

BOOST_AUTO_TEST_CASE(unconsumed_late_records_are_counted_in_the_report) {
  const uint64_t n = 3000;
  pipeline p{"late_counted"};
  auto results = std::make_shared<collected<result_t>>();
  p.generate(n, [](uint64_t i) { return make_event(i, 11, 10, 2000); })
      .with_watermarks(watermark_strategy<event>::bounded(
          duration{50}, [](const event& e) { return timestamp::of(e.ts); }))
      .key_by([](const event& e) { return e.customer; })
      .window(win::tumbling::of(duration{500}))
      .aggregate(count_sum{})
      .name("window")
      .collect(results);
  auto r = execute(p, config(1));
  require_ok(r);
  uint64_t unconsumed = 0;
  for (auto& m : r.metrics)
    if (m.name == "window")
      unconsumed += m.unconsumed;
  int64_t counted = 0;
  for (auto& x : results->items())
    counted += x.value.first;
  BOOST_TEST(unconsumed > 0u);
  BOOST_TEST(static_cast<uint64_t>(counted) + unconsumed == n);
}

BOOST_AUTO_TEST_CASE(processing_time_windows_emit_every_record_once) {
  // Micro-batch mode: a rate-limited source, 50 ms processing-time windows,
  // on a test clock that a driver thread moves 5 ms at a time: the rate
  // limit and the windows see the same processing time.
  const uint64_t n = 3000;
  pipeline p{"microbatch"};
  auto results = std::make_shared<collected<result_t>>();
  p.generate(n, [](uint64_t i) { return make_event(i, 12, 5, 0); })
      .rate_limit(20000)
      .key_by([](const event& e) { return e.customer; })
      .window(win::tumbling::processing(duration{50}))
      .aggregate(count_sum{})
      .collect(results);
  auto clk = std::make_shared<actors::test_clock>(timestamp::of(1'000'000));
  auto cfg = config(2);
  cfg.clock = clk;
  actors::job_report r;
  {
    clock_driver drive{clk, duration{5}, std::chrono::microseconds{500}};
    r = execute(p, cfg);
  }
  require_ok(r);
  int64_t counted = 0;
  std::set<int64_t> windows;
  for (auto& x : results->items()) {
    counted += x.value.first;
    windows.insert(x.window.start);
    BOOST_TEST(x.window.start % 50 == 0);
    BOOST_TEST(x.window.start >= 1'000'000);  // times of the test clock, not the wall clock
    BOOST_TEST(x.window.start < clk->now().ms);
  }
  BOOST_TEST(counted == static_cast<int64_t>(n));
  BOOST_TEST(windows.size() >= 2u);  // >= 150 ms of clock time (20000/s) over 50 ms windows
}

BOOST_AUTO_TEST_SUITE_END()
