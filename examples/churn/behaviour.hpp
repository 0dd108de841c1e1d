#pragma once
// The Berka behaviour flow of the churn job (README.md, stages 3 and 4):
// per-account 30-day tumbling and 90-day sliding windows of flows, the
// assets-and-rules operator (loans against balances, outflow over 90 days,
// the rules as event-time broadcast state) and inactivity from event-time
// timers. The job (job.cpp) builds it between its sources and the joins that
// tie signals to customers; test/bench/bench_churn.cpp replays it at full
// speed against a hand-written loop. Both call build_behaviour: one definition.

#include <cstdint>
#include <vector>

#include "job.hpp"
#include "records.hpp"
#include "sluice/pipeline.hpp"
#include "sluice/source/parse.hpp"
#include "sluice/window/window.hpp"

namespace churn {

/// One account's flows over one window.
using flow_window = sluice::window::window_result<uint64_t, flows>;

/// The streams the behaviour flow produces.
struct behaviour_streams {
  sluice::stream<flow_window> win30;  ///< 30-day tumbling windows per account ("flows-30d")
  sluice::stream<flow_window> win90;  ///< 90-day windows sliding by 30 days ("flows-90d")
  sluice::stream<account_signal> asset_signals;  ///< low_assets_loan and outflow signals
  sluice::stream<account_signal> inactive;       ///< inactivity signals
};

/// Builds the behaviour flow on `txns` (one source instance, file = date
/// order, so each account's transactions arrive in time order), `loans` and
/// the rule changes (with watermarks: they apply in event time); uses
/// `cfg.inactivity_days`.
behaviour_streams build_behaviour(sluice::stream<bk_txn> txns, sluice::stream<bk_loan> loans,
                                  const sluice::stream<rule_change>& rule_changes,
                                  const job_config& cfg);

/// A window's aggregate as written out, `name` being "30d" or "90d".
account_window as_row(const flow_window& w, std::string name);

/// Applies a rule change to the rules in force (unknown names change nothing).
void apply_rule(const rule_change& c, rules& r);

/// A line of the rules file: name,value,date (YYYY-MM-DD), the rule's value
/// from that day on.
sluice::parsed<rule_change> parse_rule(const sluice::csv_row& r);

/// The initial rule values as changes at time 0.
std::vector<rule_change> initial_rule_changes(const rules& r);

}  // namespace churn
