#include "sluice/net/peer_link.hpp"

#include <cstring>
#include <deque>
#include <mutex>

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

namespace {

// One deliver call carries at most this much (a single larger frame goes
// alone): keeps every message far below the receiver's traversal limit and
// lets the next call start while the peer decodes this one.
constexpr size_t max_call_bytes = 4u << 20;
constexpr size_t max_call_frames = 16384;

}  // namespace

/// Shared by the link's owner, senders on any thread and the loop thread.
/// Posted work holds a reference, so it may run after the link is gone.
struct peer_link::core : std::enable_shared_from_this<core> {
  /// The socket and RPC objects: loop thread only, and destroyed there.
  struct connection {
    connection(core& c, kj::Own<kj::AsyncIoStream> socket)
        : stream(kj::mv(socket)),
          network(stream, capnp::rpc::twoparty::Side::CLIENT,
                  capnp::ReaderOptions{c.options.traversal_limit_words, c.options.nesting_limit}),
          rpc(capnp::makeRpcClient(network)),
          tasks(c.errors) {}

    schema::Gate::Client gate() {
      capnp::word scratch[4];
      std::memset(scratch, 0, sizeof scratch);
      capnp::MallocMessageBuilder message(scratch);
      auto id = message.getRoot<capnp::rpc::twoparty::VatId>();
      id.setSide(capnp::rpc::twoparty::Side::SERVER);
      return rpc.bootstrap(id).castAs<schema::Gate>();
    }

    detail::watched_stream stream;
    capnp::TwoPartyVatNetwork network;
    capnp::RpcSystem<capnp::rpc::twoparty::VatId> rpc;
    kj::Maybe<schema::Session::Client> session;
    kj::TaskSet tasks;  // last: in-flight calls are cancelled before the RPC system goes
  };

  /// Every task handles its own errors; this only reports what slipped through.
  struct error_handler final : kj::TaskSet::ErrorHandler {
    explicit error_handler(core& c) : owner(c) {}
    void taskFailed(kj::Exception&& e) override { owner.fail("internal error: " + describe(e)); }
    core& owner;
  };

  core(event_loop& l, link_options o, std::function<void(std::string)> cb, std::string addr)
      : loop(l), options(std::move(o)), on_broken(std::move(cb)), address(std::move(addr)) {}

  // -- loop thread -------------------------------------------------------------

  kj::Promise<void> start_connect() {
    if (conn)
      throw link_error("already connected");
    auto& io = loop.io();
    auto timeout = io.provider->getTimer()
                       .afterDelay(detail::to_kj(options.connect_timeout))
                       .then([ms = options.connect_timeout.count()]() -> kj::Promise<void> {
                         return rpc_error(fmt::format("timed out after {} ms", ms));
                       });
    return io.provider->getNetwork()
        .parseAddress(options.host, options.port)
        .then([](kj::Own<kj::NetworkAddress> a) { return a->connect().attach(kj::mv(a)); })
        .then([this](kj::Own<kj::AsyncIoStream> socket) {
          conn = kj::heap<connection>(*this, kj::mv(socket));
          auto req = conn->gate().helloRequest();
          req.setCluster(options.cluster);
          req.setNode(options.my_node);
          req.setSecret(detail::as_data(options.secret));
          return req.send().then([this](capnp::Response<schema::Gate::HelloResults>&& r) {
            if (r.hasRefusal()) {
              refusal = detail::to_string(r.getRefusal());
              kj::throwFatalException(rpc_error("refused: " + refusal));
            }
            conn->session = r.getSession();
            conn->tasks.add(conn->network.onDisconnect().then([this] {
              const auto& why = conn->stream.reason();
              fail("connection lost: " +
                   (why.empty() ? std::string("peer closed the connection") : why));
            }));
          });
        })
        .exclusiveJoin(kj::mv(timeout));
  }

  schema::Session::Client& session(const char* what) {
    if (closed)
      throw link_error(fmt::format("{} to {}: link closed", what, address));
    {
      std::lock_guard lock{mutex};
      if (broken)
        throw link_error(fmt::format("{} to {}: link broken: {}", what, address, broken_reason));
    }
    if (conn)
      KJ_IF_MAYBE (s, conn->session)
        return *s;
    throw link_error(fmt::format("{} to {}: not connected", what, address));
  }

