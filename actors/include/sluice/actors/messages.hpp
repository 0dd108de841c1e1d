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

/// Result of a job run, as the supervisor reports it.
struct job_report {
  bool ok = false;
  std::string error;  ///< Empty when ok.
  std::vector<operator_metrics> metrics;
  uint64_t dead_letters = 0;
  std::string dead_letter_path;       ///< Where unconsumed dead letters went, if any.
  uint32_t restarts = 0;              ///< Times the job was restarted after a failure.
  std::vector<std::string> failures;  ///< Every failure, in order (also those recovered from).
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
