// Peers that do not follow the protocol: garbage bytes, absurd segment
// tables, malformed frames through a raw Cap'n Proto client. The server
// survives all of them and keeps serving a correct client.
#include <boost/test/unit_test.hpp>

#include <cstring>
#include <random>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <capnp/ez-rpc.h>

#include "sluice.capnp.h"

#include "test_support.hpp"

using namespace net_test;
namespace schema = sluice::net::schema;

namespace {

/// Writes `bytes` to 127.0.0.1:port over a plain socket, then waits (bounded)
/// for the server to close the connection. Returns true if it did.
bool write_raw_and_wait_for_close(uint16_t port, const std::string& bytes) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  BOOST_REQUIRE(fd >= 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  BOOST_REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  timeval tv{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  // The server may hang up before reading everything: ignore short writes.
  [[maybe_unused]] auto n = ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
  char buf[4096];
  bool closed = false;
  for (int i = 0; i < 1000; ++i) {
    const auto r = ::recv(fd, buf, sizeof buf, 0);
    if (r == 0 || (r < 0 && errno == ECONNRESET)) {
      closed = true;
      break;
    }
    if (r < 0) break;  // timeout: still open
  }
  ::close(fd);
  return closed;
}

struct hostile_fixture {
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
    for (auto& c : junk) c = static_cast<char>(rng());
    BOOST_TEST(write_raw_and_wait_for_close(server.port(), junk));
  }
  still_serves_a_correct_client();
}

BOOST_AUTO_TEST_CASE(a_segment_table_announcing_a_huge_message_is_refused) {
  // One segment of 0x7fffffff words: a valid-looking header for a 16 GiB message.
  std::string header(8, '\0');
  const uint32_t segments_minus_one = 0, words = 0x7fffffff;
  std::memcpy(header.data(), &segments_minus_one, 4);
  std::memcpy(header.data() + 4, &words, 4);
  BOOST_TEST(write_raw_and_wait_for_close(server.port(), header));
  // And a table claiming 100000 segments.
  const uint32_t many = 99'999;
  std::memcpy(header.data(), &many, 4);
  BOOST_TEST(write_raw_and_wait_for_close(server.port(), header + std::string(64, '\0')));
  still_serves_a_correct_client();
}

BOOST_AUTO_TEST_CASE(a_malformed_frame_fails_the_call_with_a_protocol_error) {
  capnp::EzRpcClient client{"127.0.0.1", server.port()};
  auto& ws = client.getWaitScope();
  auto hello = client.getMain<schema::Gate>().helloRequest();
  hello.setCluster(cluster_name);
  hello.setNode("raw");
  hello.setSecret(capnp::Data::Reader(reinterpret_cast<const kj::byte*>(secret), std::strlen(secret)));
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
  BOOST_TEST(error.find("protocol error: frames[1]: frame kind not set") != std::string::npos, error);
  BOOST_TEST(handler.deliver_calls() == 0u);  // nothing of a malformed call reaches the handler
  still_serves_a_correct_client();
}

BOOST_AUTO_TEST_CASE(nothing_but_hello_is_reachable_before_authentication) {
  capnp::EzRpcClient client{"127.0.0.1", server.port()};
  auto& ws = client.getWaitScope();
  // Calling a Session method on the Gate capability: an unimplemented method.
  auto as_session = client.getMain<schema::Gate>().castAs<schema::Session>();
  std::string error;
  try {
    as_session.controlRequest().send().wait(ws);
  } catch (const kj::Exception& e) {
    error = e.getDescription().cStr();
  }
  BOOST_TEST(!error.empty());
  BOOST_TEST(handler.peers().empty());
}

BOOST_AUTO_TEST_CASE(a_connection_that_never_says_hello_is_closed) {
  auto o = server_opts();
  o.hello_timeout = 100ms;
  node_server quick{loop, "127.0.0.1", 0, o, handler};
  const auto t0 = std::chrono::steady_clock::now();
  BOOST_TEST(write_raw_and_wait_for_close(quick.port(), ""));
  BOOST_TEST((std::chrono::steady_clock::now() - t0 < 3s));
}

BOOST_AUTO_TEST_SUITE_END()
