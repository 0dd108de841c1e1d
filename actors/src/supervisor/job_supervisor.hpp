#pragma once
// The job supervisor actor (private to actors/): one class, its roles in
// separate files —
//   supervisor.cpp    behaviour, tick, the end of a run, notes
//   deployment.cpp    placing and spawning the tasks of an attempt
//   checkpoints.cpp   triggers and acknowledgements (the checkpoint_driver
//                     holds the CAF-free logic)
//   recovery.cpp      failures, restart decisions, redeployment
// Nothing here blocks the actor's thread: a remote deployment is a request
// whose answer arrives as a message.

#include <caf/all.hpp>

#include <chrono>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "sluice/actors/checkpoint_driver.hpp"
#include "sluice/actors/clock.hpp"
#include "sluice/actors/deploy.hpp"
#include "sluice/actors/instance_recovery.hpp"
#include "sluice/actors/logging.hpp"
#include "sluice/actors/messages.hpp"
#include "sluice/actors/metrics_registry.hpp"
#include "sluice/actors/recovery_watch.hpp"
#include "sluice/actors/restart_strategy.hpp"
#include "sluice/actors/supervisor.hpp"
#include "supervisor/dead_letter_file.hpp"

namespace sluice::actors {

class job_supervisor : public caf::event_based_actor {
public:
  job_supervisor(caf::actor_config& cfg, supervisor_args args)
      : caf::event_based_actor(cfg),
        args_(std::move(args)),
        cfg_(args_.cfg),
        clock_(clock_or_wall(args_.cfg.clock)),
        watch_(duration{cfg_.recovery_report_interval.count()},
               duration{cfg_.recovery_timeout.count()}),
        dead_(cfg_.dead_letter_path) {}

  /// Drops strong references to tasks and the writer (see task on_exit).
  void on_exit() override;

  caf::behavior make_behavior() override;

private:
  /// running: tasks run. finishing: all finished, the final checkpoint is
  /// in flight. restarting: old tasks are stopping. waiting: the job cannot
  /// be placed yet. deploying: the other nodes are spawning their tasks.
  enum class phase { running, finishing, restarting, waiting, deploying, done };

  /// The supervisor's heartbeat: recovery watch, waiting deployments,
  /// restart delays, checkpoint triggers and timeouts.
  void on_tick();
  std::chrono::milliseconds tick_interval() const;

  // -- deployment (deployment.cpp) -----------------------------------------

  void deploy(const std::optional<state::checkpoint_meta>& restore);

  /// Spawns this node's tasks (and proxies of the remote ones) and starts them.
  void spawn_local(const std::optional<state::checkpoint_meta>& restore);

  /// What every task of this node gets: the graph, the settings, this
  /// supervisor, the snapshot writer and store, the checkpoint to restore.
  deployment local_deployment(const std::optional<state::checkpoint_meta>& restore);

  // -- checkpoints (checkpoints.cpp) ---------------------------------------

  /// Sends the trigger to every source task and to every finished task.
  void trigger(uint64_t id);

  void on_ack(uint64_t id, task_id t, ack_stats stats);

  /// Every task finished. With checkpoints, one last checkpoint of the final
  /// state makes sinks commit what they staged since the previous one.
  void on_all_finished();

  /// An aborted final checkpoint fails the attempt: the sinks could not
  /// publish their tail (the restart strategy decides what follows).
  void check_final_abort();

  // -- failures and restarts (recovery.cpp) --------------------------------

  void on_down(const caf::down_msg& dm);

  /// A task failed: restart from the latest completed checkpoint if the
  /// restart strategy allows (and the failure is `retryable`), else fail the
  /// job with the cause.
  /// The operator instance a failure is about (for the log line).
  struct instance_ref {
    std::string operator_name;
    uint32_t instance = 0;
  };

  /// A failure of kind `code` (the cause's class, in metrics and the
  /// failure log) described by `why`.
  void on_failure(errc code, const std::string& why, bool retryable = true,
                  const std::optional<instance_ref>& about = std::nullopt);

  /// A recovery made no progress within the limit: the attempt failed; go
  /// on by the restart strategy without waiting for what never came.
  void on_stall(const std::string& why);

  /// Records a failure and asks the restart strategy. False when the job
  /// failed for good (it has been reported); true when a new attempt is due.
  bool restart_after(errc code, const std::string& why, bool retryable = true,
                     const std::optional<instance_ref>& about = std::nullopt);

  /// The new attempt starts once the restart delay has passed on the
  /// injected clock (checked every tick; at once without a delay).
  void redeploy_later();

  void redeploy();

  // -- local recovery (local_recovery.cpp) ---------------------------------

