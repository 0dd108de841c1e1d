#include "cluster_node.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <caf/all.hpp>

#include "sluice/actors/fault_injector.hpp"
#include "sluice/actors/messages.hpp"
#include "sluice/actors/metrics_registry.hpp"
#include "sluice/actors/snapshot_writer.hpp"
#include "snapshot_transfer.hpp"

#include <thread>

namespace sluice::net {

using namespace sluice::actors;

cluster_node::cluster_node(cluster_config cfg, size_t me, caf::actor_system& sys,
                           std::shared_ptr<const job_graph> graph, runtime_config rc,
                           std::shared_ptr<state::snapshot_store> store)
    : cfg_(std::move(cfg)),
      me_(me),
      coord_(*cfg_.index_of(cfg_.coordinator)),
      sys_(sys),
      graph_(std::move(graph)),
      rc_(std::move(rc)),
      store_(std::move(store)),
      peers_(cfg_.nodes.size()) {
  for (auto& v : graph_->vertices()) {
    channel_edge_.resize(std::max<size_t>(channel_edge_.size(), v.id + 1));
    for (uint32_t i = 0; i < v.parallelism; ++i) {
      std::vector<uint32_t> edges;
      for (auto& in : graph_->inputs(v.id, i))
        edges.push_back(in.edge);
      channel_edge_[v.id].push_back(std::move(edges));
    }
  }
  peers_[me_].joined = true;
}

cluster_node::~cluster_node() {
  stop();
}

void cluster_node::start() {
  loop_ = std::make_unique<event_loop>();
  control_worker_ = std::make_unique<serial_worker>("node " + cfg_.nodes[me_].name + " control");
  links_ = std::make_unique<link_table>(cfg_, me_, *loop_, [this](uint16_t node, std::string why) {
    // Handled by the periodic loop (a link must not be dropped from its own callback).
    if (stopping_)
      return;
    std::lock_guard lock{mu_};
    broken_.emplace_back(node, std::move(why));
  });
  links_->on_send_failure([this](uint16_t node, size_t dropped, const std::string& why) {
    if (ending_ || stopping_)
      spdlog::info("dropped {} frames to node {} after the end of the job: {}", dropped,
                   cfg_.nodes[node].name, why);
    else
      spdlog::warn("cannot send {} frames to node {}: {}", dropped, cfg_.nodes[node].name, why);
  });
  const auto& n = cfg_.nodes[me_];
  server_options opts;
  opts.cluster = cfg_.name;
  opts.node = n.name;
  opts.secret = cfg_.secret;
  server_ = std::make_unique<node_server>(*loop_, n.host, n.port, opts, *this);
  if (!is_coordinator()) {
    supervisor_ = spawn_supervisor_proxy(sys_, *this, static_cast<uint16_t>(coord_));
    if (store_)
      writer_ = spawn_snapshot_writer(
          sys_, store_, supervisor_,
          [this](uint64_t id, const std::vector<state::snapshot_store::entry>& es) {
            replicate(id, es);
          });
  }
}

void cluster_node::stop() {
  if (stopping_.exchange(true))
    return;
  // No blocking call starts after this; one in flight ends by its timeout.
  if (control_worker_)
    control_worker_->stop();
  kill_local_tasks("node stopping");
  std::map<std::tuple<uint32_t, uint16_t, uint32_t, uint32_t>, caf::actor> proxies;
  {
    std::lock_guard lock{mu_};
    proxies.swap(proxies_);
  }
  for (auto& [k, p] : proxies)
    caf::anon_send_exit(p, caf::exit_reason::user_shutdown);
  if (!is_coordinator()) {
    if (writer_)
      caf::anon_send_exit(writer_, caf::exit_reason::user_shutdown);
    if (supervisor_)
      caf::anon_send_exit(supervisor_, caf::exit_reason::user_shutdown);
  }
  supervisor_ = nullptr;
  writer_ = nullptr;
  // Wait until no blocking call (the snapshot writer's replication, a
  // shutdown) is using a link, then take the links, the server and the loop.
  std::unique_lock life{life_};
  if (links_)
    links_->close();  // kept (closed) until destruction: handler calls may still look at it
  server_.reset();
  loop_.reset();
}

void cluster_node::send_frame(uint16_t node, frame&& f) {
  std::shared_lock life{life_};
  if (stopping_ || !links_)
    return;
  links_->send(node, std::move(f));  // never blocks
}

task_ref cluster_node::ref_of(const caf::actor_addr& a) const {
  std::lock_guard lock{mu_};
  auto it = refs_.find(a);
  return it != refs_.end() ? it->second : task_ref{task_ref::node_vertex, 0};
}

caf::actor cluster_node::proxy(uint32_t attempt, uint16_t node, uint32_t vertex,
                               uint32_t instance) {
  std::lock_guard lock{mu_};
  auto key = std::tuple{attempt, node, vertex, instance};
  auto it = proxies_.find(key);
  if (it != proxies_.end())
    return it->second;
  auto p = spawn_task_proxy(sys_, *this, attempt, node, vertex, instance);
  proxies_.emplace(key, p);
  return p;
}

void cluster_node::count_bytes(uint32_t edge, uint32_t instance, uint64_t bytes, bool in) {
  const auto& p = graph_->logical();
  const auto& e = p.edges.at(edge);
  const uint32_t node = in ? e.to : e.from;
  std::shared_ptr<actors::live_operator> entry;
  {
    std::lock_guard lock{bytes_mu_};
    auto& w = byte_entries_[{node, instance}];
    entry = w.lock();
    if (!entry) {
      entry =
          actors::metrics_registry::process().find(p.job_name, uid_of(p.nodes.at(node)), instance);
      w = entry;
    }
  }
  if (entry)
    (in ? entry->bytes_in : entry->bytes_out).fetch_add(bytes, std::memory_order_relaxed);
}

void cluster_node::register_local(uint32_t attempt, uint32_t vertex, uint32_t instance,
                                  const caf::actor& task) {
  std::lock_guard lock{mu_};
  if (attempt != attempt_.load())
    return;
  local_[{vertex, instance}] = task;
  refs_[task.address()] = task_ref{vertex, instance};
}

void cluster_node::kill_local_tasks(const std::string& why) {
  std::map<std::pair<uint32_t, uint32_t>, caf::actor> tasks;
  std::vector<caf::actor> old_proxies;
  {
    std::lock_guard lock{mu_};
    tasks.swap(local_);
    refs_.clear();
    for (auto it = proxies_.begin(); it != proxies_.end();) {
      if (std::get<0>(it->first) != attempt_.load() || !is_coordinator()) {
        old_proxies.push_back(it->second);
        it = proxies_.erase(it);
      } else {
        ++it;
      }
    }
  }
  if (!tasks.empty())
    spdlog::info("stopping {} local tasks: {}", tasks.size(), why);
  // The coordinator's own tasks are the supervisor's to stop (it links them).
  if (!is_coordinator())
    for (auto& [k, t] : tasks)
      caf::anon_send_exit(t, caf::exit_reason::kill);
  for (auto& p : old_proxies)
    caf::anon_send_exit(p, caf::exit_reason::user_shutdown);
}

// -- handler calls (KJ loop thread) ---------------------------------------------

control cluster_node::on_control(const std::string& peer, control&& msg) {
  auto from = cfg_.index_of(peer);
  if (!from)
    return error_msg{"unknown node '" + peer + "'", errc::unknown_node};
  if (auto* j = std::get_if<join_msg>(&msg)) {
    if (!is_coordinator())
      return error_msg{"node " + cfg_.nodes[me_].name + " does not coordinate",
                       errc::not_coordinator};
    bool rejoin = false;
    {
      std::lock_guard lock{mu_};
      rejoin = peers_[*from].joined && !peers_[*from].lost;
    }
    // A node that joins while counted alive restarted (or lost its link):
    // whatever it ran is gone, so that is a loss first.
    if (rejoin)
      node_lost(static_cast<uint16_t>(*from), "the node joined again (restarted)");
    {
      std::lock_guard lock{mu_};
      auto& p = peers_[*from];
      p.joined = true;
      p.lost.reset();
      p.last_heard = clock::now();
    }
    links_->take(static_cast<uint16_t>(*from));
    spdlog::info("node {} joined", j->node);
    return joined_msg{cfg_.coordinator};
  }
  if (*from != coord_)
    return error_msg{"only the coordinator may send '" + std::string{kind_name(msg)} + "'",
                     errc::not_allowed};
  if (auto* d = std::get_if<deploy_msg>(&msg))
    return worker_deploy(*d);
  if (auto* c = std::get_if<cancel_msg>(&msg)) {
    if (c->attempt == attempt_.load())
      kill_local_tasks(fmt::format("attempt {} cancelled: {}", c->attempt, c->reason));
    return ok_msg{};
  }
  if (auto* s = std::get_if<shutdown_msg>(&msg)) {
    ending_ = true;
    {
      std::lock_guard lock{mu_};
      shutdown_ = s->reason;
      shutdown_ok_ = s->reason.empty();
      rescale_to_ = s->rescale_to;
    }
    cv_.notify_all();
    return ok_msg{};
  }
  return error_msg{fmt::format("unexpected control message '{}'", kind_name(msg)),
                   errc::unexpected};
}

void cluster_node::on_control_async(const std::string& peer, control&& msg, control_reply reply) {
  // A deploy request answered late (fault injection: a slow node): the
  // answer waits on the control worker, never on the event loop, so this
  // node's heartbeats and frames go on meanwhile.
  if (std::holds_alternative<deploy_msg>(msg) && !is_coordinator()) {
    if (auto delay = faults().delay(delay_point::deploy_reply); delay.count() > 0) {
      spdlog::info("fault injection: answering the deploy request {} ms late", delay.count());
      control_worker_->post(
          [this, peer, delay, msg = std::move(msg), reply = std::move(reply)]() mutable {
            std::this_thread::sleep_for(delay);
            if (stopping_)
              return;  // the reply's promise is rejected when dropped
            reply(on_control(peer, std::move(msg)));
          });
      return;
    }
  }
  reply(on_control(peer, std::move(msg)));
}

void cluster_node::on_heartbeat(const std::string& peer, uint64_t) {
  auto n = cfg_.index_of(peer);
  if (!n)
    return;
  std::lock_guard lock{mu_};
  auto& p = peers_[*n];
  if (!p.joined)
    return;
  if (p.lost) {
    // Heartbeats again from a node declared lost: it was paused or cut off,
    // not dead. It is usable again; what it still runs belongs to an attempt
    // that was replaced (its frames are dropped everywhere) and the next
    // deployment stops it.
    spdlog::info("node {} is back (heartbeats resumed after: {})", peer, p.lost->detail);
    p.lost.reset();
  }
  p.last_heard = clock::now();
}

void cluster_node::on_peer_lost(const std::string& peer, const std::string& reason) {
  auto n = cfg_.index_of(peer);
  if (!n || !is_coordinator() || *n == me_)
    return;
  // A node's own connection to the coordinator closed: it died or restarted.
  node_lost(static_cast<uint16_t>(*n), "connection closed: " + reason);
}

void cluster_node::on_put_snapshot(const std::string& peer, uint64_t checkpoint,
                                   std::vector<snapshot_entry_msg>&& entries) {
  if (!store_)
    throw std::runtime_error("node " + cfg_.nodes[me_].name + " has no state directory");
  store_pushed(*store_, peer, checkpoint, std::move(entries), rc_.checkpoints.retained);
}

}  // namespace sluice::net
