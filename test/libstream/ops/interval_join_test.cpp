// The interval join against cases transcribed from Flink's own
// IntervalJoinOperatorTest (flink-streaming-java, operators/co) and against a
// brute-force reference on random out-of-order data.
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <cstdint>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "sluice/fields.hpp"
#include "sluice/key_group.hpp"
#include "sluice/ops/interval_join.hpp"
#include "sluice/source/splits.hpp"
#include "sluice/state/snapshot.hpp"
#include "sluice/testing/harness.hpp"

using namespace sluice;

namespace {

struct elem {
  int64_t key = 0;
  int64_t ts = 0;
};
SLUICE_FIELDS(elem, key, ts)
struct by_key {
  int64_t operator()(const elem& e) const { return e.key; }
};
/// (left ts, right ts), as Flink's tests name the joined pairs.
using pair_ts = std::pair<int64_t, int64_t>;
auto pass = [](const elem& a, const elem& b, collector<pair_ts>& out) {
  out.emit({a.ts, b.ts});
};
using join_op =
    ops::interval_join_operator<elem, elem, int64_t, pair_ts, by_key, by_key, decltype(pass)>;

std::unique_ptr<join_op> make_join(int64_t lower, bool lower_incl, int64_t upper, bool upper_incl) {
  return std::make_unique<join_op>(
      by_key{}, by_key{},
      ops::join_interval::between(duration{lower}, duration{upper}, !lower_incl, !upper_incl),
      pass);
}

void left(testing::harness& h, int64_t ts, int64_t key = 0) {
  h.push<elem>({key, ts}, timestamp{ts}, 0);
}
void right(testing::harness& h, int64_t ts, int64_t key = 0) {
  h.push<elem>({key, ts}, timestamp{ts}, 1);
}

/// Flink's processElementsAndWatermarks(1, 4): one side's elements 1..4 with
/// its watermarks, then the other side's. The operator sees the combined
/// watermark (the minimum of both inputs), so it only moves with the second side.
std::set<pair_ts> run_1_to_4(int64_t lower, bool li, int64_t upper, bool ui, bool lhs_first) {
  testing::harness h{make_join(lower, li, upper, ui)};
  for (int64_t i = 1; i <= 4; ++i)
    lhs_first ? left(h, i) : right(h, i);
  for (int64_t i = 1; i <= 4; ++i) {
    lhs_first ? right(h, i) : left(h, i);
    h.watermark(timestamp{i});
  }
  std::set<pair_ts> out;
  for (auto& r : h.output<pair_ts>()) {
    BOOST_TEST(r.ts.ms == std::max(r.value.first, r.value.second));  // the later time
    out.insert(r.value);
  }
  BOOST_TEST(h.output<elem>(1).empty());  // no late records
  BOOST_TEST(h.output<elem>(2).empty());
  return out;
}

using pairs = std::set<pair_ts>;

}  // namespace

BOOST_AUTO_TEST_SUITE(ops_interval_join)

BOOST_AUTO_TEST_CASE(flink_bounds_cases_in_both_arrival_orders) {
  // IntervalJoinOperatorTest: testImplementationMirrorsCorrectly,
  // testNegativeInclusiveAndNegativeInclusive, testNegativeInclusiveAndPositiveInclusive,
  // testPositiveInclusiveAndPositiveInclusive, testNegativeExclusiveAndNegativeExlusive,
  // testNegativeExclusiveAndPositiveExlusive, testPositiveExclusiveAndPositiveExlusive.
  for (bool lhs_first : {true, false}) {
    BOOST_TEST_CONTEXT("lhs first: " << lhs_first) {
      BOOST_TEST((run_1_to_4(1, true, 3, false, lhs_first) ==
                  pairs{{1, 2}, {1, 3}, {2, 3}, {2, 4}, {3, 4}}));
      BOOST_TEST((run_1_to_4(-3, false, -1, true, lhs_first) ==
                  pairs{{2, 1}, {3, 1}, {3, 2}, {4, 2}, {4, 3}}));
      BOOST_TEST((run_1_to_4(-2, true, -1, true, lhs_first) ==
                  pairs{{2, 1}, {3, 1}, {3, 2}, {4, 2}, {4, 3}}));
      BOOST_TEST(
          (run_1_to_4(-1, true, 1, true, lhs_first) ==
           pairs{{1, 1}, {1, 2}, {2, 1}, {2, 2}, {2, 3}, {3, 2}, {3, 3}, {3, 4}, {4, 3}, {4, 4}}));
      BOOST_TEST((run_1_to_4(1, true, 2, true, lhs_first) ==
                  pairs{{1, 2}, {1, 3}, {2, 3}, {2, 4}, {3, 4}}));
      BOOST_TEST((run_1_to_4(-3, false, -1, false, lhs_first) == pairs{{3, 1}, {4, 2}}));
      BOOST_TEST(
          (run_1_to_4(-1, false, 1, false, lhs_first) == pairs{{1, 1}, {2, 2}, {3, 3}, {4, 4}}));
      BOOST_TEST((run_1_to_4(1, false, 3, false, lhs_first) == pairs{{1, 3}, {2, 4}}));
    }
  }
}

