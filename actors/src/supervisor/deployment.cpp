// The supervisor deploys an attempt: places it (cluster mode), has the
// other nodes spawn their tasks, spawns and starts its own.

#include <fmt/format.h>

#include <variant>

#include "sluice/actors/deploy.hpp"
#include "supervisor/job_supervisor.hpp"

namespace sluice::actors {

void job_supervisor::deploy(const std::optional<state::checkpoint_meta>& restore) {
  actors_.clear();
  alive_.clear();
  finished_.clear();
  failed_.clear();
  metrics_.clear();
  total_ = 0;
  local_.reset();
  queued_.clear();
  attempt_restore_ = restore;
  completed_in_attempt_.reset();
  report_.restored_from = restore ? std::optional<uint64_t>{restore->id.value} : std::nullopt;
  if (dead_.staged())
    if (auto r = dead_.restart_from(restore ? restore->id.value : 0); !r) {
      fail_job(r.error().message);
      return;
    }
  auto& cl = args_.cluster;
  if (!cl) {
    spawn_local(restore);
    return;
  }
  // Cluster mode: place the instances and have the other nodes spawn
  // theirs; the answer comes as a deployed_atom message.
  auto placed = cl->place(*args_.graph);
  if (auto* e = std::get_if<error>(&placed)) {
    if (phase_ != phase::waiting)
      note("waiting before deploying: " + e->detail);
    phase_ = phase::waiting;
    waiting_restore_ = restore;
    watch_.waiting_for(e->detail, clock_->now());
    return;
  }
  where_ = std::move(std::get<placement>(placed));
  phase_ = phase::deploying;
  deploying_restore_ = restore;
  watch_.waiting_for(fmt::format("the other nodes to deploy attempt {}", attempt_), clock_->now());
  cl->deploy(attempt_, where_, restore ? std::optional<uint64_t>{restore->id.value} : std::nullopt,
             caf::actor_cast<caf::actor>(this));
}

deployment job_supervisor::local_deployment(const std::optional<state::checkpoint_meta>& restore) {
  deployment d;
  d.graph = args_.graph;
  d.cfg = cfg_;
  d.supervisor = caf::actor_cast<caf::actor>(this);
  d.writer = writer_;
  d.store = args_.store;
  d.restore = restore;
  return d;
}

void job_supervisor::spawn_local(const std::optional<state::checkpoint_meta>& restore) {
  const auto& vs = args_.graph->vertices();
  deployment d = local_deployment(restore);
  if (budget_) {
    d.budget = budget_;
    d.recovery = &recovery_;
  }
  auto& cl = args_.cluster;
  if (cl) {
    d.where = &where_;
    d.local_node = cl->local_node();
    d.remote = [this, &cl](uint32_t v, uint32_t i) {
      return cl->proxy(attempt_, where_[v][i], v, i);
    };
  }
  actors_ = spawn_tasks(system(), d);
  std::vector<task_id> ids;
  for (auto& v : vs)
    for (uint32_t i = 0; i < v.parallelism; ++i) {
      auto& a = actors_[v.id][i];
      monitor(a);
      alive_.insert(a.address());
      if (is_local(d, v.id, i)) {
        link_to(a);
        if (cl)
          cl->register_local(attempt_, v.id, i, a);
      }
      ids.push_back(task_id{v.id, i});
      ++total_;
    }
  if (checkpoints_)
    checkpoints_->begin_attempt(std::move(ids), clock_->now());
  phase_ = phase::running;
  watch_.done();
  // Start downstream tasks first: a task's start message is then enqueued
  // before any data its upstream can send it.
  for (size_t vi = vs.size(); vi-- > 0;)
    for (auto& a : actors_[vi])
      send(a, start_atom::value);
  // A node lost while the others deployed has proxies that will never
  // hear of it: recover now.
  if (cl)
    for (uint32_t v = 0; v < where_.size(); ++v)
      for (uint16_t n : where_[v])
        if (auto e = cl->lost(n)) {
          on_failure(errc::node_lost, fmt::format("node {} lost while attempt {} deployed: {}",
                                                  cl->node_name(n), attempt_, e->detail));
          return;
        }
}

}  // namespace sluice::actors
