#pragma once

#include <caf/fwd.hpp>

#include <caf/actor.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "sluice/actors/config.hpp"
#include "sluice/actors/instance_recovery.hpp"
#include "sluice/actors/job_graph.hpp"
#include "sluice/operator.hpp"
#include "sluice/state/snapshot_store.hpp"

namespace sluice::actors {

/// Where one output gate of a task sends: the partitioner of the edge for
/// this instance, and per target the receiving task and its channel index.
struct gate_spec {
  uint32_t edge = 0;
  std::unique_ptr<partitioner_base> partitioner;
  std::vector<caf::actor> dest;
  std::vector<uint32_t> dest_channel;
};

/// Everything a task needs to run one instance of a vertex.
struct task_spec {
  std::shared_ptr<const job_graph> graph;
  uint32_t vertex = 0;
  uint32_t instance = 0;
  runtime_config cfg;
  caf::actor supervisor;
  std::vector<gate_spec> gates;       ///< Parallel to graph->gates_of(vertex).
  std::vector<input_channel> inputs;  ///< Channel index = position.
  /// Durable state; null when the job has no state directory.
  std::shared_ptr<state::snapshot_store> store;
  /// Where snapshots are sent to be written (off the task's thread).
  caf::actor writer;
  /// Checkpoint to restore the operators from before the first record.
  std::optional<state::checkpoint_meta> restore;
  /// Local recovery (`--recovery local`): what outlives this instance's
  /// task; null without local recovery.
  std::shared_ptr<instance_recovery> recovery;
  /// This task replaces a failed one: it adopts `recovery`'s output side and
  /// replays its determinants with its output muted, then goes on live.
  bool replaces = false;
};

/// Spawns the task actor for one vertex instance. The task opens its
/// operators (and restores them from `restore`) when it receives
/// `start_atom`, runs until all inputs ended (or its source is exhausted) and
/// everything it emitted was sent, then reports `done_atom` with its metrics
/// and stays until the supervisor sends `stop_atom` (a finished task still
/// takes part in checkpoints with its final state). An operator exception
/// makes it report `failed_atom` with a `task_failure` and quit.
///
/// Time: the task reads processing time from `spec.cfg.clock` (the wall
/// clock when null) for flush intervals, rate limits, source idleness and
/// processing-time timers; CAF's delayed messages only wake it up to look.
///
/// Checkpoints: a source task snapshots on `checkpoint_atom` and sends the
/// barrier downstream; other tasks align the barrier over their inputs
/// (holding back channels that delivered it), snapshot, forward it and hand
/// the serialised state to `writer`, which acknowledges to the supervisor.
caf::actor spawn_task(caf::actor_system& sys, task_spec spec);

}  // namespace sluice::actors
