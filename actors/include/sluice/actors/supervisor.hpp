#pragma once

#include <caf/fwd.hpp>

#include <caf/actor.hpp>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "sluice/actors/cluster_port.hpp"
#include "sluice/actors/config.hpp"
#include "sluice/actors/job_graph.hpp"
#include "sluice/state/snapshot_store.hpp"

namespace sluice::actors {

/// Spawns the job supervisor for one run of a job graph on this node.
///
/// The supervisor spawns one task per vertex instance (downstream first, so
/// every task knows the actors it sends to), monitors them, and starts them.
/// It collects each task's metrics when the task finishes, appends dead
/// letters that no stream consumes to `cfg.dead_letter_path`, and sends one
/// `job_report` to `reply_to` when every task finished or when the first task
/// failed for good. It also coordinates checkpoints (triggers at the
/// sources, acknowledgements, commit in the snapshot store, completion to
/// the sinks) and, on a failure the restart strategy allows, kills every task
/// and redeploys the job restored from the latest valid checkpoint. The
/// report names the operator, instance, position and cause of a failure.
/// It never blocks its thread: remote deployments answer with messages, and
/// a recovery that waits (for old tasks to stop, for nodes, for a
/// deployment) logs what it waits for every `recovery_report_interval` and
/// fails the attempt after `recovery_timeout` without progress.
///
/// What the supervisor of one job run needs.
struct supervisor_args {
  std::shared_ptr<const job_graph> graph;
  runtime_config cfg;
  caf::actor reply_to;
  /// Durable state (null without a state directory).
  std::shared_ptr<state::snapshot_store> store;
  /// Checkpoint the first attempt starts from, if any.
  std::optional<state::checkpoint_meta> restore;
  /// Things the job runner noticed before the start (skipped checkpoints).
  std::vector<std::string> notes;
  /// Cluster mode: places instances over the nodes and reaches the remote
  /// ones (see cluster_port); null runs everything in this process.
  std::shared_ptr<cluster_port> cluster;
  /// Where notes and failures are logged as they happen, instead of the
  /// process's logger (logging.hpp: with the operator and instance a
  /// failure is about); they also go into the report.
  std::function<void(bool warning, const std::string&)> log;
};

caf::actor spawn_supervisor(caf::actor_system& sys, supervisor_args args);

/// Takes (and clears) a pending savepoint request: 0 none, 1 savepoint, 2
/// savepoint and stop. See `request_savepoint`.
int take_savepoint_request() noexcept;

}  // namespace sluice::actors
