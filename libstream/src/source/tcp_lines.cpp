#include "sluice/source/tcp_lines.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <filesystem>
#include <list>
#include <map>
#include <mutex>
#include <thread>

#include "../state/lmdb_env.hpp"

namespace sluice {

// ---------------------------------------------------------------------------
// line_log

namespace {

/// Directories with an open log in this process (LMDB must not open one
/// environment twice in a process). Leaked on purpose, like the snapshot
/// store's: logs may outlive static destruction.
struct log_registry {
  std::mutex mtx;
  std::condition_variable closed;
  std::map<std::string, std::weak_ptr<line_log>> open;
};

log_registry& logs() {
  static auto* r = new log_registry;
  return *r;
}

std::string seq_key(uint64_t seq) {
  std::string k(8, '\0');
  for (int i = 7; i >= 0; --i, seq >>= 8) k[static_cast<size_t>(i)] = static_cast<char>(seq & 0xff);
  return k;
}

result<uint64_t> key_seq(std::string_view k, const std::string& dir) {
  if (k.size() != 8) return error{errc::corrupt_snapshot, fmt::format("line log {}: key of {} bytes, not 8", dir, k.size())};
  uint64_t seq = 0;
  for (char c : k) seq = (seq << 8) | static_cast<unsigned char>(c);
  return seq;
}

result<std::string> canonical_dir(const std::string& dir, bool create) {
  std::error_code ec;
  if (create) {
    std::filesystem::create_directories(dir, ec);
    if (ec) return error{errc::io_error, fmt::format("line log {}: cannot create directory: {}", dir, ec.message())};
  }
  auto c = create ? std::filesystem::canonical(dir, ec) : std::filesystem::weakly_canonical(dir, ec);
  if (ec) return error{errc::io_error, fmt::format("line log {}: cannot resolve directory: {}", dir, ec.message())};
  return c.string();
}

}  // namespace

struct line_log::impl {
  std::string dir;
  std::string canonical;
  std::unique_ptr<state::lmdb::env> env;
  MDB_dbi lines = 0;

