// Real-time bank customer churn prediction (README.md in this directory):
//
//   churn --data examples/data --output OUT [--config churn.toml] [--mode continuous|micro-batch]
//         [--interval-ms 1000] [--speedup X] [--alerts-to stdout|tcp://HOST:PORT]
//         [--compression none|zstd] [runtime options: --parallelism, --state-dir, --cluster ...]
//
// Stage 1 (streaming) runs the job of job.cpp: five source streams on the two
// real data sets, cleaning and per-customer aggregates, the online churn
// model, business rules, persistence (LMDB table and CSV, exactly-once) and
// alerts (JSON lines, exactly-once). Stage 2 reads the stored predictions
// back as a stream, keeps the high-risk customers, joins them with their
// profiles and writes the report (OUT/report.html) and a console summary.
//
// Started again after a crash with the same --output, the job resumes from
// its last checkpoint (OUT/state); once a run has finished (OUT/FINISHED),
// the next one starts afresh.
#include <fmt/format.h>
#include <unistd.h>

#include <toml++/toml.h>
#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <numeric>
#include <set>

#include "job.hpp"
#include "report.hpp"
#include "sluice/actors/logging.hpp"
#include "sluice/sink/part_file.hpp"
#include "sluice/state/codec.hpp"
#include "sluice/state/lmdb_table.hpp"

namespace fs = std::filesystem;
using namespace churn;

