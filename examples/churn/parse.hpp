#pragma once
// Parsing the shipped data sets into the job's records, and the event times
// the replay gives them. A line that does not fit (wrong field count,
// unparsable number, unknown code) is rejected with a reason and becomes a
// dead letter; it never stops the job.

#include <cstdint>
#include <string>

#include "records.hpp"
#include "sluice/source/parse.hpp"

namespace churn {

inline constexpr int64_t day_ms = 86'400'000;
/// Churn_Modelling has no dates: row r is replayed at cm_epoch_ms + r
/// minutes (2026-01-01T00:00Z + r min), its label `label_delay_ms` + 1 ms
/// later (the + 1 keeps labels and features of different rows apart).
inline constexpr int64_t cm_epoch_ms = 1'767'225'600'000;
inline constexpr int64_t cm_row_ms = 60'000;

/// Days since 1970-01-01 of a Berka date YYMMDD (19YY); throws
/// std::invalid_argument on an impossible date.
int64_t berka_day(int64_t yymmdd);
/// "YYYY-MM-DD" of a day number.
std::string day_text(int64_t day);

/// Berka event times: unique per event, ordered within a day by id, so every
/// stage sees the same order in every run (ties would depend on arrival).
///   transaction: day + trans_id ms; card: day + 85,000,000 + card_id ms;
///   loan: day + 86,000,000 + loan_id ms (after the day's transactions).
int64_t txn_time(const bk_txn& t);
int64_t loan_time(const bk_loan& l);
int64_t card_time(const bk_card& c);

// -- Churn_Modelling.csv: the same file feeds three streams -----------------------
sluice::parsed<sluice::change<cm_profile>> parse_cm_profile(const sluice::csv_row& r);
sluice::parsed<cm_account> parse_cm_account(const sluice::csv_row& r);
sluice::parsed<cm_label> parse_cm_label(const sluice::csv_row& r, int64_t label_delay_ms);

// -- Berka (semicolon-separated) ---------------------------------------------------
sluice::parsed<bk_txn> parse_bk_txn(const sluice::csv_row& r);
sluice::parsed<bk_loan> parse_bk_loan(const sluice::csv_row& r);
sluice::parsed<bk_card> parse_bk_card(const sluice::csv_row& r);
sluice::parsed<sluice::change<bk_account>> parse_bk_account(const sluice::csv_row& r);
sluice::parsed<sluice::change<bk_client>> parse_bk_client(const sluice::csv_row& r);
sluice::parsed<sluice::change<bk_disp>> parse_bk_disp(const sluice::csv_row& r);
sluice::parsed<sluice::change<bk_district>> parse_bk_district(const sluice::csv_row& r);

/// Wall-clock milliseconds (records' arrival, for the latency figures).
int64_t wall_ms();

}  // namespace churn