  /// Last sequence number, in transaction `t`.
  result<uint64_t> last(MDB_txn* t) const {
    state::lmdb::cursor c;
    if (int rc = c.open(t, lines)) return env->failure("mdb_cursor_open", rc);
    MDB_val k{}, v{};
    const int rc = c.get(k, v, MDB_LAST);
    if (rc == MDB_NOTFOUND) return uint64_t{0};
    if (rc) return env->failure("mdb_cursor_get (last)", rc);
    return key_seq(state::lmdb::from_val(k), dir);
  }
};

line_log::line_log(std::unique_ptr<impl> p) : impl_(std::move(p)) {}

line_log::~line_log() {
  std::string key = std::move(impl_->canonical);
  impl_.reset();  // closes the environment before a waiting open() proceeds
  auto& reg = logs();
  std::lock_guard lock{reg.mtx};
  reg.open.erase(key);
  reg.closed.notify_all();
}

result<std::shared_ptr<line_log>> line_log::open(std::string dir, size_t map_size) {
  if (map_size == 0) return error{errc::invalid_argument, "line log: map size must be positive"};
  auto canonical = canonical_dir(dir, true);
  if (!canonical) return std::move(canonical).error();
  auto& reg = logs();
  std::unique_lock lock{reg.mtx};
  for (auto it = reg.open.find(*canonical); it != reg.open.end(); it = reg.open.find(*canonical)) {
    if (auto live = it->second.lock()) return live;
    reg.closed.wait(lock);  // its destructor is running
  }
  auto e = state::lmdb::env::open(*canonical, map_size, {"lines"});
  if (!e) return std::move(e).error();
  auto p = std::make_unique<impl>();
  p->dir = std::move(dir);
  p->canonical = *canonical;
  p->env = std::move(e).value();
  p->lines = p->env->dbi(0);
  std::shared_ptr<line_log> log{new line_log(std::move(p))};
  reg.open[log->impl_->canonical] = log;
  return log;
}

const std::string& line_log::dir() const noexcept { return impl_->dir; }

result<uint64_t> line_log::append(const std::vector<std::string>& lines) {
  size_t bytes = 0;
  for (auto& l : lines) bytes += l.size() + 8 + 16;
  return impl_->env->write(
      [&](state::lmdb::write_txn& w) -> result<uint64_t> {
        auto last = impl_->last(w.txn);
        if (!last) return last;
        uint64_t seq = *last;
        for (auto& l : lines) {
          std::string k = seq_key(++seq);
          MDB_val kv = state::lmdb::to_val(k), vv = state::lmdb::to_val(l);
          if (int rc = mdb_put(w.txn, impl_->lines, &kv, &vv, MDB_APPEND))
            return impl_->env->fail(w, fmt::format("mdb_put (line {})", seq), rc);
        }
        return seq;
      },
      bytes);
}

result<size_t> line_log::read(uint64_t from_seq, size_t max, std::vector<std::string>& out) {
  if (from_seq == 0) from_seq = 1;
  return impl_->env->read([&](MDB_txn* t) -> result<size_t> {
    state::lmdb::cursor c;
    if (int rc = c.open(t, impl_->lines)) return impl_->env->failure("mdb_cursor_open", rc);
    std::string start = seq_key(from_seq);
    MDB_val k = state::lmdb::to_val(start), v{};
    size_t n = 0;
    uint64_t expect = from_seq;
    for (int rc = c.get(k, v, MDB_SET_RANGE); n < max; rc = c.get(k, v, MDB_NEXT)) {
      if (rc == MDB_NOTFOUND) break;
      if (rc) return impl_->env->failure("mdb_cursor_get", rc);
      auto seq = key_seq(state::lmdb::from_val(k), impl_->dir);
      if (!seq) return std::move(seq).error();
      if (*seq != expect)
        return error{errc::corrupt_snapshot,
                     fmt::format("line log {}: expected line {}, found line {}", impl_->dir, expect, *seq)};
      out.emplace_back(state::lmdb::from_val(v));
      ++expect;
      ++n;
    }
    return n;
  });
}

result<uint64_t> line_log::size() {
  return impl_->env->read([&](MDB_txn* t) { return impl_->last(t); });
}

// ---------------------------------------------------------------------------
// tcp_line_server

namespace {

std::string os_error(std::string_view what) { return fmt::format("{}: {}", what, std::strerror(errno)); }

struct fd_guard {
  int fd = -1;
  explicit fd_guard(int f = -1) : fd(f) {}
  ~fd_guard() { reset(); }
  fd_guard(const fd_guard&) = delete;
  fd_guard& operator=(const fd_guard&) = delete;
  fd_guard(fd_guard&& o) noexcept : fd(std::exchange(o.fd, -1)) {}
  void reset(int f = -1) {
    if (fd >= 0) ::close(fd);
    fd = f;
  }
};

using steady = std::chrono::steady_clock;

/// One client connection.
struct connection {
  fd_guard sock;
  std::string in;       ///< received bytes not yet part of a complete line
  std::string out;      ///< replies not yet sent
  bool failed = false;  ///< an error reply is queued: send it, then drain and close
  bool eof = false;     ///< the client closed its side: send the rest, then close
  bool write_shut = false;
  steady::time_point drain_deadline{};
};

/// Received bytes read per connection and wakeup, so one client cannot starve others.
constexpr size_t read_budget = size_t{1} << 20;
/// Stop reading from a client that does not read its replies.
constexpr size_t max_pending_out = size_t{1} << 16;
/// How long a failed connection's input is drained (so that the error reply
/// is not lost to a reset) before it is closed.
constexpr auto drain_time = std::chrono::seconds(2);

}  // namespace

struct tcp_line_server::impl {
  std::shared_ptr<line_log> log;
  size_t max_line = default_max_line;
  fd_guard listener;
  fd_guard wake_read, wake_write;
  uint16_t port = 0;
  std::atomic<bool> stopping{false};
  std::atomic<uint64_t> accepted{0}, rejected{0};
  std::thread thread;
  std::mutex stop_mtx;
  std::list<connection> conns;