BOOST_AUTO_TEST_CASE(flink_state_cleanup_cases) {
  // testStateCleanupNegativeInclusiveNegativeInclusive (-1, 0),
  // ...NegativePositiveNegativeExlusive (-2 excl, 1 excl),
  // ...PositiveInclusivePositiveInclusive (0, 1), ...PositiveExlusivePositiveExclusive
  // (-1 excl, 2 excl): after watermarks 1, 4 and 6, what each buffer still holds.
  struct cleanup_case {
    int64_t lower;
    bool li;
    int64_t upper;
    bool ui;
    std::pair<size_t, size_t> at1, at4;
  };
  for (auto c : std::vector<cleanup_case>{{-1, true, 0, true, {4, 5}, {1, 2}},
                                          {-2, false, 1, false, {4, 5}, {1, 2}},
                                          {0, true, 1, true, {5, 4}, {2, 1}},
                                          {-1, false, 2, false, {5, 4}, {2, 1}}}) {
    BOOST_TEST_CONTEXT(c.lower << (c.li ? "" : " excl") << ", " << c.upper
                               << (c.ui ? "" : " excl")) {
      testing::harness h{make_join(c.lower, c.li, c.upper, c.ui)};
      for (int64_t i = 1; i <= 5; ++i)
        left(h, i);
      for (int64_t i = 1; i <= 5; ++i)
        right(h, i);
      h.watermark(timestamp{1});
      BOOST_TEST((h.as<join_op>().buffered() == c.at1));
      h.watermark(timestamp{4});
      BOOST_TEST((h.as<join_op>().buffered() == c.at4));
      h.watermark(timestamp{6});
      BOOST_TEST((h.as<join_op>().buffered() == std::pair<size_t, size_t>{0, 0}));
    }
  }
}

BOOST_AUTO_TEST_CASE(flink_late_data_goes_to_the_late_outputs_and_joins_nothing) {
  // testLateData (with late outputs) and testDiscardsLateData.
  testing::harness h{make_join(-1, true, 1, true)};
  left(h, 3);
  right(h, 3);
  h.watermark(timestamp{3});
  left(h, 4);
  right(h, 4);
  left(h, 1);   // late
  right(h, 2);  // late
  left(h, 5);
  right(h, 5);
  pairs got;
  for (auto& v : h.values<pair_ts>())
    got.insert(v);
  BOOST_TEST((got == pairs{{3, 3}, {3, 4}, {4, 3}, {4, 4}, {4, 5}, {5, 4}, {5, 5}}));
  auto late_left = h.output<elem>(1);
  auto late_right = h.output<elem>(2);
  BOOST_TEST_REQUIRE(late_left.size() == 1u);
  BOOST_TEST(late_left[0].value.ts == 1);
  BOOST_TEST_REQUIRE(late_right.size() == 1u);
  BOOST_TEST(late_right[0].value.ts == 2);
}

BOOST_AUTO_TEST_CASE(flink_restore_from_snapshot) {
  // testRestoreFromSnapshot: (-1, 1) inclusive; elements 1..3 on both sides,
  // snapshot, a new operator restored from it joins 4 with what is buffered.
  state::snapshot_writer w{128, 1};
  {
    testing::harness h{make_join(-1, true, 1, true)};
    for (int64_t i = 1; i <= 3; ++i) {
      left(h, i);
      h.watermark(timestamp{i - 1});
      right(h, i);
      h.watermark(timestamp{i});
    }
    pairs got;
    for (auto& v : h.values<pair_ts>())
      got.insert(v);
    BOOST_TEST((got == pairs{{1, 1}, {1, 2}, {2, 1}, {2, 2}, {2, 3}, {3, 2}, {3, 3}}));
    h.as<join_op>().snapshot(w);
  }
  std::vector<std::string> sections;
  for (auto& [g, bytes] : w.keyed_bytes())
    sections.push_back(bytes);
  testing::harness h{make_join(-1, true, 1, true)};
  h.as<join_op>().restore(state::snapshot_reader{std::nullopt, sections});
  h.watermark(timestamp{3});
  left(h, 4);
  right(h, 4);
  h.watermark(timestamp{4});
  pairs got;
  for (auto& v : h.values<pair_ts>())
    got.insert(v);
  BOOST_TEST((got == pairs{{3, 4}, {4, 3}, {4, 4}}));
}

