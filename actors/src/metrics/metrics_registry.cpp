#include "sluice/actors/metrics_registry.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <optional>
#include <string_view>
#include <tuple>

#include "sluice/format.hpp"
#include "sluice/time.hpp"

namespace sluice::actors {

const char* to_string(job_state s) noexcept {
  switch (s) {
    case job_state::running:
      return "running";
    case job_state::restarting:
      return "restarting";
    case job_state::finished:
      return "finished";
    case job_state::failed:
      return "failed";
    case job_state::cancelled:
      return "cancelled";
  }
  return "unknown";
}

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
    for (auto& w : jobs_) {
      auto e = w.lock();
      if (!e)
        continue;
      job_sample j;
      j.job = e->job;
      j.started_ms = e->started_ms;
      j.state = static_cast<job_state>(e->state.load(relaxed));
      j.parallelism = e->parallelism.load(relaxed);
      j.last_savepoint = e->last_savepoint.load(relaxed);
      j.checkpoints_completed = e->checkpoints_completed.load(relaxed);
      j.checkpoints_aborted = e->checkpoints_aborted.load(relaxed);
      j.last_checkpoint = e->last_checkpoint.load(relaxed);
      j.restarts = e->restarts.load(relaxed);
      j.local_restarts = e->local_restarts.load(relaxed);
      j.failures = e->failures.load(relaxed);
      std::lock_guard<std::mutex> history{e->mtx};
      j.state_sizes = e->state_sizes;
      j.restarts_by_cause = e->restarts_by_cause;
      for (auto& f : e->failure_log) {
        auto it = std::find_if(j.failures_by_operator.begin(), j.failures_by_operator.end(),
                               [&](auto& p) { return p.first == f.operator_name; });
        if (it == j.failures_by_operator.end())
          j.failures_by_operator.emplace_back(f.operator_name, 1);
        else
          ++it->second;
      }
      for (auto it = e->checkpoints.rbegin(); it != e->checkpoints.rend(); ++it)
        if (it->status == "completed") {
          j.last_checkpoint_duration_ms = it->duration_ms;
          j.last_checkpoint_size_bytes = it->size_bytes;
          j.last_checkpoint_alignment_ms = it->max_alignment_ms;
          break;
        }
      out.push_back(std::move(j));
    }
  }
  std::sort(out.begin(), out.end(), [](auto& a, auto& b) { return a.job < b.job; });
  return out;
}

std::vector<std::shared_ptr<live_job>> metrics_registry::job_entries() const {
  std::vector<std::shared_ptr<live_job>> out;
  std::lock_guard<std::mutex> guard{mtx_};
  for (auto& w : jobs_)
    if (auto e = w.lock())
      out.push_back(std::move(e));
  return out;
}

void metrics_registry::set_nodes_source(std::function<std::vector<node_info>()> f) {
  std::lock_guard<std::mutex> guard{mtx_};
  nodes_source_ = std::move(f);
}

std::vector<metrics_registry::node_info> metrics_registry::nodes() const {
  std::function<std::vector<node_info>()> f;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    f = nodes_source_;
  }
  if (f)
    return f();
  node_info self;
  self.name = "local";
  self.host = "127.0.0.1";
  self.self = true;
  self.state = "alive";
  return {self};
}

void latency_histogram::record(int64_t us) {
  us = std::max<int64_t>(us, 0);
  const auto b = std::lower_bound(bounds_us.begin(), bounds_us.end(), us) - bounds_us.begin();
  std::lock_guard<std::mutex> guard{mtx_};
  ++buckets_[static_cast<size_t>(b)];
  ++count_;
  sum_us_ += us;
  if (recent_.size() < window)
    recent_.push_back(us);
  else
    recent_[next_] = us;
  next_ = (next_ + 1) % window;
}

latency_histogram::snapshot latency_histogram::read() const {
  snapshot s;
  std::vector<int64_t> sorted;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    s.buckets = buckets_;
    s.count = count_;
    s.sum_us = sum_us_;
    sorted = recent_;
  }
  s.window_samples = sorted.size();
  if (sorted.empty())
    return s;
  std::sort(sorted.begin(), sorted.end());
  // Nearest rank: the smallest sample with at least q of them at or below it.
  auto rank = [&](double q) {
    const auto r = static_cast<size_t>(std::ceil(q * static_cast<double>(sorted.size())));
    return sorted[std::clamp<size_t>(r, 1, sorted.size()) - 1];
  };
  s.p50_us = rank(0.50);
  s.p95_us = rank(0.95);
  s.p99_us = rank(0.99);
  s.max_us = sorted.back();
  return s;
}

