#include "behaviour.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>
#include <variant>

#include "parse.hpp"

namespace churn {

using sluice::collector;
using sluice::process_context;
using sluice::timestamp;
namespace window = sluice::window;

namespace {

// -- per-account flows (map / reduceByKey over windows) -----------------------------

struct flow_agg {
  using acc_type = flows;
  static flows create() { return {}; }
  static void add(flows& a, const bk_txn& t) {
    const int64_t ts = txn_time(t);
    if (t.kind == "credit") {
      ++a.credits;
      a.credit_sum += t.amount;
    } else {
      ++a.debits;
      a.debit_sum += t.amount;
    }
    if (t.operation == "VYBER" || t.operation == "VYBER KARTOU") {
      ++a.withdrawals;
      a.withdrawal_sum += t.amount;
    }
    if (a.credits + a.debits == 1 || ts < a.first_ts) {
      a.first_ts = ts;
      a.first_balance = t.balance;
    }
    if (a.credits + a.debits == 1 || ts > a.last_ts) {
      a.last_ts = ts;
      a.last_balance = t.balance;
    }
    a.arrived_ms = std::max(a.arrived_ms, t.arrived_ms);
  }
  static flows result(const flows& a) { return a; }
};

}  // namespace

account_window as_row(const flow_window& w, std::string name) {
  const flows& f = w.value;
  return {w.key,         std::move(name),  w.window.start,  w.window.end,
          f.credits,     f.credit_sum,     f.debits,        f.debit_sum,
          f.withdrawals, f.withdrawal_sum, f.first_balance, f.last_balance};
}

namespace {

// -- assets and rules: loans against balances, outflow over 90 days ----------------

using asset_input = std::variant<bk_txn, bk_loan, flow_window>;

struct asset_state {
  bool has_balance = false;
  double balance = 0;
};
SLUICE_FIELDS(asset_state, has_balance, balance)

}  // namespace

void apply_rule(const rule_change& c, rules& r) {
  if (c.name == "loan_asset_share")
    r.loan_asset_share = c.value;
  else if (c.name == "offer_min_score")
    r.offer_min_score = c.value;
  else if (c.name == "offer_validity_days")
    r.offer_validity_days = c.value;
  else if (c.name == "offer_cooldown_days")
    r.offer_cooldown_days = c.value;
  else if (c.name == "outflow_ratio")
    r.outflow_ratio = c.value;
}

namespace {

/// Balance, loans and outflow per account, in event time, under the rules
/// in force at each record's time.
void on_asset(const uint64_t& account, asset_input in, asset_state& s, const rules& r,
              collector<account_signal>& out) {
  if (auto* t = std::get_if<bk_txn>(&in)) {
    s.has_balance = true;
    s.balance = t->balance;
  } else if (auto* l = std::get_if<bk_loan>(&in)) {
    // "Loans only above an asset threshold": flag a loan whose account holds
    // less than the configured share of its amount (or has no known balance).
    const double need = r.loan_asset_share * l->amount;
    if (!s.has_balance || s.balance < need) {
      const double score =
          s.has_balance ? std::clamp(1.0 - s.balance / std::max(need, 1.0), 0.5, 1.0) : 0.9;
      out.emit(account_signal{
          account, "low_assets_loan", std::round(score * 1e4) / 1e4,
          s.has_balance ? fmt::format("loan {} of {:.0f}: balance {:.2f} below {:.0f}% of it",
                                      l->loan_id, l->amount, s.balance, r.loan_asset_share * 100)
                        : fmt::format("loan {} of {:.0f}: no balance known", l->loan_id, l->amount),
          loan_time(*l), l->arrived_ms});
    }
  } else {
    auto& w = std::get<flow_window>(in);
    const flows& f = w.value;
    if (f.credit_sum > 0 && f.debit_sum > r.outflow_ratio * f.credit_sum &&
        f.last_balance < f.first_balance) {
      const double ratio = f.debit_sum / f.credit_sum;
      const double score =
          std::clamp(0.5 + (ratio - r.outflow_ratio) / (2 * r.outflow_ratio), 0.5, 1.0);
      out.emit(account_signal{account, "outflow", std::round(score * 1e4) / 1e4,
                              fmt::format("90 days to {}: debits {:.0f} = {:.1f}x credits, "
                                          "balance {:.0f} -> {:.0f}",
                                          day_text(w.window.end / day_ms), f.debit_sum, ratio,
                                          f.first_balance, f.last_balance),
                              w.window.end - 1, f.arrived_ms});
    }
  }
}

// -- inactivity: event-time timers ---------------------------------------------------

struct activity {
  int64_t last = -1;   ///< latest transaction time
  int64_t timer = -1;  ///< the pending inactivity timer
  int64_t arrived_ms = 0;
};
SLUICE_FIELDS(activity, last, timer, arrived_ms)

}  // namespace

sluice::parsed<rule_change> parse_rule(const sluice::csv_row& r) {
  // name,value,date (YYYY-MM-DD): the rule's value from that day on
  if (r.size() != 3)
    return sluice::parsed<rule_change>::fail(fmt::format("expected 3 fields, got {}", r.size()));
  rule_change c{r.get<std::string>(0), r.get<double>(1), 0};
  static const char* known[] = {"loan_asset_share", "offer_min_score", "offer_validity_days",
                                "offer_cooldown_days", "outflow_ratio"};
  if (std::find_if(std::begin(known), std::end(known),
                   [&](const char* k) { return c.name == k; }) == std::end(known))
    return sluice::parsed<rule_change>::fail(fmt::format("unknown rule '{}'", c.name));
  const std::string_view d = r.text(2);
  int y = 0, m = 0, dd = 0;
  if (d.size() != 10 || std::sscanf(std::string{d}.c_str(), "%4d-%2d-%2d", &y, &m, &dd) != 3)
    return sluice::parsed<rule_change>::fail(fmt::format("'{}' is not a date YYYY-MM-DD", d));
  c.ts = berka_day((y - 1900) * 10000 + m * 100 + dd) * day_ms;
  return c;
}

std::vector<rule_change> initial_rule_changes(const rules& r) {
  return {{"loan_asset_share", r.loan_asset_share, 0},
          {"offer_min_score", r.offer_min_score, 0},
          {"offer_validity_days", r.offer_validity_days, 0},
          {"offer_cooldown_days", r.offer_cooldown_days, 0},
          {"outflow_ratio", r.outflow_ratio, 0}};
}

behaviour_streams build_behaviour(sluice::stream<bk_txn> txns, sluice::stream<bk_loan> loans,
                                  const sluice::stream<rule_change>& rule_changes,
                                  const job_config& cfg) {
  using sluice::duration;

  // -- behaviour: per-account windows (map / reduceByKey) --------------------------
  auto by_account = [](const bk_txn& t) {
    return t.account;
  };
  auto win30 = txns.key_by(by_account)
                   .window(window::tumbling::of(duration{30 * day_ms}))
                   .aggregate(flow_agg{});
  win30.name("flows-30d").uid("flows-30d");
  auto win90 = txns.key_by(by_account)
                   .window(window::sliding::of(duration{90 * day_ms}, duration{30 * day_ms}))
                   .aggregate(flow_agg{});
  win90.name("flows-90d").uid("flows-90d");

  // -- assets and rules ----------------------------------------------------------------
  auto asset_signals =
      txns.map([](bk_txn t) { return asset_input{std::move(t)}; })
          .name("assets-txn")
          .union_with(
              loans.map([](bk_loan l) { return asset_input{std::move(l)}; }).name("assets-loan"),
              win90.map([](flow_window w) { return asset_input{std::move(w)}; }).name("assets-90d"))
          .key_by([](const asset_input& in) {
            return std::visit(
                [](auto& x) -> uint64_t {
                  if constexpr (std::is_same_v<std::decay_t<decltype(x)>, flow_window>)
                    return x.key;
                  else
                    return x.account;
                },
                in);
          })
          .connect_broadcast(rule_changes, sluice::broadcast_order::event_time)
          .process(on_asset, [](const rule_change& c, rules& r) { apply_rule(c, r); });
  asset_signals.name("assets-and-rules").uid("assets-and-rules");

  // -- inactivity: no transaction for `inactivity_days` ------------------------------
  const int64_t gap = cfg.inactivity_days * day_ms;
  const int64_t days = cfg.inactivity_days;
  auto inactive =
      txns.key_by(by_account)
          .process(
              [gap, days](const uint64_t& a, bk_txn t, activity& s, process_context<uint64_t>& ctx,
                          collector<account_signal>& o) {
                const int64_t ts = txn_time(t);
                if (s.timer >= 0 && s.timer < ts) {
                  // The silence happened in event time; the timer had not fired
                  // yet only because the watermark lags. Same signal either way.
                  o.emit_at(account_signal{a, "inactivity", 0.6,
                                           fmt::format("no transaction for {} days after {}", days,
                                                       day_text(s.last / day_ms)),
                                           s.timer, s.arrived_ms},
                            timestamp{s.timer});
                  ctx.delete_event_time_timer(timestamp{s.timer});
                  s.timer = -1;
                }
                if (ts > s.last) {
                  s.last = ts;
                  s.arrived_ms = t.arrived_ms;
                  if (s.timer >= 0)
                    ctx.delete_event_time_timer(timestamp{s.timer});
                  s.timer = ts + gap;
                  ctx.register_event_time_timer(timestamp{s.timer});
                }
              },
              [days](const uint64_t& a, timestamp when, activity& s, process_context<uint64_t>& ctx,
                     collector<account_signal>& o) {
                if (when.ms != s.timer)
                  return;
                s.timer = -1;
                // The replay ended: silence after the last transaction of the
                // data set is not inactivity.
                if (ctx.current_watermark() == timestamp::max())
                  return;
                o.emit(account_signal{a, "inactivity", 0.6,
                                      fmt::format("no transaction for {} days after {}", days,
                                                  day_text(s.last / day_ms)),
                                      when.ms, s.arrived_ms});
              })
          .name("inactivity")
          .uid("inactivity");
  return {win30, win90, asset_signals, inactive};
}

}  // namespace churn