  void run() {
    std::vector<pollfd> fds;
    std::vector<connection*> order;
    while (!stopping.load()) {
      fds.clear();
      order.clear();
      fds.push_back({wake_read.fd, POLLIN, 0});
      fds.push_back({listener.fd, POLLIN, 0});
      auto now = steady::now();
      int timeout_ms = 200;
      for (auto& c : conns) {
        short ev = 0;
        if (c.out.size() < max_pending_out && !c.eof) ev |= POLLIN;
        if (!c.out.empty()) ev |= POLLOUT;
        if (c.failed && c.out.empty()) {
          auto left = std::chrono::duration_cast<std::chrono::milliseconds>(c.drain_deadline - now).count();
          timeout_ms = static_cast<int>(std::clamp<int64_t>(left + 1, 0, timeout_ms));
        }
        fds.push_back({c.sock.fd, ev, 0});
        order.push_back(&c);
      }
      const int rc = ::poll(fds.data(), fds.size(), timeout_ms);
      if (rc < 0 && errno != EINTR) break;  // cannot happen with valid descriptors
      if (stopping.load()) break;
      if (rc > 0 && (fds[1].revents & POLLIN)) accept_all();
      for (size_t i = 0; i < order.size(); ++i) {
        connection& c = *order[i];
        const short re = rc > 0 ? fds[i + 2].revents : 0;
        if (re & (POLLIN | POLLHUP | POLLERR)) receive(c);
        if (!c.out.empty()) send_pending(c);
      }
      now = steady::now();
      conns.remove_if([&](connection& c) { return finished(c, now); });
      if (rc > 0 && (fds[0].revents & POLLIN)) {
        char buf[64];
        while (::read(wake_read.fd, buf, sizeof buf) > 0) {
        }
      }
    }
    // Replies already queued get one last chance; then every socket closes.
    for (auto& c : conns) send_pending(c);
    conns.clear();
  }

  void accept_all() {
    for (;;) {
      int fd = ::accept4(listener.fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) return;  // EAGAIN, or a connection that went away already
      ++accepted;
      connection c;
      c.sock.reset(fd);
      if (conns.size() >= max_connections) {
        fail(c, fmt::format("too many connections (limit {})", max_connections));
        send_pending(c);
        continue;  // closed at once: no draining for these
      }
      conns.push_back(std::move(c));
    }
  }

  void fail(connection& c, std::string_view reason) {
    if (c.failed) return;
    c.failed = true;
    ++rejected;
    c.out += fmt::format("error {}\n", reason);
    c.in.clear();
    c.in.shrink_to_fit();
    c.drain_deadline = steady::now() + drain_time;
  }

  void receive(connection& c) {
    char buf[65536];
    size_t budget = read_budget;
    while (budget > 0) {
      const ssize_t n = ::recv(c.sock.fd, buf, std::min(sizeof buf, budget), 0);
      if (n == 0) {
        c.eof = true;
        return;
      }
      if (n < 0) {
        if (errno == EINTR) continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK) {
          c.eof = true;  // reset by the peer: nothing more to say to it
          c.out.clear();
        }
        return;
      }
      budget -= static_cast<size_t>(n);
      if (c.failed) continue;  // draining: discard
      on_chunk(c, std::string_view{buf, static_cast<size_t>(n)});
    }
  }

  /// Appends the complete lines of one received chunk, then acknowledges.
  void on_chunk(connection& c, std::string_view chunk) {
    std::vector<std::string> lines;
    bool too_long = false;
    size_t start = 0;
    for (size_t nl; (nl = chunk.find('\n', start)) != std::string_view::npos; start = nl + 1) {
      const std::string_view piece = chunk.substr(start, nl - start);
      if (c.in.size() + piece.size() > max_line + 1) {  // +1: a CR before the LF
        too_long = true;
        break;
      }
      std::string line = std::move(c.in);
      c.in.clear();
      line.append(piece);
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (line.size() > max_line) {
        too_long = true;
        break;
      }
      lines.push_back(std::move(line));
    }
    if (!too_long) {
      const std::string_view rest = chunk.substr(start);
      if (c.in.size() + rest.size() > max_line + 1)
        too_long = true;
      else
        c.in.append(rest);
    }
    // The complete lines before an over-long one are stored and acknowledged.
    if (!lines.empty()) {
      auto seq = log->append(lines);
      if (!seq) {
        fail(c, fmt::format("cannot store lines: {}", to_string(seq.error())));
        return;
      }
      c.out += fmt::format("ok {}\n", *seq);
    }
    if (too_long) fail(c, fmt::format("line longer than {} bytes", max_line));
  }

