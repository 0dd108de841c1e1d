#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "sluice/actors/clock.hpp"

namespace sluice::actors {

/// Checkpointing: how often and how patiently (see checkpoint_coordinator).
struct checkpoint_config {
  /// Time between periodic checkpoints; 0 disables checkpointing.
  std::chrono::milliseconds interval{0};
  /// A checkpoint not complete after this long is aborted (the job goes on).
  std::chrono::milliseconds timeout{60'000};
  /// Least time between the end of one checkpoint and the next.
  std::chrono::milliseconds min_pause{0};
  /// Completed checkpoints kept in the state directory (savepoints are kept).
  uint32_t retained = 3;
};

/// Settings of one run of a job on the embedded (single-process) runtime.
/// Every field can be set from the command line (see `add_runtime_options`).
struct runtime_config {
  /// CAF scheduler worker threads.
  uint32_t workers = std::max(2u, std::thread::hardware_concurrency());
  /// Parallelism of operators that set none.
  uint32_t parallelism = 1;
  /// An output buffer is sent when it holds this many records ...
  uint32_t batch_size = 1024;
  /// ... or when its first record has waited this long.
  std::chrono::milliseconds flush_interval{5};
  /// Batches a receiver lets each upstream channel have in flight.
  uint32_t credits = 8;
  /// Every source instance emits a latency marker this often (wall time);
  /// sinks keep the delay from source to sink as a histogram (Flink's
  /// latency tracking, docs/http-api.md). 0: no markers.
  std::chrono::milliseconds latency_interval{1000};
  /// Chain forward-connected operators of equal parallelism into one task
  /// (Flink's operator chaining: records pass between them without a
  /// message). Off by default, so every operator instance is its own actor
  /// with its own mailbox; turn on with `--chaining` for throughput.
  bool chaining = false;
  /// Where dead letters that the pipeline does not consume are appended
  /// (JSON lines). Only created when there are any.
  std::string dead_letter_path = "sluice-dead-letters.jsonl";
  /// Print the per-operator summary when the job ends.
  bool print_summary = true;
  /// Serve live metrics over HTTP (`sluice::run`, see sluice/run.hpp) on
  /// this port of `http_host` (0: an ephemeral port, printed at start);
  /// -1: no HTTP endpoint.
  int http_port = -1;
  std::string http_host = "127.0.0.1";
  /// File holding the bearer token that the state-changing HTTP endpoints
  /// (savepoint, cancel, rescale) require of an embedded job; a cluster uses
  /// its secret. Without either they are refused.
  std::string http_token_file;
  /// Give up (job fails) when the job has not ended after this long; 0 = never.
  std::chrono::milliseconds timeout{0};
  /// Processing time of the job: its tasks (flush intervals, rate limits,
  /// idleness, processing-time timers) and its supervisor (checkpoint
  /// intervals and timeouts, restart delays, recovery limits); null: the
  /// wall clock. Tests set a
  /// `test_clock` (clock.hpp) and advance it. Not a command-line option.
  std::shared_ptr<const actors::clock> clock;

  /// Directory of the job's durable state (LMDB snapshots). Empty: none, and
  /// then checkpointing is off. A job started again with the same directory
  /// resumes from its latest completed checkpoint unless its previous run
  /// finished.
  std::string state_dir;
  checkpoint_config checkpoints;
  /// Restart strategy: "none", "fixed-delay:attempts=3,delay=1s",
  /// "exponential:initial=100ms,max=10s,multiplier=2,reset=60s",
  /// "failure-rate:max=3,interval=1m,delay=1s".
  std::string restart = "none";
  /// How a failed operator instance is recovered: "global" restarts every
  /// task from the last completed checkpoint (Flink's default); "local"
  /// restarts the failed instance alone, replaying its input from the
  /// in-flight logs of its upstream instances and its own determinants, and
  /// falls back to global where that cannot be done exactly (and says why).
  std::string recovery = "global";
  /// Memory the in-flight and determinant logs of one process may hold with
  /// local recovery; a log beyond it stops recording until the next
  /// checkpoint completes (a failure meanwhile restarts globally).
  uint64_t inflight_log_bytes = 64ull << 20;
  /// A recovery (stopping the old tasks, waiting for nodes, deploying) that
  /// makes no progress for this long fails the attempt, which then goes on
  /// by the restart strategy; 0 = wait forever.
  std::chrono::milliseconds recovery_timeout{60'000};
  /// While a recovery waits, what it waits for is logged this often.
  std::chrono::milliseconds recovery_report_interval{5'000};
  /// Start from this checkpoint or savepoint of the state directory.
  std::optional<uint64_t> restore_from;
  /// Run from the beginning even though the state directory records that
  /// the job finished (without it such a run says so and exits, leaving the
  /// output alone). Refused while an exactly-once output directory of the
  /// job or the dead-letter file is not empty.
  bool fresh = false;
  /// Fault-injection rules (see fault_injector); SLUICE_FAULTS overrides.
  std::string faults;
  /// Take a savepoint this long after the start, then stop the job (0 = no).
  std::chrono::milliseconds stop_with_savepoint_after{0};

  /// Log lines (see sluice/actors/logging.hpp): the least level shown,
  /// trace|debug|info|warn|error|off, and the format, text|json (one JSON
  /// object per line). Empty: the cluster file's `log_level` / `log_format`,
  /// else info and text.
  std::string log_level;
  std::string log_format;

  /// The TCP line source's server (`read_tcp_lines`, docs/tcp-ingestion.md):
  /// the address it listens on (loopback: only this host can send; 0.0.0.0
  /// or a host's address for senders elsewhere), its connection limits
  /// (over all clients, per client address) and the idle timeout after
  /// which a silent connection is closed (0: never).
  std::string tcp_host = "127.0.0.1";
  uint32_t tcp_max_connections = 256;
  uint32_t tcp_max_connections_per_address = 16;
  std::chrono::milliseconds tcp_idle_timeout{60'000};

  /// Cluster mode: the cluster's TOML file and this node's name in it
  /// (`--cluster FILE --node NAME`); empty runs embedded in one process.
  std::string cluster_file;
  std::string node;
};

}  // namespace sluice::actors
