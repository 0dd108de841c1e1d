// Window join and co-group: cases transcribed from Flink's CoGroupJoinITCase
// (flink-tests, streaming/runtime), outer joins, and a brute-force reference
// on random out-of-order data for tumbling, sliding and session windows,
// restored halfway at another parallelism.
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <cstdint>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "sluice/fields.hpp"
#include "sluice/key_group.hpp"
#include "sluice/pipeline.hpp"
#include "sluice/source/splits.hpp"
#include "sluice/state/snapshot.hpp"
#include "sluice/testing/harness.hpp"

using namespace sluice;
using namespace std::chrono_literals;

namespace {

/// Flink's Tuple3<String, String, Integer> (key, tag, time); Tuple2 cases leave `tag` empty.
struct t3 {
  std::string key;
  std::string tag;
  int64_t ts = 0;
};
SLUICE_FIELDS(t3, key, tag, ts)

std::string str(const t3& x) {
  return "(" + x.key + "," + (x.tag.empty() ? "" : x.tag + ",") + std::to_string(x.ts) + ")";
}

auto key_of = [](const t3& x) {
  return x.key;
};

/// The operator a join handle's plan node makes, in a harness.
template <class S>
testing::harness harness_of(const S& s) {
  return testing::harness{s.node().make()};
}

/// Flink's punctuated extractor: each element at `t` is followed by watermark t - 1.
void feed(testing::harness& h, const std::vector<t3>& xs, size_t input) {
  for (auto& x : xs) {
    h.push<t3>(x, timestamp{x.ts}, input);
  }
}

std::vector<t3> t2s(std::string key, std::vector<int64_t> ts) {
  std::vector<t3> out;
  for (auto t : ts)
    out.push_back({key, "", t});
  return out;
}

template <class V>
std::vector<V> concat(std::vector<V> a, const std::vector<V>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

/// Runs both finite sources as Flink's test does at parallelism 1: source 1's
/// elements with its watermarks, then source 2's; the operator sees the
/// minimum of both inputs' watermarks, then the MAX watermark at the end.
std::multiset<std::string> run_flink_case(testing::harness& h, const std::vector<t3>& s1,
                                          const std::vector<t3>& s2) {
  feed(h, s1, 0);
  feed(h, s2, 1);
  h.watermark(timestamp::max());
  h.end();
  std::multiset<std::string> out;
  for (auto& v : h.values<std::string>())
    out.insert(v);
  return out;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(ops_window_join)

BOOST_AUTO_TEST_CASE(flink_cogroup) {
  // CoGroupJoinITCase.testCoGroup: tumbling 3 ms windows, keys a, b, c.
  pipeline p{"t"};
  auto s1 = p.from_collection(std::vector<t3>{});
  auto s2 = p.from_collection(std::vector<t3>{});
  auto j = s1.co_group(s2)
               .where(key_of)
               .equal_to(key_of)
               .window(window::tumbling::of(3ms))
               .apply([](const std::vector<t3>& first, const std::vector<t3>& second,
                         collector<std::string>& out) {
                 std::string r = "F:";
                 for (auto& t : first)
                   r += str(t);
                 r += " S:";
                 for (auto& t : second)
                   r += str(t);
                 out.emit(r);
               });
  auto h = harness_of(j);
  auto got = run_flink_case(
      h, concat(concat(t2s("a", {0, 1, 2}), t2s("b", {3, 4, 5})), t2s("a", {6, 7, 8})),
      concat(concat(t2s("a", {0, 1}), t2s("b", {3})), t2s("c", {6, 7, 8})));
  BOOST_TEST((got == std::multiset<std::string>{"F:(a,0)(a,1)(a,2) S:(a,0)(a,1)",
                                                "F:(b,3)(b,4)(b,5) S:(b,3)",
                                                "F:(a,6)(a,7)(a,8) S:", "F: S:(c,6)(c,7)(c,8)"}));
}

const std::vector<t3> join_s1{{"a", "x", 0}, {"a", "y", 1}, {"a", "z", 2}, {"b", "u", 3},
                              {"b", "w", 5}, {"a", "i", 6}, {"a", "j", 7}, {"a", "k", 8}};
const std::vector<t3> join_s2{{"a", "u", 0}, {"a", "w", 1}, {"b", "i", 3},
                              {"b", "k", 5}, {"a", "x", 6}, {"a", "z", 8}};

BOOST_AUTO_TEST_CASE(flink_join) {
  // CoGroupJoinITCase.testJoin: a JoinFunction returning one value per pair.
  pipeline p{"t"};
  auto s1 = p.from_collection(std::vector<t3>{});
  auto s2 = p.from_collection(std::vector<t3>{});
  auto j = s1.join(s2)
               .where(key_of)
               .equal_to(key_of)
               .window(window::tumbling::of(3ms))
               .apply([](const t3& a, const t3& b) { return str(a) + ":" + str(b); });
  auto h = harness_of(j);
  auto got = run_flink_case(h, join_s1, join_s2);
  BOOST_TEST(
      (got == std::multiset<std::string>{
                  "(a,x,0):(a,u,0)", "(a,x,0):(a,w,1)", "(a,y,1):(a,u,0)", "(a,y,1):(a,w,1)",
                  "(a,z,2):(a,u,0)", "(a,z,2):(a,w,1)", "(b,u,3):(b,i,3)", "(b,u,3):(b,k,5)",
                  "(b,w,5):(b,i,3)", "(b,w,5):(b,k,5)", "(a,i,6):(a,x,6)", "(a,i,6):(a,z,8)",
                  "(a,j,7):(a,x,6)", "(a,j,7):(a,z,8)", "(a,k,8):(a,x,6)", "(a,k,8):(a,z,8)"}));
  // Every result carries its window's max timestamp.
  for (auto& r : h.output<std::string>())
    BOOST_TEST((r.ts.ms % 3) == 2);
}

BOOST_AUTO_TEST_CASE(flink_self_join) {
  // CoGroupJoinITCase.testSelfJoin: the same stream on both sides.
  pipeline p{"t"};
  auto s1 = p.from_collection(std::vector<t3>{});
  auto j = s1.join(s1)
               .where(key_of)
               .equal_to(key_of)
               .window(window::tumbling::of(3ms))
               .apply([](const t3& a, const t3& b, collector<std::string>& out) {
                 out.emit(str(a) + ":" + str(b));
               });
  auto h = harness_of(j);
  auto got = run_flink_case(h, join_s1, join_s1);
  std::multiset<std::string> want;
  for (auto& a : join_s1)
    for (auto& b : join_s1)
      if (a.key == b.key && a.ts / 3 == b.ts / 3)
        want.insert(str(a) + ":" + str(b));
  BOOST_TEST(want.size() == 22u);  // the 22 pairs Flink's test lists
  BOOST_TEST((got == want));
}

BOOST_AUTO_TEST_CASE(outer_joins_emit_the_records_the_other_side_lacks) {
  // testJoin's data plus key c on the right only and key d on the left only.
  const auto s1 = concat(join_s1, {{"d", "q", 4}});
  const auto s2 = concat(join_s2, {{"c", "r", 7}});
  auto show = [](const t3* a, const t3* b, collector<std::string>& out) {
    out.emit((a ? str(*a) : "null") + ":" + (b ? str(*b) : "null"));
  };
  auto run = [&](auto make) {
    pipeline p{"t"};
    auto l = p.from_collection(std::vector<t3>{});
    auto r = p.from_collection(std::vector<t3>{});
    auto j =
        make(l, r).where(key_of).equal_to(key_of).window(window::tumbling::of(3ms)).apply(show);
    auto h = harness_of(j);
    return run_flink_case(h, s1, s2);
  };
  std::multiset<std::string> inner;
  for (auto& a : s1)
    for (auto& b : s2)
      if (a.key == b.key && a.ts / 3 == b.ts / 3)
        inner.insert(str(a) + ":" + str(b));
  BOOST_TEST(inner.size() == 16u);
  auto left = inner, right = inner, full = inner;
  left.insert("(d,q,4):null");
  right.insert("null:(c,r,7)");
  full.insert("(d,q,4):null");
  full.insert("null:(c,r,7)");
  BOOST_TEST((run([](auto& a, auto& b) { return a.left_outer_join(b); }) == left));
  BOOST_TEST((run([](auto& a, auto& b) { return a.right_outer_join(b); }) == right));
  BOOST_TEST((run([](auto& a, auto& b) { return a.full_outer_join(b); }) == full));
}

BOOST_AUTO_TEST_CASE(late_records_of_each_side_go_to_their_own_port) {
  pipeline p{"t"};
  auto s1 = p.from_collection(std::vector<t3>{});
  auto s2 = p.from_collection(std::vector<t3>{});
  auto j = s1.join(s2)
               .where(key_of)
               .equal_to(key_of)
               .window(window::tumbling::of(3ms))
               .apply([](const t3& a, const t3& b) { return str(a) + ":" + str(b); });
  auto h = harness_of(j);
  h.push<t3>({"a", "x", 4}, timestamp{4}, 0);
  h.watermark(timestamp{5});  // window [3, 6) fires, nothing to pair
  h.push<t3>({"a", "late-l", 1}, timestamp{1}, 0);
  h.push<t3>({"a", "late-r", 4}, timestamp{4}, 1);
  BOOST_TEST(h.values<std::string>().empty());
  auto ll = h.values<t3>(1);
  auto lr = h.values<t3>(2);
  BOOST_TEST_REQUIRE(ll.size() == 1u);
  BOOST_TEST(ll[0].tag == "late-l");
  BOOST_TEST_REQUIRE(lr.size() == 1u);
  BOOST_TEST(lr[0].tag == "late-r");
}

BOOST_AUTO_TEST_CASE(count_windows_are_refused_for_joins) {
  pipeline p{"t"};
  auto s1 = p.from_collection(std::vector<t3>{});
  window::assigner w = window::count::of(3);
  BOOST_CHECK_THROW(s1.join(s1).where(key_of).equal_to(key_of).window(w).apply(
                        [](const t3& a, const t3&) { return a.ts; }),
                    std::invalid_argument);
}

namespace {

struct ev {
  int64_t key = 0;
  int64_t ts = 0;
};
SLUICE_FIELDS(ev, key, ts)

/// One record in arrival order: which input, and the element.
struct arrival {
  ev e;
  size_t input;
};

/// Windows of one timestamp: (start, end) of each tumbling or sliding window.
std::vector<std::pair<int64_t, int64_t>> windows_of(int64_t t, int64_t size, int64_t slide) {
  std::vector<std::pair<int64_t, int64_t>> out;
  for (int64_t s = window::window_start(t, 0, slide); s > t - size; s -= slide)
    out.emplace_back(s, s + size);
  return out;
}

/// (key, window end - 1, a ts or -1, b ts or -1): what a join emits, by brute force.
using row = std::tuple<int64_t, int64_t, int64_t, int64_t>;

std::multiset<row> reference(const std::vector<arrival>& in, int64_t size, int64_t slide,
                             int64_t gap, bool full) {
  // (key, window) -> (a times, b times)
  std::map<std::tuple<int64_t, int64_t, int64_t>,
           std::pair<std::vector<int64_t>, std::vector<int64_t>>>
      cells;
  if (gap > 0) {
    std::map<int64_t, std::vector<std::pair<int64_t, size_t>>> by_key;
    for (auto& a : in)
      by_key[a.e.key].emplace_back(a.e.ts, a.input);
    for (auto& [k, v] : by_key) {
      std::sort(v.begin(), v.end());
      size_t i = 0;
      while (i < v.size()) {
        size_t j = i + 1;
        while (j < v.size() && v[j].first - v[j - 1].first <= gap)
          ++j;
        const int64_t start = v[i].first, end = v[j - 1].first + gap;
        for (size_t x = i; x < j; ++x)
          (v[x].second == 0 ? cells[{k, start, end}].first : cells[{k, start, end}].second)
              .push_back(v[x].first);
        i = j;
      }
    }
  } else {
    for (auto& a : in)
      for (auto [s, e] : windows_of(a.e.ts, size, slide))
        (a.input == 0 ? cells[{a.e.key, s, e}].first : cells[{a.e.key, s, e}].second)
            .push_back(a.e.ts);
  }
  std::multiset<row> out;
  for (auto& [c, sides] : cells) {
    auto [k, s, e] = c;
    auto& [as, bs] = sides;
    if (as.empty() || bs.empty()) {
      if (full) {
        for (auto a : as)
          out.insert({k, e - 1, a, -1});
        for (auto b : bs)
          out.insert({k, e - 1, -1, b});
      }
      continue;
    }
    for (auto a : as)
      for (auto b : bs)
        out.insert({k, e - 1, a, b});
  }
  return out;
}

}  // namespace

BOOST_AUTO_TEST_CASE(matches_a_brute_force_reference_restored_at_another_parallelism) {
  const int64_t delay = 40;
  std::mt19937_64 rng{7};
  std::vector<std::pair<int64_t, arrival>> order;
  for (int i = 0; i < 3000; ++i) {
    const int64_t ts = i * 2 + static_cast<int64_t>(rng() % 2);
    order.push_back({ts + static_cast<int64_t>(rng() % delay),
                     arrival{{static_cast<int64_t>(rng() % 30), ts}, rng() % 2}});
  }
  std::sort(order.begin(), order.end(), [](auto& a, auto& b) { return a.first < b.first; });
  std::vector<arrival> in;
  for (auto& [_, a] : order)
    in.push_back(a);
  auto key = [](const ev& e) {
    return e.key;
  };
  struct shape {
    const char* name;
    int64_t size, slide, gap;
  };
  for (auto [name, size, slide, gap] :
       std::vector<shape>{{"tumbling", 50, 50, 0}, {"sliding", 60, 20, 0}, {"session", 0, 0, 25}}) {
    for (bool full : {false, true}) {
      const auto expected = reference(in, size, slide, gap, full);
      BOOST_TEST_REQUIRE(expected.size() > 100u);
      for (auto [pb, pa] : std::vector<std::pair<uint32_t, uint32_t>>{{1, 1}, {2, 3}, {4, 1}}) {
        BOOST_TEST_CONTEXT(name << (full ? " full outer " : " inner ") << pb << " -> " << pa) {
          auto make = [&] {
            pipeline p{"t"};
            auto l = p.from_collection(std::vector<ev>{});
            auto r = p.from_collection(std::vector<ev>{});
            const window::assigner w =
                gap > 0 ? window::assigner{window::session::with_gap(duration{gap})}
                : slide != size
                    ? window::assigner{window::sliding::of(duration{size}, duration{slide})}
                    : window::assigner{window::tumbling::of(duration{size})};
            if (full)
              return l.full_outer_join(r)
                  .where(key)
                  .equal_to(key)
                  .window(w)
                  .apply([](const ev* a, const ev* b, collector<row>& out) {
                    out.emit({a ? a->key : b->key, out.input_timestamp().ms, a ? a->ts : -1,
                              b ? b->ts : -1});
                  })
                  .node()
                  .make();
            return l.join(r)
                .where(key)
                .equal_to(key)
                .window(w)
                .apply([](const ev& a, const ev& b, collector<row>& out) {
                  out.emit({a.key, out.input_timestamp().ms, a.ts, b.ts});
                })
                .node()
                .make();
          };
          const uint32_t max_par = 16;
          std::multiset<row> got;
          std::map<uint32_t, std::vector<std::string>> groups;
          const size_t cut = in.size() / 2;
          auto run = [&](testing::harness& h, uint32_t k, uint32_t p, size_t from, size_t to) {
            auto range = split_range::of(k, p, max_par);
            int64_t seen_max = 0;
            for (size_t i = 0; i < to; ++i) {
              seen_max = std::max(seen_max, in[i].e.ts);
              if (i < from)
                continue;
              if (range.owns(key_group_of(in[i].e.key, max_par).value))
                h.push<ev>(in[i].e, timestamp{in[i].e.ts}, in[i].input);
              h.watermark(timestamp{seen_max - delay - 1});
            }
            for (auto& r : h.values<row>())
              got.insert(r);
            BOOST_TEST(h.output<ev>(1).empty());
            BOOST_TEST(h.output<ev>(2).empty());
          };
          for (uint32_t k = 0; k < pb; ++k) {
            testing::harness h{make(), k, pb, max_par};
            run(h, k, pb, 0, cut);
            state::snapshot_writer w{max_par, 1};
            h.op().snapshot(w);
            for (auto& [g, bytes] : w.keyed_bytes())
              groups[g].push_back(bytes);
          }
          for (uint32_t k = 0; k < pa; ++k) {
            testing::harness h{make(), k, pa, max_par};
            std::vector<std::string> mine;
            auto range = split_range::of(k, pa, max_par);
            for (auto& [g, s] : groups)
              if (range.owns(g))
                mine.insert(mine.end(), s.begin(), s.end());
            h.op().restore(state::snapshot_reader{std::nullopt, mine});
            run(h, k, pa, cut, in.size());
            h.watermark(timestamp::max());
            for (auto& r : h.values<row>())
              got.insert(r);
          }
          BOOST_TEST(got.size() == expected.size());
          BOOST_TEST((got == expected));
        }
      }
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()
