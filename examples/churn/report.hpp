#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

/// The end of the churn job: an HTML report with plots (Chart.js, inlined so
/// the page opens from disk with no network) and a plain-text summary for the
/// console. The job's main thread calls both once, after the job finished;
/// nothing here is shared or kept between calls.
namespace churn {

/// The held-out AUC after `labels_seen` churn labels arrived.
struct auc_point {
  uint64_t labels_seen = 0;
  uint64_t trained_on = 0;
  uint64_t held_out_scored = 0;
  double auc = 0;     // NaN while there is no AUC yet (shown as a gap)
  int64_t ts_ms = 0;  // event time, ms since the epoch (UTC); 0: unknown
};

/// One row of the top-risk table.
struct risk_row {
  std::string customer;
  std::string source;
  double score = 0;
  std::string reason;
  std::string details;
  int64_t ts_ms = 0;  // event time, ms since the epoch (UTC); 0: unknown
};

/// Risk of one group of customers.
struct group_risk {
  std::string kind;  // "district" (Berka districts) or "geography" (Churn_Modelling countries)
  std::string group;
  uint64_t population = 0;
  uint64_t high_risk = 0;
  double mean_score = 0;
};

/// Alerts raised by one source on one day.
struct day_count {
  std::string day;  // "YYYY-MM-DD"
  std::string source;
  uint64_t count = 0;
};

/// Throughput of one stage of the job.
struct stage_figure {
  std::string stage;
  uint64_t records = 0;
  double records_per_s = 0;
};

/// Everything the report shows. Strings may hold any bytes: they are escaped
/// (and invalid UTF-8 replaced) when written.
struct report_data {
  std::string title;
  std::vector<std::pair<std::string, std::string>> facts;  // headline figures, in order
  std::vector<float> churn_scores;  // the latest churn score of every scored customer
  std::vector<auc_point> auc_over_time;
  std::vector<risk_row> top_risk;  // already sorted, highest first
  std::vector<group_risk> groups;
  std::vector<day_count> alerts_per_day;
  std::vector<stage_figure> stages;
};

/// Where Debian's libjs-chart.js installs Chart.js (the CHURN_CHART_JS of the build).
std::filesystem::path default_chart_js();

/// Writes a single self-contained HTML page to `out`: Chart.js read from
/// `chart_js` and inlined, the data as JSON, the charts built from it in the
/// page. The same data gives a byte-identical page. The page is written to a
/// temporary file next to `out` and renamed, so `out` is never half-written.
/// Throws std::runtime_error naming the path and the OS error when `chart_js`
/// cannot be read or `out` cannot be written.
void write_html_report(const report_data& d, const std::filesystem::path& out,
                       const std::filesystem::path& chart_js = default_chart_js());

/// A plain-text summary for the console: facts, stages, the top 10 risks and
/// the AUC progression in a few lines.
std::string text_summary(const report_data& d);

}  // namespace churn