  /// Instance (v, i) failed (`down`: its actor is gone already): recover it
  /// alone if local recovery is configured and possible. True when it is
  /// being recovered so (or the restart strategy gave up: the job failed);
  /// false: recover globally (why is in `global_reason_`).
  bool try_local(errc code, const std::string& why, bool retryable,
                 const std::optional<instance_ref>& about, uint32_t v, uint32_t i, bool down);
  /// Why (v, i) cannot be recovered alone now; empty when it can.
  std::string local_refusal(uint32_t v, uint32_t i) const;
  /// The checkpoint a replacement restores: the last one completed in this
  /// attempt, else the one the attempt started from (0: none).
  uint64_t local_restore_id() const;
  /// The failed task is down: spawn its replacement, have its upstream
  /// instances resend and its downstream instances take its credits.
  void replace_instance();
  void on_caught_up(uint32_t v, uint32_t i, uint64_t determinants);
  void on_replayed(uint32_t v, uint32_t i, uint64_t batches, bool ok);

  // -- the end of a run (supervisor.cpp) -----------------------------------

  void fail_job(const std::string& why, const std::optional<instance_ref>& about = std::nullopt);

  /// The restart strategy refused another restart after `why`: the job
  /// fails, saying how many restarts it had and why no more.
  void give_up(const std::string& why, const std::string& strategy_reason,
               const std::optional<instance_ref>& about);

  /// Stops every task at once (a user's cancel): no savepoint, no final
  /// checkpoint; a later run with the state directory resumes from the last
  /// completed checkpoint.
  void cancel_job();

  /// Takes the requests of users (HTTP endpoints, signals): a cancel is acted
  /// on at once; returns the savepoint request for the checkpoint driver.
  int take_requests();

  /// Records a failure in the job's failure log (`/api/failures`).
  void record_failure(errc code, const std::optional<instance_ref>& about, const std::string& why,
                      bool restarted, bool local = false);
  void describe_graph();

  void finish_job();

  void report(bool ok, std::string error);

  void note(std::string s);

  void flush_notes();

  /// Through `args_.log` when set (as a warning from warn up), else the
  /// process's logger, about `about` when given.
  void log(log_level level, const std::string& s,
           const std::optional<instance_ref>& about = std::nullopt);

  supervisor_args args_;
  const runtime_config& cfg_;
  std::shared_ptr<const sluice::clock> clock_;
  recovery_watch watch_;
  dead_letter_file dead_;
  std::unique_ptr<restart_strategy> restart_;
  std::optional<checkpoint_driver> checkpoints_;
  std::vector<std::string> pending_notes_;  ///< From the checkpoint driver, not yet noted.
  caf::actor writer_;
  std::vector<std::vector<caf::actor>>
      actors_;                       ///< Every instance of the current attempt (task or proxy).
  std::set<caf::actor_addr> alive_;  ///< Those not seen down yet.
  placement where_;  ///< Cluster mode: node of every instance of the current attempt.
  std::optional<state::checkpoint_meta> waiting_restore_;  ///< What a waiting deployment restores.
  std::optional<state::checkpoint_meta>
      deploying_restore_;  ///< What the deployment in flight restores.
  std::set<std::pair<uint32_t, uint32_t>> finished_;
  std::set<std::pair<uint32_t, uint32_t>> failed_;
  std::set<caf::actor_addr> old_tasks_;  ///< Of the replaced attempt, until they are down.
  std::vector<operator_metrics> metrics_;
  job_report report_;
  /// This run's entry in the process's metrics_registry, published each tick.
  std::shared_ptr<live_job> live_;
  void publish_job_metrics() noexcept;
  uint64_t published_history_ = ~uint64_t{0};
  bool cancelled_ = false;
  size_t total_ = 0;
  phase phase_ = phase::running;
  uint32_t attempt_ = 0;
  bool restart_due_ = false;
  duration restart_delay_{0};
  std::optional<timestamp>
      restart_at_;  ///< When the next attempt may start (restarting, old tasks down).
  std::optional<uint64_t> ending_id_;
  std::set<std::pair<uint32_t, uint32_t>> committed_;

  // Local recovery.
  std::shared_ptr<recovery_budget> budget_;  ///< Null unless `--recovery local`.
  std::vector<std::vector<std::shared_ptr<instance_recovery>>> recovery_;
  std::optional<state::checkpoint_meta> attempt_restore_;  ///< What this attempt restored.
  std::optional<uint64_t> completed_in_attempt_;
  uint64_t last_triggered_ = 0;
  /// The instance being recovered alone (one at a time).
  struct local_recovery {
    uint32_t v = 0, i = 0;
    timestamp started;
    bool down = false;
    size_t record = 0;  ///< Index in report_.recoveries.
    uint64_t from = 0;
    uint64_t others_before = 0;  ///< Records the other instances had taken in.
  };
  /// Records taken in so far by every operator instance of this job in this
  /// process except those of (v, i).
  uint64_t records_of_others(uint32_t v, uint32_t i) const;
  std::optional<local_recovery> local_;
  /// Instances that failed while another recovered alone and that do not
  /// feed it: recovered alone after it, in order.
  struct queued_failure {
    uint32_t v = 0, i = 0;
    errc code = errc::operator_failed;
    std::string why;
    std::optional<instance_ref> about;
    bool down = false;
  };
  std::vector<queued_failure> queued_;
  /// Starts the next queued local recovery, if any.
  void next_queued();
  std::string global_reason_;  ///< Why the last failure was not recovered locally.
};

}  // namespace sluice::actors
