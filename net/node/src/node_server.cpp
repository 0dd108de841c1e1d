#include "sluice/net/node_server.hpp"

#include <memory>
#include <string_view>

#include <capnp/rpc-twoparty.h>
#include <capnp/rpc.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "convert.hpp"
#include "rpc_util.hpp"
#include "watched_stream.hpp"

namespace sluice::net {

using detail::describe;
using detail::rpc_error;
using detail::to_string;

namespace {

/// Compares in time independent of where the first difference is, so that
/// response times do not reveal how much of a guessed secret was right.
bool same_secret(std::string_view expected, capnp::Data::Reader given) {
  unsigned diff = expected.size() != given.size() ? 1u : 0u;
  for (size_t i = 0; i < expected.size(); ++i) {
    const unsigned char g = i < given.size() ? given[i] : 0;
    diff |= static_cast<unsigned char>(expected[i]) ^ g;
  }
  return diff == 0;
}

}  // namespace

struct node_server::state final : kj::TaskSet::ErrorHandler {
  /// One accepted TCP connection: unauthenticated until hello succeeds.
  struct connection {
    connection(state& s, kj::Own<kj::AsyncIoStream> socket, std::string peer_address);

    /// Ends the connection after the grace period (the error reply of the
    /// call that caused it gets out first).
    void close(const std::string& why) {
      stream.note(why);
      if (close_fulfiller->isWaiting())
        close_fulfiller->fulfill();
    }

    state& server;
    std::string peer;  ///< Remote address, "127.0.0.1:41234".
    std::string node;  ///< Peer node name, after hello.
    bool authenticated = false;
    kj::Own<kj::PromiseFulfiller<void>> close_fulfiller;
    kj::Promise<void> close_requested = nullptr;
    detail::watched_stream stream;
    capnp::TwoPartyVatNetwork network;
    capnp::RpcSystem<capnp::rpc::twoparty::VatId> rpc;
  };

  class session_impl;
  class gate_impl;

  state(event_loop& l, handler& h, server_options o, kj::Own<kj::ConnectionReceiver> r)
      : loop(l), handler_(h), options(std::move(o)), listener(kj::mv(r)), tasks(*this) {
    tasks.add(accept_loop());
  }

  kj::Promise<void> accept_loop() {
    return listener->acceptAuthenticated()
        .then([this](kj::AuthenticatedStream&& s) {
          auto peer = s.peerIdentity->toString();
          adopt(kj::mv(s.stream), std::string(peer.cStr(), peer.size()));
          return accept_loop();
        })
        .catch_([this](kj::Exception&& e) -> kj::Promise<void> {
          // Typically out of file descriptors: back off, keep listening.
          spdlog::error("node {}: accept failed: {}", options.node, describe(e));
          return loop.io().provider->getTimer().afterDelay(100 * kj::MILLISECONDS).then([this] {
            return accept_loop();
          });
        });
  }

  void adopt(kj::Own<kj::AsyncIoStream> socket, std::string peer) {
    auto conn = kj::heap<connection>(*this, kj::mv(socket), std::move(peer));
    auto& c = *conn;
    auto& timer = loop.io().provider->getTimer();
    auto refused = kj::mv(c.close_requested).then([&timer, grace = options.close_grace] {
      return timer.afterDelay(detail::to_kj(grace));
    });
    auto no_hello =
        timer.afterDelay(detail::to_kj(options.hello_timeout)).then([&c]() -> kj::Promise<void> {
          if (c.authenticated)
            return kj::NEVER_DONE;
          c.stream.note("no successful hello within the hello timeout");
          return kj::READY_NOW;
        });
    tasks.add(c.network.onDisconnect()
                  .exclusiveJoin(kj::mv(refused))
                  .exclusiveJoin(kj::mv(no_hello))
                  .then([this, &c] { ended(c); })
                  .attach(kj::mv(conn)));
  }

