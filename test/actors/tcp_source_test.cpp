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
#include <filesystem>
#include <fstream>
#include <map>
#include <thread>

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
  explicit client(uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    timeval tv{10, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
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

  /// Sends one line and waits for its acknowledgement; returns the acked seq (0: failure).
  uint64_t send_line(std::string_view line) {
    std::string msg{line};
    msg += '\n';
    if (!send_all(msg))
      return 0;
    std::string reply = read_line();
    if (reply.rfind("ok ", 0) != 0)
      return 0;
    uint64_t seq = 0;
    std::from_chars(reply.data() + 3, reply.data() + reply.size(), seq);
    return seq;
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
    BOOST_TEST(c.read_line() == "ok 2");
    BOOST_TEST(c.send_line("again") == 3u);
    BOOST_REQUIRE(c.send_all("par"));
    BOOST_TEST(c.send_line("tial") == 4u);
    // Too long: an error reply, then the server closes the connection.
    BOOST_REQUIRE(c.send_all("short\n" + std::string(40, 'x') + "\n"));
    BOOST_TEST(c.read_line() == "ok 5");
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
