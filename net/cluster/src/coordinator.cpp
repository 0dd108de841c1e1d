#include "cluster_node.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <caf/all.hpp>

#include "placement.hpp"
#include "sluice/actors/messages.hpp"
#include "snapshot_transfer.hpp"

// The coordinating node's side: placement, deployment and cancellation of
// attempts (the network part on the control worker), membership and
// failure detection.

namespace sluice::net {

using namespace sluice::actors;
using std::chrono::milliseconds;

void cluster_node::set_supervisor(const caf::actor& sup) {
  std::lock_guard lock{mu_};
  supervisor_ = sup;
}

std::variant<placement, actors::error> cluster_node::place(const job_graph& g) {
  std::vector<node_availability> nodes;
  {
    std::lock_guard lock{mu_};
    for (auto& p : peers_)
      nodes.push_back(node_availability{p.joined, p.lost});
  }
  return place_instances(g, cfg_, nodes);
}

void cluster_node::deploy(uint32_t attempt, const placement& where, std::optional<uint64_t> restore,
                          caf::actor reply_to) {
  std::shared_lock life{life_};
  if (stopping_) {
    caf::anon_send(reply_to, deployed_atom::value, attempt,
                   actors::error{actors::errc::cancelled, "the node is stopping"});
    return;
  }
  attempt_ = attempt;
  kill_local_tasks(fmt::format("attempt {} starts", attempt));
  {
    std::lock_guard lock{mu_};
    where_ = where;
  }
  deploy_msg d;
  d.attempt = attempt;
  d.restore_from = restore.value_or(0);
  std::string shown;
  for (size_t v = 0; v < where.size(); ++v)
    for (size_t i = 0; i < where[v].size(); ++i) {
      d.placement.push_back(where[v][i]);
      shown +=
          fmt::format(" {}#{}@{}", graph_->vertices()[v].name, i, cfg_.nodes[where[v][i]].name);
    }
  spdlog::info("attempt {}{}: placement{}", attempt,
               restore ? fmt::format(" (restoring checkpoint {})", *restore) : "", shown);
  // The network part runs on the control worker; the supervisor hears of
  // it by message and its thread never waits.
  control_worker_->post([this, attempt, d = std::move(d), restore, reply_to = std::move(reply_to)] {
    auto failure = deploy_remote(attempt, d, restore);
    if (failure)
      caf::anon_send(reply_to, deployed_atom::value, attempt, std::move(*failure));
    else
      caf::anon_send(reply_to, deployed_atom::value, attempt);
  });
}

std::optional<actors::error> cluster_node::deploy_remote(uint32_t attempt, const deploy_msg& d,
                                                         std::optional<uint64_t> restore) {
  std::shared_lock life{life_};
  if (stopping_)
    return actors::error{actors::errc::cancelled, "the node is stopping"};
  std::vector<snapshot_entry_msg> snapshot;
  if (restore) {
    try {
      snapshot = read_for_transfer(*store_, *restore);
    } catch (const std::exception& e) {
      return actors::error{actors::errc::deploy_failed,
                           fmt::format("cannot read checkpoint {}: {}", *restore, e.what())};
    }
  }
  for (size_t n = 0; n < cfg_.nodes.size(); ++n) {
    if (n == me_)
      continue;
    if (attempt < cancelled_.load())
      return actors::error{actors::errc::cancelled,
                           fmt::format("attempt {} was cancelled", attempt)};
    {
      std::lock_guard lock{mu_};
      if (!peers_[n].joined || peers_[n].lost)
        continue;  // failover: its instances were placed elsewhere
    }
    const auto& name = cfg_.nodes[n].name;
    try {
      auto l = links_->get(static_cast<uint16_t>(n));
      if (restore)
        l->put_snapshot(*restore, std::vector<snapshot_entry_msg>(snapshot), control_timeout);
      auto reply = l->request(control{d}, control_timeout);
      if (auto* e = std::get_if<error_msg>(&reply))
        return actors::error{
            actors::errc::deploy_failed,
            fmt::format("node {} refused ({}): {}", name, net::to_string(e->code), e->reason)};
      if (!std::holds_alternative<deployed_msg>(reply))
        return actors::error{
            actors::errc::deploy_failed,
            fmt::format("node {}: unexpected reply '{}' to deploy", name, kind_name(reply))};
    } catch (const std::exception& e) {
      return actors::error{actors::errc::deploy_failed, fmt::format("node {}: {}", name, e.what())};
    }
  }
  return std::nullopt;
}

std::optional<actors::error> cluster_node::lost(uint16_t node) const {
  std::lock_guard lock{mu_};
  return peers_.at(node).lost;
}

void cluster_node::cancel(uint32_t attempt, const std::string& reason) {
  if (stopping_)
    return;
  // A deployment of this attempt still queued or in flight stops at its next node.
  for (uint32_t c = cancelled_.load();
       c < attempt + 1 && !cancelled_.compare_exchange_weak(c, attempt + 1);) {
  }
  control_worker_->post([this, attempt, reason] {
    std::shared_lock life{life_};
    if (stopping_)
      return;
    for (size_t n = 0; n < cfg_.nodes.size(); ++n) {
      if (n == me_)
        continue;
      {
        std::lock_guard lock{mu_};
        if (!peers_[n].joined || peers_[n].lost)
          continue;
      }
      try {
        links_->get(static_cast<uint16_t>(n))
            ->request(control{cancel_msg{attempt, reason}}, milliseconds{5000});
      } catch (const std::exception& e) {
        spdlog::warn("cannot cancel attempt {} on node {}: {}", attempt, cfg_.nodes[n].name,
                     e.what());
      }
    }
  });
}

void cluster_node::node_lost(uint16_t node, const std::string& reason, actors::errc code) {
  std::vector<caf::actor> proxies;
  {
    std::lock_guard lock{mu_};
    auto& p = peers_[node];
    if (!p.joined || p.lost)
      return;
    p.lost = actors::error{code, reason};
    for (auto& [k, a] : proxies_)
      if (std::get<1>(k) == node)
        proxies.push_back(a);
  }
  links_->take(node);  // dropped here, outside the lock (see link_table::take)
  if (ending_) {
    spdlog::info("node {} left after the end of the job: {}", cfg_.nodes[node].name, reason);
    return;
  }
  spdlog::warn("node {} lost: {}", cfg_.nodes[node].name, reason);
  // The supervisor monitors the proxies: their exit is the failure that makes
  // the job recover.
  for (auto& a : proxies)
    caf::anon_send_exit(a, caf::exit_reason::remote_link_unreachable);
}

void cluster_node::handle_broken_links() {
  std::vector<std::pair<uint16_t, std::string>> broken;
  bool running = false;
  {
    std::lock_guard lock{mu_};
    broken.swap(broken_);
    running = !local_.empty();
  }
  if (ending_)
    return;  // peers leave at the end of a job
  for (auto& [n, why] : broken) {
    const auto reason = fmt::format("the link from node {} to node {} broke: {}",
                                    cfg_.nodes[me_].name, cfg_.nodes[n].name, why);
    if (is_coordinator()) {
      node_lost(n, reason, actors::errc::link_broken);
    } else if (running && supervisor_) {
      // Batches to that node may be lost: fail this node's part of the
      // attempt, so the job restarts from the latest checkpoint. The failure
      // names the link, not one of the tasks.
      task_failure f;
      f.operator_name = fmt::format("link {} -> {}", cfg_.nodes[me_].name, cfg_.nodes[n].name);
      f.cause = reason;
      f.code = actors::errc::link_broken;
      caf::anon_send(supervisor_, failed_atom::value, task_ref::node_vertex,
                     static_cast<uint32_t>(n), std::move(f));
    }
  }
}

void cluster_node::check_heartbeats() {
  handle_broken_links();
  const auto now = clock::now();
  std::vector<std::pair<uint16_t, std::string>> dead;
  {
    std::lock_guard lock{mu_};
    for (size_t n = 0; n < peers_.size(); ++n) {
      if (n == me_ || !peers_[n].joined || peers_[n].lost)
        continue;
      const auto silent = std::chrono::duration_cast<milliseconds>(now - peers_[n].last_heard);
      if (silent > cfg_.heartbeat_timeout)
        dead.emplace_back(static_cast<uint16_t>(n),
                          fmt::format("no heartbeat for {} ms (timeout {} ms)", silent.count(),
                                      cfg_.heartbeat_timeout.count()));
    }
  }
  for (auto& [n, why] : dead)
    node_lost(n, why);
}

std::vector<actors::metrics_registry::node_info> cluster_node::node_infos() const {
  std::vector<actors::metrics_registry::node_info> out;
  const auto now = clock::now();
  std::lock_guard lock{mu_};
  for (size_t n = 0; n < cfg_.nodes.size(); ++n) {
    actors::metrics_registry::node_info i;
    i.name = cfg_.nodes[n].name;
    i.host = cfg_.nodes[n].host;
    i.port = cfg_.nodes[n].port;
    i.self = n == me_;
    if (i.self) {
      i.state = "alive";
    } else if (peers_[n].lost) {
      i.state = "dead";
    } else if (peers_[n].joined) {
      i.state = "alive";
    } else {
      i.state = "unknown";
    }
    if (!i.self && peers_[n].last_heard != clock::time_point{})
      i.last_heartbeat_ms_ago =
          std::chrono::duration_cast<milliseconds>(now - peers_[n].last_heard).count();
    out.push_back(std::move(i));
  }
  return out;
}

void cluster_node::shutdown_all(const std::string& reason, uint32_t rescale_to) {
  std::shared_lock life{life_};
  if (stopping_)
    return;
  ending_ = true;
  for (size_t n = 0; n < cfg_.nodes.size(); ++n) {
    if (n == me_)
      continue;
    {
      std::lock_guard lock{mu_};
      if (!peers_[n].joined)
        continue;
    }
    try {
      links_->get(static_cast<uint16_t>(n))
          ->request(control{shutdown_msg{reason, rescale_to}}, milliseconds{5000});
    } catch (const std::exception& e) {
      spdlog::warn("cannot tell node {} that the job ended: {}", cfg_.nodes[n].name, e.what());
    }
  }
}

}  // namespace sluice::net