  /// Moves queued frames into deliver calls, at most max_in_flight at once.
  void pump() {
    {
      std::lock_guard lock{mutex};
      flush_posted = false;
      if (broken || closed) {
        outbox.clear();
        return;
      }
      if (!conn || conn->session == nullptr)
        return;  // connect() posts a flush when done
      for (auto& f : outbox)
        pending.push_back(std::move(f));
      outbox.clear();
    }
    auto& s = session("deliver");
    while (in_flight < options.max_in_flight && !pending.empty()) {
      size_t n = 0, bytes = 0;
      while (n < pending.size() && n < max_call_frames) {
        const size_t w = detail::wire_size(pending[n]);
        if (n > 0 && bytes + w > max_call_bytes)
          break;
        bytes += w;
        ++n;
      }
      auto req = s.deliverRequest(capnp::MessageSize{bytes / sizeof(capnp::word) + 16, 0});
      auto list = req.initFrames(static_cast<unsigned>(n));
      for (unsigned i = 0; i < n; ++i) {
        detail::encode(pending.front(), list[i]);
        pending.pop_front();
      }
      ++in_flight;
      conn->tasks.add(req.send().then(
          [this](auto&&) {
            --in_flight;
            pump();
          },
          [this](kj::Exception&& e) { fail("deliver failed: " + describe(e)); }));
    }
  }

  void send_heartbeat(uint64_t seq) {
    if (closed || !conn || conn->session == nullptr)
      return;
    {
      std::lock_guard lock{mutex};
      if (broken)
        return;
    }
    auto req = session("heartbeat").heartbeatRequest();
    req.setNode(options.my_node);
    req.setSeq(seq);
    conn->tasks.add(req.send().then(
        [this](capnp::Response<schema::Session::HeartbeatResults>&& r) {
          std::lock_guard lock{mutex};
          echo = heartbeat_echo{detail::to_string(r.getNode()), r.getSeq(),
                                std::chrono::steady_clock::now()};
        },
        [this](kj::Exception&& e) { fail("heartbeat failed: " + describe(e)); }));
  }

  /// Marks the link broken and tells the owner, once.
  void fail(const std::string& reason) {
    {
      std::lock_guard lock{mutex};
      if (broken || closed)
        return;
      broken = true;
      broken_reason = reason;
      outbox.clear();
    }
    pending.clear();
    // The owner decides whether this is a failure (it is not at a job's end).
    spdlog::info("link to {} broken: {}", address, reason);
    if (!on_broken)
      return;
    try {
      on_broken(reason);
    } catch (const std::exception& e) {
      spdlog::error("link to {}: on_broken failed: {}", address, e.what());
    }
  }

  void close() {
    {
      std::lock_guard lock{mutex};
      closed = true;
      outbox.clear();
    }
    pending.clear();
    conn = nullptr;
  }

  // -- any thread ------------------------------------------------------------------

  /// Runs `make(session)` (returning a promise of T) on the loop thread and
  /// waits for it, at most `timeout`.
  template <class T, class Make>
  T blocking(const char* what, std::chrono::milliseconds timeout, Make make) {
    try {
      return loop.call([&]() -> kj::Promise<T> {
        auto timer = loop.io()
                         .provider->getTimer()
                         .afterDelay(detail::to_kj(timeout))
                         .then([ms = timeout.count()]() -> kj::Promise<T> {
                           return rpc_error(fmt::format("no reply within {} ms", ms),
                                            kj::Exception::Type::OVERLOADED);
                         });
        return make(session(what)).exclusiveJoin(kj::mv(timer));
      });
    } catch (const link_error&) {
      throw;
    } catch (const kj::Exception& e) {
      if (e.getType() == kj::Exception::Type::DISCONNECTED)
        loop.post([self = shared_from_this(), why = std::string(what) + " failed: " + describe(e)] {
          self->fail(why);
        });
      throw link_error(fmt::format("{} to {} failed: {}", what, address, describe(e)));
    } catch (const std::exception& e) {
      throw link_error(fmt::format("{} to {} failed: {}", what, address, e.what()));
    }
  }

  event_loop& loop;
  const link_options options;
  const std::function<void(std::string)> on_broken;
  const std::string address;

