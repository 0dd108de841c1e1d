#include "job.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <tuple>

#include "behaviour.hpp"
#include "delivery.hpp"
#include "parse.hpp"
#include "sluice/key_group.hpp"

namespace churn {

using sluice::collector;
using sluice::process_context;
using sluice::timestamp;
namespace window = sluice::window;

output_paths outputs_of(const std::filesystem::path& o) {
  return {o / "predictions", o / "predictions.lmdb", o / "alerts",       o / "offers",
          o / "auc",         o / "aggregates",       o / "dead-letters", o / "report.html"};
}

// -- latency of alerts ------------------------------------------------------------

namespace {
std::mutex latency_mu;
std::vector<int64_t> latencies;
}  // namespace

std::vector<int64_t> alert_latencies() {
  std::lock_guard lock{latency_mu};
  return latencies;
}

namespace {

// -- the churn model stage --------------------------------------------------------

feature_vector vectorize(const cm_features& f) {
  const float geo = f.profile.geography == "France"    ? 0.f
                    : f.profile.geography == "Germany" ? 1.f
                                                       : 2.f;
  return {static_cast<float>(f.account.credit_score), geo,
          f.profile.gender == "Female" ? 1.f : 0.f,   static_cast<float>(f.profile.age),
          static_cast<float>(f.account.tenure),       static_cast<float>(f.account.balance),
          static_cast<float>(f.account.products),     static_cast<float>(f.account.has_card),
          static_cast<float>(f.account.active),       static_cast<float>(f.account.salary)};
}

/// What the model stage keeps (one key: the model is global). Training data
/// and the model are state, so after a failure the job goes on with exactly
/// the model it had.
struct model_state {
  /// Inputs waiting for their event time: (time, customer, 0 = features /
  /// 1 = label). Processing in this order makes the result independent of
  /// how the feature and label streams interleave on arrival.
  std::map<std::tuple<int64_t, uint64_t, uint8_t>, model_input> waiting;
  std::map<uint64_t, cm_features> features;  ///< latest complete features per customer
  std::map<uint64_t, int32_t> train_labels;  ///< labels of the training customers
  std::map<uint64_t, int32_t> held_out;      ///< labels of the held-out customers
  std::vector<uint64_t> unscored;            ///< features that came before the first model
  std::array<uint64_t, 2> class_seen{0, 0};  ///< labels seen per class (the hold-out rule)
  uint64_t labels_seen = 0;
  uint64_t since_training = 0;
  uint64_t version = 0;
  uint64_t model_hash = 0;
  std::string model_bytes;
  bool final_timer = false;
};
SLUICE_FIELDS(model_state, waiting, features, train_labels, held_out, unscored, class_seen,
              labels_seen, since_training, version, model_hash, model_bytes, final_timer)

/// Last timer of the job: fires only when the input ends (final watermark).
constexpr timestamp end_of_input{std::numeric_limits<int64_t>::max() - 1};

/// The loaded booster, by model hash: a cache, not state (rebuilt from the
/// bytes in state after a restart).
struct model_cache {
  std::mutex mu;
  uint64_t hash = 0;
  model m;
  const model& get(const model_state& s) {
    std::lock_guard lock{mu};
    if (hash != s.model_hash || m.empty()) {
      m = model{s.model_bytes};
      hash = s.model_hash;
    }
    return m;
  }
};

class model_stage {
public:
  model_stage(const job_config& cfg, sluice::output_tag<model_quality> auc)
      : cfg_(cfg), auc_(std::move(auc)), cache_(std::make_shared<model_cache>()) {}

  void on_input(const int& /*key*/, model_input in, model_state& s, process_context<int>& ctx,
                collector<risk_event>&) const {
    if (!s.final_timer) {
      ctx.register_event_time_timer(end_of_input);
      s.final_timer = true;
    }
    const int64_t t = ctx.time().ms;
    const uint64_t customer = std::visit(
        [](auto& x) -> uint64_t {
          if constexpr (std::is_same_v<std::decay_t<decltype(x)>, cm_label>)
            return x.customer;
          else
            return x.profile.customer;
        },
        in);
    s.waiting.emplace(std::tuple{t, customer, static_cast<uint8_t>(in.index())}, std::move(in));
    ctx.register_event_time_timer(timestamp{t});
  }

