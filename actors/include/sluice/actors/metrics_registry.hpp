#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

/// Live metrics of the operator instances running in this process, read by
/// whoever serves them (the HTTP endpoint of `sluice::run`, tests) while the
/// job runs. Tasks own their entries and publish into them once per batch
/// (relaxed atomic stores on the task's thread), so reading costs the data
/// path nothing; an entry disappears when its task ends.
namespace sluice::actors {

/// Source-to-sink latency as one sink instance measured it with latency
/// markers (Flink's latency tracking): a cumulative histogram over the whole
/// run, as Prometheus reads one, and the last `window` samples for exact
/// quantiles. Written once per marker (about once a second per source
/// instance), so a mutex costs nothing.
class latency_histogram {
public:
  /// Upper bounds of the buckets in µs; one more bucket holds the rest.
  static constexpr std::array<int64_t, 16> bounds_us{
      100,    250,     500,     1'000,   2'500,     5'000,     10'000,    25'000,
      50'000, 100'000, 250'000, 500'000, 1'000'000, 2'500'000, 5'000'000, 10'000'000};
  /// Samples the quantiles are taken over (the newest ones).
  static constexpr size_t window = 1024;

  /// A marker arrived `us` after its source emitted it. A negative delay
  /// (clocks of two hosts apart) counts as 0.
  void record(int64_t us);

  struct snapshot {
    std::array<uint64_t, bounds_us.size() + 1> buckets{};  ///< per bucket, not cumulative
    uint64_t count = 0;                                    ///< markers over the run
    int64_t sum_us = 0;
    /// Over the last `window_samples` markers (nearest rank); -1 when none.
    int64_t p50_us = -1, p95_us = -1, p99_us = -1, max_us = -1;
    size_t window_samples = 0;
  };
  snapshot read() const;

private:
  mutable std::mutex mtx_;
  std::array<uint64_t, bounds_us.size() + 1> buckets_{};
  uint64_t count_ = 0;
  int64_t sum_us_ = 0;
  std::vector<int64_t> recent_;  ///< ring of the newest samples
  size_t next_ = 0;
};

/// One operator instance's figures, as last published by its task.
struct live_operator {
  std::string job, name, uid;
  uint32_t instance = 0;
  uint32_t parallelism = 0;
  std::atomic<uint64_t> records_in{0};
  std::atomic<uint64_t> records_out{0};
  std::atomic<uint64_t> dead_letters{0};
  std::atomic<uint64_t> unconsumed{0};
  std::atomic<uint64_t> late_records{0};
  /// Encoded bytes of the batches this instance sent / received over remote
  /// channels (a cluster's network; in-process channels move batches
  /// without encoding them). Added by the node, not the task.
  std::atomic<uint64_t> bytes_out{0};
  std::atomic<uint64_t> bytes_in{0};
  /// Keyed state entries at the instance's last snapshot
  /// (operator_base::state_entries); -1 before its first snapshot.
  std::atomic<int64_t> state_entries{-1};
  std::atomic<uint64_t> backpressure_events{0};
  // Of the task running the operator (shared by the operators chained in it):
  std::atomic<uint64_t> batches_in{0};        ///< batches taken from input channels
  std::atomic<uint64_t> batches_out{0};       ///< batches sent to output channels
  std::atomic<uint64_t> input_held{0};        ///< input elements held back (alignment)
  std::atomic<uint64_t> input_withheld{0};    ///< credits held back from upstream
  std::atomic<uint64_t> credits_in_use{0};    ///< batches sent, not yet processed downstream
  std::atomic<uint64_t> output_waiting{0};    ///< batches waiting for credit
  std::atomic<uint64_t> backpressured_ms{0};  ///< time backpressured, up to the last change
  /// Wall clock (ms) since when the output is backpressured; 0: it is not.
  /// Readers add the time since, so the figure grows while a task is stuck.
  std::atomic<int64_t> backpressured_since_ms{0};
  /// Event time (ms) the operator has reached; INT64_MIN: none yet.
  std::atomic<int64_t> watermark_ms{INT64_MIN};
  /// Sources: how much of the input is read (source_base::progress).
  bool is_source = false;
  std::atomic<uint64_t> input_done{0};
  std::atomic<uint64_t> input_total{0};
  /// Sinks: delay of the latency markers from their sources.
  latency_histogram latency;
};

enum class job_state : int { running, restarting, finished, failed, cancelled };
const char* to_string(job_state s) noexcept;

/// One checkpoint or savepoint in a job's history.
struct checkpoint_info {
  uint64_t id = 0;
  bool savepoint = false;
  std::string status;        ///< "in_progress", "completed", "aborted"
  int64_t trigger_ms = 0;    ///< wall clock
  int64_t duration_ms = -1;  ///< -1 while in progress
  uint64_t size_bytes = 0;
  int64_t max_sync_ms = 0;
  int64_t max_alignment_ms = 0;  ///< longest barrier alignment of a task
  std::string failure;
};

/// A failure of the job, recovered from or not.
struct failure_info {
  int64_t time_ms = 0;        ///< wall clock
  std::string operator_name;  ///< Empty when not one operator's.
  int64_t instance = -1;      ///< -1 when not one instance's.
  std::string cause;
  std::string kind;  ///< The cause's class: an errc name ("operator_failed", "node_lost", ...).
  bool restarted = false;  ///< The job restarted after it (else it failed).
  /// How it was recovered from: "local" (the instance alone), "global" (the
  /// whole job); empty when the job failed.
  std::string recovery;
};

/// The snapshot size of one task (a chain of operators) in the latest
/// checkpoint it acknowledged.
struct task_state_size {
  std::string task;  ///< vertex name ("a -> b" for a chain)
  uint32_t instance = 0;
  uint64_t bytes = 0;
  uint64_t checkpoint = 0;
};

/// The job's logical graph, as the dashboard draws it.
struct graph_vertex {
  uint32_t id = 0;
  std::string name, uid, kind;  ///< kind: "source", "operator" or "sink"
  uint32_t parallelism = 0;
};
struct graph_edge {
  uint32_t from = 0, to = 0;
  std::string partitioning;
};

/// What a user asked of a running job (HTTP endpoints, signals).
enum class job_request : int { none, savepoint, stop_with_savepoint, cancel };

/// One job's figures, as last published by its supervisor (each tick), and
/// the requests users make of it.
struct live_job {
  std::string job;
  int64_t started_ms = 0;  ///< wall clock at the start of the run
  std::atomic<int> state{static_cast<int>(job_state::running)};
  std::atomic<uint32_t> parallelism{0};  ///< the job's default parallelism
  std::atomic<uint64_t> last_savepoint{0};
  /// The job has a state directory, so it can take savepoints.
  std::atomic<bool> can_savepoint{false};
  /// Set by `request`, taken by the supervisor at its next tick.
  std::atomic<int> pending_request{0};
  /// With a stop-with-savepoint: run the job again at this parallelism from
  /// the savepoint (0: just stop).
  std::atomic<uint32_t> rescale_to{0};
  /// Asks the supervisor for `r` (the newest request wins).
  void request(job_request r) noexcept { pending_request.store(static_cast<int>(r)); }
  job_request take_request() noexcept {
    return static_cast<job_request>(pending_request.exchange(0));
  }