  // Shared with senders and readers on other threads.
  mutable std::mutex mutex;
  std::vector<frame> outbox;
  bool flush_posted = false;
  bool broken = false;
  std::string refusal;  ///< Why the peer refused our hello (loop thread).
  bool closed = false;
  std::string broken_reason;
  std::optional<heartbeat_echo> echo;

  // Loop thread only.
  error_handler errors{*this};
  kj::Own<connection> conn;
  std::deque<frame> pending;
  uint32_t in_flight = 0;
};

namespace {

/// Decoding a reply runs inside a KJ continuation: rethrow a protocol_error
/// as a KJ exception with the same text, so the caller sees the text only.
template <class F>
auto decoding(F&& f) {
  try {
    return f();
  } catch (const std::exception& e) {
    kj::throwFatalException(rpc_error(e.what()));
  }
}

}  // namespace

peer_link::peer_link(event_loop& loop, link_options options,
                     std::function<void(std::string reason)> on_broken)
    : loop_(loop), address_(fmt::format("{}:{}", options.host, options.port)) {
  if (options.max_in_flight == 0)
    throw std::invalid_argument("link_options::max_in_flight must be at least 1");
  core_ = std::make_shared<core>(loop, std::move(options), std::move(on_broken), address_);
}

peer_link::~peer_link() {
  try {
    loop_.call([c = core_] { c->close(); });
  } catch (const std::exception& e) {
    spdlog::error("link to {}: closing failed: {}", address_, e.what());
  }
}

void peer_link::connect() {
  auto c = core_;
  try {
    loop_.call([c]() -> kj::Promise<void> { return c->start_connect(); });
  } catch (const std::exception& e) {
    const auto* k = dynamic_cast<const kj::Exception*>(&e);
    const std::string why = k ? describe(*k) : e.what();
    // Leave the link unconnected (connect may be retried).
    const bool refused = loop_.call([c] {
      c->conn = nullptr;
      return !c->refusal.empty();
    });
    throw link_error(fmt::format("connect to {} failed: {}", address_, why), refused);
  }
  loop_.post([c] { c->pump(); });  // frames sent before connect
}

void peer_link::send(std::vector<frame>&& frames) {
  bool post = false;
  {
    std::lock_guard lock{core_->mutex};
    if (core_->broken || core_->closed)
      return;
    if (core_->outbox.empty()) {
      core_->outbox = std::move(frames);
    } else {
      for (auto& f : frames)
        core_->outbox.push_back(std::move(f));
    }
    post = !std::exchange(core_->flush_posted, true);
  }
  if (post)
    loop_.post([c = core_] { c->pump(); });
}

control peer_link::request(control&& msg, std::chrono::milliseconds timeout) {
  return core_->blocking<control>("control request", timeout, [&](schema::Session::Client& s) {
    auto req = s.controlRequest();
    detail::encode(msg, req.initMsg());
    return req.send().then([](capnp::Response<schema::Session::ControlResults>&& r) {
      return decoding([&] {
        if (!r.hasReply())
          throw protocol_error("control.reply: missing");
        return detail::decode(r.getReply(), "control.reply");
      });
    });
  });
}

void peer_link::heartbeat(uint64_t seq) {
  loop_.post([c = core_, seq] { c->send_heartbeat(seq); });
}

std::optional<heartbeat_echo> peer_link::last_heartbeat() const {
  std::lock_guard lock{core_->mutex};
  return core_->echo;
}

void peer_link::put_snapshot(uint64_t checkpoint, std::vector<snapshot_entry_msg>&& entries,
                             std::chrono::milliseconds timeout) {
  core_->blocking<void>("putSnapshot", timeout, [&](schema::Session::Client& s) {
    auto req = s.putSnapshotRequest();
    req.setCheckpoint(checkpoint);
    detail::encode_entries(entries, req.initEntries(static_cast<unsigned>(entries.size())));
    return req.send().ignoreResult();
  });
}

bool peer_link::broken() const noexcept {
  std::lock_guard lock{core_->mutex};
  return core_->broken;
}

std::string peer_link::broken_reason() const {
  std::lock_guard lock{core_->mutex};
  return core_->broken_reason;
}

}  // namespace sluice::net
