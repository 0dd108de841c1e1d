// Peers that do not follow the protocol: garbage bytes, absurd segment
// tables, malformed frames through a raw Cap'n Proto client. The server
// survives all of them and keeps serving a correct client.
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <vector>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <capnp/ez-rpc.h>
#include <spdlog/sinks/base_sink.h>
#include <spdlog/spdlog.h>

#include "sluice.capnp.h"

#include "test_support.hpp"

using namespace net_test;
namespace schema = sluice::net::schema;

namespace {

/// What a raw peer saw: whether the server closed the connection (within
/// 5 s), and the peer's own port, which names it in the server's log.
struct raw_result {
  bool closed = false;
  uint16_t local_port = 0;
};

/// Writes `bytes` to 127.0.0.1:port over a plain socket, then waits (bounded)
/// for the server to close the connection.
raw_result write_raw_and_wait_for_close(uint16_t port, const std::string& bytes) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  BOOST_REQUIRE(fd >= 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  BOOST_REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  raw_result result;
  sockaddr_in local{};
  socklen_t len = sizeof local;
  BOOST_REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&local), &len) == 0);
  result.local_port = ntohs(local.sin_port);
  timeval tv{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  // The server may hang up before reading everything: ignore short writes.
  [[maybe_unused]] auto n = ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
  char buf[4096];
  for (int i = 0; i < 1000; ++i) {
    const auto r = ::recv(fd, buf, sizeof buf, 0);
    if (r == 0 || (r < 0 && errno == ECONNRESET)) {
      result.closed = true;
      break;
    }
    if (r < 0)
      break;  // timeout: still open
  }
  ::close(fd);
  return result;
}

/// Keeps every line logged through spdlog's default logger (the node service
/// logs why it dropped a connection there, with the peer's address).
class log_capture {
public:
  log_capture() : sink_(std::make_shared<sink>()) {
    spdlog::default_logger()->sinks().push_back(sink_);
  }
  ~log_capture() {
    auto& sinks = spdlog::default_logger()->sinks();
    sinks.erase(std::remove(sinks.begin(), sinks.end(), sink_), sinks.end());
  }
  log_capture(const log_capture&) = delete;
  log_capture& operator=(const log_capture&) = delete;

  /// Why the server dropped the connection from 127.0.0.1:`peer_port`, as it
  /// logged it (waits up to 5 s for the line); "(not logged)" if it did not.
  std::string drop_reason(uint16_t peer_port) const {
    const std::string prefix =
        "dropped connection from 127.0.0.1:" + std::to_string(peer_port) + ": ";
    std::string reason = "(not logged)";
    eventually(
        [&] {
          for (const auto& line : sink_->lines())
            if (auto at = line.find(prefix); at != std::string::npos) {
              reason = line.substr(at + prefix.size());
              return true;
            }
          return false;
        },
        5s);
    return reason;
  }

private:
  class sink final : public spdlog::sinks::base_sink<std::mutex> {
  public:
    std::vector<std::string> lines() {
      std::lock_guard lock{mutex_};
      return lines_;
    }

  protected:
    void sink_it_(const spdlog::details::log_msg& msg) override {
      lines_.emplace_back(msg.payload.data(), msg.payload.size());
    }
    void flush_() override {}

  private:
    std::vector<std::string> lines_;  // guarded by base_sink::mutex_
  };

  std::shared_ptr<sink> sink_;
};

/// The server's reason `why` says the bytes were refused by the message
/// reader ("unreadable message: ...") and contains `cause`.
bool unreadable_because(const std::string& why, const std::string& cause) {
  return why.rfind("unreadable message: ", 0) == 0 && why.find(cause) != std::string::npos;
}

struct hostile_fixture {
  log_capture log;  // first: outlives the loop thread that logs into it
  event_loop loop;
  recording_handler handler;
  node_server server{loop, "127.0.0.1", 0, server_opts(), handler};

  void still_serves_a_correct_client() {
    peer_link link{loop, link_opts(server.port(), "good"), {}};
    link.connect();
    BOOST_TEST((link.request(ok_msg{}, 5s) == control{ok_msg{}}));
  }
};

}  // namespace

BOOST_FIXTURE_TEST_SUITE(net_hostile_peers, hostile_fixture)

BOOST_AUTO_TEST_CASE(random_bytes_cost_only_that_connection) {
  std::mt19937 rng{1234};
  for (int round = 0; round < 5; ++round) {
    std::string junk(1000 + round * 3000, '\0');
    for (auto& c : junk)
      c = static_cast<char>(rng());
    const auto raw = write_raw_and_wait_for_close(server.port(), junk);
    BOOST_TEST(raw.closed, "round " << round);
    // The reader refuses the first "message": its segment table announces
    // more segments (or words) than the reader allows.
    const auto why = log.drop_reason(raw.local_port);
    BOOST_TEST((unreadable_because(why, "Message has too many segments") ||
                unreadable_because(why, "Message is too large")),
               "round " << round << ": " << why);
  }
  still_serves_a_correct_client();
}

