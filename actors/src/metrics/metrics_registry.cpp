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
                                                     uint32_t parallelism) {
  auto e = std::make_shared<live_operator>();
  e->job = std::move(job);
  e->name = std::move(name);
  e->uid = std::move(uid);
  e->instance = instance;
  e->parallelism = parallelism;
  std::lock_guard<std::mutex> guard{mtx_};
  // Forget entries of ended tasks now and then, so the list stays small.
  if (entries_.size() >= 64 && entries_.size() % 64 == 0)
    entries_.erase(
        std::remove_if(entries_.begin(), entries_.end(), [](auto& w) { return w.expired(); }),
        entries_.end());
  entries_.push_back(e);
  return e;
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

std::string metrics_registry::prometheus(const std::vector<operator_sample>& s, int64_t now_ms) {
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
                   "\"watermark_ms\":{},\"watermark_lag_ms\":{}}}",
                   x.instance, x.parallelism, x.records_in, x.records_out, x.dead_letters,
                   x.unconsumed, x.backpressure_events,
                   has_wm ? fmt::format("{}", x.watermark_ms) : "null",
                   has_wm ? fmt::format("{}", now_ms - x.watermark_ms) : "null");
  }
  out += "]}";
  return out;
}

}  // namespace sluice::actors
