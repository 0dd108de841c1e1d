#include "sluice/actors/job_graph.hpp"

#include <fmt/format.h>

#include <stdexcept>

namespace sluice::actors {

job_graph::job_graph(const plan& p, const runtime_config& cfg) : plan_(&p) {
  const auto n = static_cast<uint32_t>(p.nodes.size());
  if (n == 0)
    throw std::invalid_argument("the pipeline is empty: add a source and a sink");
  parallelism_.resize(n);
  for (auto& node : p.nodes) {
    uint32_t par = node.parallelism ? node.parallelism : cfg.parallelism;
    if (par == 0 || par > p.max_parallelism)
      throw std::invalid_argument(
          fmt::format("operator '{}': parallelism {} is outside 1..{} (max parallelism)", node.name,
                      par, p.max_parallelism));
    parallelism_[node.id] = par;
  }

  std::vector<std::vector<uint32_t>> in_edges(n), out_edges(n);
  for (uint32_t e = 0; e < p.edges.size(); ++e) {
    auto& ed = p.edges[e];
    if (ed.from >= ed.to || ed.to >= n)
      throw std::invalid_argument(
          fmt::format("edge {} -> {} does not go forward in the plan", ed.from, ed.to));
    in_edges[ed.to].push_back(e);
    out_edges[ed.from].push_back(e);
  }
  for (auto& node : p.nodes) {
    if (!node.is_source && in_edges[node.id].empty())
      throw std::invalid_argument(
          fmt::format("operator '{}' ({}) has no input", node.name, node.kind));
    if (node.is_source && !in_edges[node.id].empty())
      throw std::invalid_argument(fmt::format("source '{}' cannot have inputs", node.name));
  }

  kind_.resize(p.edges.size());
  chained_.assign(p.edges.size(), false);
  for (uint32_t e = 0; e < p.edges.size(); ++e) {
    auto& ed = p.edges[e];
    kind_[e] = ed.kind;
    if (ed.kind == partitioning::forward && parallelism_[ed.from] != parallelism_[ed.to])
      kind_[e] = partitioning::rebalance;
  }

  // Chain: node joins its upstream's vertex when the edge is forward, it is
  // that node's only input, and the upstream port 0 feeds nothing else.
  vertex_of_.assign(n, UINT32_MAX);
  for (auto& node : p.nodes) {
    uint32_t v = UINT32_MAX;
    if (cfg.chaining && node.chainable && in_edges[node.id].size() == 1) {
      uint32_t e = in_edges[node.id][0];
      auto& ed = p.edges[e];
      uint32_t port_consumers = 0;
      for (uint32_t oe : out_edges[ed.from])
        if (p.edges[oe].from_port == ed.from_port)
          ++port_consumers;
      auto& up_vertex = vertices_[vertex_of_[ed.from]];
      if (kind_[e] == partitioning::forward && ed.from_port == 0 && port_consumers == 1 &&
          up_vertex.chain.back() == ed.from) {
        v = vertex_of_[ed.from];
        chained_[e] = true;
      }
    }
    if (v == UINT32_MAX) {
      v = static_cast<uint32_t>(vertices_.size());
      vertices_.push_back(vertex{v, {}, parallelism_[node.id], {}});
    }
    vertex_of_[node.id] = v;
    auto& vx = vertices_[v];
    vx.chain.push_back(node.id);
    vx.name += vx.name.empty() ? node.name : " -> " + node.name;
  }

  gates_.resize(vertices_.size());
  for (auto& vx : vertices_)
    for (uint32_t node : vx.chain)
      for (uint32_t e : out_edges[node])
        if (!chained_[e])
          gates_[vx.id].push_back(e);
}

std::vector<uint32_t> job_graph::targets(uint32_t edge, uint32_t from_instance) const {
  auto& ed = plan_->edges[edge];
  if (kind_[edge] == partitioning::forward)
    return {from_instance};
  std::vector<uint32_t> out(parallelism_[ed.to]);
  for (uint32_t j = 0; j < out.size(); ++j)
    out[j] = j;
  return out;
}

std::vector<input_channel> job_graph::inputs(uint32_t v, uint32_t instance) const {
  std::vector<input_channel> out;
  const uint32_t head = vertices_[v].chain.front();
  for (uint32_t e = 0; e < plan_->edges.size(); ++e) {
    auto& ed = plan_->edges[e];
    if (ed.to != head || chained_[e])
      continue;
    const uint32_t uv = vertex_of_[ed.from];
    uint32_t gate = 0;
    for (; gate < gates_[uv].size(); ++gate)
      if (gates_[uv][gate] == e)
        break;
    for (uint32_t i = 0; i < parallelism_[ed.from]; ++i) {
      auto ts = targets(e, i);
      for (uint32_t t = 0; t < ts.size(); ++t)
        if (ts[t] == instance)
          out.push_back(input_channel{e, ed.to_input, uv, i, gate, t});
    }
  }
  return out;
}

}  // namespace sluice::actors
