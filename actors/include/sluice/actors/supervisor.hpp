#pragma once

#include <caf/fwd.hpp>

#include <caf/actor.hpp>

#include <memory>

#include "sluice/actors/config.hpp"
#include "sluice/actors/job_graph.hpp"

namespace sluice::actors {

/// Spawns the node supervisor for one run of a job graph on this node.
///
/// The supervisor spawns one task per vertex instance (downstream first, so
/// every task knows the actors it sends to), monitors them, and starts them.
/// It collects each task's metrics when the task finishes, appends dead
/// letters that no stream consumes to `cfg.dead_letter_path`, and sends one
/// `job_report` to `reply_to` when every task finished or when the first task
/// failed. On failure it stops the remaining tasks; the report names the
/// operator, instance, position and cause. Restart strategies (issue
/// "checkpoints") hook in at that point: `on_failure` decides between
/// failing the job and redeploying.
caf::actor spawn_supervisor(caf::actor_system& sys, std::shared_ptr<const job_graph> graph, runtime_config cfg,
                            caf::actor reply_to);

}  // namespace sluice::actors