namespace {

/// The lines of every published part file of an exactly-once output
/// directory (part-*), in file-name order.
std::vector<std::string> read_parts(const fs::path& dir) {
  std::vector<fs::path> files;
  std::error_code ec;
  for (fs::directory_iterator it{dir, ec}, end; !ec && it != end; it.increment(ec))
    if (it->path().filename().string().rfind("part-", 0) == 0)
      files.push_back(it->path());
  std::sort(files.begin(), files.end());
  std::vector<std::string> lines;
  for (auto& f : files) {
    const std::string bytes = sluice::read_part_file(f.string());  // plain or .zst
    size_t start = 0;
    while (start < bytes.size()) {
      size_t nl = bytes.find('\n', start);
      if (nl == std::string::npos)
        nl = bytes.size();
      lines.emplace_back(bytes, start, nl - start);
      start = nl + 1;
    }
  }
  return lines;
}

/// A profile line for the report (stage 2's table side).
struct profile_row {
  std::string customer;
  std::string text;
  int64_t ts = 0;
};
SLUICE_FIELDS(profile_row, customer, text, ts)

struct top_entry {
  stored_risk row;
  std::string profile;
};
SLUICE_FIELDS(top_entry, row, profile)

double percentile(std::vector<int64_t> v, double q) {
  if (v.empty())
    return 0;
  std::sort(v.begin(), v.end());
  const size_t i = std::min(v.size() - 1, static_cast<size_t>(q * static_cast<double>(v.size())));
  return static_cast<double>(v[i]);
}

/// Stage 2: the stored predictions as a stream, high-risk customers joined
/// with their profiles.
std::vector<top_entry> high_risk_with_profiles(const job_config& cfg,
                                               const std::vector<stored_risk>& stored) {
  sluice::pipeline p{"churn-report"};
  using sluice::change;
  using sluice::timestamp;
  using ws_row = sluice::watermark_strategy<stored_risk>;
  // Stored rows at time 1, profiles in force from time 0: every row sees
  // its customer's profile.
  auto rows =
      p.from_collection(stored)
          .name("stored-predictions")
          .with_watermarks(ws_row::monotonous([](const stored_risk&) { return timestamp{1}; }));
  const std::string cm_file = (cfg.data / "churn_modelling" / "Churn_Modelling.csv").string();
  auto cm = p.read_csv(cm_file, parse_cm_profile, sluice::text_file_options{true, ','})
                .name("cm-profiles")
                .with_watermarks(sluice::watermark_strategy<change<cm_profile>>::monotonous(
                    [](const change<cm_profile>&) { return timestamp{0}; }))
                .map([](const change<cm_profile>& c) {
                  return change<profile_row>::upsert(
                      profile_row{fmt::format("cm-{}", c.value.customer),
                                  fmt::format("{}, {} {}, {}", c.value.surname, c.value.gender,
                                              c.value.age, c.value.geography),
                                  0});
                })
                .name("cm-profile-rows");
  auto bk = p.read_csv((cfg.data / "berka" / "client.asc").string(), parse_bk_client,
                       sluice::text_file_options{true, ';'})
                .name("bk-clients")
                .with_watermarks(sluice::watermark_strategy<change<bk_client>>::monotonous(
                    [](const change<bk_client>&) { return timestamp{0}; }))
                .map([](const change<bk_client>& c) {
                  return change<profile_row>::upsert(
                      profile_row{fmt::format("bk-{}", c.value.client),
                                  fmt::format("client {}, born {}, {}, district {}", c.value.client,
                                              c.value.birth_year, c.value.gender, c.value.district),
                                  0});
                })
                .name("bk-profile-rows");
  auto profiles = cm.union_with(bk);
  auto got = std::make_shared<sluice::collected<top_entry>>();
  const double threshold = cfg.alert_threshold;
  rows.filter([threshold](const stored_risk& r) { return r.score >= threshold; })
      .name("high-risk")
      .key_by([](const stored_risk& r) { return r.customer; })
      .temporal_join(profiles.key_by([](const change<profile_row>& c) { return c.value.customer; }))
      .process([](const stored_risk& r, const profile_row* prof) {
        return top_entry{r, prof ? prof->text : std::string{"(no profile)"}};
      })
      .name("join-profiles")
      .collect(got);
  sluice::runtime_config rt;
  rt.print_summary = false;
  const auto rep = sluice::execute(p, rt);
  if (!rep.ok)
    throw std::runtime_error("report stage failed: " + rep.error);
  return got->items();
}

int run_report(const job_config& cfg, const output_paths& out,
               const sluice::actors::job_report* rep, double seconds) {
  // The stored predictions: the exactly-once LMDB table.
  auto table = sluice::state::lmdb_table::open(out.predictions_table.string());
  if (!table)
    throw std::runtime_error(
        fmt::format("cannot open {}: {}", out.predictions_table.string(), table.error().message));
  auto scanned = table.value()->scan();
  if (!scanned)
    throw std::runtime_error(
        fmt::format("cannot read {}: {}", out.predictions_table.string(), scanned.error().message));
  std::vector<stored_risk> stored;
  for (auto& [k, v] : scanned.value())
    stored.push_back(sluice::state::from_bytes<stored_risk>(v));

  report_data d;
  d.title = "Sluice: real-time bank customer churn prediction";
  auto top = high_risk_with_profiles(cfg, stored);
  std::sort(top.begin(), top.end(), [](const top_entry& a, const top_entry& b) {
    return std::tie(b.row.score, a.row.customer) < std::tie(a.row.score, b.row.customer);
  });
  for (size_t i = 0; i < std::min<size_t>(top.size(), 50); ++i) {
    auto& t = top[i];
    d.top_risk.push_back(
        {t.row.customer, t.row.source, t.row.score, t.row.details, t.profile, t.row.ts});
  }

  // Groups: geography (Churn_Modelling) and district (Berka).
  std::map<std::pair<std::string, std::string>, std::tuple<uint64_t, uint64_t, double>> groups;
  for (auto& r : stored) {
    const bool cm = r.customer.rfind("cm-", 0) == 0;
    auto& g = groups[{cm ? "geography" : "district", r.group}];
    ++std::get<0>(g);
    std::get<1>(g) += r.score >= cfg.alert_threshold;
    std::get<2>(g) += r.score;
    if (cm)
      d.churn_scores.push_back(static_cast<float>(r.score));
  }
  for (auto& [k, g] : groups)
    d.groups.push_back({k.first, k.second, std::get<0>(g), std::get<1>(g),
                        std::get<2>(g) / static_cast<double>(std::get<0>(g))});

  // AUC over time.
  double final_auc = std::nan("");
  std::vector<std::string> auc_lines = read_parts(out.auc);
  std::vector<model_quality> quality;
  for (auto& l : auc_lines) {
    sluice::csv_row r{l, ','};
    if (r.size() != 6)
      continue;
    quality.push_back({r.get<uint64_t>(0), r.get<uint64_t>(1), r.get<uint64_t>(2),
                       r.get<uint64_t>(3), r.get<double>(4), r.get<int64_t>(5)});
  }
  std::sort(quality.begin(), quality.end(),
            [](auto& a, auto& b) { return a.model_version < b.model_version; });
  for (auto& q : quality)
    d.auc_over_time.push_back({q.labels_seen, q.trained_on, q.held_out_scored, q.auc,
                               q.ts == std::numeric_limits<int64_t>::max() - 1 ? 0 : q.ts});
  if (!quality.empty())
    final_auc = quality.back().auc;

  // Alerts per day, offers.
  std::map<std::pair<std::string, std::string>, uint64_t> per_day;
  uint64_t alerts = 0;
  for (auto& l : read_parts(out.predictions)) {
    sluice::csv_row r{l, ','};
    if (r.size() != 6 || r.get<double>(2) < cfg.alert_threshold)
      continue;
    ++alerts;
    const bool cm = r.text(0).rfind("cm-", 0) == 0;
    ++per_day[{day_text(r.get<int64_t>(5) / day_ms), cm ? "churn model" : "Berka rules"}];
  }
  for (auto& [k, n] : per_day)
    d.alerts_per_day.push_back({k.first, k.second, n});
  std::map<std::string, uint64_t> offers;
  for (auto& l : read_parts(out.offers)) {
    sluice::csv_row r{l, ','};
    if (r.size() == 4)
      ++offers[std::string{r.text(1)}];
  }
  uint64_t dead = read_parts(out.dead_letters).size();

  const auto lat = alert_latencies();
  d.facts.push_back({"held-out AUC (final model)", fmt::format("{:.4f}", final_auc)});
  d.facts.push_back({"customers in the table", fmt::format("{}", stored.size())});
  d.facts.push_back({"churn customers scored", fmt::format("{}", d.churn_scores.size())});
  d.facts.push_back({"alerts", fmt::format("{}", alerts)});
  d.facts.push_back(
      {"offers issued / taken up / expired",
       fmt::format("{} / {} / {}", offers["issued"], offers["taken_up"], offers["expired"])});
  d.facts.push_back({"dead letters", fmt::format("{}", dead)});
  d.facts.push_back({"mode", cfg.mode == mode::continuous
                                 ? std::string{"continuous"}
                                 : fmt::format("micro-batch ({} ms)", cfg.interval_ms)});
  if (!lat.empty())
    d.facts.push_back(
        {"arrival to alert p50 / p99 (ms)",
         fmt::format("{:.0f} / {:.0f}", percentile(lat, 0.5), percentile(lat, 0.99))});
  if (seconds > 0)
    d.facts.push_back({"stage 1 wall time (s)", fmt::format("{:.2f}", seconds)});

  if (rep) {
    std::map<std::string, uint64_t> in;
    std::vector<std::string> order;
    for (auto& m : rep->metrics) {
      if (!in.count(m.name))
        order.push_back(m.name);
      in[m.name] += m.records_in;
    }
    for (auto& name : order)
      d.stages.push_back(
          {name, in[name], seconds > 0 ? static_cast<double>(in[name]) / seconds : 0});
  }

  write_html_report(d, out.report_html);
  std::fputs(text_summary(d).c_str(), stdout);
  std::printf("report: %s\n", out.report_html.string().c_str());
  return 0;
}

bool is_coordinator(const sluice::runtime_config& rt) {
  if (rt.cluster_file.empty())
    return true;
  try {
    auto t = toml::parse_file(rt.cluster_file);
    auto c = t["coordinator"].value<std::string>();
    return c && *c == rt.node;
  } catch (const std::exception&) {
    return false;
  }
}

}  // namespace

