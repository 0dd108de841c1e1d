#include "parse.hpp"

#include <fmt/format.h>

#include <chrono>
#include <stdexcept>

namespace churn {
namespace {

using sluice::csv_row;
using sluice::parsed;

/// Howard Hinnant's days_from_civil.
int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

template <class T>
std::optional<parsed<T>> wrong_count(const csv_row& r, size_t want) {
  if (r.size() == want)
    return std::nullopt;
  return parsed<T>::fail(fmt::format("expected {} fields, got {}", want, r.size()));
}

/// "930101" or "931107 00:00:00" (card.issued) to a day number.
int64_t berka_date_field(const csv_row& r, size_t i) {
  std::string_view s = r.text(i);
  if (auto sp = s.find(' '); sp != std::string_view::npos)
    s = s.substr(0, sp);
  int64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9' || s.size() != 6)
      throw std::invalid_argument(fmt::format("column {}: '{}' is not a date YYMMDD", i + 1, s));
    v = v * 10 + (c - '0');
  }
  return berka_day(v);
}

}  // namespace

int64_t berka_day(int64_t yymmdd) {
  const int64_t yy = yymmdd / 10000;
  const auto mm = static_cast<unsigned>(yymmdd / 100 % 100);
  const auto dd = static_cast<unsigned>(yymmdd % 100);
  if (yymmdd < 0 || yy > 99 || mm < 1 || mm > 12 || dd < 1 || dd > 31)
    throw std::invalid_argument(fmt::format("'{:06}' is not a date YYMMDD", yymmdd));
  return days_from_civil(1900 + yy, mm, dd);
}