  void on_timer(const int&, timestamp when, model_state& s, process_context<int>& ctx,
                collector<risk_event>& out) const {
    while (!s.waiting.empty() && std::get<0>(s.waiting.begin()->first) <= when.ms) {
      auto node = s.waiting.extract(s.waiting.begin());
      const int64_t t = std::get<0>(node.key());
      if (auto* f = std::get_if<cm_features>(&node.mapped()))
        on_features(std::move(*f), t, s, ctx, out);
      else
        on_label(std::get<cm_label>(node.mapped()), t, s, ctx, out);
    }
    if (when == end_of_input && s.since_training > 0)
      train(s, when.ms, ctx, out);
  }

private:
  void on_features(cm_features f, int64_t t, model_state& s, process_context<int>& ctx,
                   collector<risk_event>& out) const {
    const uint64_t c = f.profile.customer;
    auto& kept = s.features[c];
    const bool first = kept.profile.customer == 0;
    kept = std::move(f);
    if (s.model_bytes.empty()) {
      if (first)
        s.unscored.push_back(c);
      return;
    }
    score(c, kept, t, s, ctx, out);
  }

  void on_label(const cm_label& l, int64_t t, model_state& s, process_context<int>& ctx,
                collector<risk_event>& out) const {
    if (s.train_labels.count(l.customer) || s.held_out.count(l.customer))
      return;  // a repeated label changes nothing
    ++s.labels_seen;
    const int y = l.exited ? 1 : 0;
    // Systematic stratified sampling: within each class, every fifth label
    // (by event time) is held out, starting at the seed's offset.
    const uint64_t k = s.class_seen[y]++;
    if ((k + cfg_.holdout_seed) % 5 == 0) {
      s.held_out[l.customer] = y;
      return;
    }
    s.train_labels[l.customer] = y;
    if (++s.since_training >= cfg_.retrain_every)
      train(s, t, ctx, out);
  }

  /// Retrains on every training label whose features are known (in customer
  /// order: deterministic), evaluates on the held-out customers and scores
  /// the customers that waited for a first model.
  void train(model_state& s, int64_t t, process_context<int>& ctx,
             collector<risk_event>& out) const {
    std::vector<feature_vector> x;
    std::vector<float> y;
    for (auto& [c, label] : s.train_labels)
      if (auto it = s.features.find(c); it != s.features.end()) {
        x.push_back(vectorize(it->second));
        y.push_back(static_cast<float>(label));
      }
    s.since_training = 0;
    if (x.empty())
      return;
    s.model_bytes = churn::train(x, y, cfg_.model);
    s.model_hash = std::hash<std::string>{}(s.model_bytes);
    ++s.version;
    const model& m = cache_->get(s);
    std::vector<float> scores;
    std::vector<int> labels;
    for (auto& [c, label] : s.held_out)
      if (auto it = s.features.find(c); it != s.features.end()) {
        scores.push_back(m.predict(vectorize(it->second)));
        labels.push_back(label);
      }
    ctx.output(auc_, model_quality{s.version, s.labels_seen, x.size(), scores.size(),
                                   churn::auc(scores, labels), t});
    for (uint64_t c : s.unscored)
      score(c, s.features.at(c), t, s, ctx, out);
    s.unscored.clear();
  }

  void score(uint64_t c, const cm_features& f, int64_t t, model_state& s, process_context<int>&,
             collector<risk_event>& out) const {
    const float p = cache_->get(s).predict(vectorize(f));
    out.emit_at(
        risk_event{
            fmt::format("cm-{}", c), "churn_model", std::round(p * 1e4) / 1e4, f.profile.geography,
            fmt::format("age {} balance {:.2f} products {} active {} model v{}", f.profile.age,
                        f.account.balance, f.account.products, f.account.active, s.version),
            t, f.account.arrived_ms},
        timestamp{t});
  }

