// Keyed process functions with timers and side outputs (Flink's
// KeyedProcessFunction semantics), driven by the operator harness.
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <cstdint>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <stdexcept>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "sluice/key_group.hpp"
#include "sluice/ops/keyed_process.hpp"
#include "sluice/pipeline.hpp"
#include "sluice/source/splits.hpp"
#include "sluice/state/snapshot.hpp"
#include "sluice/state/timer_queue.hpp"
#include "sluice/testing/harness.hpp"

using namespace sluice;

namespace {

constexpr int64_t day = 24 * 3600 * 1000;
constexpr int64_t inactivity = 60 * day;

struct txn {
  int64_t account = 0;
  int64_t amount = 0;
};
SLUICE_FIELDS(txn, account, amount)

struct by_account {
  int64_t operator()(const txn& t) const { return t.account; }
};

/// (account, time the inactivity was noticed)
using signal = std::pair<int64_t, int64_t>;

/// State of an account: the latest transaction time in event-time order, and
/// the times of transactions that arrived but the watermark has not passed.
using account_state = std::pair<int64_t, std::vector<int64_t>>;

/// "No transaction for an account in 60 days of event time -> an inactivity
/// signal", exact with out-of-order input: a transaction only registers a
/// timer at its own time, so transactions are handled in event-time order as
/// the watermark passes them; each moves the account's inactivity timer.
auto on_txn = [](const int64_t&, txn, account_state& s, process_context<int64_t>& ctx,
                 collector<signal>&) {
  s.second.push_back(ctx.time().ms);
  ctx.register_event_time_timer(ctx.time());
};
auto on_quiet = [](const int64_t& account, timestamp t, account_state& s,
                   process_context<int64_t>& ctx, collector<signal>& out) {
  auto& [last, pending] = s;
  const auto at_t = std::remove(pending.begin(), pending.end(), t.ms);
  const bool transaction = at_t != pending.end();
  pending.erase(at_t, pending.end());
  if (transaction) {  // in event-time order: the account is active at t
    if (last != 0)
      ctx.delete_event_time_timer(timestamp{last + inactivity});
    last = t.ms;
    ctx.register_event_time_timer(timestamp{last + inactivity});
    return;
  }
  if (last != 0 && t.ms == last + inactivity) {
    out.emit({account, t.ms});
    last = 0;
    if (pending.empty())
      ctx.clear_state();  // the account is forgotten until it transacts again
  }
};
using inactivity_op = ops::keyed_process_operator<txn, int64_t, account_state, signal, by_account,
                                                  decltype(on_txn), decltype(on_quiet)>;

std::unique_ptr<inactivity_op> make_inactivity() {
  return std::make_unique<inactivity_op>(by_account{}, on_txn, on_quiet);
}

/// Random transactions of `accounts` accounts over two years, delivered out
/// of order by up to `delay` ms; each comes with the watermark a bounded
/// out-of-orderness strategy of `delay` would have after it.
struct workload {
  std::vector<record<txn>> in;
  std::vector<timestamp> wm_after;
};

workload make_workload(uint32_t seed, int accounts, int n, int64_t delay) {
  std::mt19937_64 rng{seed};
  std::vector<record<txn>> sorted;
  int64_t t = 1;
  for (int i = 0; i < n; ++i) {
    t += static_cast<int64_t>(rng() % (3 * day));
    sorted.push_back({txn{static_cast<int64_t>(rng() % accounts), 1}, timestamp{t}});
  }
  workload w;
  // Shuffle within the delay: sort by ts + random jitter in [0, delay).
  std::vector<std::pair<int64_t, size_t>> order;
  for (size_t i = 0; i < sorted.size(); ++i)
    order.emplace_back(sorted[i].ts.ms + static_cast<int64_t>(rng() % delay), i);
  std::sort(order.begin(), order.end());
  int64_t max_ts = 0;
  for (auto& [_, i] : order) {
    w.in.push_back(sorted[i]);
    max_ts = std::max(max_ts, sorted[i].ts.ms);
    w.wm_after.push_back(timestamp{max_ts - delay - 1});
  }
  return w;
}

/// The signals by brute force: per account, every gap of more than 60 days
/// between consecutive transactions, and 60 days after the last one.
std::multiset<signal> reference(const workload& w) {
  std::map<int64_t, std::vector<int64_t>> by;
  for (auto& r : w.in)
    by[r.value.account].push_back(r.ts.ms);
  std::multiset<signal> out;
  for (auto& [a, ts] : by) {
    std::sort(ts.begin(), ts.end());
    for (size_t i = 0; i + 1 < ts.size(); ++i)
      if (ts[i + 1] - ts[i] > inactivity)
        out.insert({a, ts[i] + inactivity});
    out.insert({a, ts.back() + inactivity});
  }
  return out;
}

/// Feeds records [from, to) of `w` with their watermarks into harness `h`,
/// only those of the keys instance `k` of `p` owns (as a hash partition would).
void feed(testing::harness& h, const workload& w, size_t from, size_t to, uint32_t k, uint32_t p,
          uint32_t max_par) {
  auto range = split_range::of(k, p, max_par);
  for (size_t i = from; i < to; ++i) {
    if (range.owns(key_group_of(w.in[i].value.account, max_par).value))
      h.push_batch<txn>({w.in[i]});
    h.watermark(w.wm_after[i]);
  }
}

}  // namespace