  void ended(connection& c) {
    const std::string reason = c.stream.reason().empty() ? "connection closed" : c.stream.reason();
    if (c.authenticated) {
      // Expected at the end of every job: the handler says when it matters
      // (a coordinator declares the node lost).
      spdlog::info("node {}: peer {} ({}) disconnected: {}", options.node, c.node, c.peer, reason);
      try {
        handler_.on_peer_lost(c.node, reason);
      } catch (const std::exception& e) {
        spdlog::error("node {}: on_peer_lost({}) failed: {}", options.node, c.node, e.what());
      }
    } else if (c.stream.reason() == "peer closed the connection") {
      spdlog::info("node {}: {} closed the connection before hello", options.node, c.peer);
    } else if (reason.rfind("refused: ", 0) != 0) {
      // Refusals were logged when they happened; this covers garbage,
      // malformed messages and idle connections.
      spdlog::warn("node {}: dropped connection from {}: {}", options.node, c.peer, reason);
    }
  }

  void taskFailed(kj::Exception&& e) override {
    spdlog::error("node {}: connection task failed: {}", options.node, describe(e));
  }

  event_loop& loop;
  handler& handler_;
  server_options options;
  kj::Own<kj::ConnectionReceiver> listener;
  kj::TaskSet tasks;  // last: destroyed first, closing every connection
};

/// The Session of one authenticated peer: forwards every call to the handler.
class node_server::state::session_impl final : public schema::Session::Server {
public:
  explicit session_impl(connection& c) : c_(c) {}

  kj::Promise<void> deliver(DeliverContext ctx) override {
    return guard("deliver", [&] {
      auto frames = detail::decode_frames(ctx.getParams().getFrames());
      c_.server.handler_.on_frames(c_.node, std::move(frames));
    });
  }

  kj::Promise<void> control(ControlContext ctx) override {
    // The handler may answer later, from another thread: the reply fulfils a
    // cross-thread promise that this call waits for on the loop.
    kj::Maybe<kj::Promise<void>> later;
    auto now = guard("control", [&] {
      auto params = ctx.getParams();
      if (!params.hasMsg())
        throw protocol_error("control.msg: missing");
      auto msg = detail::decode(params.getMsg(), "control.msg");
      // (A pointer crosses threads: GCC 12 misreads a variant held by the fulfiller as
      // uninitialised.)
      using reply_ptr = kj::Own<net::control>;
      auto paf = kj::newPromiseAndCrossThreadFulfiller<reply_ptr>();
      auto fulfiller = std::make_shared<kj::Own<kj::CrossThreadPromiseFulfiller<reply_ptr>>>(
          kj::mv(paf.fulfiller));
      c_.server.handler_.on_control_async(c_.node, std::move(msg), [fulfiller](net::control reply) {
        (*fulfiller)->fulfill(kj::heap<net::control>(std::move(reply)));
      });
      later = paf.promise.then(
          [ctx](reply_ptr reply) mutable { detail::encode(*reply, ctx.getResults().initReply()); });
    });
    KJ_IF_MAYBE (l, later)
      return kj::mv(*l);
    return now;
  }

  kj::Promise<void> heartbeat(HeartbeatContext ctx) override {
    return guard("heartbeat", [&] {
      auto p = ctx.getParams();
      const auto node = to_string(p.getNode());
      if (node != c_.node)
        throw protocol_error(
            fmt::format("heartbeat.node: '{}' on the session of node '{}'", node, c_.node));
      c_.server.handler_.on_heartbeat(c_.node, p.getSeq());
      auto r = ctx.getResults();
      r.setNode(c_.server.options.node);
      r.setSeq(p.getSeq());
    });
  }

