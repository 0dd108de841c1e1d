#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "sluice/net/event_loop.hpp"
#include "sluice/net/handler.hpp"

namespace sluice::net {

/// Who may connect and how much a single message may cost to read.
struct server_options {
  std::string cluster;  ///< Cluster name a peer must present in hello.
  std::string node;     ///< This node's name, returned in heartbeat replies.
  std::string secret;   ///< Shared secret a peer must present in hello.
  /// Cap'n Proto traversal limit per incoming message (64 MiB): bounds the
  /// work a hostile or broken message can cause; a batch must fit in it.
  uint64_t traversal_limit_words = 64ull * 1024 * 1024 / 8;
  /// Nesting limit per incoming message; frames nest 4 deep at most.
  int nesting_limit = 16;
  /// A connection that has not said a successful hello by then is closed.
  std::chrono::milliseconds hello_timeout{10'000};
  /// Time a refused or misbehaving connection is kept open so that the error
  /// reply reaches the peer before the server hangs up.
  std::chrono::milliseconds close_grace{200};
};

/// The node service of one node: listens on host:port and serves the Gate
/// (authentication) and, after a successful hello, a Session per peer that
/// forwards everything to a `handler`.
///
/// Refused hellos (wrong cluster, wrong secret), unreadable bytes and
/// malformed messages are logged with the peer address and cost that one
/// connection only; the server keeps serving every other peer.
///
/// Lifecycle: the constructor binds and starts listening (throws
/// std::runtime_error naming the address if it cannot) and must be called
/// off the loop thread; the destructor (also off the loop thread) stops
/// listening and closes every connection. `handler` and `loop` must outlive
/// the server.
class node_server {
public:
  node_server(event_loop& loop, std::string host, uint16_t port, server_options options,
              handler& h);
  ~node_server();
  node_server(const node_server&) = delete;
  node_server& operator=(const node_server&) = delete;

  /// The bound port (the chosen one when constructed with port 0).
  uint16_t port() const noexcept { return port_; }

  struct state;  ///< Loop-thread internals (src/node_server.cpp).

private:
  event_loop& loop_;
  std::unique_ptr<state> state_;
  uint16_t port_ = 0;
};

}  // namespace sluice::net
