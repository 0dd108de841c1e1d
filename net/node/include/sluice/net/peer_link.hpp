#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "sluice/net/event_loop.hpp"
#include "sluice/net/frame.hpp"

namespace sluice::net {

/// A peer_link operation failed: connection refused or timed out, hello
/// refused, a call failed or timed out, or the link is broken. The message
/// names the peer address and the operation; `refused()` says that the peer
/// refused this node (wrong cluster or secret), which retrying cannot mend.
class link_error : public std::runtime_error {
public:
  explicit link_error(const std::string& what, bool refused = false)
      : std::runtime_error(what), refused_(refused) {}
  bool refused() const noexcept { return refused_; }

private:
  bool refused_ = false;
};

/// Where to connect and how to introduce ourselves.
struct link_options {
  std::string host;
  uint16_t port = 0;
  std::string cluster;
  std::string my_node;
  std::string secret;
  /// `deliver` calls outstanding at once; frames sent meanwhile are
  /// coalesced into the next call.
  uint32_t max_in_flight = 8;
  std::chrono::milliseconds connect_timeout{3000};
  /// Limits for reading replies, as on the server.
  uint64_t traversal_limit_words = 64ull * 1024 * 1024 / 8;
  int nesting_limit = 16;
};

/// The answer to our latest heartbeat.
struct heartbeat_echo {
  std::string node;  ///< The answering node.
  uint64_t seq = 0;
  std::chrono::steady_clock::time_point received;
};

/// A client connection to one node's node_server: an ordered frame stream
/// plus blocking request calls.
///
/// Threads: every public member may be called from any thread except the
/// blocking ones (connect, request, put_snapshot), which
/// must not be called on the loop thread (they would wait for themselves).
///
/// Failure: the first connection loss or failed call of the frame stream or
/// heartbeats marks the link broken and calls `on_broken(reason)` once, on
/// the loop thread; frames not yet delivered are dropped (recovery goes
/// through the latest checkpoint). A broken link stays broken: make a new one
/// to reconnect. Blocking calls throw link_error; they break the link only if
/// the connection itself failed (not on a timeout or a remote handler error).
///
/// Lifecycle: construct, connect(), use, destroy (off the loop thread, before
/// the loop). Destroying the link cancels what is in flight and does not call
/// on_broken.
class peer_link {
public:
  peer_link(event_loop& loop, link_options options,
            std::function<void(std::string reason)> on_broken);
  ~peer_link();
  peer_link(const peer_link&) = delete;
  peer_link& operator=(const peer_link&) = delete;

  /// Connects and authenticates; blocks up to connect_timeout. Throws
  /// link_error naming the address and the cause (refused, timed out,
  /// "wrong secret", ...).
  void connect();

  /// Queues frames for delivery and returns at once. Frames reach the peer's
  /// handler in the order of send calls (per link). Frames sent before
  /// connect() wait for it; frames sent on a broken link are dropped.
  void send(std::vector<frame>&& frames);

  /// Sends a control request and waits for the reply.
  control request(control&& msg, std::chrono::milliseconds timeout);

  /// Sends a heartbeat and returns at once; the answer shows in
  /// last_heartbeat(), a failure breaks the link.
  void heartbeat(uint64_t seq);
  std::optional<heartbeat_echo> last_heartbeat() const;

  /// Replicates snapshot entries of `checkpoint` to the peer and waits.
  void put_snapshot(uint64_t checkpoint, std::vector<snapshot_entry_msg>&& entries,
                    std::chrono::milliseconds timeout);

  bool broken() const noexcept;
  /// Why the link broke; empty while it is not broken.
  std::string broken_reason() const;

  /// "127.0.0.1:7102", for messages.
  const std::string& address() const noexcept { return address_; }

  struct core;  ///< Shared internals (src/peer_link.cpp).

private:
  event_loop& loop_;
  std::string address_;
  std::shared_ptr<core> core_;
};

}  // namespace sluice::net