  /// Published under `mtx` (rarely: on changes).
  mutable std::mutex mtx;
  std::vector<checkpoint_info> checkpoints;  ///< oldest first
  std::vector<failure_info> failure_log;     ///< oldest first, the last 100
  std::vector<graph_vertex> vertices;
  std::vector<graph_edge> edges;
  std::vector<task_state_size> state_sizes;  ///< by vertex and instance
  /// Restarts over the run by the kind of failure that caused them.
  std::vector<std::pair<std::string, uint64_t>> restarts_by_cause;
  std::atomic<uint64_t> checkpoints_completed{0};
  std::atomic<uint64_t> checkpoints_aborted{0};
  std::atomic<uint64_t> last_checkpoint{0};  ///< id of the latest completed one, 0: none
  std::atomic<uint64_t> restarts{0};
  std::atomic<uint64_t> local_restarts{0};  ///< of `restarts`, one instance alone
  std::atomic<uint64_t> failures{0};        ///< failures seen, also those recovered from
};

struct job_sample {
  std::string job;
  int64_t started_ms = 0;
  job_state state = job_state::running;
  uint32_t parallelism = 0;
  uint64_t last_savepoint = 0;
  int64_t last_checkpoint_duration_ms = -1;  ///< of the latest completed one; -1: none
  uint64_t last_checkpoint_size_bytes = 0;
  int64_t last_checkpoint_alignment_ms = 0;  ///< longest barrier alignment of a task in it
  std::vector<task_state_size> state_sizes;
  /// Failures by operator ("" for those of no one operator: a lost node, a
  /// checkpoint that could not be committed), from the failure log.
  std::vector<std::pair<std::string, uint64_t>> failures_by_operator;
  std::vector<std::pair<std::string, uint64_t>> restarts_by_cause;  ///< over the run
  uint64_t checkpoints_completed = 0, checkpoints_aborted = 0, last_checkpoint = 0, restarts = 0,
           failures = 0, local_restarts = 0;
};

/// A copy of one entry, for rendering.
struct operator_sample {
  std::string job, name, uid;
  uint32_t instance = 0, parallelism = 0;
  uint64_t records_in = 0, records_out = 0, dead_letters = 0, unconsumed = 0,
           backpressure_events = 0, late_records = 0, bytes_in = 0, bytes_out = 0;
  int64_t state_entries = -1;  ///< at the last snapshot; -1: none yet
  uint64_t batches_in = 0, batches_out = 0, input_held = 0, input_withheld = 0, credits_in_use = 0,
           output_waiting = 0, backpressured_ms = 0;
  int64_t watermark_ms = INT64_MIN;
  bool is_source = false;
  uint64_t input_done = 0, input_total = 0;
  latency_histogram::snapshot latency;  ///< count 0: no marker reached it
};

class metrics_registry {
public:
  /// The registry of this process.
  static metrics_registry& process();