BOOST_AUTO_TEST_SUITE(ops_timers)

BOOST_AUTO_TEST_CASE(timer_queue_keeps_one_timer_per_key_and_time_and_pops_in_time_order) {
  state::timer_queue<std::string> q;
  BOOST_TEST(q.add("a", timestamp{30}));
  BOOST_TEST(!q.add("a", timestamp{30}));  // deduplicated
  BOOST_TEST(q.add("b", timestamp{10}));
  BOOST_TEST(q.add("a", timestamp{20}));
  BOOST_TEST(q.add("c", timestamp{20}));
  BOOST_TEST(q.remove("c", timestamp{20}));
  BOOST_TEST(!q.remove("c", timestamp{20}));
  BOOST_TEST(q.size() == 3u);
  BOOST_TEST(q.earliest()->ms == 10);
  std::string k;
  timestamp t;
  std::vector<std::pair<std::string, int64_t>> popped;
  while (q.pop_due(timestamp{25}, k, t))
    popped.emplace_back(k, t.ms);
  BOOST_TEST((popped == std::vector<std::pair<std::string, int64_t>>{{"b", 10}, {"a", 20}}));
  BOOST_TEST(q.size() == 1u);
}

BOOST_AUTO_TEST_CASE(inactivity_signals_match_a_brute_force_reference_with_out_of_order_input) {
  for (uint32_t seed : {1u, 2u, 3u}) {
    auto w = make_workload(seed, 20, 2000, 5 * day);
    testing::harness h{make_inactivity()};
    feed(h, w, 0, w.in.size(), 0, 1, 128);
    // Before the end only the gaps whose timers the watermark passed fired.
    h.end();
    auto got = h.values<signal>();
    BOOST_TEST((std::multiset<signal>(got.begin(), got.end()) == reference(w)), "seed " << seed);
    for (auto& r : h.output<signal>())
      BOOST_TEST(r.ts.ms == r.value.second);  // emitted at the timer's time
    // Every account went quiet in the end: no state, no timer is left.
    BOOST_TEST(h.as<inactivity_op>().state().empty());
    BOOST_TEST(h.as<inactivity_op>().timers().first == 0u);
  }
}

