// Broadcast state: a risk threshold broadcast to every instance of a keyed
// operator. In arrival order updates apply as they come; in event-time order
// a record sees exactly the updates at or before its time, whatever the
// arrival order — checked against a brute-force reference on random
// out-of-order data, with the broadcast state written once (by instance 0)
// and restored into every instance at another parallelism.
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

struct txn {
  int64_t account = 0;
  int64_t amount = 0;
  int64_t ts = 0;
};
SLUICE_FIELDS(txn, account, amount, ts)

struct threshold {
  int64_t value = 0;
  int64_t ts = 0;
};
SLUICE_FIELDS(threshold, value, ts)

/// (account, txn time, running count of the account's flagged transactions).
using flag = std::tuple<int64_t, int64_t, int64_t>;

struct on_txn {
  void operator()(const int64_t& account, txn t, int64_t& flagged, const int64_t& limit,
                  collector<flag>& out) const {
    if (t.amount > limit)
      out.emit({account, t.ts, ++flagged});
  }
};
struct on_threshold {
  void operator()(const threshold& t, int64_t& limit) const { limit = t.value; }
};
using op_t = ops::broadcast_process_operator<txn, int64_t, int64_t, threshold, int64_t, flag,
                                             key_selector<txn, int64_t>, on_txn, on_threshold>;

std::unique_ptr<operator_base> make(broadcast_order order) {
  pipeline p{"t"};
  auto txns = p.from_collection(std::vector<txn>{});
  auto rules = p.from_collection(std::vector<threshold>{});
  return txns.key_by([](const txn& t) { return t.account; })
      .connect_broadcast(rules, order)
      .process(on_txn{}, on_threshold{})
      .node()
      .make();
}

}  // namespace

BOOST_AUTO_TEST_SUITE(ops_broadcast)

BOOST_AUTO_TEST_CASE(in_arrival_order_an_update_applies_from_the_next_record_on) {
  testing::harness h{make(broadcast_order::arrival)};
  h.push<threshold>({100, 0}, timestamp::min(), 1);
  h.push<txn>({1, 150, 1}, timestamp{1}, 0);  // > 100
  h.push<txn>({2, 90, 2}, timestamp{2}, 0);
  h.push<threshold>({50, 3}, timestamp::min(), 1);
  h.push<txn>({2, 90, 4}, timestamp{4}, 0);  // > 50 now
  h.push<txn>({1, 40, 5}, timestamp{5}, 0);
  BOOST_TEST((h.values<flag>() == std::vector<flag>{{1, 1, 1}, {2, 4, 1}}));
  BOOST_TEST(h.as<op_t>().broadcast_state() == 50);
}

BOOST_AUTO_TEST_CASE(in_event_time_order_a_record_sees_the_updates_up_to_its_time) {
  testing::harness h{make(broadcast_order::event_time)};
  h.push<threshold>({100, 0}, timestamp{0}, 1);
  h.push<txn>({1, 80, 20}, timestamp{20}, 0);  // after the change to 50 at 10: flagged
  h.push<threshold>({50, 10}, timestamp{10}, 1);
  h.push<txn>({1, 80, 5}, timestamp{5}, 0);  // before it: not flagged
  BOOST_TEST(h.values<flag>().empty());      // nothing before the watermark
  h.watermark(timestamp{30});
  BOOST_TEST((h.values<flag>() == std::vector<flag>{{1, 20, 1}}));
  h.push<txn>({1, 999, 25}, timestamp{25}, 0);  // older than the watermark: late
  BOOST_TEST(h.values<flag>().empty());
  BOOST_TEST(h.values<txn>(1).size() == 1u);
}

BOOST_AUTO_TEST_CASE(broadcast_state_is_written_once_and_restored_everywhere) {
  testing::harness h0{make(broadcast_order::arrival), 0, 2, 16};
  testing::harness h1{make(broadcast_order::arrival), 1, 2, 16};
  for (auto* h : {&h0, &h1})
    h->push<threshold>({77, 0}, timestamp::min(), 1);
  state::snapshot_writer w0{16, 1}, w1{16, 1};
  h0.op().snapshot(w0);
  h1.op().snapshot(w1);
  BOOST_TEST(w0.has_broadcast_state());
  BOOST_TEST(!w1.has_broadcast_state());
  for (uint32_t k = 0; k < 3; ++k) {
    testing::harness r{make(broadcast_order::arrival), k, 3, 16};
    r.op().restore(state::snapshot_reader{std::nullopt, {}, w0.broadcast_bytes()});
    BOOST_TEST(r.as<op_t>().broadcast_state() == 77);
  }
}

