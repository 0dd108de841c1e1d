#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace sluice::actors {

/// Expected failures of the runtime (tasks, supervisor, cluster port). A
/// task failure, a failed deployment and a stalled recovery carry one of
/// these with a detail naming the operator, node or wait concerned; the code
/// crosses nodes as a field of the Cap'n Proto schema, never as text to parse.
enum class errc : uint8_t {
  operator_failed = 1,  ///< User code in an operator threw or returned an error.
  task_stopped,         ///< A task ended without reporting (killed, crashed, its node was lost).
  stage_timeout,        ///< A custom actor stage did not answer within its timeout.
  deploy_failed,        ///< A node could not spawn its tasks of an attempt.
  nodes_unavailable,    ///< The job cannot be placed until a node joins or comes back.
  node_lost,            ///< A node stopped answering heartbeats or its connection closed.
  link_broken,          ///< A connection between two nodes broke; frames may be lost.
  recovery_stalled,     ///< A recovery made no progress within the configured limit.
  checkpoint_failed,    ///< A completed checkpoint could not be committed.
  cancelled,            ///< The attempt was replaced or the job was stopped.
  refused,        ///< A peer refused this node (wrong secret or cluster); retrying will not help.
  stage_refused,  ///< A stateful actor stage's actor cannot snapshot or restore; fails the job.
};

constexpr std::string_view to_string(errc c) noexcept {
  switch (c) {
    case errc::operator_failed:
      return "operator_failed";
    case errc::task_stopped:
      return "task_stopped";
    case errc::stage_timeout:
      return "stage_timeout";
    case errc::deploy_failed:
      return "deploy_failed";
    case errc::nodes_unavailable:
      return "nodes_unavailable";
    case errc::node_lost:
      return "node_lost";
    case errc::link_broken:
      return "link_broken";
    case errc::recovery_stalled:
      return "recovery_stalled";
    case errc::checkpoint_failed:
      return "checkpoint_failed";
    case errc::cancelled:
      return "cancelled";
    case errc::refused:
      return "refused";
    case errc::stage_refused:
      return "stage_refused";
  }
  return "unknown";
}

/// An expected runtime failure: a code to branch on and a detail for people.
struct error {
  errc code = errc::operator_failed;
  std::string detail;
};

}  // namespace sluice::actors