std::shared_ptr<live_operator> metrics_registry::find(const std::string& job,
                                                      const std::string& uid,
                                                      uint32_t instance) const {
  std::lock_guard<std::mutex> guard{mtx_};
  for (auto& w : entries_)
    if (auto e = w.lock(); e && e->job == job && e->uid == uid && e->instance == instance)
      return e;
  return nullptr;
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
  const int64_t now = sluice::system_clock{}.now().ms;
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
      s.late_records = e->late_records.load(std::memory_order_relaxed);
      s.bytes_in = e->bytes_in.load(std::memory_order_relaxed);
      s.bytes_out = e->bytes_out.load(std::memory_order_relaxed);
      s.state_entries = e->state_entries.load(std::memory_order_relaxed);
      s.backpressure_events = e->backpressure_events.load(std::memory_order_relaxed);
      s.batches_in = e->batches_in.load(std::memory_order_relaxed);
      s.batches_out = e->batches_out.load(std::memory_order_relaxed);
      s.input_held = e->input_held.load(std::memory_order_relaxed);
      s.input_withheld = e->input_withheld.load(std::memory_order_relaxed);
      s.credits_in_use = e->credits_in_use.load(std::memory_order_relaxed);
      s.output_waiting = e->output_waiting.load(std::memory_order_relaxed);
      s.backpressured_ms = e->backpressured_ms.load(std::memory_order_relaxed);
      if (const int64_t since = e->backpressured_since_ms.load(std::memory_order_relaxed);
          since > 0 && now > since)
        s.backpressured_ms += static_cast<uint64_t>(now - since);
      s.watermark_ms = e->watermark_ms.load(std::memory_order_relaxed);
      s.is_source = e->is_source;
      s.input_done = e->input_done.load(std::memory_order_relaxed);
      s.input_total = e->input_total.load(std::memory_order_relaxed);
      s.latency = e->latency.read();
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

std::string seconds_of_us(int64_t us) {
  return fmt::format("{:.6f}", static_cast<double>(us) / 1e6);
}

/// The sinks' latency: a histogram over the run and a summary of the
/// newest markers (quantiles 0.5, 0.95, 0.99, as Flink reports latency).
void append_latency(std::string& out, const std::vector<operator_sample>& s) {
  auto labels = [](const operator_sample& x) {
    return fmt::format("job_name=\"{}\",operator=\"{}\",uid=\"{}\",subtask=\"{}\"", label(x.job),
                       label(x.name), label(x.uid), x.instance);
  };
  out +=
      "# HELP sluice_sink_latency_seconds Delay from a source to this sink instance, measured "
      "by latency markers that the sources emit (--latency-interval-ms) and that queue behind "
      "the records on every channel.\n# TYPE sluice_sink_latency_seconds histogram\n";
  for (auto& x : s) {
    const auto& l = x.latency;
    if (l.count == 0)
      continue;
    const auto lb = labels(x);
    uint64_t cumulative = 0;
    for (size_t b = 0; b < latency_histogram::bounds_us.size(); ++b) {
      cumulative += l.buckets[b];
      fmt::format_to(std::back_inserter(out),
                     "sluice_sink_latency_seconds_bucket{{{},le=\"{}\"}} {}\n", lb,
                     fmt::format("{}", static_cast<double>(latency_histogram::bounds_us[b]) / 1e6),
                     cumulative);
    }
    fmt::format_to(std::back_inserter(out),
                   "sluice_sink_latency_seconds_bucket{{{},le=\"+Inf\"}} {}\n"
                   "sluice_sink_latency_seconds_sum{{{}}} {}\n"
                   "sluice_sink_latency_seconds_count{{{}}} {}\n",
                   lb, l.count, lb, seconds_of_us(l.sum_us), lb, l.count);
  }
  out +=
      "# HELP sluice_sink_latency_recent_seconds Quantiles of the source-to-sink delay over "
      "the newest latency markers (up to 1024) of this sink instance.\n"
      "# TYPE sluice_sink_latency_recent_seconds summary\n";
  for (auto& x : s) {
    const auto& l = x.latency;
    if (l.window_samples == 0)
      continue;
    const auto lb = labels(x);
    for (auto [q, v] : {std::pair{"0.5", l.p50_us}, {"0.95", l.p95_us}, {"0.99", l.p99_us}})
      fmt::format_to(std::back_inserter(out),
                     "sluice_sink_latency_recent_seconds{{{},quantile=\"{}\"}} {}\n", lb, q,
                     seconds_of_us(v));
    fmt::format_to(std::back_inserter(out),
                   "sluice_sink_latency_recent_seconds_sum{{{}}} {}\n"
                   "sluice_sink_latency_recent_seconds_count{{{}}} {}\n",
                   lb, seconds_of_us(l.sum_us), lb, l.count);
  }
}

}  // namespace

