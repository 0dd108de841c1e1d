#include "sluice/actors/io/tcp_line_server.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstring>
#include <list>
#include <map>
#include <mutex>
#include <optional>
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
  std::string peer;     ///< the client's address (connection limits count by it)
  std::string in;       ///< received bytes not yet part of a complete line
  std::string out;      ///< replies not yet sent
  bool failed = false;  ///< an error reply is queued: send it, then drain and close
  bool eof = false;     ///< the client closed its side: send the rest, then close
  bool write_shut = false;
  bool started = false;  ///< its first line arrived (only the first may be a hello)
  std::string sender;    ///< the idempotent sender's name; empty: a plain client
  uint64_t next = 1;     ///< the number of the connection's next line
  steady::time_point last_active{};
  steady::time_point drain_deadline{};
};

/// `hello <sender> <next_seq>`: what a handshake line says.
struct hello {
  std::string_view sender;
  uint64_t next = 0;
};

bool sender_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '_' || c == '-' || c == ':' || c == '@';
}

/// The handshake in `line`, if it is exactly `hello <sender> <next_seq>`
/// (sender: 1 to 128 of [A-Za-z0-9._:@-], next_seq a positive decimal).
std::optional<hello> parse_hello(std::string_view line) {
  constexpr std::string_view word = "hello ";
  if (line.substr(0, word.size()) != word)
    return std::nullopt;
  line.remove_prefix(word.size());
  const size_t sp = line.find(' ');
  if (sp == std::string_view::npos || sp == 0 || sp > 128)
    return std::nullopt;
  hello h;
  h.sender = line.substr(0, sp);
  if (!std::all_of(h.sender.begin(), h.sender.end(), sender_char))
    return std::nullopt;
  const std::string_view num = line.substr(sp + 1);
  if (num.empty() || num[0] == '0')
    return std::nullopt;
  auto [end, ec] = std::from_chars(num.data(), num.data() + num.size(), h.next);
  if (ec != std::errc{} || end != num.data() + num.size())
    return std::nullopt;
  return h;
}

/// The numeric address of a peer.
std::string address_of(const sockaddr_storage& ss) {
  char buf[INET6_ADDRSTRLEN] = {};
  if (ss.ss_family == AF_INET6)
    ::inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6&>(ss).sin6_addr, buf, sizeof buf);
  else
    ::inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in&>(ss).sin_addr, buf, sizeof buf);
  return buf;
}

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
  tcp_server_options opts;
  fd_guard listener;
  fd_guard wake_read, wake_write;
  uint16_t port = 0;
  std::atomic<bool> stopping{false};
  std::atomic<uint64_t> accepted{0}, rejected{0}, over_limit{0}, duplicates{0};
  std::thread thread;
  std::mutex stop_mtx;
  std::list<connection> conns;
  std::map<std::string, uint32_t> per_address;  ///< open connections by client address

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
        if (c.failed && c.out.empty())
          timeout_ms = until(c.drain_deadline, now, timeout_ms);
        else if (!c.failed && opts.idle_timeout.count() > 0)
          timeout_ms = until(c.last_active + opts.idle_timeout, now, timeout_ms);
        fds.push_back({c.sock.fd, ev, 0});
        order.push_back(&c);
      }
      const int rc = ::poll(fds.data(), fds.size(), timeout_ms);
      if (rc < 0 && errno != EINTR)
        break;  // cannot happen with valid descriptors
      if (stopping.load())
        break;
      if (rc > 0 && (fds[1].revents & POLLIN))
        accept_some();
      for (size_t i = 0; i < order.size(); ++i) {
        connection& c = *order[i];
        const short re = rc > 0 ? fds[i + 2].revents : 0;
        if (re & (POLLIN | POLLHUP | POLLERR))
          receive(c);
        if (!c.out.empty())
          send_pending(c);
      }
      now = steady::now();
      if (opts.idle_timeout.count() > 0)
        for (auto& c : conns)
          if (!c.failed && !c.eof && now - c.last_active >= opts.idle_timeout) {
            fail(c, fmt::format("idle for {} ms (the server's idle timeout)",
                                opts.idle_timeout.count()));
            send_pending(c);
          }
      conns.remove_if([&](connection& c) {
        if (!finished(c, now))
          return false;
        if (auto it = per_address.find(c.peer); it != per_address.end() && --it->second == 0)
          per_address.erase(it);
        return true;
      });
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

  static int until(steady::time_point t, steady::time_point now, int cap) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(t - now).count();
    return static_cast<int>(std::clamp<int64_t>(left + 1, 0, cap));
  }

  /// Accepts at most `accept_batch` connections: the connections already
  /// open are served before more are taken (fair accept). A client over a
  /// limit is told so and closed at once (no draining, no slot held).
  void accept_some() {
    for (uint32_t n = 0; n < opts.accept_batch; ++n) {
      sockaddr_storage ss{};
      socklen_t len = sizeof ss;
      int fd = ::accept4(listener.fd, reinterpret_cast<sockaddr*>(&ss), &len,
                         SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0)
        return;  // EAGAIN, or a connection that went away already
      ++accepted;
      connection c;
      c.sock.reset(fd);
      c.peer = address_of(ss);
      c.last_active = steady::now();
      std::string refused;
      if (conns.size() >= opts.max_connections)
        refused = fmt::format("too many connections (limit {})", opts.max_connections);
      else if (auto it = per_address.find(c.peer);
               it != per_address.end() && it->second >= opts.max_connections_per_address)
        refused = fmt::format("too many connections from {} (limit {})", c.peer,
                              opts.max_connections_per_address);
      if (!refused.empty()) {
        ++over_limit;
        fail(c, refused);
        send_pending(c);
        continue;  // closed here
      }
      ++per_address[c.peer];
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
      c.last_active = steady::now();
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
      if (c.in.size() + piece.size() > opts.max_line + 1) {  // +1: a CR before the LF
        too_long = true;
        break;
      }
      std::string line = std::move(c.in);
      c.in.clear();
      line.append(piece);
      if (!line.empty() && line.back() == '\r')
        line.pop_back();
      if (line.size() > opts.max_line) {
        too_long = true;
        break;
      }
      lines.push_back(std::move(line));
    }
    if (!too_long) {
      const std::string_view rest = chunk.substr(start);
      if (c.in.size() + rest.size() > opts.max_line + 1)
        too_long = true;
      else
        c.in.append(rest);
    }
    if (!c.started && !lines.empty()) {
      c.started = true;
      if (auto h = parse_hello(lines.front())) {
        auto mark = log->sender_mark(h->sender);
        if (!mark) {
          fail(c, fmt::format("cannot read the mark of sender {}: {}", h->sender,
                              to_string(mark.error())));
          return;
        }
        c.sender = std::string{h->sender};
        c.next = h->next;
        c.out += fmt::format("resume {}\n", *mark + 1);
        lines.erase(lines.begin());
      }
    }
    // The complete lines before an over-long one are stored and acknowledged.
    if (!lines.empty()) {
      const uint64_t first = c.next, last = c.next + lines.size() - 1;
      if (c.sender.empty()) {
        if (auto seq = log->append(lines); !seq) {
          fail(c, fmt::format("cannot store lines: {}", to_string(seq.error())));
          return;
        }
      } else {
        auto r = log->append(c.sender, first, lines);
        if (!r) {
          fail(c, fmt::format("cannot store lines: {}", to_string(r.error())));
          return;
        }
        duplicates += r->dropped;
      }
      c.next = last + 1;
      c.out += fmt::format("ok {}-{}\n", first, last);
    }
    if (too_long)
      fail(c, fmt::format("line longer than {} bytes", opts.max_line));
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
  tcp_server_options opts;
  opts.max_line = max_line;
  return start(std::move(log), port, std::move(opts));
}

