#pragma once

#include <caf/all.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "sluice/actors/errc.hpp"
#include "sluice/actors/operator_metrics.hpp"
#include "sluice/dead_letter.hpp"
#include "sluice/record.hpp"
#include "sluice/state/snapshot_store.hpp"

namespace sluice::actors {

// Data path between tasks. A channel is identified by the receiver's input
// channel index; FIFO per channel is what CAF guarantees between two actors.
using data_atom = caf::atom_constant<caf::atom("data")>;            ///< (channel, batch)
using watermark_atom = caf::atom_constant<caf::atom("watermark")>;  ///< (channel, ms, idle)
using eos_atom = caf::atom_constant<caf::atom("eos")>;              ///< (channel): end of stream
using credit_atom = caf::atom_constant<caf::atom("credit")>;  ///< (gate, target, n) back upstream
/// (channel, µs since the epoch): a latency marker a source emitted then.
using latency_atom = caf::atom_constant<caf::atom("latency")>;

// Task lifecycle and self-scheduling.
using start_atom = caf::atom_constant<caf::atom("start")>;
using poll_atom = caf::atom_constant<caf::atom("poll")>;
using flush_atom = caf::atom_constant<caf::atom("flush")>;
using timer_atom = caf::atom_constant<caf::atom("timer")>;

// Task -> supervisor reports.
using done_atom = caf::atom_constant<caf::atom("done")>;
using failed_atom = caf::atom_constant<caf::atom("failed")>;
/// (epoch, letters): dead letters no stream consumes; epoch is the checkpoint
/// the task last snapshotted (see supervisor/dead_letter_file.hpp).
using dead_atom = caf::atom_constant<caf::atom("deadltr")>;

// Checkpoints: supervisor -> tasks (trigger at sources and finished tasks,
// completion, stop), tasks -> tasks (barrier on a channel), snapshot writer ->
// supervisor (acknowledge), task -> supervisor (decline).
using checkpoint_atom = caf::atom_constant<caf::atom("chkpt")>;   ///< (id)
using barrier_atom = caf::atom_constant<caf::atom("barrier")>;    ///< (channel, id)
using complete_atom = caf::atom_constant<caf::atom("complete")>;  ///< (id)
/// (id, vertex, instance, entries, sync ms, alignment ms)
using write_atom = caf::atom_constant<caf::atom("write")>;
/// (id, vertex, instance, bytes, sync ms, async ms, alignment ms)
using ack_atom = caf::atom_constant<caf::atom("ack")>;
using decline_atom = caf::atom_constant<caf::atom("decline")>;  ///< (id, vertex, instance, reason)
using committed_atom =
    caf::atom_constant<caf::atom("committed")>;  ///< (id, vertex, instance): sinks published
using tick_atom = caf::atom_constant<caf::atom("tick")>;
/// Cluster port -> supervisor: (attempt) deployed everywhere, or (attempt, error).
using deployed_atom = caf::atom_constant<caf::atom("deployed")>;

// Local recovery (docs/architecture.md, "Local recovery"). Supervisor ->
// upstream task: (gate, target, new receiver, checkpoint) resend what the log
// holds after that checkpoint's barrier to the replacement. Supervisor ->
// downstream task: (channel, new sender) the channel's sender was replaced;
// the task answers the new sender (gate, target, credits returned in all).
// Supervisor -> every task: (checkpoint) checkpoints up to it are aborted.
// Replacement -> supervisor: (vertex, instance, determinants replayed) it
// caught up. Upstream -> supervisor: (vertex, instance, batches resent, ok).
using replay_atom = caf::atom_constant<caf::atom("replay")>;
using upstream_atom = caf::atom_constant<caf::atom("upstream")>;
using credit_sync_atom = caf::atom_constant<caf::atom("csync")>;
using abort_atom = caf::atom_constant<caf::atom("abortcp")>;
using caught_up_atom = caf::atom_constant<caf::atom("caughtup")>;
using replayed_atom = caf::atom_constant<caf::atom("replayed")>;

// Job runner -> supervisor: stop the job now (timeout, user request).
using stop_atom = caf::atom_constant<caf::atom("stop")>;

// Supervisor -> job runner.
using job_done_atom = caf::atom_constant<caf::atom("jobdone")>;

/// Why a task failed: which operator, which instance, where, what kind of
/// failure and the cause.
struct task_failure {
  std::string operator_name;
  uint32_t instance = 0;
  std::string position;
  std::string cause;
  errc code = errc::operator_failed;
  std::string describe() const;
};

/// How one failure was recovered from.
struct recovery_record {
  std::string instance;  ///< "operator#i" of the failed instance.
  std::string mode;      ///< "local" or "global".
  std::string reason;    ///< Why global, when it is (empty for local).
  /// Checkpoint the failed instance (local) or the job (global) restored.
  uint64_t restored_from = 0;
  uint64_t batches_replayed = 0;       ///< Batches upstream instances resent (local).
  uint64_t determinants_replayed = 0;  ///< Of the failed instance (local).
  int64_t duration_ms =
      -1;  ///< From the failure until the instance caught up (local); -1: not yet.
  /// Records the other operator instances of this process took in while the
  /// failed one recovered (local): the job kept running.
  uint64_t others_records = 0;
  std::string describe() const;
};

/// Result of a job run, as the supervisor reports it.
struct job_report {
  bool ok = false;
  std::string error;  ///< Empty when ok.
  std::vector<operator_metrics> metrics;
  uint64_t dead_letters = 0;
  std::string dead_letter_path;       ///< Where unconsumed dead letters went, if any.
  uint32_t restarts = 0;              ///< Times the job was restarted after a failure.
  std::vector<std::string> failures;  ///< Every failure, in order (also those recovered from).
  /// How each failure was recovered from, in order (local or global).
  std::vector<recovery_record> recoveries;
  uint32_t local_restarts = 0;  ///< Of `restarts`, those of one instance alone.
  /// Local recovery: most memory its logs held at once, and how often a log
  /// ran out of it (`--inflight-log-mb`).
  uint64_t recovery_log_peak_bytes = 0;
  uint64_t recovery_log_refusals = 0;
  uint64_t recovery_log_spill_peak_bytes = 0;  ///< Most bytes spilled to LMDB at once.
  uint64_t checkpoints_completed = 0;
  uint64_t checkpoints_aborted = 0;
  std::optional<uint64_t> last_checkpoint;  ///< Latest completed checkpoint or savepoint.
  std::optional<uint64_t> restored_from;    ///< Checkpoint the last attempt started from.
  std::optional<uint64_t> savepoint;        ///< Savepoint taken by stop-with-savepoint.
  bool cancelled = false;                   ///< A user cancelled the job (ok is false).
  /// The state directory records that the job finished: nothing ran (ok is
  /// true, the output was left alone); `--fresh` runs it again.
  bool already_finished = false;
  /// A user asked to rescale: run the job again at this parallelism from
  /// `savepoint` (the stop-with-savepoint that ended this run).
  std::optional<uint32_t> rescale_to;
  int64_t max_sync_ms = 0;         ///< Longest a task was blocked taking a snapshot.
  std::vector<std::string> notes;  ///< Noteworthy events (aborted checkpoints, skipped snapshots).
};

}  // namespace sluice::actors

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(sluice::batch_ptr)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(sluice::actors::operator_metrics)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::vector<sluice::actors::operator_metrics>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(sluice::actors::task_failure)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(sluice::actors::error)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(sluice::actors::job_report)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::vector<sluice::dead_letter>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::vector<sluice::state::snapshot_store::entry>)