BOOST_AUTO_TEST_CASE(a_segment_table_announcing_a_huge_message_is_refused) {
  // One segment of 0x7fffffff words: a valid-looking header for a 16 GiB message.
  std::string header(8, '\0');
  const uint32_t segments_minus_one = 0, words = 0x7fffffff;
  std::memcpy(header.data(), &segments_minus_one, 4);
  std::memcpy(header.data() + 4, &words, 4);
  const auto huge = write_raw_and_wait_for_close(server.port(), header);
  BOOST_TEST(huge.closed);
  const auto too_large = log.drop_reason(huge.local_port);
  // Refused by the traversal limit (64 MiB = 8388608 words), before reading on.
  BOOST_TEST(unreadable_because(too_large, "Message is too large"), too_large);
  BOOST_TEST(too_large.find("[2147483647 <= 8388608]") != std::string::npos, too_large);
  // And a table claiming 100000 segments.
  const uint32_t many = 99'999;
  std::memcpy(header.data(), &many, 4);
  const auto segments = write_raw_and_wait_for_close(server.port(), header + std::string(64, '\0'));
  BOOST_TEST(segments.closed);
  const auto too_many = log.drop_reason(segments.local_port);
  BOOST_TEST(unreadable_because(too_many, "Message has too many segments"), too_many);
  BOOST_TEST(too_many.find("[100000 < 512]") != std::string::npos, too_many);
  still_serves_a_correct_client();
}

BOOST_AUTO_TEST_CASE(a_malformed_frame_fails_the_call_with_a_protocol_error) {
  capnp::EzRpcClient client{"127.0.0.1", server.port()};
  auto& ws = client.getWaitScope();
  auto hello = client.getMain<schema::Gate>().helloRequest();
  hello.setCluster(cluster_name);
  hello.setNode("raw");
  hello.setSecret(
      capnp::Data::Reader(reinterpret_cast<const kj::byte*>(secret), std::strlen(secret)));
  auto session = hello.send().wait(ws).getSession();

  auto deliver = session.deliverRequest();
  auto frames = deliver.initFrames(2);
  frames[0].initTo();
  frames[0].initFrom();
  frames[0].setStart();
  frames[1].initTo();
  frames[1].initFrom();  // frames[1]: kind never set
  std::string error;
  try {
    deliver.send().wait(ws);
  } catch (const kj::Exception& e) {
    error = e.getDescription().cStr();
  }
  BOOST_TEST(error.find("protocol error: frames[1]: frame kind not set") != std::string::npos,
             error);
  BOOST_TEST(handler.deliver_calls() == 0u);  // nothing of a malformed call reaches the handler
  still_serves_a_correct_client();
}

BOOST_AUTO_TEST_CASE(nothing_but_hello_is_reachable_before_authentication) {
  capnp::EzRpcClient client{"127.0.0.1", server.port()};
  auto& ws = client.getWaitScope();
  // Calling a Session method on the Gate capability: an unimplemented method.
  auto as_session = client.getMain<schema::Gate>().castAs<schema::Session>();
  std::string error = "(no error)";
  auto type = kj::Exception::Type::FAILED;
  try {
    as_session.controlRequest().send().wait(ws);
  } catch (const kj::Exception& e) {
    error = e.getDescription().cStr();
    type = e.getType();
  }
  // Refused as a method the Gate does not have, not by some later failure.
  BOOST_TEST((type == kj::Exception::Type::UNIMPLEMENTED), error);
  BOOST_TEST(error.find("not implemented") != std::string::npos, error);
  BOOST_TEST(handler.peers().empty());
}

BOOST_AUTO_TEST_CASE(a_connection_that_never_says_hello_is_closed) {
  auto o = server_opts();
  o.hello_timeout = 100ms;
  node_server quick{loop, "127.0.0.1", 0, o, handler};
  const auto t0 = std::chrono::steady_clock::now();
  const auto raw = write_raw_and_wait_for_close(quick.port(), "");
  const auto waited = std::chrono::steady_clock::now() - t0;
  BOOST_TEST(raw.closed);
  BOOST_TEST((waited >= 90ms && waited < 3s));  // closed by the hello timeout, not before it
  const auto why = log.drop_reason(raw.local_port);
  BOOST_TEST(why == "no successful hello within the hello timeout");
}

BOOST_AUTO_TEST_SUITE_END()