result<std::unique_ptr<tcp_line_server>> tcp_line_server::start(
    std::shared_ptr<state::line_log> log, uint16_t port, tcp_server_options opts) {
  if (!log)
    return error{errc::invalid_argument, "tcp line server: no log"};
  if (opts.max_line == 0)
    return error{errc::invalid_argument, "tcp line server: max_line must be positive"};
  if (opts.max_connections == 0 || opts.max_connections_per_address == 0 || opts.accept_batch == 0)
    return error{errc::invalid_argument,
                 "tcp line server: connection limits and the accept batch must be positive"};
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICHOST | AI_NUMERICSERV;
  addrinfo* found = nullptr;
  const std::string service = std::to_string(port);
  if (int rc = ::getaddrinfo(opts.host.c_str(), service.c_str(), &hints, &found); rc != 0)
    return error{errc::invalid_argument,
                 fmt::format("tcp line server: '{}' is not an IPv4 or IPv6 address to listen on "
                             "({})",
                             opts.host, ::gai_strerror(rc))};
  sockaddr_storage addr{};
  socklen_t addr_len = static_cast<socklen_t>(found->ai_addrlen);
  std::memcpy(&addr, found->ai_addr, found->ai_addrlen);
  const int family = found->ai_family;
  ::freeaddrinfo(found);
  const std::string where = family == AF_INET6 ? fmt::format("[{}]:{}", opts.host, port)
                                               : fmt::format("{}:{}", opts.host, port);
  auto p = std::make_unique<impl>();
  p->log = std::move(log);
  p->opts = std::move(opts);
  auto failed = [&](std::string_view what) {
    return error{errc::io_error, fmt::format("tcp line server on {}: {}", where, os_error(what))};
  };
  p->listener.reset(::socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (p->listener.fd < 0)
    return failed("socket");
  int one = 1;
  if (::setsockopt(p->listener.fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0)
    return failed("setsockopt");
  if (::bind(p->listener.fd, reinterpret_cast<sockaddr*>(&addr), addr_len) != 0)
    return failed("bind");
  if (::listen(p->listener.fd, SOMAXCONN) != 0)
    return failed("listen");
  socklen_t len = sizeof addr;
  if (::getsockname(p->listener.fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0)
    return failed("getsockname");
  p->port = ntohs(family == AF_INET6 ? reinterpret_cast<sockaddr_in6&>(addr).sin6_port
                                     : reinterpret_cast<sockaddr_in&>(addr).sin_port);
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
uint64_t tcp_line_server::connections_over_limit() const noexcept {
  return impl_->over_limit.load();
}
uint64_t tcp_line_server::duplicates_dropped() const noexcept {
  return impl_->duplicates.load();
}
const std::shared_ptr<state::line_log>& tcp_line_server::log() const noexcept {
  return impl_->log;
}

void install_tcp_line_server(tcp_server_options opts) {
  source::install_line_receiver(
      [opts = std::move(opts)](std::shared_ptr<state::line_log> log, uint16_t port,
                               size_t max_line) -> result<std::unique_ptr<source::line_receiver>> {
        tcp_server_options o = opts;
        o.max_line = max_line;
        auto s = tcp_line_server::start(std::move(log), port, std::move(o));
        if (!s)
          return std::move(s).error();
        return std::unique_ptr<source::line_receiver>{std::move(s).value()};
      });
}

}  // namespace sluice::actors::io
