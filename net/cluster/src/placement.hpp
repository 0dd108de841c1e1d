#pragma once
// Where the instances of a job run: pure logic, no threads, no network.

#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "sluice/actors/cluster_port.hpp"
#include "sluice/actors/job_graph.hpp"
#include "sluice/net/cluster_config.hpp"

namespace sluice::net {

/// What the coordinator knows of a node when it places a job.
struct node_availability {
  bool joined = false;                ///< Joined once (the coordinator itself always has).
  std::optional<actors::error> lost;  ///< Why it is lost, while it is.
};

/// Places every instance of `g` on the usable nodes: every node must have
/// joined; a lost node waits for its return, or with `cfg.failover` is left
/// out. Round-robin over the nodes an operator may use (its constraint, by
/// name or uid), instance by instance in vertex order, so the same plan and
/// nodes always give the same placement. `errc::nodes_unavailable` names the
/// missing nodes or the operator no node may run.
std::variant<actors::placement, actors::error> place_instances(
    const actors::job_graph& g, const cluster_config& cfg,
    const std::vector<node_availability>& nodes);

}  // namespace sluice::net
