// The replayable TCP line source: the acknowledging socket server (actors/io),
// end-to-end delivery, replay after a failure, and garbage clients. The line
// log and the endpoint registry are tested in test/libstream.
#define BOOST_TEST_MODULE actors_tcp_source
#include <boost/test/unit_test.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <atomic>
#include <charconv>
#include <deque>
#include <filesystem>
#include <fstream>
#include <map>
#include <thread>

#include <fmt/format.h>

#include "sluice/actors/io/tcp_line_server.hpp"
#include "sluice/source/tcp_lines.hpp"

#include "runtime_util.hpp"

using namespace test_util;
using namespace sluice;
namespace fs = std::filesystem;

namespace {

struct temp_dir {
  fs::path path;
  temp_dir() {
    static int n = 0;
    path = fs::temp_directory_path() /
           ("sluice-tcp-" + std::to_string(::getpid()) + "-" + std::to_string(n++));
    fs::remove_all(path);
  }
  ~temp_dir() {
    source::release_line_endpoint((path / "log").string());
    fs::remove_all(path);
  }
  std::string log() const { return (path / "log").string(); }
};

/// A blocking test client with a receive timeout so that nothing hangs.
class client {
public:
  /// Connects to 127.0.0.1:`port`, from `from` (another loopback address
  /// stands for another client host) if given.
  explicit client(uint16_t port, const char* from = nullptr, const char* to = "127.0.0.1") {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    timeval tv{10, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    if (from) {
      sockaddr_in local{};
      local.sin_family = AF_INET;
      ::inet_pton(AF_INET, from, &local.sin_addr);
      if (::bind(fd_, reinterpret_cast<sockaddr*>(&local), sizeof local) != 0)
        return;
    }
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    ::inet_pton(AF_INET, to, &addr.sin_addr);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  }
  ~client() { ::close(fd_); }
  client(const client&) = delete;
  client& operator=(const client&) = delete;

  bool connected() const { return connected_; }

  /// Sends everything; false if the connection failed.
  bool send_all(std::string_view data) {
    while (!data.empty()) {
      ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
      if (n <= 0)
        return false;
      data.remove_prefix(static_cast<size_t>(n));
    }
    return true;
  }
  void shutdown_write() { ::shutdown(fd_, SHUT_WR); }

  /// The next reply line (without LF), or "" on EOF, error or timeout.
  std::string read_line() {
    for (;;) {
      if (auto nl = buf_.find('\n'); nl != std::string::npos) {
        std::string line = buf_.substr(0, nl);
        buf_.erase(0, nl + 1);
        return line;
      }
      char tmp[4096];
      ssize_t n = ::recv(fd_, tmp, sizeof tmp, 0);
      if (n <= 0)
        return {};
      buf_.append(tmp, static_cast<size_t>(n));
    }
  }

  /// Sends one line and waits for its acknowledgement `ok <n>-<n>`; returns
  /// the line's number n (0: failure, or an ack of more than this line).
  uint64_t send_line(std::string_view line) {
    std::string msg{line};
    msg += '\n';
    if (!send_all(msg))
      return 0;
    auto [first, last] = ack_range(read_line());
    return first == last ? last : 0;
  }

  /// The range of an acknowledgement `ok <first>-<last>`; {0, 0} for anything else.
  static std::pair<uint64_t, uint64_t> ack_range(std::string_view reply) {
    if (reply.substr(0, 3) != "ok ")
      return {0, 0};
    reply.remove_prefix(3);
    const size_t dash = reply.find('-');
    if (dash == std::string_view::npos)
      return {0, 0};
    uint64_t first = 0, last = 0;
    auto a = std::from_chars(reply.data(), reply.data() + dash, first);
    auto b = std::from_chars(reply.data() + dash + 1, reply.data() + reply.size(), last);
    if (a.ec != std::errc{} || a.ptr != reply.data() + dash || b.ec != std::errc{} ||
        b.ptr != reply.data() + reply.size() || first == 0 || last < first)
      return {0, 0};
    return {first, last};
  }

private:
  int fd_ = -1;
  bool connected_ = false;
  std::string buf_;
};

/// Waits (bounded) until the source has published its port.
uint16_t wait_port(const std::atomic<uint16_t>& port) {
  for (int i = 0; i < 10000 && port.load() == 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  return port.load();
}

parsed<uint64_t> parse_u64(std::string_view s) {
  uint64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || p != s.data() + s.size())
    return parsed<uint64_t>::fail("not a number");
  return v;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(actors_io_tcp_line_server)

BOOST_AUTO_TEST_CASE(server_acknowledges_lines_after_appending_them) {
  temp_dir dir;
  auto log = state::line_log::open(dir.log());
  BOOST_REQUIRE(log.ok());
  auto server = actors::io::tcp_line_server::start(log.value(), 0, 16);
  BOOST_REQUIRE(server.ok());
  auto& s = *server.value();
  BOOST_REQUIRE(s.port() != 0);
  {
    client c{s.port()};
    BOOST_REQUIRE(c.connected());
    BOOST_REQUIRE(c.send_all("hello\r\nworld\n"));
    BOOST_TEST(c.read_line() == "ok 1-2");
    BOOST_TEST(c.send_line("again") == 3u);
    BOOST_REQUIRE(c.send_all("par"));
    BOOST_TEST(c.send_line("tial") == 4u);
    // Too long: an error reply, then the server closes the connection.
    BOOST_REQUIRE(c.send_all("short\n" + std::string(40, 'x') + "\n"));
    BOOST_TEST(c.read_line() == "ok 5-5");
    BOOST_TEST(c.read_line() == "error line longer than 16 bytes");
    BOOST_TEST(c.read_line() == "");
  }
  std::vector<std::string> out;
  BOOST_TEST(log.value()->read(1, 100, out).value() == 5u);
  BOOST_TEST((out == std::vector<std::string>{"hello", "world", "again", "partial", "short"}));
  BOOST_TEST(s.connections_rejected() == 1u);
  const auto t0 = std::chrono::steady_clock::now();
  s.stop();
  BOOST_TEST((std::chrono::steady_clock::now() - t0 < std::chrono::seconds(1)));
}

// Several connections write at once: each ack names the lines of its own
// connection (`ok <first>-<last>`, numbered per connection), never another's.
BOOST_AUTO_TEST_CASE(acks_name_the_range_of_this_connections_lines) {
  temp_dir dir;
  auto log = state::line_log::open(dir.log());
  BOOST_REQUIRE(log.ok());
  auto server = actors::io::tcp_line_server::start(log.value(), 0);
  BOOST_REQUIRE(server.ok());
  const uint16_t port = server.value()->port();
  {
    client a{port}, b{port};
    BOOST_REQUIRE(a.connected());
    BOOST_REQUIRE(b.connected());
    BOOST_REQUIRE(a.send_all("a1\na2\na3\n"));
    BOOST_TEST(a.read_line() == "ok 1-3");
    BOOST_REQUIRE(b.send_all("b1\nb2\n"));
    BOOST_TEST(b.read_line() == "ok 1-2");
    BOOST_REQUIRE(a.send_all("a4\n"));
    BOOST_TEST(a.read_line() == "ok 4-4");
  }
  // Concurrent writers: every connection's acks cover 1..n of its own lines
  // without a gap or an overlap, whatever the others do.
  constexpr int writers = 4, chunks = 200;
  std::vector<std::string> problems(writers);
  std::vector<std::thread> ts;
  for (int w = 0; w < writers; ++w)
    ts.emplace_back([&, w] {
      client c{port};
      uint64_t sent = 0, acked = 0;
      for (int k = 0; k < chunks && problems[w].empty(); ++k) {
        const int n = 1 + (k * 7 + w) % 5;
        std::string msg;
        for (int i = 0; i < n; ++i)
          msg += fmt::format("w{}-{}\n", w, sent + i + 1);
        if (!c.send_all(msg)) {
          problems[w] = "send failed";
          break;
        }
        sent += n;
        while (acked < sent && problems[w].empty()) {
          const std::string reply = c.read_line();
          auto [first, last] = client::ack_range(reply);
          if (first != acked + 1 || last > sent)
            problems[w] = fmt::format("after {} acked lines of {} sent: '{}'", acked, sent, reply);
          acked = last;
        }
      }
    });
  for (auto& t : ts)
    t.join();
  for (int w = 0; w < writers; ++w)
    BOOST_TEST(problems[w].empty(), "writer " << w << ": " << problems[w]);
}

/// An idempotent sender that loses acknowledgements on purpose: it sends
/// numbered lines, sometimes closes the connection without reading the
/// replies, and resends everything it has no ack for after `hello`.
struct dropping_sender {
  dropping_sender(uint16_t p, std::string n, uint64_t t) : port(p), name(std::move(n)), total(t) {}
  uint16_t port;
  std::string name;
  uint64_t total;
  uint64_t acked = 0;   ///< highest line number acknowledged
  uint64_t resent = 0;  ///< lines sent again because their ack was dropped
  std::string problem;

  void run(uint32_t seed) {
    uint32_t rnd = seed;
    auto next_rand = [&] {
      rnd = rnd * 1103515245u + 12345u;
      return (rnd >> 16) & 0x7fff;
    };
    for (int attempt = 0; acked < total && attempt < 1000 && problem.empty(); ++attempt) {
      client c{port};
      if (!c.connected()) {
        problem = "cannot connect";
        return;
      }
      if (!c.send_all(fmt::format("hello {} {}\n", name, acked + 1)))
        continue;
      const std::string resume = c.read_line();
      uint64_t r = 0;
      if (resume.rfind("resume ", 0) != 0 ||
          std::from_chars(resume.data() + 7, resume.data() + resume.size(), r).ec != std::errc{} ||
          r < acked + 1) {
        problem = fmt::format("after {} acked lines the server says '{}'", acked, resume);
        return;
      }
      uint64_t sent = acked;
      while (sent < total) {
        const uint64_t n = std::min<uint64_t>(total - sent, 1 + next_rand() % 40);
        std::string msg;
        for (uint64_t i = 1; i <= n; ++i)
          msg += fmt::format("{} {}\n", name, sent + i);
        if (!c.send_all(msg))
          break;
        if (sent < r - 1)
          resent += std::min(n, r - 1 - sent);
        sent += n;
        if (next_rand() % 4 == 0)
          break;  // drop the ack: hang up without reading it
        auto [first, last] = client::ack_range(c.read_line());
        if (first != acked + 1 || last != sent) {
          problem = fmt::format("ack {}-{} where {}-{} was due", first, last, acked + 1, sent);
          return;
        }
        acked = last;
      }
    }
  }
};

// Resending lines whose ack was lost must not duplicate them: the log keeps
// each sender's high-water mark and drops what it already holds; `resume`
// tells the sender where the log stands.
BOOST_AUTO_TEST_CASE(idempotent_senders_that_drop_acks_duplicate_nothing) {
  temp_dir dir;
  auto log = state::line_log::open(dir.log());
  BOOST_REQUIRE(log.ok());
  auto server = actors::io::tcp_line_server::start(log.value(), 0);
  BOOST_REQUIRE(server.ok());
  constexpr uint64_t total = 3000;
  std::vector<dropping_sender> senders;
  for (int i = 0; i < 3; ++i)
    senders.emplace_back(server.value()->port(), fmt::format("sender-{}", i), total);
  std::vector<std::thread> ts;
  for (size_t i = 0; i < senders.size(); ++i)
    ts.emplace_back([&, i] { senders[i].run(static_cast<uint32_t>(17 + i)); });
  for (auto& t : ts)
    t.join();
  std::map<std::string, uint64_t> next;  // per sender: the next number due in the log
  uint64_t resent = 0;
  for (auto& d : senders) {
    BOOST_TEST(d.problem.empty(), d.name << ": " << d.problem);
    BOOST_TEST(d.acked == total);
    resent += d.resent;
    next[d.name] = 1;
  }
  BOOST_TEST(resent > 0u, "no ack was dropped: the test tests nothing");
  BOOST_TEST(server.value()->duplicates_dropped() >= resent);
  std::vector<std::string> lines;
  BOOST_TEST(log.value()->read(1, 100 * total, lines).value() == 3 * total);
  for (auto& l : lines) {
    const size_t sp = l.find(' ');
    uint64_t n = 0;
    std::from_chars(l.data() + sp + 1, l.data() + l.size(), n);
    BOOST_TEST_REQUIRE(n == next[l.substr(0, sp)]++, "line '" << l << "' out of order");
  }
  // A reconnecting sender learns where to go on.
  client c{server.value()->port()};
  BOOST_REQUIRE(c.send_all("hello sender-1 1\n"));
  BOOST_TEST(c.read_line() == fmt::format("resume {}", total + 1));
  BOOST_REQUIRE(c.send_all("sender-1 1\nsender-1 2\n"));
  BOOST_TEST(c.read_line() == "ok 1-2");  // acknowledged, and not logged again
  BOOST_TEST(log.value()->size().value() == 3 * total);
  // Only a connection's first line is a handshake, only in its exact form.
  client d{server.value()->port()};
  BOOST_REQUIRE(d.send_all("hello world\nhello s 1\n"));
  BOOST_TEST(d.read_line() == "ok 1-2");
  BOOST_TEST(log.value()->size().value() == 3 * total + 2);
}

BOOST_AUTO_TEST_CASE(a_silent_connection_is_closed_after_the_idle_timeout) {
  temp_dir dir;
  auto log = state::line_log::open(dir.log());
  BOOST_REQUIRE(log.ok());
  actors::io::tcp_server_options opts;
  opts.idle_timeout = std::chrono::milliseconds(300);
  auto server = actors::io::tcp_line_server::start(log.value(), 0, opts);
  BOOST_REQUIRE(server.ok());
  const uint16_t port = server.value()->port();
  client busy{port};
  client silent{port};
  BOOST_REQUIRE(busy.connected());
  BOOST_REQUIRE(silent.connected());
  const auto t0 = std::chrono::steady_clock::now();
  // A connection that sends every 50 ms stays open past the timeout.
  for (int i = 1; i <= 12; ++i) {
    BOOST_TEST_REQUIRE(busy.send_line(std::to_string(i)) == uint64_t(i));
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  BOOST_TEST(silent.read_line() == "error idle for 300 ms (the server's idle timeout)");
  BOOST_TEST(silent.read_line() == "");  // closed
  const auto waited = std::chrono::steady_clock::now() - t0;
  BOOST_TEST((waited < std::chrono::seconds(5)));
  BOOST_TEST(busy.send_line("13") == 13u);
  BOOST_TEST(server.value()->connections_rejected() == 1u);
}

BOOST_AUTO_TEST_CASE(one_address_gets_at_most_its_share_of_connections) {
  temp_dir dir;
  auto log = state::line_log::open(dir.log());
  BOOST_REQUIRE(log.ok());
  actors::io::tcp_server_options opts;
  opts.max_connections_per_address = 3;
  auto server = actors::io::tcp_line_server::start(log.value(), 0, opts);
  BOOST_REQUIRE(server.ok());
  const uint16_t port = server.value()->port();
  std::vector<std::unique_ptr<client>> held;
  for (int i = 0; i < 3; ++i) {
    held.push_back(std::make_unique<client>(port, "127.0.0.2"));
    BOOST_TEST_REQUIRE(held.back()->send_line("x") == 1u);
  }
  client extra{port, "127.0.0.2"};
  BOOST_REQUIRE(extra.connected());
  BOOST_TEST(extra.read_line() == "error too many connections from 127.0.0.2 (limit 3)");
  client other{port};  // another address is not affected
  BOOST_TEST(other.send_line("y") == 1u);
  held.pop_back();  // a slot comes free once the server sees the close
  std::string reply;
  for (int i = 0; i < 200 && reply != "ok 1-1"; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    client again{port, "127.0.0.2"};
    reply = again.send_all("z\n") ? again.read_line() : "";
  }
  BOOST_TEST(reply == "ok 1-1");
  BOOST_TEST(server.value()->connections_over_limit() >= 1u);
}

// A flood of connections from another address — silent ones held open,
// over-long lines, garbage, hang-ups — must not lock a well-behaved sender
// out or slow it down much.
BOOST_AUTO_TEST_CASE(a_good_sender_keeps_its_throughput_while_300_abusive_connections_come_and_go) {
  temp_dir dir;
  auto log = state::line_log::open(dir.log());
  BOOST_REQUIRE(log.ok());
  actors::io::tcp_server_options opts;  // the defaults
  opts.max_line = 1024;
  auto server = actors::io::tcp_line_server::start(log.value(), 0, opts);
  BOOST_REQUIRE(server.ok());
  const uint16_t port = server.value()->port();
  using clock = std::chrono::steady_clock;
  // Sends `chunks` chunks of 50 lines, one ack each; returns the time taken
  // and the longest wait for one ack (both zero on a failure, in `problem`).
  auto good_run = [&](const std::string& tag, int chunks, std::string& problem) {
    client c{port};
    clock::duration longest{};
    const auto t0 = clock::now();
    for (int k = 0; k < chunks; ++k) {
      std::string msg;
      for (int i = 0; i < 50; ++i)
        msg += fmt::format("{} {} {}\n", tag, k, i);
      const auto s0 = clock::now();
      if (!c.send_all(msg)) {
        problem = "send failed";
        break;
      }
      const std::string reply = c.read_line();
      if (client::ack_range(reply) != std::pair<uint64_t, uint64_t>{k * 50 + 1, k * 50 + 50}) {
        problem = fmt::format("chunk {}: '{}'", k, reply);
        break;
      }
      longest = std::max(longest, clock::now() - s0);
    }
    return std::pair{clock::now() - t0, longest};
  };
  std::string problem;
  const auto [alone, alone_longest] = good_run("alone", 100, problem);
  BOOST_REQUIRE_MESSAGE(problem.empty(), problem);

  std::atomic<bool> stop{false};
  std::atomic<int> abusive{0};
  std::thread abuser([&] {
    // Up to 300 held open at once (more than the server's global limit of
    // 256), the oldest closed and new ones opened until the sender is done;
    // some send an over-long line or hang up at once.
    std::deque<std::unique_ptr<client>> open;
    for (int i = 0; !stop.load() && i < 100000; ++i) {
      auto c = std::make_unique<client>(port, "127.0.0.2");
      ++abusive;
      switch (i % 8) {
        case 3:  // an over-long line
          c->send_all(std::string(4096, 'x'));
          c.reset();
          break;
        case 7:  // hangs up at once
          c.reset();
          break;
        case 1:
        case 5:  // garbage without a newline, held open
          c->send_all("\x01\x02garbage");
          break;
        default:  // silent, held open
          break;
      }
      if (c)
        open.push_back(std::move(c));
      while (open.size() > 300)
        open.pop_front();
      if (i >= 300)
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
  });
  for (int i = 0; i < 5000 && abusive.load() < 400; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  const auto [flooded, flooded_longest] = good_run("flooded", 100, problem);
  const int during = abusive.load();
  stop = true;
  abuser.join();
  BOOST_REQUIRE_MESSAGE(problem.empty(), problem);
  using ms = std::chrono::milliseconds;
  const auto ms_of = [](clock::duration d) {
    return std::chrono::duration_cast<ms>(d).count();
  };
  BOOST_TEST_MESSAGE("good sender: 5000 lines in "
                     << ms_of(alone) << " ms alone, " << ms_of(flooded) << " ms with " << during
                     << " abusive connections; longest ack wait " << ms_of(alone_longest) << " / "
                     << ms_of(flooded_longest) << " ms");
  BOOST_TEST(during >= 400);
  // Generous bounds for a shared 2-core machine; without the limits the
  // sender is refused outright (the abusers hold every slot).
  BOOST_TEST((flooded < alone * 4 + ms(1000)), ms_of(flooded) << " ms vs " << ms_of(alone));
  BOOST_TEST((flooded_longest < ms(1000)), ms_of(flooded_longest) << " ms");
  BOOST_TEST(server.value()->connections_over_limit() > 0u);
}

BOOST_AUTO_TEST_CASE(it_listens_on_the_configured_address) {
  temp_dir dir;
  auto log = state::line_log::open(dir.log());
  BOOST_REQUIRE(log.ok());
  actors::io::tcp_server_options opts;
  opts.host = "127.0.0.3";
  auto server = actors::io::tcp_line_server::start(log.value(), 0, opts);
  BOOST_REQUIRE(server.ok());
  client there{server.value()->port(), nullptr, "127.0.0.3"};
  BOOST_TEST(there.send_line("x") == 1u);
  client elsewhere{server.value()->port()};  // 127.0.0.1: nobody listens there
  BOOST_TEST(!elsewhere.connected());
  opts.host = "localhost.example";
  auto bad = actors::io::tcp_line_server::start(log.value(), 0, opts);
  BOOST_REQUIRE(!bad.ok());
  BOOST_TEST((bad.error().code == errc::invalid_argument));
  BOOST_TEST(bad.error().message.find("localhost.example") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(the_runtime_installs_it_as_the_line_receiver) {
  temp_dir dir;
  source::install_line_receiver({});
  BOOST_REQUIRE(actors::prepare_process(config(1)).empty());
  auto ep = source::acquire_line_endpoint(dir.log(), 0);
  BOOST_REQUIRE_MESSAGE(ep.ok(), (ep ? std::string{} : to_string(ep.error())));
  BOOST_TEST(dynamic_cast<actors::io::tcp_line_server*>(ep.value().receiver.get()) != nullptr);
  client c{ep.value().receiver->port()};
  BOOST_REQUIRE(c.connected());
  BOOST_TEST(c.send_line("x") == 1u);
  BOOST_TEST(ep.value().log->size().value() == 1u);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(tcp_source_runtime)

BOOST_AUTO_TEST_CASE(end_to_end_lines_arrive_in_order) {
  temp_dir dir;
  const uint64_t n = 2000;
  auto port = std::make_shared<std::atomic<uint16_t>>(0);
  auto out = std::make_shared<collected<uint64_t>>();
  pipeline p{"tcp_e2e"};
  p.read_tcp_lines(dir.log(), 0, parse_u64, port).collect(out);
  std::atomic<uint64_t> acked{0};
  std::thread sender([&] {
    const uint16_t at = wait_port(*port);
    if (at == 0)
      return;
    client c{at};
    if (!c.connected())
      return;
    for (uint64_t i = 0; i < n; ++i) {
      if (c.send_line(std::to_string(i)) != i + 1)
        break;
      ++acked;
    }
    c.send_line("__END__");  // sent even after a failure, so that the job ends
  });
  auto cfg = config(1);
  cfg.timeout = std::chrono::seconds(60);
  auto r = execute(p, cfg);
  sender.join();
  require_ok(r);
  BOOST_TEST(acked.load() == n);
  auto items = out->items();
  BOOST_REQUIRE(items.size() == n);
  for (uint64_t i = 0; i < n; ++i)
    BOOST_TEST_REQUIRE(items[i] == i);
}

BOOST_AUTO_TEST_CASE(failure_replays_from_the_log_exactly_once) {
  temp_dir dir;
  const uint64_t n = 3000;
  using kv = std::pair<uint64_t, uint64_t>;
  auto port = std::make_shared<std::atomic<uint16_t>>(0);
  auto out = std::make_shared<collected<kv>>();
  auto failed = std::make_shared<std::atomic<bool>>(false);
  pipeline p{"tcp_replay"};
  p.read_tcp_lines(
       dir.log(), 0,
       [](std::string_view s) -> parsed<kv> {
         auto v = parse_u64(s);
         if (!v.ok())
           return parsed<kv>::fail(v.error());
         return kv{v.value() % 10, 1};
       },
       port)
      .map([failed, seen = uint64_t{0}](kv x) mutable {
        if (++seen == 1500 && !failed->exchange(true))
          throw std::runtime_error("injected failure");
        return x;
      })
      .key_by([](const kv& x) { return x.first; })
      .reduce(
          [](kv a, const kv& b) {
            return kv{a.first, a.second + b.second};
          },
          emit_policy::at_end())
      .collect(out);
  std::atomic<uint64_t> acked{0};
  std::thread sender([&] {
    const uint16_t at = wait_port(*port);
    if (at == 0)
      return;
    client c{at};
    if (!c.connected())
      return;
    for (uint64_t i = 0; i < n; ++i) {
      if (c.send_line(std::to_string(i)) != i + 1)
        break;
      ++acked;
      if (i % 25 == 0)
        std::this_thread::sleep_for(std::chrono::milliseconds(1));  // let checkpoints happen
    }
    c.send_line("__END__");
  });
  auto cfg = config(2);
  cfg.state_dir = (dir.path / "state").string();
  cfg.checkpoints.interval = std::chrono::milliseconds(20);
  cfg.restart = "fixed-delay:attempts=3,delay=10ms";
  cfg.timeout = std::chrono::seconds(60);
  auto r = execute(p, cfg);
  sender.join();
  for (auto& note : r.notes)
    BOOST_TEST_MESSAGE("note: " << note);
  require_ok(r);
  BOOST_TEST(acked.load() == n);
  BOOST_TEST(r.restarts == 1u);
  BOOST_TEST(r.restored_from.has_value());
  BOOST_TEST(r.checkpoints_completed > 0u);
  auto items = out->items();
  std::map<uint64_t, uint64_t> got(items.begin(), items.end());
  BOOST_TEST(items.size() == 10u);
  for (uint64_t k = 0; k < 10; ++k)
    BOOST_TEST(got[k] == n / 10);
}

BOOST_AUTO_TEST_CASE(garbage_client_gets_an_error_and_the_job_keeps_running) {
  temp_dir dir;
  auto port = std::make_shared<std::atomic<uint16_t>>(0);
  auto out = std::make_shared<collected<uint64_t>>();
  pipeline p{"tcp_garbage"};
  p.read_tcp_lines(dir.log(), 0, parse_u64, port).collect(out);
  std::string reply;
  bool good_ok = true;
  std::thread clients([&] {
    const uint16_t at = wait_port(*port);
    if (at == 0)
      return;
    {
      client g{at};
      if (g.connected()) {
        g.send_all(std::string(size_t{2} << 20,
                               'g'));  // 2 MiB, no newline; may fail once the server gives up
        g.shutdown_write();
        reply = g.read_line();
        if (!g.read_line().empty())
          reply += " (and more)";
      }
    }
    client c{at};
    good_ok = c.connected();
    for (uint64_t i = 0; good_ok && i < 100; ++i)
      good_ok = c.send_line(std::to_string(i)) != 0;
    good_ok = c.send_line("not a number") != 0 && good_ok;
    c.send_line("__END__");
  });
  auto cfg = config(1);
  cfg.timeout = std::chrono::seconds(60);
  cfg.dead_letter_path = (dir.path / "dead.jsonl").string();
  auto r = execute(p, cfg);
  clients.join();
  require_ok(r);
  BOOST_TEST(reply == "error line longer than 1048576 bytes");
  BOOST_TEST(r.dead_letters == 1u);  // "not a number", at its log position
  std::ifstream dead(cfg.dead_letter_path);
  std::string letter;
  std::getline(dead, letter);
  BOOST_TEST(letter.find("\"position\":\"tcp:101\"") != std::string::npos, letter);
  BOOST_TEST(good_ok);
  auto items = out->items();
  BOOST_REQUIRE(items.size() == 100u);
  for (uint64_t i = 0; i < 100; ++i)
    BOOST_TEST_REQUIRE(items[i] == i);
}

BOOST_AUTO_TEST_SUITE_END()
