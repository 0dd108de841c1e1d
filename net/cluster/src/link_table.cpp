#include "link_table.hpp"

#include <spdlog/spdlog.h>

#include <utility>

namespace sluice::net {

link_table::link_table(const cluster_config& cfg, size_t me, event_loop& loop,
                       std::function<void(uint16_t node, std::string why)> on_broken)
    : cfg_(cfg),
      me_(me),
      loop_(loop),
      on_broken_(std::move(on_broken)),
      connect_worker_("node " + cfg.nodes[me].name + " connect") {}

link_table::~link_table() {
  close();
}

std::shared_ptr<peer_link> link_table::get(uint16_t node) {
  std::shared_lock life{life_};
  if (closed_)
    throw link_error("node " + cfg_.nodes[me_].name + " is stopping");
  {
    std::lock_guard lock{mu_};
    auto it = links_.find(node);
    if (it != links_.end() && !it->second->broken())
      return it->second;
  }
  const auto& n = cfg_.nodes.at(node);
  link_options o;
  o.host = n.host;
  o.port = n.port;
  o.cluster = cfg_.name;
  o.my_node = cfg_.nodes[me_].name;
  o.secret = cfg_.secret;
  auto l = std::make_shared<peer_link>(loop_, o, [this, node, name = n.name](std::string why) {
    // Frames may have been lost with the connection: the owner decides what
    // that means for the attempt.
    spdlog::info("link to node {} broken: {}", name, why);
    on_broken_(node, std::move(why));
  });
  l->connect();                        // throws link_error naming the address and the cause
  std::shared_ptr<peer_link> dropped;  // destroyed after the lock is released
  std::lock_guard lock{mu_};
  auto& slot = links_[node];
  if (slot && !slot->broken()) {
    // Another thread connected meanwhile, and may already have sent on its
    // link: everyone must use that one, or frames would take two
    // connections and lose their order (or be lost with the one dropped).
    dropped = std::move(l);
    return slot;
  }
  dropped = std::exchange(slot, l);
  return slot;
}

std::shared_ptr<peer_link> link_table::take(uint16_t node) {
  std::lock_guard lock{mu_};
  auto it = links_.find(node);
  if (it == links_.end())
    return nullptr;
  auto l = std::move(it->second);
  links_.erase(it);
  return l;
}

void link_table::send(uint16_t node, frame&& f) {
  std::shared_lock life{life_};
  if (closed_)
    return;
  // Never connect here (the caller may be a CAF worker). Sending under mu_
  // keeps the frames of one node in order whichever path they take.
  bool connect = false;
  {
    std::lock_guard lock{mu_};
    auto& queued = pending_[node];
    auto it = links_.find(node);
    if (queued.empty() && it != links_.end() && !it->second->broken()) {
      std::vector<frame> fs;
      fs.push_back(std::move(f));
      it->second->send(std::move(fs));
      return;
    }
    queued.push_back(std::move(f));
    connect = queued.size() == 1;
  }
  if (connect)
    connect_worker_.post([this, node] { flush_pending(node); });
}

void link_table::flush_pending(uint16_t node) {
  std::shared_ptr<peer_link> l;
  try {
    l = get(node);
  } catch (const std::exception& e) {
    // The node is unreachable: its loss is detected by heartbeats (or the
    // connection error) and the job recovers from a checkpoint; the frames
    // are part of an attempt that will be replaced.
    size_t dropped = 0;
    {
      std::lock_guard lock{mu_};
      dropped = std::exchange(pending_[node], {}).size();
    }
    if (on_send_failure_)
      on_send_failure_(node, dropped, e.what());
    return;
  }
  std::shared_lock life{life_};
  if (closed_)
    return;
  std::lock_guard lock{mu_};
  l->send(std::exchange(pending_[node], {}));
}

void link_table::close() {
  connect_worker_.stop();
  std::unique_lock life{life_};
  if (closed_)
    return;
  closed_ = true;
  std::vector<std::shared_ptr<peer_link>> links;  // dropped outside mu_
  {
    std::lock_guard lock{mu_};
    for (auto& [n, l] : links_)
      links.push_back(std::move(l));
    links_.clear();
    pending_.clear();
  }
  links.clear();
}

}  // namespace sluice::net
