#pragma once

#include <caf/fwd.hpp>

#include <caf/actor.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <vector>

#include "sluice/actors/cluster_port.hpp"
#include "sluice/actors/config.hpp"
#include "sluice/actors/instance_recovery.hpp"
#include "sluice/actors/job_graph.hpp"
#include "sluice/state/snapshot_store.hpp"

namespace sluice::actors {

/// One node's share of a job attempt: which instances run here and how the
/// others are reached.
struct deployment {
  std::shared_ptr<const job_graph> graph;
  runtime_config cfg;     ///< With the job's clock (`cfg.clock`), which every task gets.
  caf::actor supervisor;  ///< Where tasks report (the supervisor or its proxy on this node).
  caf::actor writer;      ///< Snapshot writer of this node (null without state).
  std::shared_ptr<state::snapshot_store> store;
  std::optional<state::checkpoint_meta> restore;
  /// Instances placed elsewhere; null = every instance is local.
  const placement* where = nullptr;
  uint16_t local_node = 0;
  /// The actor standing for a remote instance (its proxy).
  std::function<caf::actor(uint32_t vertex, uint32_t instance)> remote;
  /// Local recovery: every local instance gets an `instance_recovery` from
  /// this budget, stored here per vertex and instance (null: none).
  std::shared_ptr<recovery_budget> budget;
  std::vector<std::vector<std::shared_ptr<instance_recovery>>>* recovery = nullptr;
};

/// The spec of instance (v, i) whose downstream instances are `actors`
/// (without its recovery object and restore flags).
struct task_spec;
task_spec task_spec_for(const deployment& d, uint32_t v, uint32_t i,
                        const std::vector<std::vector<caf::actor>>& actors);

/// Spawns the local tasks of a deployment, downstream first (so that every
/// task knows the actors it sends to), and returns the actor of every
/// instance: the task when local, the proxy otherwise. Tasks are not started.
std::vector<std::vector<caf::actor>> spawn_tasks(caf::actor_system& sys, const deployment& d);

/// True when instance (v, i) runs on this node.
inline bool is_local(const deployment& d, uint32_t v, uint32_t i) {
  return !d.where || (*d.where)[v][i] == d.local_node;
}

}  // namespace sluice::actors