  kj::Promise<void> putSnapshot(PutSnapshotContext ctx) override {
    return guard("putSnapshot", [&] {
      auto p = ctx.getParams();
      if (p.getCheckpoint() == 0)
        throw protocol_error("putSnapshot.checkpoint: 0 is not a checkpoint");
      c_.server.handler_.on_put_snapshot(c_.node, p.getCheckpoint(),
                                         detail::decode_entries(p.getEntries()));
    });
  }

private:
  /// Runs one call: a malformed message costs the peer its connection (its
  /// stream can no longer be trusted); a failing handler only fails the call.
  template <class F>
  kj::Promise<void> guard(const char* call, F&& f) {
    auto& s = c_.server;
    try {
      f();
      return kj::READY_NOW;
    } catch (const protocol_error& e) {
      return malformed(call, e.what());
    } catch (const kj::Exception& e) {
      // Thrown by the capnp accessors on a message that is not well formed.
      return malformed(call, "protocol error: " + describe(e));
    } catch (const std::exception& e) {
      spdlog::error("node {}: {} from {} failed in the handler: {}", s.options.node, call, c_.node,
                    e.what());
      return rpc_error(fmt::format("{} failed on node {}: {}", call, s.options.node, e.what()));
    }
  }

  kj::Promise<void> malformed(const char* call, const std::string& what) {
    spdlog::warn("node {}: malformed {} from {} ({}): {}; dropping the connection",
                 c_.server.options.node, call, c_.node, c_.peer, what);
    c_.close(fmt::format("malformed {}: {}", call, what));
    return rpc_error(what);
  }

  connection& c_;
};

/// The bootstrap capability: checks cluster name and secret, hands out the
/// Session. Nothing else is reachable before.
class node_server::state::gate_impl final : public schema::Gate::Server {
public:
  explicit gate_impl(connection& c) : c_(c) {}

  kj::Promise<void> hello(HelloContext ctx) override {
    auto p = ctx.getParams();
    const auto& opt = c_.server.options;
    const bool secret_ok = same_secret(opt.secret, p.getSecret());
    const auto cluster = to_string(p.getCluster());
    std::string why;
    if (cluster != opt.cluster)
      why = fmt::format("cluster name '{}' does not match this node's cluster", cluster);
    else if (!secret_ok)
      why = "wrong secret";
    else if (p.getNode().size() == 0)
      why = "no node name given";
    if (!why.empty()) {
      spdlog::warn("refused connection from {}: {}", c_.peer, why);
      c_.close("refused: " + why);
      ctx.getResults().setRefusal(why);
      return kj::READY_NOW;
    }
    c_.authenticated = true;
    c_.node = to_string(p.getNode());
    spdlog::info("node {}: peer {} connected from {}", opt.node, c_.node, c_.peer);
    ctx.getResults().setSession(kj::heap<session_impl>(c_));
    return kj::READY_NOW;
  }

private:
  connection& c_;
};

node_server::state::connection::connection(state& s, kj::Own<kj::AsyncIoStream> socket,
                                           std::string peer_address)
    : server(s),
      peer(std::move(peer_address)),
      stream(kj::mv(socket)),
      network(stream, capnp::rpc::twoparty::Side::SERVER,
              capnp::ReaderOptions{s.options.traversal_limit_words, s.options.nesting_limit}),
      rpc(capnp::makeRpcServer(network, kj::heap<gate_impl>(*this))) {
  auto paf = kj::newPromiseAndFulfiller<void>();
  close_requested = kj::mv(paf.promise);
  close_fulfiller = kj::mv(paf.fulfiller);
}

node_server::node_server(event_loop& loop, std::string host, uint16_t port, server_options options,
                         handler& h)
    : loop_(loop) {
  try {
    port_ = loop.call([&]() -> kj::Promise<uint16_t> {
      return loop.io()
          .provider->getNetwork()
          .parseAddress(host, port)
          .then([&](kj::Own<kj::NetworkAddress> address) {
            auto listener = address->listen();
            const auto bound = static_cast<uint16_t>(listener->getPort());
            state_ = std::make_unique<state>(loop, h, std::move(options), kj::mv(listener));
            return bound;
          });
    });
  } catch (const kj::Exception& e) {
    throw std::runtime_error(
        fmt::format("node service: cannot listen on {}:{}: {}", host, port, describe(e)));
  }
  spdlog::info("node {}: serving on {}:{}", state_->options.node, host, port_);
}

node_server::~node_server() {
  try {
    loop_.call([this] { state_.reset(); });
  } catch (const std::exception& e) {
    spdlog::error("node service: shutting down the server failed: {}", e.what());
  }
}

}  // namespace sluice::net