  job_config cfg_;
  sluice::output_tag<model_quality> auc_;
  std::shared_ptr<model_cache> cache_;
};

// -- marketing: one offer per customer at a time -------------------------------------

using marketing_output = std::variant<risk_event, offer_event>;

/// The retention-offer rule, in event time per customer: a signal strong
/// enough earns an offer unless one is open or the last one ended less than
/// the cool-down ago; a card issued while an offer is open takes it up;
/// offers end by themselves after their validity (noticed at the customer's
/// next event, stamped with the time they ended). Every signal also goes on
/// as a risk event, whether or not it earned an offer.
void on_marketing(const uint64_t& client, marketing_input in, offer_state& s, const rules& r,
                  collector<marketing_output>& out) {
  const std::string customer = fmt::format("bk-{}", client);
  const int64_t t = std::visit(
      [](auto& x) -> int64_t {
        if constexpr (std::is_same_v<std::decay_t<decltype(x)>, take_up>)
          return x.ts;
        else
          return x.s.ts;
      },
      in);
  if (s.open_since >= 0) {
    const auto end = s.open_since + static_cast<int64_t>(r.offer_validity_days * day_ms);
    if (end <= t) {
      out.emit_at(offer_event{customer, "expired", s.open_reason, end}, timestamp{end});
      s.open_since = -1;
      s.last_end = end;
    }
  }
  if (auto* tu = std::get_if<take_up>(&in)) {
    if (s.open_since >= 0) {
      out.emit(
          offer_event{customer, "taken_up", fmt::format("{} card {}", tu->type, tu->card_id), t});
      s.open_since = -1;
      s.last_end = t;
    }
    return;
  }
  auto& cs = std::get<client_signal>(in);
  out.emit(risk_event{customer, cs.s.kind, cs.s.score, cs.district_name,
                      fmt::format("account {} ({}), born {}, {}: {}", cs.s.account,
                                  cs.account_since, cs.birth_year, cs.gender, cs.s.detail),
                      t, cs.s.arrived_ms});
  if (cs.s.score < r.offer_min_score)
    return;
  const bool cooling =
      s.last_end >= 0 && t < s.last_end + static_cast<int64_t>(r.offer_cooldown_days * day_ms);
  if (s.open_since >= 0 || cooling) {
    ++s.suppressed;
    return;
  }
  s.open_since = t;
  s.open_reason = cs.s.kind;
  out.emit(offer_event{customer, "issued", cs.s.kind, t});
}

}  // namespace

namespace {

struct feature_parts {
  std::optional<cm_profile> profile;
  std::optional<cm_account> account;
};
SLUICE_FIELDS(feature_parts, profile, account)

/// Micro-batch mode: what reaches the alert stage leaves it once per
/// interval (on the interval's boundary, as Spark Streaming's batches do);
/// whatever is held when the input ends leaves then.
struct gate_state {
  std::vector<risk_event> held;
  int64_t timer = -1;
  bool end_timer = false;
};
SLUICE_FIELDS(gate_state, held, timer, end_timer)

template <class T>
sluice::watermark_strategy<T> within_a_day(int64_t (*ts)(const T&)) {
  return sluice::watermark_strategy<T>::bounded(sluice::duration{day_ms},
                                                [ts](const T& x) { return timestamp{ts(x)}; });
}
int64_t txn_ts(const bk_txn& t) {
  return txn_time(t);
}
int64_t loan_ts(const bk_loan& l) {
  return loan_time(l);
}
int64_t card_ts(const bk_card& c) {
  return card_time(c);
}
int64_t account_ts(const sluice::change<bk_account>& c) {
  return c.value.opened_day * day_ms;
}
/// Reference data (clients, dispositions, districts) is in force from the
/// start of the replay: time 0.
template <class V>
sluice::watermark_strategy<sluice::change<V>> reference_data() {
  return sluice::watermark_strategy<sluice::change<V>>::monotonous(
      [](const sluice::change<V>&) { return timestamp{0}; });
}

stored_risk to_row(const risk_event& e) {
  return {e.customer, e.source, e.score, e.group, e.details, e.ts};
}

}  // namespace

void build_job(sluice::pipeline& p, const job_config& cfg) {
  using sluice::change;
  using sluice::csv_row;
  using sluice::duration;
  using sluice::watermark_strategy;
  const output_paths out = outputs_of(cfg.output);
  const std::string cm_file = (cfg.data / "churn_modelling" / "Churn_Modelling.csv").string();
  const auto bk = [&](const char* name) {
    return (cfg.data / "berka" / name).string();
  };
  const sluice::text_file_options cm_csv{true, ','};
  const sluice::text_file_options bk_csv{true, ';'};
  // Rate limit and replay speed-up of the event streams (not of reference data).
  // Each data set replays from its own start (Churn_Modelling's first row,
  // Berka's first day), its streams in step with each other.
  auto limited = [&](auto& s, int64_t origin_ms) {
    if (cfg.source_rate > 0)
      s.rate_limit(cfg.source_rate);
    if (cfg.replay_speedup > 0)
      s.replay_speedup(cfg.replay_speedup, timestamp{origin_ms});
  };
  sluice::part_file_options files;
  files.compression = cfg.compression;
  files.level = cfg.compression_level;

  // -- sources: Churn_Modelling's one file as three streams ---------------------
  auto profiles = p.read_csv(cm_file, parse_cm_profile, cm_csv)
                      .name("cm-profiles")
                      .uid("cm-profiles")
                      .with_watermarks(watermark_strategy<change<cm_profile>>::monotonous(
                          [](const change<cm_profile>& c) { return timestamp{c.value.ts}; }));
  auto accounts = p.read_csv(cm_file, parse_cm_account, cm_csv)
                      .name("cm-accounts")
                      .uid("cm-accounts")
                      .with_watermarks(watermark_strategy<cm_account>::monotonous(
                          [](const cm_account& a) { return timestamp{a.ts}; }));
  auto labels =
      p.read_csv(
           cm_file,
           [delay = cfg.label_delay_ms](const csv_row& r) { return parse_cm_label(r, delay); },
           cm_csv)
          .name("cm-labels")
          .uid("cm-labels")
          .with_watermarks(watermark_strategy<cm_label>::monotonous(
              [](const cm_label& l) { return timestamp{l.ts}; }));
  limited(profiles, cm_epoch_ms);
  limited(accounts, cm_epoch_ms);
  limited(labels, cm_epoch_ms);

  // -- sources: Berka --------------------------------------------------------------
  // The transactions are read by one instance, in file (= date) order, so
  // every account's transactions reach its stages in time order.
  auto txns = p.read_csv(bk("trans_head100k.asc"), parse_bk_txn, bk_csv)
                  .name("bk-transactions")
                  .uid("bk-transactions")
                  .parallelism(1)
                  .with_watermarks(within_a_day<bk_txn>(txn_ts));
  auto loans = p.read_csv(bk("loan.asc"), parse_bk_loan, bk_csv)
                   .name("bk-loans")
                   .uid("bk-loans")
                   .with_watermarks(within_a_day<bk_loan>(loan_ts));
  auto cards = p.read_csv(bk("card.asc"), parse_bk_card, bk_csv)
                   .name("bk-cards")
                   .uid("bk-cards")
                   .with_watermarks(within_a_day<bk_card>(card_ts));
  auto bk_accounts = p.read_csv(bk("account.asc"), parse_bk_account, bk_csv)
                         .name("bk-accounts")
                         .uid("bk-accounts")
                         .with_watermarks(within_a_day<change<bk_account>>(account_ts));
  auto clients = p.read_csv(bk("client.asc"), parse_bk_client, bk_csv)
                     .name("bk-clients")
                     .uid("bk-clients")
                     .with_watermarks(reference_data<bk_client>());
  auto disps = p.read_csv(bk("disp.asc"), parse_bk_disp, bk_csv)
                   .name("bk-dispositions")
                   .uid("bk-dispositions")
                   .with_watermarks(reference_data<bk_disp>());
  auto districts = p.read_csv(bk("district.asc"), parse_bk_district, bk_csv)
                       .name("bk-districts")
                       .uid("bk-districts")
                       .with_watermarks(reference_data<bk_district>());
  const int64_t berka_start = berka_day(930101) * day_ms;  // the data's first day
  limited(txns, berka_start);
  limited(loans, berka_start);
  limited(cards, berka_start);
  auto rule_changes =
      p.from_collection(initial_rule_changes(cfg.initial_rules))
          .name("rules-initial")
          .uid("rules-initial")
          .parallelism(1)
          .with_watermarks(watermark_strategy<rule_change>::monotonous(
              [](const rule_change& c) { return timestamp{c.ts}; }))
          .union_with(
              p.read_csv(cfg.rules_file.string(), parse_rule, cm_csv)
                  .name("rules")
                  .uid("rules")
                  .parallelism(1)
                  .with_watermarks(watermark_strategy<rule_change>::bounded(
                      duration{day_ms}, [](const rule_change& c) { return timestamp{c.ts}; })));

  // Every rejected line, exactly once, with its position and reason.
  profiles.dead_letters()
      .union_with(accounts.dead_letters(), labels.dead_letters(), txns.dead_letters(),
                  loans.dead_letters(), cards.dead_letters(), bk_accounts.dead_letters(),
                  clients.dead_letters(), disps.dead_letters(), districts.dead_letters())
      .write_json_lines_exactly_once(out.dead_letters.string(), files)
      .name("write-dead-letters")
      .uid("write-dead-letters");

  // -- churn model: join the customer's streams, train, score ---------------------
  auto features =
      profiles.key_by([](const change<cm_profile>& c) { return c.value.customer; })
          .connect(accounts.key_by([](const cm_account& a) { return a.customer; }))
          .process(
              [](const uint64_t&, change<cm_profile> c, feature_parts& s,
                 collector<cm_features>& o) {
                if (c.is_erase()) {
                  s.profile.reset();  // no longer scored
                  return;
                }
                s.profile = std::move(c.value);
                if (s.account)
                  o.emit_at(cm_features{*s.profile, *s.account},
                            timestamp{std::max(s.profile->ts, s.account->ts)});
              },
              [](const uint64_t&, cm_account a, feature_parts& s, collector<cm_features>& o) {
                s.account = std::move(a);
                if (s.profile)
                  o.emit_at(cm_features{*s.profile, *s.account},
                            timestamp{std::max(s.profile->ts, s.account->ts)});
              })
          .name("cm-join-features")
          .uid("cm-join-features");

  const sluice::output_tag<model_quality> auc_tag{"auc"};
  auto stage = std::make_shared<model_stage>(cfg, auc_tag);
  auto predictions =
      features.map([](cm_features f) { return model_input{std::move(f)}; })
          .name("cm-features-in")
          .union_with(labels.map([](cm_label l) { return model_input{l}; }).name("cm-labels-in"))
          .key_by([](const model_input&) { return 0; })
          .process(
              [stage](const int& k, model_input in, model_state& s, process_context<int>& ctx,
                      collector<risk_event>& o) { stage->on_input(k, std::move(in), s, ctx, o); },
              [stage](const int& k, timestamp t, model_state& s, process_context<int>& ctx,
                      collector<risk_event>& o) { stage->on_timer(k, t, s, ctx, o); },
              auc_tag)
          .name("churn-model")
          .uid("churn-model")
          .parallelism(1);
  predictions.side_output(auc_tag)
      .write_csv_exactly_once(out.auc.string(), files)
      .name("write-auc")
      .uid("write-auc");

  // -- behaviour: per-account windows, assets and rules, inactivity (behaviour.cpp) --
  auto [win30, win90, asset_signals, inactive] = build_behaviour(txns, loans, rule_changes, cfg);
  win30.map([](const flow_window& w) { return as_row(w, "30d"); })
      .name("rows-30d")
      .union_with(win90.map([](const flow_window& w) { return as_row(w, "90d"); }).name("rows-90d"))
      .write_csv_exactly_once(out.aggregates.string(), files)
      .name("write-aggregates")
      .uid("write-aggregates");

  // -- tie each signal to its customer: account -> owner -> client -> district --------
  auto owners =
      disps.filter([](const change<bk_disp>& d) { return d.value.type == "OWNER"; }).name("owners");
  auto client_signals =
      asset_signals.union_with(inactive)
          .key_by([](const account_signal& s) { return s.account; })
          .temporal_join(
              bk_accounts.key_by([](const change<bk_account>& c) { return c.value.account; }))
          .process([](const account_signal& s, const bk_account* a) {
            return std::pair{s, a ? day_text(a->opened_day) : std::string{"?"}};
          })
          .name("join-account")
          .uid("join-account")
          .key_by([](const std::pair<account_signal, std::string>& x) { return x.first.account; })
          .temporal_join(owners.key_by([](const change<bk_disp>& d) { return d.value.account; }))
          .process([](const std::pair<account_signal, std::string>& x, const bk_disp* d) {
            return client_signal{d ? d->client : 0, x.first, 0, {}, 0, {}, x.second};
          })
          .name("join-owner")
          .uid("join-owner")
          .key_by([](const client_signal& c) { return c.client; })
          .temporal_join(clients.key_by([](const change<bk_client>& c) { return c.value.client; }))
          .process([](const client_signal& c, const bk_client* row) {
            client_signal o = c;
            if (row) {
              o.district = row->district;
              o.birth_year = row->birth_year;
              o.gender = row->gender;
            }
            return o;
          })
          .name("join-client")
          .uid("join-client")
          .key_by([](const client_signal& c) { return c.district; })
          .temporal_join(
              districts.key_by([](const change<bk_district>& d) { return d.value.district; }))
          .process([](const client_signal& c, const bk_district* d) {
            client_signal o = c;
            o.district_name = d ? d->name : "unknown";
            return o;
          })
          .name("join-district")
          .uid("join-district");

  auto take_ups =
      cards.key_by([](const bk_card& c) { return c.disp; })
          .temporal_join(disps.key_by([](const change<bk_disp>& d) { return d.value.disp; }))
          .process([](const bk_card& c, const bk_disp* d) {
            return take_up{d ? d->client : 0, c.card_id, c.type, card_time(c)};
          })
          .name("join-card-owner")
          .uid("join-card-owner");

  // -- marketing: the offer rule ------------------------------------------------------
  auto marketing =
      client_signals.map([](client_signal c) { return marketing_input{std::move(c)}; })
          .name("marketing-signal")
          .union_with(take_ups.map([](take_up t) { return marketing_input{std::move(t)}; })
                          .name("marketing-take-up"))
          .key_by([](const marketing_input& in) {
            return std::visit([](auto& x) -> uint64_t { return x.client; }, in);
          })
          .connect_broadcast(rule_changes, sluice::broadcast_order::event_time)
          .process(on_marketing, [](const rule_change& c, rules& r) { apply_rule(c, r); });
  marketing.name("offers").uid("offers");
  marketing
      .flat_map([](marketing_output m, collector<offer_event>& o) {
        if (auto* e = std::get_if<offer_event>(&m))
          o.emit(std::move(*e));
      })
      .name("offer-events")
      .write_csv_exactly_once(out.offers.string(), files)
      .name("write-offers")
      .uid("write-offers");
  auto berka_events = marketing
                          .flat_map([](marketing_output m, collector<risk_event>& o) {
                            if (auto* e = std::get_if<risk_event>(&m))
                              o.emit(std::move(*e));
                          })
                          .name("berka-risk");

  // -- persist, alert ------------------------------------------------------------------
  // Keyed by customer, so each customer's events reach one writer in order
  // (the table keeps the latest).
  auto events = predictions.union_with(berka_events)
                    .key_by([](const risk_event& e) { return e.customer; })
                    .process([](const std::string&, risk_event e, char&, collector<risk_event>& o) {
                      o.emit(std::move(e));
                    })
                    .name("by-customer")
                    .uid("by-customer");
  events.map(to_row)
      .name("rows")
      .write_csv_exactly_once(out.predictions.string(), files)
      .name("write-predictions")
      .uid("write-predictions");
  // The table keeps each customer's latest event by event time (ties by
  // content): the same table whatever order the events arrive in.
  events.key_by([](const risk_event& e) { return e.customer; })
      .process(
          [](const std::string&, risk_event e, stored_risk& latest, collector<stored_risk>& o) {
            stored_risk r = to_row(e);
            if (!latest.customer.empty() &&
                std::tie(r.ts, r.source, r.score, r.details) <=
                    std::tie(latest.ts, latest.source, latest.score, latest.details))
              return;
            latest = r;
            o.emit(std::move(r));
          })
      .name("latest-per-customer")
      .uid("latest-per-customer")
      .write_lmdb_table(
          out.predictions_table.string(), [](const stored_risk& r) { return r.customer; },
          [](const stored_risk& r) { return r; })
      .name("write-table")
      .uid("write-table");

  const double threshold = cfg.alert_threshold;
  auto high = events.filter([threshold](const risk_event& e) { return e.score >= threshold; })
                  .name("high-risk");
  sluice::stream<risk_event> to_alert = high;
  if (cfg.mode == mode::micro_batch) {
    const int64_t interval = cfg.interval_ms;
    to_alert = high.key_by([](const risk_event& e) {
                     return sluice::mix64(std::hash<std::string>{}(e.customer)) % 8;
                   })
                   .process(
                       [interval](const uint64_t&, risk_event e, gate_state& s,
                                  process_context<uint64_t>& ctx, collector<risk_event>&) {
                         s.held.push_back(std::move(e));
                         if (!s.end_timer) {
                           ctx.register_event_time_timer(end_of_input);
                           s.end_timer = true;
                         }
                         if (s.timer < 0) {
                           s.timer = (ctx.current_processing_time().ms / interval + 1) * interval;
                           ctx.register_processing_time_timer(timestamp{s.timer});
                         }
                       },
                       [](const uint64_t&, timestamp, gate_state& s, process_context<uint64_t>&,
                          collector<risk_event>& o) {
                         for (auto& e : s.held) {
                           const timestamp ts{e.ts};  // read before `e` is moved from
                           o.emit_at(std::move(e), ts);
                         }
                         s.held.clear();
                         s.timer = -1;
                       })
                   .name("micro-batch")
                   .uid("micro-batch");
  }
  sluice::part_file_options alert_files = files;
  if (!cfg.alerts_to.empty())
    alert_files.before_publish = alert_delivery(cfg.alerts_to);
  to_alert
      .map([](const risk_event& e) {
        return alert{fmt::format("{}/{}/{}", e.customer, e.source, e.ts),
                     e.customer,
                     e.source,
                     e.score,
                     e.group,
                     e.details,
                     e.ts};
      })
      .name("alerts")
      .write_json_lines_exactly_once(out.alerts.string(), alert_files)
      .name("write-alerts")
      .uid("write-alerts");
  to_alert
      .for_each([](const risk_event& e) {
        const int64_t l = wall_ms() - e.arrived_ms;
        std::lock_guard lock{latency_mu};
        latencies.push_back(l);
      })
      .name("alert-latency")
      .parallelism(1);
}

}  // namespace churn
