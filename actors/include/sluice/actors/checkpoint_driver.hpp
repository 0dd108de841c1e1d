#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "sluice/actors/checkpoint_coordinator.hpp"
#include "sluice/actors/config.hpp"
#include "sluice/result.hpp"
#include "sluice/state/snapshot_store.hpp"
#include "sluice/time.hpp"

namespace sluice::actors {

/// The checkpoints of one job run, on the supervisor's behalf: when one is
/// due (interval, a user's savepoint request, stop-with-savepoint, the final
/// checkpoint of a finished job), trigger and acknowledgement accounting
/// (through `checkpoint_coordinator`), the commit of a completed checkpoint's
/// metadata in the snapshot store, retention, and which completion ends the
/// job. Checkpoint ids never repeat, not even across process restarts (the
/// next id is recorded in the store before it is used).
///
/// CAF-free and clock-free: the supervisor calls it from its own thread with
/// the current time and sends the messages it asks for (trigger at sources,
/// complete at every task). Lifecycle: one per job run; `begin_attempt` for
/// every (re)deployment with the tasks that must acknowledge.
class checkpoint_driver {
public:
  /// Every task must acknowledge checkpoint `id`; sources and finished tasks
  /// get the trigger.
  struct trigger {
    uint64_t id = 0;
    bool savepoint = false;
    bool stop = false;  ///< The job stops once this savepoint completes.
  };

  /// A checkpoint was committed: tell every task (sinks publish).
  struct completion {
    uint64_t id = 0;
    bool savepoint = false;
    /// The stop savepoint or the final checkpoint: the job ends once every
    /// task confirmed that its sinks published it.
    bool ends_job = false;
  };

  /// One checkpoint as users see it in the history (newest last).
  struct record {
    enum class status { in_progress, completed, aborted };
    uint64_t id = 0;
    bool savepoint = false;
    status state = status::in_progress;
    int64_t trigger_ms = 0;        ///< On the driver's clock.
    int64_t duration_ms = -1;      ///< Trigger to completion or abort; -1 while in progress.
    uint64_t size_bytes = 0;       ///< Snapshot bytes acknowledged so far.
    int64_t max_sync_ms = 0;       ///< Longest a task was blocked taking its snapshot.
    int64_t max_alignment_ms = 0;  ///< Longest a task aligned its input's barriers.
    std::string failure;           ///< Why it was aborted.
  };
  /// Entries the history keeps.
  static constexpr size_t history_size = 100;

  /// `notes` collects what users should hear of (aborted checkpoints, ids
  /// that could not be recorded); `restored` is the checkpoint the run
  /// starts from, if any.
  checkpoint_driver(std::shared_ptr<state::snapshot_store> store, const runtime_config& cfg,
                    state::checkpoint_meta job, std::optional<uint64_t> restored, timestamp now);

  /// Periodic checkpoints are on (a state directory and an interval).
  bool periodic() const noexcept { return periodic_; }

  /// A new attempt with these tasks: checkpoints in flight are forgotten.
  void begin_attempt(std::vector<task_id> tasks, timestamp now);
  bool active() const noexcept { return coordinator_.has_value(); }

  /// Gives up on checkpoints in flight for longer than the timeout.
  void expire(timestamp now, std::vector<std::string>& notes);

  /// Called on every tick of a running attempt: what to trigger now.
  /// `savepoint_request`: 0 none, 1 savepoint, 2 savepoint and stop.
  std::optional<trigger> poll(timestamp now, int savepoint_request,
                              std::vector<std::string>& notes);

  /// Every task finished: the final checkpoint (a checkpoint, not a
  /// savepoint) that lets sinks publish the tail.
  trigger trigger_final(timestamp now, std::vector<std::string>& notes);

  /// A task acknowledged; a completion once every task did and the metadata
  /// is committed. A commit failure is an error naming the checkpoint.
  result<std::optional<completion>> acknowledge(uint64_t id, task_id task, ack_stats stats,
                                                timestamp now, std::vector<std::string>& notes);
  void decline(uint64_t id, task_id task, const std::string& why, timestamp now,
               std::vector<std::string>& notes);

  /// The final checkpoint was aborted (declined or expired) since the last
  /// call: why. Without it the sinks cannot publish their tail, so the run
  /// must not end as if it had; the supervisor treats it as a failure. An
  /// aborted stop-with-savepoint only becomes a note: the job goes on.
  std::optional<std::string> take_final_abort();
  void abort_all(const std::string& why, timestamp now);

  uint64_t completed() const noexcept { return completed_; }
  uint64_t aborted() const noexcept {
    return aborted_ + (coordinator_ ? coordinator_->counters().aborted : 0);
  }
  std::optional<uint64_t> last_completed() const noexcept { return last_; }
  std::optional<uint64_t> savepoint() const noexcept { return savepoint_; }
  int64_t max_sync_ms() const noexcept { return max_sync_ms_; }
  /// The last `history_size` checkpoints and savepoints, oldest first.
  const std::deque<record>& history() const noexcept { return history_; }
  /// Changes whenever the history does (for publishing it only then).
  uint64_t history_version() const noexcept { return history_version_; }
  /// The reason of the latest aborted checkpoint, or empty.
  const std::string& last_failure() const noexcept { return last_failure_; }

private:
  record* find(uint64_t id);
  void begin_record(uint64_t id, bool savepoint, timestamp now);
  void end_record(uint64_t id, record::status st, timestamp now, std::string failure);

  uint64_t start(uint64_t id, std::vector<std::string>& notes);
  void aborted(const checkpoint_aborted& a, std::vector<std::string>& notes);

  std::shared_ptr<state::snapshot_store> store_;
  checkpoint_settings settings_;
  state::checkpoint_meta job_;  ///< Job name and operator parallelism of every commit.
  bool periodic_ = false;
  std::optional<checkpoint_coordinator> coordinator_;
  uint64_t next_id_ = 1;
  std::set<uint64_t> savepoints_;  ///< User-triggered: kept by retain().
  std::optional<uint64_t> stop_id_;
  std::optional<uint64_t> final_id_;
  std::optional<std::string> final_abort_;
  timestamp savepoint_due_ = timestamp::max();
  uint64_t completed_ = 0;
  uint64_t aborted_ = 0;  ///< Of attempts that ended.
  std::optional<uint64_t> last_;
  std::optional<uint64_t> savepoint_;
  int64_t max_sync_ms_ = 0;
  std::deque<record> history_;
  uint64_t history_version_ = 0;
  std::string last_failure_;
};

}  // namespace sluice::actors
