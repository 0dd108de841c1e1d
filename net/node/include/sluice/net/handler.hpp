#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "sluice/net/frame.hpp"

namespace sluice::net {

/// What a node does with the calls its peers make: implemented by the
/// runtime, called by node_server.
///
/// Every call comes on the event loop thread and must return quickly (hand
/// the work to an actor's mailbox; never wait for one). An exception thrown
/// here becomes the failing RPC's error on the calling node and is logged;
/// it never takes the node down. `peer_node` is the name the peer gave in its
/// authenticated hello.
class handler {
public:
  virtual ~handler() = default;

  /// Frames of one `deliver` call, in the order the peer sent them. Calls
  /// from one peer arrive in order.
  virtual void on_frames(const std::string& peer_node, std::vector<frame>&& frames) = 0;

  /// A node-level request (join, deploy, cancel, shutdown); returns the reply.
  virtual control on_control(const std::string& peer_node, control&& msg) = 0;

  /// Answers a control request exactly once, now or later, from any thread.
  using control_reply = std::function<void(control)>;

  /// A control request whose answer may take time (it must still return
  /// at once): the reply goes through `reply` when it is ready. The default
  /// answers with `on_control` right away.
  virtual void on_control_async(const std::string& peer_node, control&& msg, control_reply reply) {
    reply(on_control(peer_node, std::move(msg)));
  }

  /// A heartbeat; the server answers it with its own node name and the same
  /// `seq` after this returns.
  virtual void on_heartbeat(const std::string& /*peer_node*/, uint64_t /*seq*/) {}

  /// A peer replicates its snapshot of `checkpoint` here.
  virtual void on_put_snapshot(const std::string& peer_node, uint64_t checkpoint,
                               std::vector<snapshot_entry_msg>&& entries) = 0;

  /// The connection of an authenticated peer ended (closed, reset, dropped
  /// for a protocol violation). Not called while the server itself shuts down.
  virtual void on_peer_lost(const std::string& /*peer_node*/, const std::string& /*reason*/) {}
};

}  // namespace sluice::net
