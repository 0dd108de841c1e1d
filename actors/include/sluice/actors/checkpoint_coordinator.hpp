#pragma once

#include <algorithm>
#include <compare>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "sluice/state/checkpoint_id.hpp"
#include "sluice/time.hpp"

namespace sluice::actors {

/// Identity of one task: a vertex of the job graph and one of its parallel
/// instances. Printed as `vertex#instance` ("2#0").
struct task_id {
  uint32_t vertex = 0;
  uint32_t instance = 0;
  friend constexpr auto operator<=>(const task_id&, const task_id&) = default;
};

inline std::string to_string(task_id t) {
  return std::to_string(t.vertex) + "#" + std::to_string(t.instance);
}

/// How often and how patiently checkpoints are taken.
struct checkpoint_settings {
  /// A periodic checkpoint is due this long after the previous trigger.
  /// Zero disables periodic checkpoints (savepoints only).
  duration interval{10'000};
  /// A checkpoint not complete after this long is aborted by `expire`.
  duration timeout{600'000};
  /// Least time between the end (completion or abort) of one checkpoint and
  /// the next periodic trigger, so that the job makes progress in between.
  duration min_pause{0};
  /// Checkpoints (and savepoints) in flight at once; periodic triggers wait.
  uint32_t max_concurrent = 1;
  /// Completed checkpoints to keep; not used by the coordinator itself, kept
  /// here for the snapshot store that deletes older ones.
  uint32_t retained = 1;
};

/// What one task reports with its acknowledgement.
struct ack_stats {
  /// Bytes the task's snapshot wrote.
  uint64_t bytes = 0;
  /// Time the task was blocked taking the synchronous part of the snapshot.
  duration sync_ms{0};
  /// Time the asynchronous part (writing) took, off the data path.
  duration async_ms{0};
  /// Time from the first to the last barrier of the checkpoint at the task
  /// (barrier alignment; 0 for a task with one input).
  duration align_ms{0};
};

/// Why a checkpoint was given up.
enum class abort_reason {
  declined,  ///< A task declined it (snapshot failed, alignment aborted, not running).
  expired,   ///< Not complete within the timeout.
  subsumed,  ///< A newer checkpoint completed first.
  failure,   ///< The job failed or is restarting (`abort_all`).
};

inline const char* to_string(abort_reason r) {
  switch (r) {
    case abort_reason::declined:
      return "declined";
    case abort_reason::expired:
      return "expired";
    case abort_reason::subsumed:
      return "subsumed";
    case abort_reason::failure:
      return "failure";
  }
  return "?";
}

/// Why an acknowledgement or decline changed nothing.
enum class ignore_reason {
  unknown_checkpoint,  ///< Never triggered by this coordinator, or too old to be tracked.
  unknown_task,        ///< The task is not one that must acknowledge.
  duplicate,           ///< The task already acknowledged this pending checkpoint.
  completed,           ///< The checkpoint already completed.
  aborted,             ///< The checkpoint was already aborted.
};

inline const char* to_string(ignore_reason r) {
  switch (r) {
    case ignore_reason::unknown_checkpoint:
      return "unknown checkpoint";
    case ignore_reason::unknown_task:
      return "unknown task";
    case ignore_reason::duplicate:
      return "task already acknowledged it";
    case ignore_reason::completed:
      return "checkpoint already completed";
    case ignore_reason::aborted:
      return "checkpoint already aborted";
  }
  return "?";
}

/// A checkpoint that was given up. `message` is for logs and users.
struct checkpoint_aborted {
  checkpoint_id id;
  bool savepoint = false;
  abort_reason reason = abort_reason::declined;
  std::string message;
};

/// The acknowledgement was recorded; `remaining` tasks have yet to acknowledge.
struct checkpoint_pending {
  checkpoint_id id;
  size_t remaining = 0;
};

/// The last task acknowledged: the checkpoint is complete and its metadata
/// can be committed; sinks then commit what they staged for it.
struct checkpoint_completed {
  checkpoint_id id;
  bool savepoint = false;
  /// The final checkpoint of a finished job (`trigger_final`).
  bool final = false;
  /// From trigger to the last acknowledgement.
  duration elapsed{0};
  /// Sum of the tasks' snapshot sizes.
  uint64_t bytes = 0;
  /// Longest time one task was blocked by its synchronous snapshot part.
  duration max_sync{0};
  /// Older pending checkpoints this completion aborted.
  std::vector<checkpoint_aborted> subsumed;
};

/// An acknowledgement or decline that changed nothing.
struct checkpoint_ignored {
  checkpoint_id id;
  task_id task;
  ignore_reason reason = ignore_reason::unknown_checkpoint;

  std::string message() const {
    return "message about checkpoint " + std::to_string(id.value) + " from task " +
           to_string(task) + " ignored: " + to_string(reason);
  }
};

using ack_outcome = std::variant<checkpoint_pending, checkpoint_completed, checkpoint_ignored>;
using decline_outcome = std::variant<checkpoint_aborted, checkpoint_ignored>;

/// Running totals, for metrics.
struct checkpoint_counters {
  uint64_t triggered = 0;
  uint64_t completed = 0;
  uint64_t aborted = 0;
  std::optional<checkpoint_id> last_completed;
  duration last_duration{0};
  uint64_t last_bytes = 0;
  /// Longest time any task was blocked by a synchronous snapshot part.
  duration max_sync{0};
};

/// Trigger and acknowledgement accounting of checkpoints (DESIGN.md
/// "Checkpoints, snapshots and recovery"), as a state machine with no actors,
/// threads or clocks of its own.
///
/// Lifecycle: built when a job (or a recovered attempt of it) starts, with the
/// tasks that must acknowledge every checkpoint and the first id to use (one
/// past the restored checkpoint). The owner then calls `poll` on a timer
/// (`next_trigger` and `next_expiry` say when) to learn when a checkpoint is
/// due and sends its barrier to the sources, `trigger_savepoint` on a user's
/// request, `acknowledge`/`decline` as tasks report, and `expire` to give up
/// on slow checkpoints. A restarted job gets a new coordinator.
///
/// Guarantees: a checkpoint completes exactly once, only when every task
/// acknowledged it; completed ids are strictly increasing (completing `n`
/// aborts the pending ones older than `n`, savepoints included).
///
/// Called by the job coordinator (supervisor) actor only; every call that can
/// change the state takes the current time from that actor's injected clock.
class checkpoint_coordinator {
public:
  /// Throws `std::invalid_argument` for an empty task set, `max_concurrent`
  /// of zero, a non-positive timeout or a negative interval or pause. The
  /// first periodic checkpoint is due one interval after `start`.
  checkpoint_coordinator(checkpoint_settings s, std::vector<task_id> tasks, checkpoint_id first,
                         timestamp start);

  /// Returns the id of a new periodic checkpoint when one is due: an interval
  /// after the previous trigger, `min_pause` after the end of the previous
  /// checkpoint, and fewer than `max_concurrent` in flight.
  std::optional<checkpoint_id> poll(timestamp now);

  /// Starts a savepoint now, whatever the schedule and the number in flight.
  checkpoint_id trigger_savepoint(timestamp now) { return start(now, true); }

  /// Starts the final checkpoint of a job whose tasks all finished, now,
  /// whatever the schedule: a checkpoint (not a savepoint) that lets sinks
  /// publish what they staged since the previous one.
  checkpoint_id trigger_final(timestamp now) { return start(now, false, true); }

  /// Task `task` snapshotted checkpoint `id`. Completes the checkpoint when
  /// it was the last task; a duplicate never completes one twice.
  ack_outcome acknowledge(checkpoint_id id, task_id task, ack_stats stats, timestamp now);

  /// Task `task` could not take checkpoint `id`: aborts it, with `reason`
  /// (the task's explanation) in the message.
  decline_outcome decline(checkpoint_id id, task_id task, std::string_view reason, timestamp now);

  /// Aborts the pending checkpoints whose timeout has passed at `now`.
  std::vector<checkpoint_aborted> expire(timestamp now);

  /// Aborts every pending checkpoint (a task failed, the job restarts or stops).
  std::vector<checkpoint_aborted> abort_all(std::string_view reason, timestamp now);

  /// Earliest time `poll` can return a checkpoint (`timestamp::max()` when
  /// periodic checkpoints are off). It returns none before that, nor while
  /// `max_concurrent` are in flight.
  timestamp next_trigger() const noexcept { return next_due_; }

  /// When the oldest pending checkpoint expires, if any is pending.
  std::optional<timestamp> next_expiry() const;

  size_t pending() const noexcept { return pending_.size(); }
  bool is_pending(checkpoint_id id) const { return pending_.contains(id); }

  /// Tasks that have not acknowledged pending checkpoint `id` (empty if not pending).
  std::vector<task_id> waiting_for(checkpoint_id id) const;

  /// The id the next trigger will use.
  checkpoint_id next_id() const noexcept { return next_; }
  const checkpoint_settings& settings() const noexcept { return settings_; }
  const checkpoint_counters& counters() const noexcept { return counters_; }
  const std::set<task_id>& tasks() const noexcept { return tasks_; }

private:
  struct pending_checkpoint {
    bool savepoint = false;
    bool final = false;
    timestamp triggered;
    std::set<task_id> waiting;
    uint64_t bytes = 0;
    duration max_sync{0};
  };
  using pending_map = std::map<checkpoint_id, pending_checkpoint>;

  enum class finish { completed, aborted };
  /// Ended checkpoints remembered to classify late messages.
  static constexpr size_t history_limit = 1024;
  /// Tasks named in an expiry message; the rest are counted.
  static constexpr size_t listed_tasks = 10;

  static duration elapsed(timestamp from, timestamp to) { return duration{to.ms - from.ms}; }
  static std::string kind(const pending_checkpoint& p) {
    return p.savepoint ? "savepoint" : p.final ? "final checkpoint" : "checkpoint";
  }

  bool periodic() const noexcept { return settings_.interval.count() > 0; }

  checkpoint_id start(timestamp now, bool savepoint, bool final = false);

  void ended(checkpoint_id id, finish f, timestamp now);

  checkpoint_aborted abort(pending_map::iterator it, abort_reason r, std::string msg,
                           timestamp now);

  checkpoint_completed complete(pending_map::iterator it, timestamp now);

  static std::string kind_of(const checkpoint_completed& c) {
    return c.savepoint ? "savepoint" : c.final ? "final checkpoint" : "checkpoint";
  }

  ignore_reason not_pending(checkpoint_id id) const;

  static std::string waiting_list(const pending_checkpoint& p);

  checkpoint_settings settings_;
  std::set<task_id> tasks_;
  checkpoint_id first_;
  checkpoint_id next_;
  timestamp next_due_;
  pending_map pending_;
  std::map<checkpoint_id, finish> finished_;
  checkpoint_counters counters_;
};

}  // namespace sluice::actors
