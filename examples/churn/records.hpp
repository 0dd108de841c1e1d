#pragma once
// The records of the churn job: what each source stream carries, what the
// stages exchange and what is persisted. Every type has SLUICE_FIELDS, which
// gives it the CSV/JSON writers and the binary codec for state and for
// crossing the nodes of a cluster.

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "sluice/changelog.hpp"
#include "sluice/fields.hpp"

namespace churn {

// -- Churn_Modelling (the churn model's population) ----------------------------

/// Customer profile: one upsert per customer (the changelog of the bank's
/// customer master data).
struct cm_profile {
  uint64_t customer = 0;
  std::string surname;
  std::string geography;  // France, Germany, Spain
  std::string gender;     // Female, Male
  int32_t age = 0;
  int64_t ts = 0;  // event time: the row's place in the replay
};
SLUICE_FIELDS(cm_profile, customer, surname, geography, gender, age, ts)

/// Account figures of a customer.
struct cm_account {
  uint64_t customer = 0;
  int32_t credit_score = 0;
  int32_t tenure = 0;
  double balance = 0;
  int32_t products = 0;
  int32_t has_card = 0;
  int32_t active = 0;
  double salary = 0;
  int64_t ts = 0;
  int64_t arrived_ms = 0;  // wall clock when the source read it (latency)
};
SLUICE_FIELDS(cm_account, customer, credit_score, tenure, balance, products, has_card, active,
              salary, ts, arrived_ms)

/// The label: whether the customer left (arrives later than the features).
struct cm_label {
  uint64_t customer = 0;
  int32_t exited = 0;
  int64_t ts = 0;
};
SLUICE_FIELDS(cm_label, customer, exited, ts)

/// A customer's complete features (profile and account joined).
struct cm_features {
  cm_profile profile;
  cm_account account;
};
SLUICE_FIELDS(cm_features, profile, account)

/// What the model stage takes: features and labels, merged.
using model_input = std::variant<cm_features, cm_label>;

/// The model's quality on the held-out customers after a (re)training.
struct model_quality {
  uint64_t model_version = 0;
  uint64_t labels_seen = 0;
  uint64_t trained_on = 0;
  uint64_t held_out_scored = 0;
  double auc = 0;
  int64_t ts = 0;
};
SLUICE_FIELDS(model_quality, model_version, labels_seen, trained_on, held_out_scored, auc, ts)

// -- Berka (behaviour, assets, business rules) ----------------------------------

/// One transaction. `kind`: credit (PRIJEM), debit (VYDAJ) or withdrawal
/// (VYBER, cash); `operation` keeps the bank's own code.
struct bk_txn {
  uint64_t trans_id = 0;
  uint64_t account = 0;
  int64_t day = 0;  // days since 1970-01-01
  std::string kind;
  std::string operation;
  double amount = 0;
  double balance = 0;
  int64_t arrived_ms = 0;
};
SLUICE_FIELDS(bk_txn, trans_id, account, day, kind, operation, amount, balance, arrived_ms)

/// A loan, as an event at its date.
struct bk_loan {
  uint64_t loan_id = 0;
  uint64_t account = 0;
  int64_t day = 0;
  double amount = 0;
  int32_t duration = 0;
  std::string status;  // A..D; B and D = not paid / in debt
  int64_t arrived_ms = 0;
};
SLUICE_FIELDS(bk_loan, loan_id, account, day, amount, duration, status, arrived_ms)

/// A card issued to a disposition (product take-up).
struct bk_card {
  uint64_t card_id = 0;
  uint64_t disp = 0;
  std::string type;
  int64_t day = 0;
};
SLUICE_FIELDS(bk_card, card_id, disp, type, day)

struct bk_account {
  uint64_t account = 0;
  uint64_t district = 0;
  std::string frequency;
  int64_t opened_day = 0;
};
SLUICE_FIELDS(bk_account, account, district, frequency, opened_day)

struct bk_client {
  uint64_t client = 0;
  int32_t birth_year = 0;
  std::string gender;  // F, M (from the birth number: month + 50 for women)
  uint64_t district = 0;
};
SLUICE_FIELDS(bk_client, client, birth_year, gender, district)

struct bk_disp {
  uint64_t disp = 0;
  uint64_t client = 0;
  uint64_t account = 0;
  std::string type;  // OWNER, DISPONENT
};
SLUICE_FIELDS(bk_disp, disp, client, account, type)

struct bk_district {
  uint64_t district = 0;
  std::string name;
  std::string region;
};
SLUICE_FIELDS(bk_district, district, name, region)

/// Per-account flows over a window (the case study's map / reduceByKey).
struct flows {
  uint64_t credits = 0;
  double credit_sum = 0;
  uint64_t debits = 0;
  double debit_sum = 0;
  uint64_t withdrawals = 0;
  double withdrawal_sum = 0;
  int64_t first_ts = 0;
  double first_balance = 0;
  int64_t last_ts = 0;
  double last_balance = 0;
  int64_t arrived_ms = 0;  // latest arrival among the window's transactions
};
SLUICE_FIELDS(flows, credits, credit_sum, debits, debit_sum, withdrawals, withdrawal_sum, first_ts,
              first_balance, last_ts, last_balance, arrived_ms)

/// A window's aggregate as written out: account, window, counts and sums,
/// balance at its first and last transaction.
struct account_window {
  uint64_t account = 0;
  std::string window;  // "30d" or "90d"
  int64_t start = 0;
  int64_t end = 0;
  uint64_t credits = 0;
  double credit_sum = 0;
  uint64_t debits = 0;
  double debit_sum = 0;
  uint64_t withdrawals = 0;
  double withdrawal_sum = 0;
  double first_balance = 0;
  double last_balance = 0;
};
SLUICE_FIELDS(account_window, account, window, start, end, credits, credit_sum, debits, debit_sum,
              withdrawals, withdrawal_sum, first_balance, last_balance)

/// Rules that can change while the job runs (the broadcast rules stream).
struct rule_change {
  std::string name;
  double value = 0;
  int64_t ts = 0;
};
SLUICE_FIELDS(rule_change, name, value, ts)

/// The thresholds in force (broadcast state).
struct rules {
  double loan_asset_share = 0.1;    // flag a loan when balance < share * amount
  double offer_min_score = 0.5;     // signals at least this strong earn an offer
  double offer_validity_days = 60;  // an offer stays open this long unless taken up
  double offer_cooldown_days = 90;  // no new offer this long after the last one ended
  double outflow_ratio = 1.5;       // 90-day debits over credits that signal risk
};
SLUICE_FIELDS(rules, loan_asset_share, offer_min_score, offer_validity_days, offer_cooldown_days,
              outflow_ratio)

/// A risk signal about a Berka account (before it is tied to a customer).
struct account_signal {
  uint64_t account = 0;
  std::string kind;  // inactivity, low_assets_loan, outflow
  double score = 0;
  std::string detail;
  int64_t ts = 0;
  int64_t arrived_ms = 0;
};
SLUICE_FIELDS(account_signal, account, kind, score, detail, ts, arrived_ms)

/// What the marketing stage keys by client: a signal (tied to the account's
/// owner) or a product take-up.
struct client_signal {
  uint64_t client = 0;
  account_signal s;
  uint64_t district = 0;
  std::string district_name;
  int32_t birth_year = 0;
  std::string gender;
  std::string account_since;
};
SLUICE_FIELDS(client_signal, client, s, district, district_name, birth_year, gender, account_since)

struct take_up {
  uint64_t client = 0;
  uint64_t card_id = 0;
  std::string type;
  int64_t ts = 0;
};
SLUICE_FIELDS(take_up, client, card_id, type, ts)

using marketing_input = std::variant<client_signal, take_up>;

/// A retention offer's life: issued, taken up, expired (written out).
struct offer_event {
  std::string customer;
  std::string event;  // issued, taken_up, expired
  std::string reason;
  int64_t ts = 0;
};
SLUICE_FIELDS(offer_event, customer, event, reason, ts)

/// Per-client marketing state: the open offer and when the last one ended.
struct offer_state {
  int64_t open_since = -1;  // -1: no offer open
  std::string open_reason;
  int64_t last_end = -1;
  uint64_t suppressed = 0;  // signals that earned no offer (one open, or cooling down)
};
SLUICE_FIELDS(offer_state, open_since, open_reason, last_end, suppressed)

// -- Shared by both flows ------------------------------------------------------------

/// A prediction or risk signal about a customer, as the persisting, alert and
/// report stages see it. `customer` is "cm-<CustomerId>" (Churn_Modelling) or
/// "bk-<client_id>" (Berka): the two populations never mix.
struct risk_event {
  std::string customer;
  std::string source;  // churn_model, inactivity, low_assets_loan, outflow
  double score = 0;
  std::string group;    // geography (Churn_Modelling) or district (Berka)
  std::string details;  // main features, human-readable
  int64_t ts = 0;
  int64_t arrived_ms = 0;
};
SLUICE_FIELDS(risk_event, customer, source, score, group, details, ts, arrived_ms)

/// The persisted form (no wall-clock field: outputs are the same in every run).
struct stored_risk {
  std::string customer;
  std::string source;
  double score = 0;
  std::string group;
  std::string details;
  int64_t ts = 0;
};
SLUICE_FIELDS(stored_risk, customer, source, score, group, details, ts)

/// An alert as sent out: one JSON line; `id` is deterministic, so a receiver
/// can drop a repeat.
struct alert {
  std::string id;
  std::string customer;
  std::string source;
  double score = 0;
  std::string group;
  std::string details;
  int64_t ts = 0;
};
SLUICE_FIELDS(alert, id, customer, source, score, group, details, ts)

}  // namespace churn
