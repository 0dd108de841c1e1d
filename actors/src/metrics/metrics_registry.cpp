#include "sluice/actors/metrics_registry.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <tuple>

#include "sluice/format.hpp"

namespace sluice::actors {

metrics_registry& metrics_registry::process() {
  static metrics_registry r;
  return r;
}

std::shared_ptr<live_operator> metrics_registry::add(std::string job, std::string name,
                                                     std::string uid, uint32_t instance,
                                                     uint32_t parallelism, bool is_source) {
  auto e = std::make_shared<live_operator>();
  e->job = std::move(job);
  e->name = std::move(name);
  e->uid = std::move(uid);
  e->instance = instance;
  e->parallelism = parallelism;
  e->is_source = is_source;
  std::lock_guard<std::mutex> guard{mtx_};
  // Forget entries of ended tasks now and then, so the list stays small.
  if (entries_.size() >= 64 && entries_.size() % 64 == 0)
    entries_.erase(
        std::remove_if(entries_.begin(), entries_.end(), [](auto& w) { return w.expired(); }),
        entries_.end());
  entries_.push_back(e);
  return e;
}

std::shared_ptr<live_job> metrics_registry::add_job(std::string job, int64_t started_ms) {
  auto e = std::make_shared<live_job>();
  e->job = std::move(job);
  e->started_ms = started_ms;
  std::lock_guard<std::mutex> guard{mtx_};
  jobs_.erase(std::remove_if(jobs_.begin(), jobs_.end(), [](auto& w) { return w.expired(); }),
              jobs_.end());
  jobs_.push_back(e);
  return e;
}

std::vector<job_sample> metrics_registry::jobs() const {
  constexpr auto relaxed = std::memory_order_relaxed;
  std::vector<job_sample> out;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    for (auto& w : jobs_)
      if (auto e = w.lock())
        out.push_back({e->job, e->started_ms, e->checkpoints_completed.load(relaxed),
                       e->checkpoints_aborted.load(relaxed), e->last_checkpoint.load(relaxed),
                       e->restarts.load(relaxed), e->failures.load(relaxed)});
  }
  std::sort(out.begin(), out.end(), [](auto& a, auto& b) { return a.job < b.job; });
  return out;
}

std::vector<std::shared_ptr<live_operator>> metrics_registry::entries_of(
    const std::string& job) const {
  std::vector<std::shared_ptr<live_operator>> out;
  std::lock_guard<std::mutex> guard{mtx_};
  for (auto& w : entries_)
    if (auto e = w.lock(); e && e->job == job)
      out.push_back(std::move(e));
  return out;
}

std::vector<operator_sample> metrics_registry::sample() const {
  std::vector<operator_sample> out;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    for (auto& w : entries_) {
      auto e = w.lock();
      if (!e)
        continue;
      operator_sample s;
      s.job = e->job;
      s.name = e->name;
      s.uid = e->uid;
      s.instance = e->instance;
      s.parallelism = e->parallelism;
      s.records_in = e->records_in.load(std::memory_order_relaxed);
      s.records_out = e->records_out.load(std::memory_order_relaxed);
      s.dead_letters = e->dead_letters.load(std::memory_order_relaxed);
      s.unconsumed = e->unconsumed.load(std::memory_order_relaxed);
      s.backpressure_events = e->backpressure_events.load(std::memory_order_relaxed);
      s.watermark_ms = e->watermark_ms.load(std::memory_order_relaxed);
      s.is_source = e->is_source;
      s.input_done = e->input_done.load(std::memory_order_relaxed);
      s.input_total = e->input_total.load(std::memory_order_relaxed);
      out.push_back(std::move(s));
    }
  }
  std::sort(out.begin(), out.end(), [](auto& a, auto& b) {
    return std::tie(a.job, a.uid, a.instance) < std::tie(b.job, b.uid, b.instance);
  });
  return out;
}

namespace {

/// A label value: backslash, double quote and newline escaped.
std::string label(std::string_view v) {
  std::string s;
  s.reserve(v.size());
  for (char c : v) {
    if (c == '\\' || c == '"')
      s += '\\';
    if (c == '\n') {
      s += "\\n";
      continue;
    }
    s += c;
  }
  return s;
}

struct metric {
  const char* name;
  const char* type;
  const char* help;
};

}  // namespace

