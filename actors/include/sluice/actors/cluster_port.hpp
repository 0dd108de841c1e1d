#pragma once

#include <caf/actor.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "sluice/actors/errc.hpp"
#include "sluice/actors/job_graph.hpp"

namespace sluice::actors {

/// Node index of every task instance of one attempt: `placement[v][i]`.
using placement = std::vector<std::vector<uint16_t>>;

/// What the supervisor needs from a cluster runtime (implemented in `net/`)
/// to run a job over several nodes. The supervisor runs on the coordinating
/// node; without a cluster port everything is local (the embedded mode).
///
/// Remote tasks are represented by proxy actors: a message sent to a proxy
/// reaches the task on its node, in order with everything else sent to it,
/// and what remote tasks send to the supervisor arrives as the same
/// messages a local task sends. So tasks and the supervisor never know where
/// their peers run.
class cluster_port {
public:
  virtual ~cluster_port() = default;

  /// This node's index.
  virtual uint16_t local_node() const = 0;
  virtual std::string node_name(uint16_t node) const = 0;

  /// Places every instance on the nodes usable now, or says why the job
  /// cannot be placed yet (`errc::nodes_unavailable`: waiting for a node to
  /// join or come back; `errc::deploy_failed`: a constraint no node meets).
  virtual std::variant<placement, error> place(const job_graph& g) = 0;

  /// Makes every other node spawn its tasks of `attempt` (restored from
  /// checkpoint `restore`) and returns at once, never blocking the caller's
  /// thread. The answer comes later as a message to `reply_to`:
  /// `(deployed_atom, attempt)` once every node spawned its tasks, or
  /// `(deployed_atom, attempt, error)` naming the node that did not.
  virtual void deploy(uint32_t attempt, const placement& where, std::optional<uint64_t> restore,
                      caf::actor reply_to) = 0;

  /// The proxy of task (vertex, instance) of `attempt` on remote `node`. It
  /// quits (so a monitor sees it down) when that node is lost.
  virtual caf::actor proxy(uint32_t attempt, uint16_t node, uint32_t vertex, uint32_t instance) = 0;

  /// Why `node` was lost, if it was: `errc::node_lost` (no heartbeat,
  /// connection closed, restarted) or `errc::link_broken`, with a detail.
  virtual std::optional<error> lost(uint16_t node) const = 0;

  /// A local task of `attempt`: remote peers can now address it, and what it
  /// sends to proxies is attributed to it.
  virtual void register_local(uint32_t attempt, uint32_t vertex, uint32_t instance,
                              const caf::actor& task) = 0;

  /// Stops the tasks of `attempt` on the other nodes (a failure, the end).
  /// Returns at once; it happens before any later `deploy`.
  virtual void cancel(uint32_t attempt, const std::string& reason) = 0;
};

}  // namespace sluice::actors