std::string day_text(int64_t day) {
  // civil_from_days
  day += 719468;
  const int64_t era = (day >= 0 ? day : day - 146096) / 146097;
  const auto doe = static_cast<unsigned>(day - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t y = static_cast<int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  return fmt::format("{:04}-{:02}-{:02}", y + (m <= 2), m, d);
}

int64_t txn_time(const bk_txn& t) {
  return t.day * day_ms + static_cast<int64_t>(t.trans_id % 80'000'000);
}
int64_t loan_time(const bk_loan& l) {
  return l.day * day_ms + 86'000'000 + static_cast<int64_t>(l.loan_id % 100'000);
}
int64_t card_time(const bk_card& c) {
  return c.day * day_ms + 85'000'000 + static_cast<int64_t>(c.card_id % 100'000);
}

int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// -- Churn_Modelling ------------------------------------------------------------
// RowNumber,CustomerId,Surname,CreditScore,Geography,Gender,Age,Tenure,Balance,
// NumOfProducts,HasCrCard,IsActiveMember,EstimatedSalary,Exited

namespace {
int64_t cm_time(const csv_row& r) {
  const auto row = r.get<int64_t>(0);
  if (row < 1)
    throw std::invalid_argument(fmt::format("RowNumber {} is not positive", row));
  return cm_epoch_ms + row * cm_row_ms;
}
}  // namespace

parsed<sluice::change<cm_profile>> parse_cm_profile(const csv_row& r) {
  if (auto bad = wrong_count<sluice::change<cm_profile>>(r, 14))
    return std::move(*bad);
  cm_profile p{r.get<uint64_t>(1),    r.get<std::string>(2), r.get<std::string>(4),
               r.get<std::string>(5), r.get<int32_t>(6),     cm_time(r)};
  if (p.geography != "France" && p.geography != "Germany" && p.geography != "Spain")
    return parsed<sluice::change<cm_profile>>::fail(
        fmt::format("unknown Geography '{}'", p.geography));
  if (p.gender != "Female" && p.gender != "Male")
    return parsed<sluice::change<cm_profile>>::fail(fmt::format("unknown Gender '{}'", p.gender));
  if (p.age < 0 || p.age > 130)
    return parsed<sluice::change<cm_profile>>::fail(fmt::format("Age {} out of range", p.age));
  return sluice::change<cm_profile>::upsert(std::move(p));
}

parsed<cm_account> parse_cm_account(const csv_row& r) {
  if (auto bad = wrong_count<cm_account>(r, 14))
    return std::move(*bad);
  cm_account a;
  a.customer = r.get<uint64_t>(1);
  a.credit_score = r.get<int32_t>(3);
  a.tenure = r.get<int32_t>(7);
  a.balance = r.get<double>(8);
  a.products = r.get<int32_t>(9);
  a.has_card = r.get<bool>(10) ? 1 : 0;
  a.active = r.get<bool>(11) ? 1 : 0;
  a.salary = r.get<double>(12);
  a.ts = cm_time(r);
  a.arrived_ms = wall_ms();
  return a;
}

parsed<cm_label> parse_cm_label(const csv_row& r, int64_t label_delay_ms) {
  if (auto bad = wrong_count<cm_label>(r, 14))
    return std::move(*bad);
  const auto exited = r.get<bool>(13);
  return cm_label{r.get<uint64_t>(1), exited ? 1 : 0, cm_time(r) + label_delay_ms + 1};
}

// -- Berka ------------------------------------------------------------------------

parsed<bk_txn> parse_bk_txn(const csv_row& r) {
  // "trans_id";"account_id";"date";"type";"operation";"amount";"balance";"k_symbol";"bank";"account"
  if (auto bad = wrong_count<bk_txn>(r, 10))
    return std::move(*bad);
  bk_txn t;
  t.trans_id = r.get<uint64_t>(0);
  t.account = r.get<uint64_t>(1);
  t.day = berka_date_field(r, 2);
  const std::string_view type = r.text(3);
  if (type == "PRIJEM")
    t.kind = "credit";
  else if (type == "VYDAJ")
    t.kind = "debit";
  else if (type == "VYBER")
    t.kind = "withdrawal";
  else
    return parsed<bk_txn>::fail(fmt::format("unknown transaction type '{}'", type));
  t.operation = r.get<std::string>(4);
  t.amount = r.get<double>(5);
  t.balance = r.get<double>(6);
  if (t.amount < 0)
    return parsed<bk_txn>::fail(fmt::format("negative amount {}", t.amount));
  t.arrived_ms = wall_ms();
  return t;
}

parsed<bk_loan> parse_bk_loan(const csv_row& r) {
  // "loan_id";"account_id";"date";"amount";"duration";"payments";"status"
  if (auto bad = wrong_count<bk_loan>(r, 7))
    return std::move(*bad);
  bk_loan l;
  l.loan_id = r.get<uint64_t>(0);
  l.account = r.get<uint64_t>(1);
  l.day = berka_date_field(r, 2);
  l.amount = r.get<double>(3);
  l.duration = r.get<int32_t>(4);
  l.status = r.get<std::string>(6);
  if (l.status.size() != 1 || l.status[0] < 'A' || l.status[0] > 'D')
    return parsed<bk_loan>::fail(fmt::format("unknown loan status '{}'", l.status));
  l.arrived_ms = wall_ms();
  return l;
}

parsed<bk_card> parse_bk_card(const csv_row& r) {
  // "card_id";"disp_id";"type";"issued"
  if (auto bad = wrong_count<bk_card>(r, 4))
    return std::move(*bad);
  bk_card c{r.get<uint64_t>(0), r.get<uint64_t>(1), r.get<std::string>(2), berka_date_field(r, 3)};
  if (c.type != "classic" && c.type != "junior" && c.type != "gold")
    return parsed<bk_card>::fail(fmt::format("unknown card type '{}'", c.type));
  return c;
}

parsed<sluice::change<bk_account>> parse_bk_account(const csv_row& r) {
  // "account_id";"district_id";"frequency";"date"
  if (auto bad = wrong_count<sluice::change<bk_account>>(r, 4))
    return std::move(*bad);
  return sluice::change<bk_account>::upsert(bk_account{
      r.get<uint64_t>(0), r.get<uint64_t>(1), r.get<std::string>(2), berka_date_field(r, 3)});
}

parsed<sluice::change<bk_client>> parse_bk_client(const csv_row& r) {
  // "client_id";"birth_number";"district_id"; birth number YYMMDD, month + 50 for women
  if (auto bad = wrong_count<sluice::change<bk_client>>(r, 3))
    return std::move(*bad);
  const auto birth = r.get<int64_t>(1);
  const int64_t mm = birth / 100 % 100;
  const bool woman = mm > 50;
  berka_day(woman ? birth - 5000 : birth);  // validates the date
  return sluice::change<bk_client>::upsert(bk_client{r.get<uint64_t>(0),
                                                     static_cast<int32_t>(1900 + birth / 10000),
                                                     woman ? "F" : "M", r.get<uint64_t>(2)});
}

parsed<sluice::change<bk_disp>> parse_bk_disp(const csv_row& r) {
  // "disp_id";"client_id";"account_id";"type"
  if (auto bad = wrong_count<sluice::change<bk_disp>>(r, 4))
    return std::move(*bad);
  bk_disp d{r.get<uint64_t>(0), r.get<uint64_t>(1), r.get<uint64_t>(2), r.get<std::string>(3)};
  if (d.type != "OWNER" && d.type != "DISPONENT")
    return parsed<sluice::change<bk_disp>>::fail(fmt::format("unknown disposition '{}'", d.type));
  return sluice::change<bk_disp>::upsert(std::move(d));
}

parsed<sluice::change<bk_district>> parse_bk_district(const csv_row& r) {
  // A1 (id);A2 (name);A3 (region);A4..A16 (demographics, not used)
  if (auto bad = wrong_count<sluice::change<bk_district>>(r, 16))
    return std::move(*bad);
  return sluice::change<bk_district>::upsert(
      bk_district{r.get<uint64_t>(0), r.get<std::string>(1), r.get<std::string>(2)});
}

}  // namespace churn