BOOST_AUTO_TEST_CASE(state_stays_bounded_as_the_watermark_passes) {
  // 100 000 transactions of 50 000 accounts, each account active for a short
  // while: once the watermark is 60 days past an account's last
  // transaction, nothing of it is kept.
  auto w = make_workload(7, 50'000, 100'000, day);
  testing::harness h{make_inactivity()};
  size_t most = 0;
  for (size_t i = 0; i < w.in.size(); ++i) {
    h.push_batch<txn>({w.in[i]});
    h.watermark(w.wm_after[i]);
    most = std::max(most, h.as<inactivity_op>().state().size());
  }
  h.watermark(timestamp{w.wm_after.back().ms + day + 1 + inactivity});  // past every account
  BOOST_TEST(h.as<inactivity_op>().state().size() == 0u);
  BOOST_TEST(h.as<inactivity_op>().timers().first == 0u);
  BOOST_TEST(most <= 50'000u);
}

BOOST_AUTO_TEST_CASE(timers_restore_with_their_keys_at_another_parallelism) {
  // A snapshot in the middle at parallelism 1, 2 or 3, restored at 3, 1 or 2:
  // the union of the outputs equals the failure-free run's.
  const uint32_t max_par = 16;
  auto w = make_workload(11, 40, 3000, 4 * day);
  const auto expected = reference(w);
  for (auto [pb, pa] : std::vector<std::pair<uint32_t, uint32_t>>{{1, 3}, {2, 1}, {3, 2}, {2, 2}}) {
    BOOST_TEST_CONTEXT(pb << " -> " << pa) {
      const size_t cut = w.in.size() / 2;
      std::multiset<signal> got;
      std::map<uint32_t, std::vector<std::string>> groups;  // key group -> sections
      for (uint32_t k = 0; k < pb; ++k) {
        testing::harness h{make_inactivity(), k, pb, max_par};
        feed(h, w, 0, cut, k, pb, max_par);
        for (auto& s : h.values<signal>())
          got.insert(s);
        state::snapshot_writer sw{max_par, 1};
        h.as<inactivity_op>().snapshot(sw);
        for (auto& [g, bytes] : sw.keyed_bytes())
          groups[g].push_back(bytes);
      }
      for (uint32_t k = 0; k < pa; ++k) {
        testing::harness h{make_inactivity(), k, pa, max_par};
        std::vector<std::string> mine;
        auto range = split_range::of(k, pa, max_par);
        for (auto& [g, sections] : groups)
          if (range.owns(g))
            mine.insert(mine.end(), sections.begin(), sections.end());
        h.as<inactivity_op>().restore(state::snapshot_reader{std::nullopt, mine});
        h.watermark(w.wm_after[cut - 1]);
        feed(h, w, cut, w.in.size(), k, pa, max_par);
        h.end();
        for (auto& s : h.values<signal>())
          got.insert(s);
      }
      BOOST_TEST((got == expected));
    }
  }
}

BOOST_AUTO_TEST_CASE(processing_time_timers_fire_on_the_job_clock_once_per_key_and_time) {
  auto f = [](const std::string& k, std::string, int& n, process_context<std::string>& ctx,
              collector<std::string>&) {
    ++n;
    // Registered twice: fires once.
    ctx.register_processing_time_timer(ctx.current_processing_time() + duration{10});
    ctx.register_processing_time_timer(ctx.current_processing_time() + duration{10});
    if (k == "drop")
      ctx.delete_processing_time_timer(ctx.current_processing_time() + duration{10});
  };
  auto t = [](const std::string& k, timestamp, int& n, process_context<std::string>& ctx,
              collector<std::string>& out) {
    BOOST_TEST((ctx.domain() == time_domain::processing_time));
    out.emit(k + "=" + std::to_string(n));
  };
  struct self {
    std::string operator()(const std::string& s) const { return s; }
  };
  using op_t = ops::keyed_process_operator<std::string, std::string, int, std::string, self,
                                           decltype(f), decltype(t)>;
  testing::harness h{std::make_unique<op_t>(self{}, f, t)};
  h.push<std::string>("a", timestamp{5});
  h.push<std::string>("a", timestamp{6});
  h.push<std::string>("drop", timestamp{7});
  h.advance_processing_time(duration{9});
  BOOST_TEST(h.output<std::string>().empty());
  h.advance_processing_time(duration{1});
  auto out = h.output<std::string>();
  BOOST_TEST_REQUIRE(out.size() == 1u);
  BOOST_TEST(out[0].value == "a=2");
  BOOST_TEST((out[0].ts == timestamp::min()));  // no event time from a processing-time timer
  h.end();
  BOOST_TEST(h.output<std::string>().empty());
}

BOOST_AUTO_TEST_CASE(side_outputs_are_typed_ports_of_their_own) {
  output_tag<int64_t> big{"big"};
  output_tag<std::string> notes{"notes"};
  auto f = [big, notes](const int64_t& k, txn t, int&, process_context<int64_t>& ctx,
                        collector<txn>& out) {
    if (t.amount > 100)
      ctx.output(big, t.amount);
    else
      out.emit(t);
    if (t.amount == 0)
      ctx.output(notes, "zero amount on " + std::to_string(k));
  };
  using op_t = ops::keyed_process_operator<txn, int64_t, int, txn, by_account, decltype(f),
                                           ops::no_timer_fn, int64_t, std::string>;
  testing::harness h{
      std::make_unique<op_t>(by_account{}, f, ops::no_timer_fn{}, std::make_tuple(big, notes))};
  BOOST_TEST(h.as<op_t>().num_ports() == 3u);
  h.push_batch<txn>({{{1, 5}, timestamp{1}}, {{2, 500}, timestamp{2}}, {{3, 0}, timestamp{3}}});
  BOOST_TEST(h.values<txn>(0).size() == 2u);
  BOOST_TEST(h.values<int64_t>(1) == std::vector<int64_t>{500});
  BOOST_TEST(h.values<std::string>(2) == std::vector<std::string>{"zero amount on 3"});
  BOOST_TEST(h.dead_letters().empty());  // dead letters are the port after the side outputs
}

BOOST_AUTO_TEST_CASE(an_undeclared_side_output_or_a_timer_without_on_timer_is_an_error) {
  output_tag<int> declared{"declared"}, other{"other"};
  auto f = [other](const int64_t&, txn t, int&, process_context<int64_t>& ctx, collector<txn>&) {
    if (t.amount == 1)
      ctx.output(other, 1);
    else
      ctx.register_event_time_timer(timestamp{10});
  };
  using op_t = ops::keyed_process_operator<txn, int64_t, int, txn, by_account, decltype(f),
                                           ops::no_timer_fn, int>;
  testing::harness h{
      std::make_unique<op_t>(by_account{}, f, ops::no_timer_fn{}, std::make_tuple(declared))};
  BOOST_CHECK_EXCEPTION(
      h.push<txn>({1, 1}, timestamp{1}), std::logic_error, [](const std::logic_error& e) {
        return std::string{e.what()}.find("'other' was not declared") != std::string::npos;
      });
  h.push<txn>({1, 2}, timestamp{2});
  BOOST_CHECK_EXCEPTION(
      h.watermark(timestamp{10}), std::logic_error, [](const std::logic_error& e) {
        return std::string{e.what()}.find("has no on_timer function") != std::string::npos;
      });
}

BOOST_AUTO_TEST_CASE(connected_process_functions_share_timers_and_side_outputs) {
  // Invoices (input 0) are due 10 ms after they are issued; a payment (input
  // 1) settles its account's invoice. An invoice unpaid when its timer fires
  // is overdue (main output); a payment without an invoice goes to a side output.
  pipeline p{"t"};
  auto invoices = p.from_collection(std::vector<txn>{});
  auto payments = p.from_collection(std::vector<txn>{});
  output_tag<txn> unmatched{"unmatched"};
  auto out = invoices.key_by(by_account{})
                 .connect(payments.key_by(by_account{}))
                 .process(
                     [](const int64_t&, txn t, int64_t& open, process_context<int64_t>& ctx,
                        collector<std::string>&) {
                       open = t.amount;
                       ctx.register_event_time_timer(ctx.time() + duration{10});
                     },
                     [unmatched](const int64_t&, txn t, int64_t& open,
                                 process_context<int64_t>& ctx, collector<std::string>&) {
                       if (open == 0)
                         ctx.output(unmatched, t);
                       else
                         ctx.clear_state();
                     },
                     [](const int64_t& k, timestamp, int64_t& open, process_context<int64_t>& ctx,
                        collector<std::string>& o) {
                       if (open != 0)
                         o.emit(std::to_string(k) + " owes " + std::to_string(open));
                       ctx.clear_state();
                     },
                     unmatched);
  testing::harness h{out.node().make()};
  h.push<txn>({1, 50}, timestamp{0}, 0);
  h.push<txn>({2, 70}, timestamp{1}, 0);
  h.push<txn>({1, 50}, timestamp{5}, 1);  // pays in time
  h.push<txn>({3, 20}, timestamp{6}, 1);  // nothing to pay
  h.watermark(timestamp{20});
  BOOST_TEST(h.values<std::string>() == std::vector<std::string>{"2 owes 70"});
  auto side = h.values<txn>(1);
  BOOST_TEST_REQUIRE(side.size() == 1u);
  BOOST_TEST(side[0].account == 3);
  // Timers and state restore with their keys.
  h.push<txn>({4, 9}, timestamp{30}, 0);
  state::snapshot_writer w{128, 1};
  h.op().snapshot(w);
  std::vector<std::string> sections;
  for (auto& [g, b] : w.keyed_bytes())
    sections.push_back(b);
  testing::harness r{out.node().make()};
  r.op().restore(state::snapshot_reader{std::nullopt, sections});
  r.watermark(timestamp{100});
  BOOST_TEST(r.values<std::string>() == std::vector<std::string>{"4 owes 9"});
}

BOOST_AUTO_TEST_CASE(a_process_function_on_a_stream_that_is_not_keyed_writes_side_outputs) {
  pipeline p{"t"};
  output_tag<std::string> rejected{"rejected"};
  auto valid =
      p.from_collection(std::vector<txn>{})
          .process(
              [rejected](txn t, process_context<no_key>& ctx, collector<txn>& out) {
                if (t.amount < 0)
                  ctx.output(rejected, "negative amount at " + std::to_string(ctx.time().ms));
                else
                  out.emit(t);
              },
              rejected);
  testing::harness h{valid.node().make()};
  h.push_batch<txn>({{{1, 5}, timestamp{1}}, {{2, -3}, timestamp{2}}, {{3, 0}, timestamp{3}}});
  BOOST_TEST(h.values<txn>(0).size() == 2u);
  BOOST_TEST(h.values<std::string>(1) == std::vector<std::string>{"negative amount at 2"});
  // Without tags it is a plain stream of Out.
  stream<int64_t> amounts = p.from_collection(std::vector<txn>{})
                                .process([](txn t, process_context<no_key>&,
                                            collector<int64_t>& out) { out.emit(t.amount); });
  BOOST_TEST(amounts.node().kind == "process");
}

BOOST_AUTO_TEST_SUITE_END()