  static void send_pending(connection& c) {
    while (!c.out.empty()) {
      const ssize_t n = ::send(c.sock.fd, c.out.data(), c.out.size(), MSG_NOSIGNAL);
      if (n > 0) {
        c.out.erase(0, static_cast<size_t>(n));
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
      c.out.clear();  // the peer is gone
      c.eof = true;
      return;
    }
    if (c.failed && !c.write_shut) {
      ::shutdown(c.sock.fd, SHUT_WR);
      c.write_shut = true;
    }
  }

  static bool finished(const connection& c, steady::time_point now) {
    if (!c.out.empty()) return false;
    if (c.eof) return true;
    return c.failed && now >= c.drain_deadline;
  }
};

tcp_line_server::tcp_line_server(std::unique_ptr<impl> p) : impl_(std::move(p)) {}

tcp_line_server::~tcp_line_server() { stop(); }

result<std::unique_ptr<tcp_line_server>> tcp_line_server::start(std::shared_ptr<line_log> log, uint16_t port,
                                                                 size_t max_line) {
  if (!log) return error{errc::invalid_argument, "tcp line server: no log"};
  if (max_line == 0) return error{errc::invalid_argument, "tcp line server: max_line must be positive"};
  auto p = std::make_unique<impl>();
  p->log = std::move(log);
  p->max_line = max_line;
  auto failed = [&](std::string_view what) {
    return error{errc::io_error, fmt::format("tcp line server on 127.0.0.1:{}: {}", port, os_error(what))};
  };
  p->listener.reset(::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (p->listener.fd < 0) return failed("socket");
  int one = 1;
  if (::setsockopt(p->listener.fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0) return failed("setsockopt");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(p->listener.fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) return failed("bind");
  if (::listen(p->listener.fd, 64) != 0) return failed("listen");
  socklen_t len = sizeof addr;
  if (::getsockname(p->listener.fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) return failed("getsockname");
  p->port = ntohs(addr.sin_port);
  int pipefd[2];
  if (::pipe2(pipefd, O_NONBLOCK | O_CLOEXEC) != 0) return failed("pipe2");
  p->wake_read.reset(pipefd[0]);
  p->wake_write.reset(pipefd[1]);
  impl* raw = p.get();
  p->thread = std::thread([raw] { raw->run(); });
  return std::unique_ptr<tcp_line_server>{new tcp_line_server(std::move(p))};
}

void tcp_line_server::stop() {
  std::lock_guard lock{impl_->stop_mtx};
  if (!impl_->thread.joinable()) return;
  impl_->stopping.store(true);
  const char b = 1;
  [[maybe_unused]] auto n = ::write(impl_->wake_write.fd, &b, 1);
  impl_->thread.join();
  impl_->listener.reset();
}

uint16_t tcp_line_server::port() const noexcept { return impl_->port; }
uint64_t tcp_line_server::connections_accepted() const noexcept { return impl_->accepted.load(); }
uint64_t tcp_line_server::connections_rejected() const noexcept { return impl_->rejected.load(); }
const std::shared_ptr<line_log>& tcp_line_server::log() const noexcept { return impl_->log; }

// ---------------------------------------------------------------------------
// endpoints shared by the attempts of a job

namespace {

struct endpoint_registry {
  std::mutex mtx;
  std::map<std::string, tcp_line_endpoint> live;
};

endpoint_registry& endpoints() {
  static auto* r = new endpoint_registry;  // leaked on purpose, like the log registry
  return *r;
}

}  // namespace

result<tcp_line_endpoint> acquire_tcp_line_endpoint(const std::string& log_dir, uint16_t port, size_t max_line) {
  auto canonical = canonical_dir(log_dir, true);
  if (!canonical) return std::move(canonical).error();
  auto& reg = endpoints();
  std::lock_guard lock{reg.mtx};
  if (auto it = reg.live.find(*canonical); it != reg.live.end()) {
    if (port != 0 && it->second.server->port() != port)
      return error{errc::invalid_argument,
                   fmt::format("tcp line log {} is already served on port {}, not {}", log_dir,
                               it->second.server->port(), port)};
    return it->second;
  }
  auto log = line_log::open(log_dir);
  if (!log) return std::move(log).error();
  auto server = tcp_line_server::start(*log, port, max_line);
  if (!server) return std::move(server).error();
  tcp_line_endpoint ep{std::move(log).value(), std::shared_ptr<tcp_line_server>(std::move(server).value())};
  reg.live.emplace(*canonical, ep);
  return ep;
}

void release_tcp_line_endpoint(const std::string& log_dir) {
  auto canonical = canonical_dir(log_dir, false);
  if (!canonical) return;
  tcp_line_endpoint gone;
  {
    auto& reg = endpoints();
    std::lock_guard lock{reg.mtx};
    auto it = reg.live.find(*canonical);
    if (it == reg.live.end()) return;
    gone = std::move(it->second);
    reg.live.erase(it);
  }
  // `gone` goes here: the server stops now unless a source still holds it.
}

}  // namespace sluice
