#pragma once

#include <any>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "sluice/batch_codec.hpp"
#include "sluice/key_group.hpp"
#include "sluice/operator.hpp"
#include "sluice/partitioner.hpp"

namespace sluice {

/// One logical operator of a pipeline, as the typed API recorded it. The
/// runtime expands it into `parallelism` instances, each hosting an operator
/// made by `make`.
struct plan_node {
  uint32_t id = 0;
  std::string kind;          ///< What it is: "source", "map", "window", ...
  std::string name;          ///< Shown in logs, errors and metrics.
  std::string uid;           ///< Stable identity for state (empty: `op-<id>`, see `uid_of`).
  uint32_t parallelism = 0;  ///< 0 = the job's default parallelism.
  bool is_source = false;
  bool chainable = true;  ///< May share a task with its forward upstream.
  double rate_limit = 0;  ///< Sources: records per second over all instances (0 = unlimited).
  double replay_speedup =
      0;  ///< Sources: event time runs this much faster than the clock (0 = off).
  std::optional<timestamp>
      replay_origin;       ///< Sources: event time due at the start (see replay_speedup).
  uint32_t num_ports = 1;  ///< Operator output ports; port `num_ports` is the dead-letter stream.
  /// Exactly-once file sinks: their output directory (a fresh run refuses a
  /// non-empty one: it would add a second copy of the output).
  std::string exactly_once_dir;
  std::function<std::unique_ptr<operator_base>()> make;
  /// Runtime-specific payload (e.g. the custom actor stage's spawn function);
  /// libstream never looks inside.
  std::any extension;
};

/// The identity of a node's state in checkpoints: the user's uid, else its
/// position in the plan ("op-3"), which is stable as long as the pipeline is
/// built the same way.
inline std::string uid_of(const plan_node& n) {
  return n.uid.empty() ? "op-" + std::to_string(n.id) : n.uid;
}

/// A data edge: records emitted on `from_port` of `from` go to input
/// `to_input` (0 or 1) of `to`.
struct plan_edge {
  uint32_t from = 0;
  uint32_t from_port = 0;
  uint32_t to = 0;
  uint32_t to_input = 0;
  partitioning kind = partitioning::forward;
  partitioner_factory make_partitioner;
  /// How the edge's batches cross nodes (cluster mode).
  batch_codec codec;
};

/// The logical dataflow graph built by `pipeline`. Node ids are definition
/// order, so every process that builds the same pipeline gets the same plan.
struct plan {
  std::string job_name = "job";
  uint32_t max_parallelism = default_max_parallelism;
  std::vector<plan_node> nodes;
  std::vector<plan_edge> edges;

  /// Port index of a node's dead-letter stream.
  static uint32_t dead_letter_port(const plan_node& n) { return n.num_ports; }
};

}  // namespace sluice