BOOST_AUTO_TEST_CASE(event_time_order_matches_a_reference_restored_at_another_parallelism) {
  // Transactions of 20 accounts and a threshold changed every ~50 ms of
  // event time, both out of order by less than `delay`.
  const int64_t delay = 40;
  std::mt19937_64 rng{3};
  struct arrival {
    txn t;
    bool rule;
  };
  std::vector<std::pair<int64_t, arrival>> by_arrival;
  for (int64_t i = 0; i < 5000; ++i) {
    const bool rule = rng() % 50 == 0;
    arrival a{{static_cast<int64_t>(rng() % 20), static_cast<int64_t>(rng() % 1000), i}, rule};
    if (rule)
      a.t.amount = 200 + static_cast<int64_t>(rng() % 700);  // the new threshold
    by_arrival.push_back({i + static_cast<int64_t>(rng() % delay), a});
  }
  std::sort(by_arrival.begin(), by_arrival.end(),
            [](auto& a, auto& b) { return a.first < b.first; });
  std::vector<arrival> in;
  for (auto& [_, a] : by_arrival)
    in.push_back(a);
  // Reference: in time order, the threshold in force and a count per account.
  std::vector<arrival> by_time = in;
  std::sort(by_time.begin(), by_time.end(), [](auto& a, auto& b) { return a.t.ts < b.t.ts; });
  std::multiset<flag> expected;
  {
    int64_t limit = 0;
    std::map<int64_t, int64_t> count;
    for (auto& a : by_time) {
      if (a.rule)
        limit = a.t.amount;
      else if (a.t.amount > limit)
        expected.insert({a.t.account, a.t.ts, ++count[a.t.account]});
    }
  }
  BOOST_TEST_REQUIRE(expected.size() > 500u);
  for (auto [pb, pa] : std::vector<std::pair<uint32_t, uint32_t>>{{1, 1}, {2, 3}, {4, 1}}) {
    BOOST_TEST_CONTEXT(pb << " -> " << pa) {
      const uint32_t max_par = 16;
      std::multiset<flag> got;
      std::map<uint32_t, std::vector<std::string>> groups;
      std::optional<std::string> broadcast;
      const size_t cut = in.size() / 2;
      auto run = [&](testing::harness& h, uint32_t k, uint32_t p, size_t from, size_t to) {
        auto range = split_range::of(k, p, max_par);
        int64_t seen_max = 0;
        for (size_t i = 0; i < to; ++i) {
          seen_max = std::max(seen_max, in[i].t.ts);
          if (i < from)
            continue;
          const auto& a = in[i];
          if (a.rule)  // to every instance
            h.push<threshold>({a.t.amount, a.t.ts}, timestamp{a.t.ts}, 1);
          else if (range.owns(key_group_of(a.t.account, max_par).value))
            h.push<txn>(a.t, timestamp{a.t.ts}, 0);
          h.watermark(timestamp{seen_max - delay});
        }
        for (auto& f : h.values<flag>())
          got.insert(f);
        BOOST_TEST(h.output<txn>(1).empty());
      };
      for (uint32_t k = 0; k < pb; ++k) {
        testing::harness h{make(broadcast_order::event_time), k, pb, max_par};
        run(h, k, pb, 0, cut);
        state::snapshot_writer w{max_par, 1};
        h.op().snapshot(w);
        for (auto& [g, bytes] : w.keyed_bytes())
          groups[g].push_back(bytes);
        if (w.has_broadcast_state())
          broadcast = w.broadcast_bytes();
      }
      BOOST_TEST_REQUIRE(broadcast.has_value());
      for (uint32_t k = 0; k < pa; ++k) {
        testing::harness h{make(broadcast_order::event_time), k, pa, max_par};
        std::vector<std::string> mine;
        auto range = split_range::of(k, pa, max_par);
        for (auto& [g, s] : groups)
          if (range.owns(g))
            mine.insert(mine.end(), s.begin(), s.end());
        h.op().restore(state::snapshot_reader{std::nullopt, mine, broadcast});
        run(h, k, pa, cut, in.size());
        h.end();
        for (auto& f : h.values<flag>())
          got.insert(f);
        BOOST_TEST((h.as<op_t>().waiting() == std::pair<size_t, size_t>{0, 0}));
      }
      BOOST_TEST(got.size() == expected.size());
      BOOST_TEST((got == expected));
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()
