#include "sluice/actors/deploy.hpp"

#include <caf/all.hpp>

#include <stdexcept>

#include "sluice/actors/task.hpp"

namespace sluice::actors {

task_spec task_spec_for(const deployment& d, uint32_t v, uint32_t i,
                        const std::vector<std::vector<caf::actor>>& actors) {
  const auto& g = *d.graph;
  const auto& p = g.logical();
  task_spec spec;
  spec.graph = d.graph;
  spec.vertex = v;
  spec.instance = i;
  spec.cfg = d.cfg;
  spec.supervisor = d.supervisor;
  spec.inputs = g.inputs(v, i);
  spec.store = d.store;
  spec.writer = d.writer;
  spec.restore = d.restore;
  for (uint32_t e : g.gates_of(v)) {
    const auto& ed = p.edges[e];
    const uint32_t dv = g.vertex_of(ed.to);
    gate_spec gs;
    gs.edge = e;
    auto targets = g.targets(e, i);
    gs.partitioner =
        ed.make_partitioner(g.kind(e), i, static_cast<uint32_t>(targets.size()), p.max_parallelism);
    for (uint32_t t : targets) {
      gs.dest.push_back(actors[dv].at(t));
      const auto chans = g.inputs(dv, t);
      uint32_t c = 0;
      while (c < chans.size() && !(chans[c].edge == e && chans[c].from_instance == i))
        ++c;
      if (c == chans.size())
        throw std::logic_error("job graph: missing input channel");
      gs.dest_channel.push_back(c);
    }
    spec.gates.push_back(std::move(gs));
  }
  return spec;
}

std::vector<std::vector<caf::actor>> spawn_tasks(caf::actor_system& sys, const deployment& d) {
  const auto& vs = d.graph->vertices();
  std::vector<std::vector<caf::actor>> actors(vs.size());
  if (d.recovery) {
    d.recovery->assign(vs.size(), {});
    for (auto& v : vs)
      (*d.recovery)[v.id].resize(v.parallelism);
  }
  for (size_t vi = vs.size(); vi-- > 0;) {
    const auto& v = vs[vi];
    actors[v.id].resize(v.parallelism);
    for (uint32_t i = 0; i < v.parallelism; ++i) {
      if (!is_local(d, v.id, i)) {
        actors[v.id][i] = d.remote(v.id, i);
        continue;
      }
      task_spec spec = task_spec_for(d, v.id, i, actors);
      if (d.recovery && d.budget) {
        spec.recovery = std::make_shared<instance_recovery>(d.budget);
        (*d.recovery)[v.id][i] = spec.recovery;
      }
      actors[v.id][i] = spawn_task(sys, std::move(spec));
    }
  }
  return actors;
}

}  // namespace sluice::actors