std::string metrics_registry::prometheus(const std::vector<operator_sample>& s,
                                         const std::vector<job_sample>& jobs, int64_t now_ms,
                                         const std::vector<node_info>& nodes) {
  struct op_metric {
    const char* name;
    const char* type;
    const char* help;
    /// The value, or nothing (no line) for this sample.
    std::optional<int64_t> (*value)(const operator_sample&, int64_t now_ms);
  };
  using S = const operator_sample&;
  static const op_metric metrics[] = {
      {"sluice_records_in_total", "counter", "Records an operator instance took in.",
       [](S x, int64_t) {
         return std::optional<int64_t>(x.records_in);
       }},
      {"sluice_records_out_total", "counter", "Records an operator instance emitted.",
       [](S x, int64_t) {
         return std::optional<int64_t>(x.records_out);
       }},
      {"sluice_dead_letters_total", "counter",
       "Records an operator instance rejected (dead letters).",
       [](S x, int64_t) {
         return std::optional<int64_t>(x.dead_letters);
       }},
      {"sluice_unconsumed_records_total", "counter",
       "Records emitted on ports nobody consumes (e.g. late records).",
       [](S x, int64_t) {
         return std::optional<int64_t>(x.unconsumed);
       }},
      {"sluice_bytes_in_total", "counter",
       "Encoded bytes of the batches the instance received over remote channels (in-process "
       "channels do not encode).",
       [](S x, int64_t) {
         return std::optional<int64_t>(x.bytes_in);
       }},
      {"sluice_bytes_out_total", "counter",
       "Encoded bytes of the batches the instance sent over remote channels.",
       [](S x, int64_t) {
         return std::optional<int64_t>(x.bytes_out);
       }},
      {"sluice_state_entries", "gauge",
       "Entries of keyed state (keys; key-window pairs for windows) at the instance's last "
       "snapshot; absent before the first.",
       [](S x, int64_t) {
         return x.state_entries >= 0 ? std::optional<int64_t>(x.state_entries) : std::nullopt;
       }},
      {"sluice_late_records_total", "counter",
       "Records an operator instance found late (behind the watermark by more than the "
       "allowed lateness) and emitted on its late port.",
       [](S x, int64_t) {
         return std::optional<int64_t>(x.late_records);
       }},
      {"sluice_backpressure_events_total", "counter",
       "Times the instance found its output waiting for credit.",
       [](S x, int64_t) {
         return std::optional<int64_t>(x.backpressure_events);
       }},
      {"sluice_backpressured_seconds_total", "counter",
       "Time the instance's task could not send (its output waited for credit).",
       [](S x, int64_t) {
         return std::optional<int64_t>(x.backpressured_ms);
       }},
      {"sluice_batches_in_total", "counter",
       "Batches the instance's task took from its input channels.",
       [](S x, int64_t) {
         return std::optional<int64_t>(x.batches_in);
       }},
      {"sluice_batches_out_total", "counter",
       "Batches the instance's task sent to its output channels.",
       [](S x, int64_t) {
         return std::optional<int64_t>(x.batches_out);
       }},
      {"sluice_input_held_elements", "gauge",
       "Input elements held back by a checkpoint barrier alignment.",
       [](S x, int64_t) {
         return std::optional<int64_t>(x.input_held);
       }},
      {"sluice_input_credits_withheld", "gauge",
       "Credits the task holds back from upstream while its output is backpressured.",
       [](S x, int64_t) {
         return std::optional<int64_t>(x.input_withheld);
       }},
      {"sluice_output_credits_in_use", "gauge",
       "Batches sent that the receivers have not processed yet (their input queues).",
       [](S x, int64_t) {
         return std::optional<int64_t>(x.credits_in_use);
       }},
      {"sluice_output_waiting_batches", "gauge", "Batches waiting in the task for credit.",
       [](S x, int64_t) {
         return std::optional<int64_t>(x.output_waiting);
       }},
      {"sluice_watermark_milliseconds", "gauge",
       "Event time the instance has reached (Unix ms); absent before the first watermark.",
       [](S x, int64_t) {
         return x.watermark_ms != INT64_MIN && x.watermark_ms != INT64_MAX
                    ? std::optional<int64_t>(x.watermark_ms)
                    : std::nullopt;
       }},
      {"sluice_watermark_lag_milliseconds", "gauge",
       "Wall clock minus the instance's watermark (ms).",
       [](S x, int64_t now) {
         return x.watermark_ms != INT64_MIN && x.watermark_ms != INT64_MAX
                    ? std::optional<int64_t>(now - x.watermark_ms)
                    : std::nullopt;
       }},
  };
  std::string out;
  for (auto& m : metrics) {
    fmt::format_to(std::back_inserter(out), "# HELP {} {}\n# TYPE {} {}\n", m.name, m.help, m.name,
                   m.type);
    const bool seconds = std::string_view{m.name}.find("_seconds_") != std::string_view::npos;
    for (auto& x : s) {
      auto v = m.value(x, now_ms);
      if (!v)
        continue;
      fmt::format_to(std::back_inserter(out),
                     "{}{{job_name=\"{}\",operator=\"{}\",uid=\"{}\",subtask=\"{}\"}} {}\n", m.name,
                     label(x.job), label(x.name), label(x.uid), x.instance,
                     seconds ? fmt::format("{:.3f}", static_cast<double>(*v) / 1000.0)
                             : fmt::format("{}", *v));
    }
  }
  append_latency(out, s);
  static const metric job_metrics[] = {
      {"sluice_job_uptime_seconds", "gauge", "Time since the job's run started."},
      {"sluice_job_checkpoints_completed_total", "counter", "Checkpoints completed."},
      {"sluice_job_checkpoints_aborted_total", "counter", "Checkpoints declined or expired."},
      {"sluice_job_last_checkpoint_id", "gauge",
       "Id of the latest completed checkpoint (0: none)."},
      {"sluice_job_restarts_total", "counter", "Restarts after a failure."},
      {"sluice_job_last_checkpoint_duration_seconds", "gauge",
       "Trigger to completion of the latest completed checkpoint."},
      {"sluice_job_last_checkpoint_size_bytes", "gauge",
       "Snapshot bytes of the latest completed checkpoint."},
      {"sluice_job_running", "gauge", "1 while the job runs (or restarts), 0 once it ended."},
      {"sluice_job_last_checkpoint_alignment_seconds", "gauge",
       "Longest barrier alignment of a task (first to last barrier) in the latest completed "
       "checkpoint."},
      {"sluice_job_failures_total", "counter", "Failures, also those recovered from."},
      {"sluice_job_local_restarts_total", "counter",
       "Of the restarts, those of one failed operator instance alone (--recovery local)."},
  };
  out +=
      "# HELP sluice_job_operator_failures_total Failures by the operator they happened in "
      "(operator=\"\" when not one operator's, e.g. a lost node), of the last 100.\n"
      "# TYPE sluice_job_operator_failures_total counter\n";
  for (auto& j : jobs)
    for (auto& [op, n] : j.failures_by_operator)
      fmt::format_to(std::back_inserter(out),
                     "sluice_job_operator_failures_total{{job_name=\"{}\",operator=\"{}\"}} {}\n",
                     label(j.job), label(op), n);
  out +=
      "# HELP sluice_job_restarts_by_cause_total Restarts by the kind of failure that caused "
      "them (operator_failed, task_stopped, node_lost, stage_timeout, checkpoint_failed, ...).\n"
      "# TYPE sluice_job_restarts_by_cause_total counter\n";
  for (auto& j : jobs)
    for (auto& [cause, n] : j.restarts_by_cause)
      fmt::format_to(std::back_inserter(out),
                     "sluice_job_restarts_by_cause_total{{job_name=\"{}\",cause=\"{}\"}} {}\n",
                     label(j.job), label(cause), n);
  bool peers = false;
  for (auto& n : nodes)
    peers = peers || !n.self;
  if (peers) {
    std::string self;
    for (auto& n : nodes)
      if (n.self)
        self = n.name;
    out +=
        "# HELP sluice_node_peer_up 1 while this node hears the peer's heartbeats, 0 once it "
        "declared it dead or never heard it.\n# TYPE sluice_node_peer_up gauge\n";
    for (auto& n : nodes)
      if (!n.self)
        fmt::format_to(std::back_inserter(out),
                       "sluice_node_peer_up{{node=\"{}\",peer=\"{}\"}} {}\n", label(self),
                       label(n.name), n.state == "alive" ? 1 : 0);
    out +=
        "# HELP sluice_node_peer_heartbeat_age_seconds Time since this node last heard the "
        "peer.\n# TYPE sluice_node_peer_heartbeat_age_seconds gauge\n";
    for (auto& n : nodes)
      if (!n.self && n.last_heartbeat_ms_ago >= 0)
        fmt::format_to(std::back_inserter(out),
                       "sluice_node_peer_heartbeat_age_seconds{{node=\"{}\",peer=\"{}\"}} {:.3f}\n",
                       label(self), label(n.name),
                       static_cast<double>(n.last_heartbeat_ms_ago) / 1000.0);
  }
  out +=
      "# HELP sluice_task_state_bytes Snapshot bytes of a task (operator chain) instance in "
      "the latest checkpoint it acknowledged.\n# TYPE sluice_task_state_bytes gauge\n";
  for (auto& j : jobs)
    for (auto& t : j.state_sizes)
      fmt::format_to(std::back_inserter(out),
                     "sluice_task_state_bytes{{job_name=\"{}\",task=\"{}\",subtask=\"{}\"}} {}\n",
                     label(j.job), label(t.task), t.instance, t.bytes);
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
        case 5:
          if (j.last_checkpoint_duration_ms < 0)
            continue;
          v = fmt::format("{:.3f}", static_cast<double>(j.last_checkpoint_duration_ms) / 1000.0);
          break;
        case 6:
          if (j.last_checkpoint_duration_ms < 0)
            continue;
          v = fmt::format("{}", j.last_checkpoint_size_bytes);
          break;
        case 7:
          v = j.state == job_state::running || j.state == job_state::restarting ? "1" : "0";
          break;
        case 8:
          if (j.last_checkpoint_duration_ms < 0)
            continue;
          v = fmt::format("{:.3f}", static_cast<double>(j.last_checkpoint_alignment_ms) / 1000.0);
          break;
        case 10:
          v = fmt::format("{}", j.local_restarts);
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
                   ",\"state\":\"{}\",\"parallelism\":{},\"uptime_ms\":{},"
                   "\"checkpoints_completed\":{},\"checkpoints_aborted\":{},"
                   "\"last_checkpoint\":{},\"last_savepoint\":{},\"restarts\":{},"
                   "\"failures\":{}}}",
                   to_string(j.state), j.parallelism, now_ms - j.started_ms,
                   j.checkpoints_completed, j.checkpoints_aborted, j.last_checkpoint,
                   j.last_savepoint, j.restarts, j.failures);
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
                   "\"dead_letters\":{},\"unconsumed\":{},\"late_records\":{},\"bytes_in\":{},"
                   "\"bytes_out\":{},\"state_entries\":{},\"backpressure_events\":{},"
                   "\"watermark_ms\":{},\"watermark_lag_ms\":{},\"source\":{},"
                   "\"input_done\":{},\"input_total\":{},\"batches_in\":{},\"batches_out\":{},"
                   "\"input_held\":{},\"input_credits_withheld\":{},"
                   "\"output_credits_in_use\":{},\"output_waiting\":{},"
                   "\"backpressured_ms\":{},\"latency\":",
                   x.instance, x.parallelism, x.records_in, x.records_out, x.dead_letters,
                   x.unconsumed, x.late_records, x.bytes_in, x.bytes_out,
                   x.state_entries >= 0 ? fmt::format("{}", x.state_entries) : "null",
                   x.backpressure_events, has_wm ? fmt::format("{}", x.watermark_ms) : "null",
                   has_wm ? fmt::format("{}", now_ms - x.watermark_ms) : "null", x.is_source,
                   x.input_done, x.input_total, x.batches_in, x.batches_out, x.input_held,
                   x.input_withheld, x.credits_in_use, x.output_waiting, x.backpressured_ms);
    const auto& l = x.latency;
    if (l.window_samples == 0) {
      out += "null}";
      continue;
    }
    auto ms = [](int64_t us) {
      return static_cast<double>(us) / 1000.0;
    };
    fmt::format_to(std::back_inserter(out),
                   "{{\"markers\":{},\"window\":{},\"p50_ms\":{:.3f},\"p95_ms\":{:.3f},"
                   "\"p99_ms\":{:.3f},\"max_ms\":{:.3f}}}}}",
                   l.count, l.window_samples, ms(l.p50_us), ms(l.p95_us), ms(l.p99_us),
                   ms(l.max_us));
  }
  out += "]}";
  return out;
}

