// Temporal join (the version of a table row valid at a record's event time)
// and lookup join (the latest row) of a stream with a changelog stream: the
// currency-rate case of Flink's versioned-table documentation, deletes, late
// records, and a brute-force reference on random out-of-order data restored
// halfway at another parallelism, with state bounded once the watermark passes.
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <cstdint>
#include <map>
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

namespace {

struct order {
  std::string id;
  std::string currency;
  int64_t ts = 0;
};
SLUICE_FIELDS(order, id, currency, ts)

struct rate {
  std::string currency;
  int64_t rate = 0;
};
SLUICE_FIELDS(rate, currency, rate)

using rate_change = change<rate>;

/// A temporal (or lookup) join of orders with rates, as the plan builds it, in a harness.
template <bool Lookup>
testing::harness rates_join() {
  pipeline p{"t"};
  auto orders = p.from_collection(std::vector<order>{});
  auto rates = p.from_collection(std::vector<rate_change>{});
  auto by_order = orders.key_by([](const order& o) { return o.currency; });
  auto by_rate = rates.key_by([](const rate_change& c) { return c.value.currency; });
  auto show = [](const order& o, const rate* r, collector<std::string>& out) {
    out.emit(o.id + ":" + (r ? std::to_string(r->rate) : "none"));
  };
  if constexpr (Lookup)
    return testing::harness{by_order.lookup_join(by_rate).process(show).node().make()};
  else
    return testing::harness{by_order.temporal_join(by_rate).process(show).node().make()};
}

void put(testing::harness& h, int64_t ts, std::string cur, int64_t r) {
  h.push<rate_change>(rate_change::upsert({std::move(cur), r}), timestamp{ts}, 1);
}
void erase(testing::harness& h, int64_t ts, std::string cur) {
  h.push<rate_change>(rate_change::erase({std::move(cur), 0}), timestamp{ts}, 1);
}
void buy(testing::harness& h, int64_t ts, std::string id, std::string cur) {
  h.push<order>({std::move(id), std::move(cur), ts}, timestamp{ts}, 0);
}

std::vector<std::string> sorted(std::vector<std::string> v) {
  std::sort(v.begin(), v.end());
  return v;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(ops_temporal_join)

BOOST_AUTO_TEST_CASE(each_order_sees_the_rate_valid_at_its_time) {
  // Flink's "versioned tables" example: the rate an order pays is the one in
  // force at the order's time, whatever arrives later. Times in minutes.
  auto h = rates_join<false>();
  put(h, 540, "EUR", 114);  // 09:00
  put(h, 540, "YEN", 1);
  buy(h, 615, "o1", "EUR");  // 10:15 -> 114
  buy(h, 630, "o2", "EUR");  // 10:30 -> 114
  put(h, 645, "EUR", 116);   // 10:45
  buy(h, 652, "o3", "EUR");  // 10:52 -> 116
  buy(h, 650, "o4", "YEN");  // out of order, 10:50 -> 1
  buy(h, 660, "o5", "USD");  // no USD rate yet -> none
  put(h, 670, "USD", 102);
  put(h, 675, "EUR", 119);   // 11:15
  buy(h, 675, "o6", "EUR");  // same time as the change: sees it -> 119
  erase(h, 680, "YEN");
  buy(h, 690, "o7", "YEN");                     // deleted -> none
  buy(h, 690, "o8", "USD");                     // -> 102
  BOOST_TEST(h.values<std::string>().empty());  // nothing before the watermark passes
  h.watermark(timestamp{652});
  BOOST_TEST((sorted(h.values<std::string>()) ==
              std::vector<std::string>{"o1:114", "o2:114", "o3:116", "o4:1"}));
  h.watermark(timestamp{700});
  BOOST_TEST((sorted(h.values<std::string>()) ==
              std::vector<std::string>{"o5:none", "o6:119", "o7:none", "o8:102"}));
}

BOOST_AUTO_TEST_CASE(records_and_changes_older_than_the_watermark_are_late) {
  auto h = rates_join<false>();
  put(h, 10, "EUR", 100);
  h.watermark(timestamp{20});
  buy(h, 15, "late", "EUR");
  put(h, 12, "EUR", 90);
  buy(h, 25, "ok", "EUR");
  h.watermark(timestamp{30});
  BOOST_TEST((h.values<std::string>() == std::vector<std::string>{"ok:100"}));
  auto late_orders = h.values<order>(1);
  auto late_changes = h.values<rate_change>(2);
  BOOST_TEST_REQUIRE(late_orders.size() == 1u);
  BOOST_TEST(late_orders[0].id == "late");
  BOOST_TEST_REQUIRE(late_changes.size() == 1u);
  BOOST_TEST(late_changes[0].value.rate == 90);
}

BOOST_AUTO_TEST_CASE(end_of_input_joins_what_still_waits) {
  auto h = rates_join<false>();
  put(h, 10, "EUR", 100);
  buy(h, 50, "o", "EUR");
  h.end();
  BOOST_TEST((h.values<std::string>() == std::vector<std::string>{"o:100"}));
}

BOOST_AUTO_TEST_CASE(lookup_join_sees_the_latest_row_at_arrival) {
  auto h = rates_join<true>();
  buy(h, 100, "o1", "EUR");  // nothing yet
  put(h, 200, "EUR", 114);
  buy(h, 50, "o2", "EUR");  // arrival order, not time: sees 114
  put(h, 10, "EUR", 116);
  buy(h, 300, "o3", "EUR");
  erase(h, 400, "EUR");
  buy(h, 500, "o4", "EUR");
  BOOST_TEST((h.values<std::string>() ==
              std::vector<std::string>{"o1:none", "o2:114", "o3:116", "o4:none"}));
  put(h, 600, "USD", 102);
  state::snapshot_writer w{128, 1};
  h.op().snapshot(w);
  std::vector<std::string> sections;
  for (auto& [g, b] : w.keyed_bytes())
    sections.push_back(b);
  auto r = rates_join<true>();
  r.op().restore(state::snapshot_reader{std::nullopt, sections});
  buy(r, 700, "o5", "USD");
  BOOST_TEST((r.values<std::string>() == std::vector<std::string>{"o5:102"}));
}

namespace {

struct ev {
  int64_t key = 0;
  int64_t ts = 0;
  int64_t value = 0;  // a record's id, or a row's value (-1: delete)
};
SLUICE_FIELDS(ev, key, ts, value)

struct arrival {
  ev e;
  bool is_change;
};

using row_out = std::tuple<int64_t, int64_t>;  // (record id, row value or -1)
struct emit_row {
  void operator()(const ev& a, const ev* row, collector<row_out>& out) const {
    out.emit({a.value, row ? row->value : -1});
  }
};
using join_op = ops::temporal_join_operator<ev, ev, int64_t, row_out, key_selector<ev, int64_t>,
                                            key_selector<change<ev>, int64_t>, emit_row>;

}  // namespace

BOOST_AUTO_TEST_CASE(matches_a_brute_force_reference_restored_at_another_parallelism) {
  const int64_t delay = 30;
  std::mt19937_64 rng{11};
  std::vector<std::pair<int64_t, arrival>> order_by_arrival;
  for (int64_t i = 0; i < 4000; ++i) {
    const bool is_change = rng() % 4 == 0;
    ev e{static_cast<int64_t>(rng() % 25), i,
         is_change ? (rng() % 5 == 0 ? -1 : static_cast<int64_t>(rng() % 1000)) : i};
    order_by_arrival.push_back({i + static_cast<int64_t>(rng() % delay), {e, is_change}});
  }
  std::sort(order_by_arrival.begin(), order_by_arrival.end(),
            [](auto& a, auto& b) { return a.first < b.first; });
  std::vector<arrival> in;
  for (auto& [_, a] : order_by_arrival)
    in.push_back(a);
  // Reference: each record with the latest change of its key at or before its time.
  std::multiset<std::tuple<int64_t, int64_t>> expected;  // (record id, row value or -1)
  for (auto& a : in) {
    if (a.is_change)
      continue;
    int64_t best_ts = -1, row = -1;
    for (auto& c : in)
      if (c.is_change && c.e.key == a.e.key && c.e.ts <= a.e.ts && c.e.ts > best_ts)
        best_ts = c.e.ts, row = c.e.value;
    expected.insert({a.e.value, row});
  }
  auto make = [] {
    pipeline p{"t"};
    auto recs = p.from_collection(std::vector<ev>{});
    auto table = p.from_collection(std::vector<change<ev>>{});
    return recs.key_by([](const ev& e) { return e.key; })
        .temporal_join(table.key_by([](const change<ev>& c) { return c.value.key; }))
        .process(emit_row{})
        .node()
        .make();
  };
  for (auto [pb, pa] : std::vector<std::pair<uint32_t, uint32_t>>{{1, 1}, {2, 3}, {4, 1}}) {
    BOOST_TEST_CONTEXT(pb << " -> " << pa) {
      const uint32_t max_par = 16;
      std::multiset<std::tuple<int64_t, int64_t>> got;
      std::map<uint32_t, std::vector<std::string>> groups;
      const size_t cut = in.size() / 2;
      auto run = [&](testing::harness& h, uint32_t k, uint32_t p, size_t from, size_t to) {
        auto range = split_range::of(k, p, max_par);
        int64_t seen_max = 0;
        for (size_t i = 0; i < to; ++i) {
          seen_max = std::max(seen_max, in[i].e.ts);
          if (i < from)
            continue;
          const ev& e = in[i].e;
          if (range.owns(key_group_of(e.key, max_par).value)) {
            if (in[i].is_change)
              h.push<change<ev>>(e.value < 0 ? change<ev>::erase(e) : change<ev>::upsert(e),
                                 timestamp{e.ts}, 1);
            else
              h.push<ev>(e, timestamp{e.ts}, 0);
          }
          h.watermark(timestamp{seen_max - delay});
        }
        for (auto& r : h.values<std::tuple<int64_t, int64_t>>())
          got.insert(r);
        BOOST_TEST(h.output<ev>(1).empty());
        BOOST_TEST(h.output<change<ev>>(2).empty());
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
        h.watermark(timestamp{static_cast<int64_t>(in.size()) + 100});
        for (auto& r : h.values<std::tuple<int64_t, int64_t>>())
          got.insert(r);
        // Bounded state: nothing waits, and at most one version per key remains.
        const auto [waiting, versions] = h.as<join_op>().buffered();
        BOOST_TEST(waiting == 0u);
        BOOST_TEST(versions <= 25u);
      }
      BOOST_TEST(got.size() == expected.size());
      BOOST_TEST((got == expected));
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()
