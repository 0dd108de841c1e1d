#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "sluice/actors/config.hpp"
#include "sluice/plan.hpp"

namespace sluice::actors {

/// A group of plan nodes run by one task per instance: a chain of operators
/// connected by forward edges with equal parallelism (Flink's operator
/// chaining), so records pass between them without any message.
struct vertex {
  uint32_t id = 0;
  std::vector<uint32_t> chain;  ///< Plan node ids, head first.
  uint32_t parallelism = 1;
  std::string name;  ///< "head -> ... -> tail"
};

/// One input channel of a task instance: which edge and upstream instance
/// feed it, and how the upstream addresses the credits it gets back.
struct input_channel {
  uint32_t edge = 0;
  uint32_t input = 0;  ///< Input port of the head operator (0, or 1 for two-input operators).
  uint32_t from_vertex = 0;
  uint32_t from_instance = 0;
  uint32_t upstream_gate = 0;  ///< Index of the gate in the upstream task.
  uint32_t upstream_target = 0;
};

/// The logical plan expanded for execution: vertices (chains), the
/// partitioning each edge really uses, and the channel layout. Built the same
/// way from the same plan in every process.
class job_graph {
public:
  /// Expands and validates `p`. Throws std::invalid_argument naming the
  /// operator for plans that cannot run (bad parallelism, dangling inputs).
  job_graph(const plan& p, const runtime_config& cfg);

  const plan& logical() const noexcept { return *plan_; }
  const std::vector<vertex>& vertices() const noexcept { return vertices_; }
  uint32_t vertex_of(uint32_t node) const { return vertex_of_[node]; }
  uint32_t parallelism_of(uint32_t node) const { return parallelism_[node]; }
  /// Edge is inside a chain (no channel).
  bool chained(uint32_t edge) const { return chained_[edge]; }
  partitioning kind(uint32_t edge) const { return kind_[edge]; }

  /// Network edges leaving a vertex, in a fixed order: the upstream task's
  /// gate `g` serves `gates_of(v)[g]`.
  const std::vector<uint32_t>& gates_of(uint32_t v) const { return gates_[v]; }
  /// Downstream instances an upstream instance sends to on an edge; the
  /// gate's target t is `targets(e, i)[t]`.
  std::vector<uint32_t> targets(uint32_t edge, uint32_t from_instance) const;
  /// Input channels of vertex `v` instance `i`, in channel-index order.
  std::vector<input_channel> inputs(uint32_t v, uint32_t instance) const;

private:
  const plan* plan_;
  std::vector<vertex> vertices_;
  std::vector<uint32_t> vertex_of_;
  std::vector<uint32_t> parallelism_;
  std::vector<bool> chained_;
  std::vector<partitioning> kind_;
  std::vector<std::vector<uint32_t>> gates_;
};

}  // namespace sluice::actors