int main(int argc, char** argv) {
  job_config cfg;
  sluice::runtime_config rt;
  std::string data = "examples/data", output = "churn-output", config, rules_file, mode_text,
              alerts_to, codec;
  double speedup = 0;
  bool no_report = false, report_only = false;
  CLI::App app{"Real-time bank customer churn prediction on the shipped bank data"};
  app.add_option("--data", data, "directory with churn_modelling/ and berka/ (examples/data)");
  app.add_option("--output", output, "output directory");
  app.add_option("--config", config,
                 "job settings (TOML; default: churn.toml next to the data's ../churn/)");
  app.add_option("--rules", rules_file, "rule changes while the job runs (CSV name,value,date)");
  app.add_option("--mode", mode_text, "continuous or micro-batch")
      ->check(CLI::IsMember({"continuous", "micro-batch"}));
  app.add_option("--interval-ms", cfg.interval_ms, "micro-batch interval")
      ->check(CLI::PositiveNumber);
  app.add_option("--speedup", speedup,
                 "replay event time this many times faster than real time (86400: a day per "
                 "second; default: as fast as possible)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--alerts-to", alerts_to,
                 "also send alerts to stdout or tcp://HOST:PORT, each once its checkpoint "
                 "completes");
  app.add_option("--compression", codec, "persisted part files: none or zstd")
      ->check(CLI::IsMember({"none", "zstd"}));
  app.add_flag("--no-report", no_report, "skip stage 2 (report)");
  app.add_flag("--report-only", report_only, "only stage 2, on the outputs of a finished run");
  sluice::add_runtime_options(app, rt);
  CLI11_PARSE(app, argc, argv);
  // Log lines on standard error (standard output may carry the alerts).
  if (auto err = sluice::actors::configure_logging(rt, "churn"); !err.empty()) {
    std::fprintf(stderr, "churn: %s\n", err.c_str());
    return 2;
  }

  cfg.data = data;
  cfg.output = output;
  if (!fs::is_regular_file(cfg.data / "churn_modelling" / "Churn_Modelling.csv") ||
      !fs::is_regular_file(cfg.data / "berka" / "trans_head100k.asc")) {
    std::fprintf(stderr,
                 "churn: the data sets were not found under '%s' (looked for "
                 "churn_modelling/Churn_Modelling.csv and berka/trans_head100k.asc); pass "
                 "--data DIR (the repository's examples/data)\n",
                 fs::absolute(cfg.data).string().c_str());
    return 2;
  }
  const fs::path shipped = cfg.data / ".." / "churn";
  try {
    const fs::path cfg_file = config.empty() ? shipped / "churn.toml" : fs::path{config};
    if (!config.empty() || fs::exists(cfg_file)) {
      sluice::runtime_config from_file = rt;
      load_config_file(cfg_file, cfg, from_file);
      // The command line wins over the file.
      if (!app.count("--parallelism"))
        rt.parallelism = from_file.parallelism;
      if (!app.count("--batch-size"))
        rt.batch_size = from_file.batch_size;
      if (!app.count("--flush-ms"))
        rt.flush_interval = from_file.flush_interval;
      if (!app.count("--credits"))
        rt.credits = from_file.credits;
      if (!app.count("--checkpoint-ms"))
        rt.checkpoints.interval = from_file.checkpoints.interval;
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "churn: %s\n", e.what());
    return 2;
  }
  if (!mode_text.empty())
    cfg.mode = mode_text == "continuous" ? mode::continuous : mode::micro_batch;
  if (app.count("--speedup"))
    cfg.replay_speedup = speedup;
  if (app.count("--alerts-to"))
    cfg.alerts_to = alerts_to;
  if (!codec.empty())
    cfg.compression = parse_compression(codec, "--compression");
  cfg.rules_file = rules_file.empty() ? shipped / "rules.csv" : fs::path{rules_file};
  if (!fs::is_regular_file(cfg.rules_file)) {
    std::fprintf(stderr, "churn: rules file not found: %s (--rules FILE)\n",
                 cfg.rules_file.string().c_str());
    return 2;
  }

  const output_paths out = outputs_of(cfg.output);
  const fs::path finished = cfg.output / "FINISHED";
  if (report_only)
    try {
      return run_report(cfg, out, nullptr, 0);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "churn: %s\n", e.what());
      return 1;
    }

  // A finished run's outputs are replaced; an unfinished one's state resumes.
  std::error_code ec;
  if (fs::exists(finished) && is_coordinator(rt) && rt.cluster_file.empty())
    fs::remove_all(cfg.output, ec);
  fs::create_directories(cfg.output, ec);
  if (rt.state_dir.empty())
    rt.state_dir = (cfg.output / "state").string();
  if (rt.checkpoints.interval.count() == 0)
    rt.checkpoints.interval = std::chrono::milliseconds{500};

  sluice::pipeline p{"churn"};
  try {
    build_job(p, cfg);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "churn: invalid job: %s\n", e.what());
    return 2;
  }

  const auto start = std::chrono::steady_clock::now();
  int code = 0;
  std::optional<sluice::actors::job_report> rep;
  // On a terminal: records, rate, share of the input read and time left
  // (not when the alerts themselves go to standard output).
  std::optional<sluice::actors::console_progress> progress;
  if (cfg.alerts_to != "stdout")
    progress.emplace(p.plan().job_name);
  if (rt.cluster_file.empty()) {
    std::unique_ptr<sluice::http_endpoint> http;
    try {
      http = sluice::serve_http(rt);  // --http-port: live metrics while the job runs
    } catch (const std::exception& e) {
      std::fprintf(stderr, "churn: %s\n", e.what());
      return 2;
    }
    rep = sluice::execute(p, rt);
    progress.reset();
    if (!rep->ok) {
      std::fprintf(stderr, "churn: job failed: %s\n", rep->error.c_str());
      return 1;
    }
  } else {
    code = sluice::run(p, rt);
    progress.reset();
    if (code != 0)
      return code;
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (rep && rt.print_summary)
    std::fputs(sluice::actors::format_summary(p, *rep, seconds).c_str(), stderr);
  if (!is_coordinator(rt))
    return 0;
  std::ofstream{finished} << "finished\n";
  if (no_report)
    return 0;
  try {
    return run_report(cfg, out, rep ? &*rep : nullptr, seconds);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "churn: %s\n", e.what());
    return 1;
  }
}