std::string metrics_registry::prometheus(const std::vector<operator_sample>& s,
                                         const std::vector<job_sample>& jobs, int64_t now_ms) {
  static const metric metrics[] = {
      {"sluice_records_in_total", "counter", "Records an operator instance took in."},
      {"sluice_records_out_total", "counter", "Records an operator instance emitted."},
      {"sluice_dead_letters_total", "counter",
       "Records an operator instance rejected (dead letters)."},
      {"sluice_unconsumed_records_total", "counter",
       "Records emitted on ports nobody consumes (e.g. late records)."},
      {"sluice_backpressure_events_total", "counter",
       "Times the instance found its output waiting for credit."},
      {"sluice_watermark_milliseconds", "gauge",
       "Event time the instance has reached (Unix ms); absent before the first watermark."},
      {"sluice_watermark_lag_milliseconds", "gauge",
       "Wall clock minus the instance's watermark (ms)."},
  };
  std::string out;
  for (size_t m = 0; m < std::size(metrics); ++m) {
    fmt::format_to(std::back_inserter(out), "# HELP {} {}\n# TYPE {} {}\n", metrics[m].name,
                   metrics[m].help, metrics[m].name, metrics[m].type);
    for (auto& x : s) {
      const bool has_wm = x.watermark_ms != INT64_MIN && x.watermark_ms != INT64_MAX;
      if (m >= 5 && !has_wm)
        continue;
      uint64_t v = 0;
      int64_t g = 0;
      switch (m) {
        case 0:
          v = x.records_in;
          break;
        case 1:
          v = x.records_out;
          break;
        case 2:
          v = x.dead_letters;
          break;
        case 3:
          v = x.unconsumed;
          break;
        case 4:
          v = x.backpressure_events;
          break;
        case 5:
          g = x.watermark_ms;
          break;
        default:
          g = now_ms - x.watermark_ms;
          break;
      }
      fmt::format_to(std::back_inserter(out),
                     "{}{{job_name=\"{}\",operator=\"{}\",uid=\"{}\",subtask=\"{}\"}} {}\n",
                     metrics[m].name, label(x.job), label(x.name), label(x.uid), x.instance,
                     m >= 5 ? fmt::format("{}", g) : fmt::format("{}", v));
    }
  }
  static const metric job_metrics[] = {
      {"sluice_job_uptime_seconds", "gauge", "Time since the job's run started."},
      {"sluice_job_checkpoints_completed_total", "counter", "Checkpoints completed."},
      {"sluice_job_checkpoints_aborted_total", "counter", "Checkpoints declined or expired."},
      {"sluice_job_last_checkpoint_id", "gauge",
       "Id of the latest completed checkpoint (0: none)."},
      {"sluice_job_restarts_total", "counter", "Restarts after a failure."},
      {"sluice_job_failures_total", "counter", "Failures, also those recovered from."},
  };
  for (size_t m = 0; m < std::size(job_metrics); ++m) {
    fmt::format_to(std::back_inserter(out), "# HELP {} {}\n# TYPE {} {}\n", job_metrics[m].name,
                   job_metrics[m].help, job_metrics[m].name, job_metrics[m].type);
    for (auto& j : jobs) {
      std::string v;
      switch (m) {
        case 0:
          v = fmt::format("{:.3f}", static_cast<double>(now_ms - j.started_ms) / 1000.0);
          break;
        case 1:
          v = fmt::format("{}", j.checkpoints_completed);
          break;
        case 2:
          v = fmt::format("{}", j.checkpoints_aborted);
          break;
        case 3:
          v = fmt::format("{}", j.last_checkpoint);
          break;
        case 4:
          v = fmt::format("{}", j.restarts);
          break;
        default:
          v = fmt::format("{}", j.failures);
          break;
      }
      fmt::format_to(std::back_inserter(out), "{}{{job_name=\"{}\"}} {}\n", job_metrics[m].name,
                     label(j.job), v);
    }
  }
  return out;
}

std::string metrics_registry::jobs_json(const std::vector<job_sample>& jobs, int64_t now_ms) {
  std::string out = "{\"jobs\":[";
  for (size_t i = 0; i < jobs.size(); ++i) {
    auto& j = jobs[i];
    out += i ? ",{\"job\":" : "{\"job\":";
    format::append_json_string(out, j.job);
    fmt::format_to(std::back_inserter(out),
                   ",\"uptime_ms\":{},\"checkpoints_completed\":{},\"checkpoints_aborted\":{},"
                   "\"last_checkpoint\":{},\"restarts\":{},\"failures\":{}}}",
                   now_ms - j.started_ms, j.checkpoints_completed, j.checkpoints_aborted,
                   j.last_checkpoint, j.restarts, j.failures);
  }
  out += "]}";
  return out;
}

std::string metrics_registry::json(const std::vector<operator_sample>& s, int64_t now_ms) {
  std::string out = "{\"operators\":[";
  bool first = true;
  for (auto& x : s) {
    if (!first)
      out += ',';
    first = false;
    out += "{\"job\":";
    format::append_json_string(out, x.job);
    out += ",\"name\":";
    format::append_json_string(out, x.name);
    out += ",\"uid\":";
    format::append_json_string(out, x.uid);
    const bool has_wm = x.watermark_ms != INT64_MIN && x.watermark_ms != INT64_MAX;
    fmt::format_to(std::back_inserter(out),
                   ",\"instance\":{},\"parallelism\":{},\"records_in\":{},\"records_out\":{},"
                   "\"dead_letters\":{},\"unconsumed\":{},\"backpressure_events\":{},"
                   "\"watermark_ms\":{},\"watermark_lag_ms\":{},\"source\":{},"
                   "\"input_done\":{},\"input_total\":{}}}",
                   x.instance, x.parallelism, x.records_in, x.records_out, x.dead_letters,
                   x.unconsumed, x.backpressure_events,
                   has_wm ? fmt::format("{}", x.watermark_ms) : "null",
                   has_wm ? fmt::format("{}", now_ms - x.watermark_ms) : "null", x.is_source,
                   x.input_done, x.input_total);
  }
  out += "]}";
  return out;
}

}  // namespace sluice::actors
