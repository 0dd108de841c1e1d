#pragma once

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "sluice/net/errc.hpp"

namespace sluice::net {

/// A node asks the coordinator to join the cluster.
struct join_msg {
  std::string node;
  friend bool operator==(const join_msg&, const join_msg&) = default;
};

/// The coordinator's answer to a join: who coordinates.
struct joined_msg {
  std::string coordinator;
  friend bool operator==(const joined_msg&, const joined_msg&) = default;
};

/// Coordinator -> node: start attempt `attempt` of the job.
struct deploy_msg {
  uint32_t attempt = 0;
  uint64_t restore_from = 0;  ///< Checkpoint to restore; 0 = start without state.
  /// Node index (into cluster_config::nodes) of every vertex instance,
  /// flattened vertex-major: all instances of vertex 0, then of vertex 1, ...
  std::vector<uint16_t> placement;
  friend bool operator==(const deploy_msg&, const deploy_msg&) = default;
};

/// Node -> coordinator: attempt deployed, with this many local tasks.
struct deployed_msg {
  uint32_t attempt = 0;
  uint32_t tasks = 0;
  friend bool operator==(const deployed_msg&, const deployed_msg&) = default;
};

/// Coordinator -> node: stop the tasks of `attempt` (a failure elsewhere).
struct cancel_msg {
  uint32_t attempt = 0;
  std::string reason;
  friend bool operator==(const cancel_msg&, const cancel_msg&) = default;
};

/// Coordinator -> node: the job is over, exit — or, with `rescale_to`, it
/// runs again at that parallelism (a user's rescale): rebuild and rejoin.
struct shutdown_msg {
  std::string reason;
  uint32_t rescale_to = 0;
  friend bool operator==(const shutdown_msg&, const shutdown_msg&) = default;
};

/// Generic positive reply.
struct ok_msg {
  friend bool operator==(const ok_msg&, const ok_msg&) = default;
};

/// Generic negative reply: the request was understood and refused.
struct error_msg {
  std::string reason;
  errc code = errc::unspecified;
  friend bool operator==(const error_msg&, const error_msg&) = default;
};

/// A node-level request or its reply (Session.control).
using control = std::variant<join_msg, joined_msg, deploy_msg, deployed_msg, cancel_msg,
                             shutdown_msg, ok_msg, error_msg>;

/// "deploy", "error", ...: the schema name of the alternative, for logs.
const char* kind_name(const control& c) noexcept;

}  // namespace sluice::net