namespace {

void append_opt(std::string& out, int64_t v, bool has) {
  if (has)
    fmt::format_to(std::back_inserter(out), "{}", v);
  else
    out += "null";
}

void append_str_or_null(std::string& out, const std::string& s) {
  if (s.empty())
    out += "null";
  else
    format::append_json_string(out, s);
}

}  // namespace

std::string metrics_registry::checkpoints_json(const live_job& j) {
  std::lock_guard<std::mutex> guard{j.mtx};
  std::string out = "{\"checkpoints\":[";
  bool first = true;
  for (auto it = j.checkpoints.rbegin(); it != j.checkpoints.rend(); ++it) {
    out += first ? "{" : ",{";
    first = false;
    fmt::format_to(std::back_inserter(out),
                   "\"id\":{},\"savepoint\":{},\"status\":\"{}\",\"trigger_ms\":{},"
                   "\"duration_ms\":",
                   it->id, it->savepoint, it->status, it->trigger_ms);
    append_opt(out, it->duration_ms, it->duration_ms >= 0);
    fmt::format_to(std::back_inserter(out),
                   ",\"size_bytes\":{},\"max_sync_ms\":{},\"max_alignment_ms\":{},\"failure\":",
                   it->size_bytes, it->max_sync_ms, it->max_alignment_ms);
    append_str_or_null(out, it->failure);
    out += '}';
  }
  out += "]}";
  return out;
}

