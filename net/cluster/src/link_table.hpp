#pragma once
// The links of one node to the other nodes of its cluster: at most one
// connected peer_link per node, so that frames to a node share one
// connection and stay in order.

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <vector>

#include "serial_worker.hpp"
#include "sluice/net/cluster_config.hpp"
#include "sluice/net/event_loop.hpp"
#include "sluice/net/frame.hpp"
#include "sluice/net/peer_link.hpp"

namespace sluice::net {

/// Lifecycle: built by the cluster node once its event loop runs; `close`
/// (or the destructor) stops the connect worker, waits until no caller uses
/// a link and drops them all. Threads: `get` and `take` from any thread that
/// may block (control worker, heartbeat thread); `send` from any thread,
/// CAF workers included (it never blocks on the network: without a link the
/// frames wait in a queue until the connect worker has connected).
class link_table {
public:
  /// `on_broken(node, why)` runs on the event loop thread when a link breaks:
  /// it must only record the fact (a link cannot be dropped from its own
  /// callback).
  link_table(const cluster_config& cfg, size_t me, event_loop& loop,
             std::function<void(uint16_t node, std::string why)> on_broken);
  ~link_table();
  link_table(const link_table&) = delete;
  link_table& operator=(const link_table&) = delete;

  /// The connected link to `node`, connecting (blocking, up to the connect
  /// timeout) when there is none. Throws link_error.
  std::shared_ptr<peer_link> get(uint16_t node);

  /// Removes the link to `node` and returns it, for the caller to drop
  /// outside its own locks: a link's destructor waits for the event loop
  /// thread, which may itself be waiting for the caller's lock.
  std::shared_ptr<peer_link> take(uint16_t node);

  /// Sends `f` to `node` after everything sent to it before. `on_failure`
  /// (on the connect worker) learns how many frames were dropped because
  /// the node could not be reached.
  void send(uint16_t node, frame&& f);
  void on_send_failure(
      std::function<void(uint16_t node, size_t dropped, const std::string& why)> f) {
    on_send_failure_ = std::move(f);
  }

  void close();

private:
  void flush_pending(uint16_t node);

  const cluster_config& cfg_;
  size_t me_;
  event_loop& loop_;
  std::function<void(uint16_t, std::string)> on_broken_;
  std::function<void(uint16_t, size_t, const std::string&)> on_send_failure_;
  serial_worker connect_worker_;
  /// Held shared by every user of a link, exclusively by `close`.
  std::shared_mutex life_;
  bool closed_ = false;  ///< Under life_.
  std::mutex mu_;
  std::map<uint16_t, std::shared_ptr<peer_link>> links_;
  std::map<uint16_t, std::vector<frame>> pending_;  ///< Waiting for their link to connect.
};

}  // namespace sluice::net