BOOST_AUTO_TEST_CASE(matches_a_brute_force_reference_and_state_stays_bounded) {
  // Two random streams of 40 keys, out of order by less than `delay`, the
  // watermark that bounded disorder allows; bounds from negative to positive,
  // inclusive and exclusive, restored halfway at another parallelism.
  const int64_t delay = 50;
  std::mt19937_64 rng{42};
  struct arrival {
    elem e;
    size_t input;
  };
  std::vector<std::pair<int64_t, arrival>> order;
  for (int i = 0; i < 4000; ++i) {
    const int64_t ts = i * 3 + static_cast<int64_t>(rng() % 3);
    order.push_back({ts + static_cast<int64_t>(rng() % delay),
                     arrival{{static_cast<int64_t>(rng() % 40), ts}, rng() % 2}});
  }
  std::sort(order.begin(), order.end(), [](auto& a, auto& b) { return a.first < b.first; });
  for (auto [lower, upper, li, ui] :
       std::vector<std::tuple<int64_t, int64_t, bool, bool>>{{-20, 30, true, true},
                                                             {5, 40, false, true},
                                                             {-40, -5, true, false},
                                                             {0, 0, true, true}}) {
    std::multiset<std::tuple<int64_t, int64_t, int64_t>> expected;
    const int64_t lo = lower + (li ? 0 : 1), hi = upper - (ui ? 0 : 1);
    for (auto& [_, a] : order)
      for (auto& [__, b] : order)
        if (a.input == 0 && b.input == 1 && a.e.key == b.e.key && b.e.ts >= a.e.ts + lo &&
            b.e.ts <= a.e.ts + hi)
          expected.insert({a.e.key, a.e.ts, b.e.ts});
    for (auto [pb, pa] : std::vector<std::pair<uint32_t, uint32_t>>{{1, 1}, {2, 3}, {3, 1}}) {
      BOOST_TEST_CONTEXT("[" << lower << ", " << upper << "] " << pb << " -> " << pa) {
        const uint32_t max_par = 16;
        std::multiset<std::tuple<int64_t, int64_t, int64_t>> got;
        std::map<uint32_t, std::vector<std::string>> groups;
        const size_t cut = order.size() / 2;
        auto run = [&](testing::harness& h, uint32_t k, uint32_t p, size_t from, size_t to) {
          auto range = split_range::of(k, p, max_par);
          int64_t max_ts = 0;
          for (size_t i = 0; i < to; ++i)
            max_ts = std::max(max_ts, order[i].second.e.ts);
          int64_t seen_max = 0;
          for (size_t i = 0; i < to; ++i) {
            seen_max = std::max(seen_max, order[i].second.e.ts);
            if (i < from)
              continue;
            auto& a = order[i].second;
            if (range.owns(key_group_of(a.e.key, max_par).value))
              h.push<elem>(a.e, timestamp{a.e.ts}, a.input);
            h.watermark(timestamp{seen_max - delay - 1});
          }
          for (auto& r : h.output<pair_ts>())
            got.insert({0, r.value.first, r.value.second});
          BOOST_TEST(h.output<elem>(1).empty());
          BOOST_TEST(h.output<elem>(2).empty());
        };
        for (uint32_t k = 0; k < pb; ++k) {
          testing::harness h{make_join(lower, li, upper, ui), k, pb, max_par};
          run(h, k, pb, 0, cut);
          state::snapshot_writer w{max_par, 1};
          h.as<join_op>().snapshot(w);
          for (auto& [g, bytes] : w.keyed_bytes())
            groups[g].push_back(bytes);
        }
        for (uint32_t k = 0; k < pa; ++k) {
          testing::harness h{make_join(lower, li, upper, ui), k, pa, max_par};
          std::vector<std::string> mine;
          auto range = split_range::of(k, pa, max_par);
          for (auto& [g, s] : groups)
            if (range.owns(g))
              mine.insert(mine.end(), s.begin(), s.end());
          h.as<join_op>().restore(state::snapshot_reader{std::nullopt, mine});
          run(h, k, pa, cut, order.size());
          // Past every record and bound, nothing stays buffered.
          h.watermark(timestamp{order.back().second.e.ts + 1000});
          BOOST_TEST((h.as<join_op>().buffered() == std::pair<size_t, size_t>{0, 0}));
        }
        // The pairs name no key (the function sees only the records): compare
        // the (left ts, right ts) pairs, which are unique per key here.
        std::multiset<std::tuple<int64_t, int64_t, int64_t>> want;
        for (auto& [key, a, b] : expected)
          want.insert({0, a, b});
        BOOST_TEST(got.size() == want.size());
        BOOST_TEST((got == want));
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(a_lower_bound_above_the_upper_bound_is_refused) {
  BOOST_CHECK_EXCEPTION(ops::join_interval::between(duration{5}, duration{1}),
                        std::invalid_argument, [](const std::invalid_argument& e) {
                          return std::string{e.what()}.find("lower bound 5 ms") !=
                                 std::string::npos;
                        });
}

BOOST_AUTO_TEST_SUITE_END()