  /// A new entry, listed while the returned pointer lives.
  std::shared_ptr<live_operator> add(std::string job, std::string name, std::string uid,
                                     uint32_t instance, uint32_t parallelism,
                                     bool is_source = false);

  /// A new job entry (its supervisor's), listed while the pointer lives.
  std::shared_ptr<live_job> add_job(std::string job, int64_t started_ms);

  /// The live entry of instance `instance` of the operator with `uid` in
  /// `job`, if its task runs in this process.
  std::shared_ptr<live_operator> find(const std::string& job, const std::string& uid,
                                      uint32_t instance) const;
  /// Every live entry, by job, operator and instance.
  std::vector<operator_sample> sample() const;
  /// The live entries of `job`, oldest first (holding one keeps it readable
  /// after its task ended).
  std::vector<std::shared_ptr<live_operator>> entries_of(const std::string& job) const;
  /// Every live job entry, by name.
  std::vector<job_sample> jobs() const;
  /// The live job entries themselves (to read their history or make requests).
  std::vector<std::shared_ptr<live_job>> job_entries() const;

  /// A node of the cluster as this process sees it (`/api/nodes`).
  struct node_info {
    std::string name, host;
    uint32_t port = 0;
    bool self = false;
    std::string state;                   ///< "alive", "dead", "unknown"
    int64_t last_heartbeat_ms_ago = -1;  ///< -1: self or never heard
  };
  /// Who reports the cluster's nodes (a cluster node sets it while it runs;
  /// unset: this process is the only node, "local").
  void set_nodes_source(std::function<std::vector<node_info>()> f);
  std::vector<node_info> nodes() const;

  static std::string checkpoints_json(const live_job& j);
  static std::string failures_json(const live_job& j);
  static std::string graph_json(const live_job& j);
  static std::string nodes_json(const std::vector<node_info>& nodes);

  /// Prometheus text exposition format (version 0.0.4) of the samples, with
  /// `now_ms` (wall clock) for the watermark lag and the uptime.
  /// `nodes` (this node's view of the cluster) adds each peer's heartbeat
  /// state: `sluice_node_peer_up` and `sluice_node_peer_heartbeat_age_seconds`.
  static std::string prometheus(const std::vector<operator_sample>& s,
                                const std::vector<job_sample>& jobs, int64_t now_ms,
                                const std::vector<node_info>& nodes = {});
  /// The operators as a JSON object: {"operators": [...]}.
  static std::string json(const std::vector<operator_sample>& s, int64_t now_ms);
  /// The jobs as a JSON object: {"jobs": [...]}.
  static std::string jobs_json(const std::vector<job_sample>& jobs, int64_t now_ms);

private:
  mutable std::mutex mtx_;
  mutable std::vector<std::weak_ptr<live_operator>> entries_;
  mutable std::vector<std::weak_ptr<live_job>> jobs_;
  std::function<std::vector<node_info>()> nodes_source_;
};

}  // namespace sluice::actors