std::string metrics_registry::failures_json(const live_job& j) {
  std::lock_guard<std::mutex> guard{j.mtx};
  std::string out = "{\"failures\":[";
  bool first = true;
  for (auto it = j.failure_log.rbegin(); it != j.failure_log.rend(); ++it) {
    out += first ? "{" : ",{";
    first = false;
    fmt::format_to(std::back_inserter(out), "\"time_ms\":{},\"operator\":", it->time_ms);
    append_str_or_null(out, it->operator_name);
    out += ",\"instance\":";
    append_opt(out, it->instance, it->instance >= 0);
    out += ",\"cause\":";
    format::append_json_string(out, it->cause);
    out += ",\"kind\":";
    format::append_json_string(out, it->kind);
    fmt::format_to(std::back_inserter(out),
                   ",\"action\":\"{}\",\"recovery\":", it->restarted ? "restarted" : "failed");
    append_str_or_null(out, it->recovery);
    out += '}';
  }
  out += "]}";
  return out;
}

std::string metrics_registry::graph_json(const live_job& j) {
  std::lock_guard<std::mutex> guard{j.mtx};
  std::string out = "{\"job\":";
  format::append_json_string(out, j.job);
  out += ",\"vertices\":[";
  for (size_t i = 0; i < j.vertices.size(); ++i) {
    auto& v = j.vertices[i];
    fmt::format_to(std::back_inserter(out), "{}{{\"id\":{},\"name\":", i ? "," : "", v.id);
    format::append_json_string(out, v.name);
    out += ",\"uid\":";
    format::append_json_string(out, v.uid);
    fmt::format_to(std::back_inserter(out), ",\"parallelism\":{},\"kind\":\"{}\"}}", v.parallelism,
                   v.kind);
  }
  out += "],\"edges\":[";
  for (size_t i = 0; i < j.edges.size(); ++i)
    fmt::format_to(std::back_inserter(out), "{}{{\"from\":{},\"to\":{},\"partitioning\":\"{}\"}}",
                   i ? "," : "", j.edges[i].from, j.edges[i].to, j.edges[i].partitioning);
  out += "]}";
  return out;
}

std::string metrics_registry::nodes_json(const std::vector<node_info>& nodes) {
  std::string out = "{\"nodes\":[";
  for (size_t i = 0; i < nodes.size(); ++i) {
    auto& n = nodes[i];
    out += i ? ",{\"name\":" : "{\"name\":";
    format::append_json_string(out, n.name);
    out += ",\"host\":";
    format::append_json_string(out, n.host);
    fmt::format_to(std::back_inserter(out), ",\"port\":{},\"self\":{},\"state\":\"{}\",", n.port,
                   n.self, n.state);
    out += "\"last_heartbeat_ms_ago\":";
    append_opt(out, n.last_heartbeat_ms_ago, n.last_heartbeat_ms_ago >= 0);
    out += '}';
  }
  out += "]}";
  return out;
}

}  // namespace sluice::actors
