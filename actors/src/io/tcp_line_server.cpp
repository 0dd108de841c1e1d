#include "sluice/actors/io/tcp_line_server.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <list>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

namespace sluice::actors::io {

namespace {

std::string os_error(std::string_view what) {
  return fmt::format("{}: {}", what, std::strerror(errno));
}

struct fd_guard {
  int fd = -1;
  explicit fd_guard(int f = -1) : fd(f) {}
  ~fd_guard() { reset(); }
  fd_guard(const fd_guard&) = delete;
  fd_guard& operator=(const fd_guard&) = delete;
  fd_guard(fd_guard&& o) noexcept : fd(std::exchange(o.fd, -1)) {}
  void reset(int f = -1) {
    if (fd >= 0)
      ::close(fd);
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
  std::shared_ptr<state::line_log> log;
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
        if (c.out.size() < max_pending_out && !c.eof)
          ev |= POLLIN;
        if (!c.out.empty())
          ev |= POLLOUT;
        if (c.failed && c.out.empty()) {
          auto left =
              std::chrono::duration_cast<std::chrono::milliseconds>(c.drain_deadline - now).count();
          timeout_ms = static_cast<int>(std::clamp<int64_t>(left + 1, 0, timeout_ms));
        }
        fds.push_back({c.sock.fd, ev, 0});
        order.push_back(&c);
      }
      const int rc = ::poll(fds.data(), fds.size(), timeout_ms);
      if (rc < 0 && errno != EINTR)
        break;  // cannot happen with valid descriptors
      if (stopping.load())
        break;
      if (rc > 0 && (fds[1].revents & POLLIN))
        accept_all();
      for (size_t i = 0; i < order.size(); ++i) {
        connection& c = *order[i];
        const short re = rc > 0 ? fds[i + 2].revents : 0;
        if (re & (POLLIN | POLLHUP | POLLERR))
          receive(c);
        if (!c.out.empty())
          send_pending(c);
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
    for (auto& c : conns)
      send_pending(c);
    conns.clear();
  }

  void accept_all() {
    for (;;) {
      int fd = ::accept4(listener.fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0)
        return;  // EAGAIN, or a connection that went away already
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
    if (c.failed)
      return;
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
        if (errno == EINTR)
          continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK) {
          c.eof = true;  // reset by the peer: nothing more to say to it
          c.out.clear();
        }
        return;
      }
      budget -= static_cast<size_t>(n);
      if (c.failed)
        continue;  // draining: discard
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
      if (!line.empty() && line.back() == '\r')
        line.pop_back();
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
    if (too_long)
      fail(c, fmt::format("line longer than {} bytes", max_line));
  }

  static void send_pending(connection& c) {
    while (!c.out.empty()) {
      const ssize_t n = ::send(c.sock.fd, c.out.data(), c.out.size(), MSG_NOSIGNAL);
      if (n > 0) {
        c.out.erase(0, static_cast<size_t>(n));
        continue;
      }
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
        return;
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
    if (!c.out.empty())
      return false;
    if (c.eof)
      return true;
    return c.failed && now >= c.drain_deadline;
  }
};

tcp_line_server::tcp_line_server(std::unique_ptr<impl> p) : impl_(std::move(p)) {}

tcp_line_server::~tcp_line_server() {
  stop();
}

result<std::unique_ptr<tcp_line_server>> tcp_line_server::start(
    std::shared_ptr<state::line_log> log, uint16_t port, size_t max_line) {
  if (!log)
    return error{errc::invalid_argument, "tcp line server: no log"};
  if (max_line == 0)
    return error{errc::invalid_argument, "tcp line server: max_line must be positive"};
  auto p = std::make_unique<impl>();
  p->log = std::move(log);
  p->max_line = max_line;
  auto failed = [&](std::string_view what) {
    return error{errc::io_error,
                 fmt::format("tcp line server on 127.0.0.1:{}: {}", port, os_error(what))};
  };
  p->listener.reset(::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (p->listener.fd < 0)
    return failed("socket");
  int one = 1;
  if (::setsockopt(p->listener.fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0)
    return failed("setsockopt");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(p->listener.fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
    return failed("bind");
  if (::listen(p->listener.fd, 64) != 0)
    return failed("listen");
  socklen_t len = sizeof addr;
  if (::getsockname(p->listener.fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0)
    return failed("getsockname");
  p->port = ntohs(addr.sin_port);
  int pipefd[2];
  if (::pipe2(pipefd, O_NONBLOCK | O_CLOEXEC) != 0)
    return failed("pipe2");
  p->wake_read.reset(pipefd[0]);
  p->wake_write.reset(pipefd[1]);
  impl* raw = p.get();
  p->thread = std::thread([raw] { raw->run(); });
  return std::unique_ptr<tcp_line_server>{new tcp_line_server(std::move(p))};
}

void tcp_line_server::stop() {
  std::lock_guard lock{impl_->stop_mtx};
  if (!impl_->thread.joinable())
    return;
  impl_->stopping.store(true);
  const char b = 1;
  [[maybe_unused]] auto n = ::write(impl_->wake_write.fd, &b, 1);
  impl_->thread.join();
  impl_->listener.reset();
}

uint16_t tcp_line_server::port() const noexcept {
  return impl_->port;
}
uint64_t tcp_line_server::connections_accepted() const noexcept {
  return impl_->accepted.load();
}
uint64_t tcp_line_server::connections_rejected() const noexcept {
  return impl_->rejected.load();
}
const std::shared_ptr<state::line_log>& tcp_line_server::log() const noexcept {
  return impl_->log;
}

void install_tcp_line_server() {
  source::install_line_receiver(
      [](std::shared_ptr<state::line_log> log, uint16_t port,
         size_t max_line) -> result<std::unique_ptr<source::line_receiver>> {
        auto s = tcp_line_server::start(std::move(log), port, max_line);
        if (!s)
          return std::move(s).error();
        return std::unique_ptr<source::line_receiver>{std::move(s).value()};
      });
}

}  // namespace sluice::actors::io
