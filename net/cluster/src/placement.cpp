#include "placement.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>

namespace sluice::net {

std::variant<actors::placement, actors::error> place_instances(
    const actors::job_graph& g, const cluster_config& cfg,
    const std::vector<node_availability>& nodes) {
  std::vector<uint16_t> usable;
  std::vector<std::string> missing;
  for (size_t n = 0; n < cfg.nodes.size(); ++n) {
    const auto& a = nodes.at(n);
    if (a.joined && !a.lost)
      usable.push_back(static_cast<uint16_t>(n));
    else if (!a.joined || !cfg.failover)
      missing.push_back(cfg.nodes[n].name +
                        (a.lost ? " (lost: " + a.lost->detail + ")" : " (not joined)"));
  }
  if (!missing.empty())
    return actors::error{actors::errc::nodes_unavailable,
                         fmt::format("nodes not available: {}", fmt::join(missing, ", "))};
  actors::placement where(g.vertices().size());
  size_t k = 0;
  for (auto& v : g.vertices()) {
    const auto& head = g.logical().nodes[v.chain.front()];
    std::vector<uint16_t> allowed;
    const std::vector<std::string>* only = nullptr;
    for (auto* key : {&head.name, &head.uid})
      if (auto it = cfg.constraints.find(*key); !key->empty() && it != cfg.constraints.end())
        only = &it->second;
    for (auto n : usable)
      if (!only || std::find(only->begin(), only->end(), cfg.nodes[n].name) != only->end())
        allowed.push_back(n);
    if (allowed.empty())
      return actors::error{
          actors::errc::nodes_unavailable,
          fmt::format("no usable node for operator '{}' (constraint: {})", head.name,
                      only ? fmt::format("{}", fmt::join(*only, ", ")) : "none")};
    for (uint32_t i = 0; i < v.parallelism; ++i)
      where[v.id].push_back(allowed[k++ % allowed.size()]);
  }
  return where;
}

}  // namespace sluice::net
