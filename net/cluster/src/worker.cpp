#include "cluster_node.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <caf/all.hpp>

#include "sluice/actors/deploy.hpp"
#include "sluice/actors/messages.hpp"
#include "snapshot_transfer.hpp"

// A node that does not coordinate: it joins, keeps heartbeats going, spawns
// its share of every attempt and replicates its snapshots to the coordinator.

namespace sluice::net {

using namespace sluice::actors;
using std::chrono::milliseconds;

control cluster_node::worker_deploy(const deploy_msg& d) {
  const auto& g = *graph_;
  size_t total = 0;
  for (auto& v : g.vertices())
    total += v.parallelism;
  if (d.placement.size() != total)
    return error_msg{
        fmt::format("placement names {} instances; this job has {} (same binary on every node?)",
                    d.placement.size(), total),
        errc::bad_placement};
  kill_local_tasks(fmt::format("attempt {} starts", d.attempt));
  attempt_ = d.attempt;
  placement where(g.vertices().size());
  size_t k = 0;
  for (auto& v : g.vertices())
    for (uint32_t i = 0; i < v.parallelism; ++i) {
      if (d.placement[k] >= cfg_.nodes.size())
        return error_msg{fmt::format("placement names node {}", d.placement[k]),
                         errc::bad_placement};
      where[v.id].push_back(d.placement[k++]);
    }
  deployment dep;
  dep.graph = graph_;
  dep.cfg = rc_;
  dep.supervisor = supervisor_;
  dep.writer = writer_;
  dep.store = store_;
  if (d.restore_from != 0) {
    if (!store_)
      return error_msg{"cannot restore: node " + cfg_.nodes[me_].name + " has no state directory",
                       errc::missing_state};
    auto all = store_->completed();
    if (!all)
      return error_msg{all.error().message, errc::missing_state};
    for (auto& m : all.value())
      if (m.id.value == d.restore_from)
        dep.restore = m;
    if (!dep.restore)
      return error_msg{fmt::format("checkpoint {} was not transferred here", d.restore_from),
                       errc::missing_state};
  }
  dep.where = &where;
  dep.local_node = static_cast<uint16_t>(me_);
  dep.remote = [&](uint32_t v, uint32_t i) {
    return proxy(d.attempt, where[v][i], v, i);
  };
  uint32_t mine = 0;
  try {
    auto actors = spawn_tasks(sys_, dep);
    std::vector<caf::actor> local;
    for (auto& v : g.vertices())
      for (uint32_t i = 0; i < v.parallelism; ++i)
        if (is_local(dep, v.id, i)) {
          register_local(d.attempt, v.id, i, actors[v.id][i]);
          ++mine;
        }
  } catch (const std::exception& e) {
    return error_msg{fmt::format("cannot deploy attempt {}: {}", d.attempt, e.what()),
                     errc::deploy_failed};
  }
  spdlog::info("attempt {}: {} tasks deployed here{}", d.attempt, mine,
               d.restore_from ? fmt::format(", restored from checkpoint {}", d.restore_from) : "");
  return deployed_msg{d.attempt, mine};
}

void cluster_node::replicate(uint64_t id,
                             const std::vector<state::snapshot_store::entry>& entries) {
  std::shared_lock life{life_};
  if (stopping_)
    throw std::runtime_error("the node is stopping");
  links_->get(static_cast<uint16_t>(coord_))
      ->put_snapshot(id, to_messages(entries), control_timeout);
  // The local copies are only completed when pushed back for a restore;
  // keep the newest few so that the store does not grow without bound.
  std::optional<uint64_t> expired;
  {
    std::lock_guard lock{mu_};
    if (local_ids_.empty() || local_ids_.back() != id)
      local_ids_.push_back(id);
    if (local_ids_.size() > std::max(1u, rc_.checkpoints.retained) + 1) {
      expired = local_ids_.front();
      local_ids_.pop_front();
    }
  }
  if (expired) {
    auto all = store_->completed();
    bool completed = false;
    if (all)
      for (auto& m : all.value())
        completed = completed || m.id.value == *expired;
    if (!completed)
      (void)store_->drop(checkpoint_id{*expired});  // not_found is fine: nothing was kept
  }
}

int cluster_node::run_worker(milliseconds give_up_after) {
  const auto& coord = cfg_.nodes[coord_];
  auto last_contact = clock::now();
  bool joined = false;
  uint64_t seq = 0;
  std::shared_ptr<peer_link> coord_link;
  // No contact this round: stop what runs here and try again, until the
  // coordinator has been away for `give_up_after` (then false).
  auto lost_contact = [&](const std::string& why) {
    if (joined) {
      spdlog::warn("lost the coordinator {}: {}", coord.name, why);
      kill_local_tasks("lost the coordinator");
      links_->take(static_cast<uint16_t>(coord_));
    }
    joined = false;
    if (clock::now() - last_contact > give_up_after) {
      spdlog::error("no coordinator ({}:{}) for {} ms: giving up: {}", coord.host, coord.port,
                    give_up_after.count(), why);
      return false;
    }
    return true;
  };
  for (;;) {
    {
      std::unique_lock lock{mu_};
      if (cv_.wait_for(lock, cfg_.heartbeat_interval, [&] { return shutdown_.has_value(); }))
        break;
    }
    try {
      auto l = links_->get(static_cast<uint16_t>(coord_));
      if (joined && l != coord_link) {
        // A new connection: the coordinator restarted (or the old link
        // broke); whatever ran here belongs to the past.
        kill_local_tasks("the connection to the coordinator was replaced");
        joined = false;
      }
      coord_link = l;
      if (!joined) {
        auto reply = l->request(control{join_msg{cfg_.nodes[me_].name}}, milliseconds{5000});
        if (auto* e = std::get_if<error_msg>(&reply)) {
          // Not a node of the coordinator's cluster, or not the coordinator:
          // retrying will not change that.
          spdlog::error("the coordinator {} ({}:{}) refused this node's join ({}): {}", coord.name,
                        coord.host, coord.port, net::to_string(e->code), e->reason);
          return 2;
        }
        joined = true;
        spdlog::info("joined the cluster (coordinator {})", coord.name);
      }
      l->heartbeat(++seq);
      handle_broken_links();
      if (auto echo = l->last_heartbeat();
          echo && clock::now() - echo->received > cfg_.heartbeat_timeout)
        throw std::runtime_error(
            fmt::format("no answer to heartbeats for {} ms", cfg_.heartbeat_timeout.count()));
      last_contact = clock::now();
    } catch (const link_error& e) {
      // The coordinator refusing us (wrong secret or cluster name) will not
      // change by retrying: say so and stop.
      if (e.refused()) {
        spdlog::error("the coordinator {} ({}:{}) refused this node: {}", coord.name, coord.host,
                      coord.port, e.what());
        return 2;
      }
      if (!lost_contact(e.what()))
        return 1;
    } catch (const std::exception& e) {
      if (!lost_contact(e.what()))
        return 1;
    }
  }
  std::lock_guard lock{mu_};
  spdlog::info("the coordinator ended the job{}", shutdown_ok_ ? "" : ": " + *shutdown_);
  return shutdown_ok_ ? 0 : 1;
}

}  // namespace sluice::net
