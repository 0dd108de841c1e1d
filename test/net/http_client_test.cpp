// net::http_client against a real net::http_server on 127.0.0.1: answers of
// every status, the bearer token reaching the server, and the failures a
// tool must tell apart (nothing listening, no answer, unknown host).
#include <boost/test/unit_test.hpp>

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <mutex>
#include <ostream>
#include <string>
#include <vector>

#include "sluice/net/event_loop.hpp"
#include "sluice/net/http_client.hpp"
#include "sluice/net/http_server.hpp"

using namespace sluice::net;
using namespace std::chrono_literals;

namespace sluice::net {
std::ostream& operator<<(std::ostream& os, http_failure f) {
  return os << to_string(f);
}
}  // namespace sluice::net

namespace {

/// A server that answers every request with its method and url, and
/// remembers what it saw (the handler runs on the loop thread).
struct recording_server {
  recording_server()
      : server(loop, "127.0.0.1", 0, [this](const http_request& r) {
          std::lock_guard lock{mutex};
          seen.push_back(r);
          if (r.url == "/missing")
            return http_response{404, "application/json", R"({"error":"no such endpoint"})"};
          return http_response{200, "application/json",
                               R"({"method":")" + r.method + R"(","url":")" + r.url + "\"}"};
        }) {}

  std::vector<http_request> requests() {
    std::lock_guard lock{mutex};
    return seen;
  }

  std::mutex mutex;
  std::vector<http_request> seen;
  event_loop loop;
  http_server server;
};

/// A TCP socket on 127.0.0.1 with an ephemeral port, bound; listening (the
/// kernel completes connections nobody accepts) or not (connections are
/// refused). Closed when it goes away.
struct raw_socket {
  explicit raw_socket(bool listening) {
    fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    BOOST_REQUIRE(fd >= 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    BOOST_REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    socklen_t len = sizeof a;
    BOOST_REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0);
    port = ntohs(a.sin_port);
    if (listening)
      BOOST_REQUIRE(::listen(fd, 8) == 0);
  }
  ~raw_socket() { ::close(fd); }
  raw_socket(const raw_socket&) = delete;
  raw_socket& operator=(const raw_socket&) = delete;

  int fd = -1;
  uint16_t port = 0;
};

}  // namespace

BOOST_AUTO_TEST_SUITE(net_http_client)

BOOST_AUTO_TEST_CASE(get_returns_status_content_type_and_body) {
  recording_server s;
  http_client client;
  const auto r = client.request("GET", "127.0.0.1", s.server.port(), "/api/jobs", "", 5s);
  BOOST_TEST_REQUIRE(r.answered(), r.error);
  BOOST_TEST(r.status == 200u);
  BOOST_TEST(r.content_type == "application/json");
  BOOST_TEST(r.body == R"({"method":"GET","url":"/api/jobs"})");
  const auto seen = s.requests();
  BOOST_TEST_REQUIRE(seen.size() == 1u);
  BOOST_TEST(seen[0].authorization.empty());
}

BOOST_AUTO_TEST_CASE(post_sends_the_query_and_the_bearer_token) {
  recording_server s;
  http_client client;
  const auto r = client.request("POST", "127.0.0.1", s.server.port(), "/api/savepoint?stop=true",
                                "s3cret-token", 5s);
  BOOST_TEST_REQUIRE(r.answered(), r.error);
  BOOST_TEST(r.status == 200u);
  const auto seen = s.requests();
  BOOST_TEST_REQUIRE(seen.size() == 1u);
  BOOST_TEST(seen[0].method == "POST");
  BOOST_TEST(seen[0].url == "/api/savepoint?stop=true");
  BOOST_TEST(seen[0].authorization == "Bearer s3cret-token");
}

BOOST_AUTO_TEST_CASE(an_error_status_is_an_answer_with_its_body) {
  recording_server s;
  http_client client;
  const auto r = client.request("GET", "127.0.0.1", s.server.port(), "/missing", "", 5s);
  BOOST_TEST_REQUIRE(r.answered(), r.error);
  BOOST_TEST(r.status == 404u);
  BOOST_TEST(r.body == R"({"error":"no such endpoint"})");
}

BOOST_AUTO_TEST_CASE(one_client_serves_several_requests_in_a_row) {
  recording_server s;
  http_client client;
  for (int i = 0; i < 20; ++i) {
    const auto r =
        client.request("GET", "127.0.0.1", s.server.port(), "/n/" + std::to_string(i), "", 5s);
    BOOST_TEST_REQUIRE(r.answered(), r.error);
    BOOST_TEST(r.body.find("/n/" + std::to_string(i)) != std::string::npos);
  }
  BOOST_TEST(s.requests().size() == 20u);
}

BOOST_AUTO_TEST_CASE(a_closed_port_is_connection_refused) {
  raw_socket closed{false};  // bound, not listening: the kernel refuses connections
  const auto start = std::chrono::steady_clock::now();
  const auto r = http_fetch("GET", "127.0.0.1", closed.port, "/api/jobs", "", 5s);
  BOOST_TEST(r.failure == http_failure::refused);
  BOOST_TEST(r.error == "connection refused");
  BOOST_TEST((std::chrono::steady_clock::now() - start < 2s));
}

BOOST_AUTO_TEST_CASE(a_server_that_never_answers_times_out) {
  raw_socket silent{true};  // accepts connections (in the kernel) and never answers
  const auto start = std::chrono::steady_clock::now();
  const auto r = http_fetch("GET", "127.0.0.1", silent.port, "/api/jobs", "", 300ms);
  const auto took = std::chrono::steady_clock::now() - start;
  BOOST_TEST(r.failure == http_failure::timeout);
  BOOST_TEST(r.error == "timed out after 300 ms waiting for the answer");
  BOOST_TEST((took >= 300ms));
  BOOST_TEST((took < 3s));
}

BOOST_AUTO_TEST_CASE(an_unknown_method_is_refused_before_sending) {
  http_client client;
  BOOST_CHECK_THROW(client.request("FROB", "127.0.0.1", 1, "/", "", 1s), std::invalid_argument);
}

BOOST_AUTO_TEST_CASE(an_unresolvable_host_names_the_host) {
  // `.invalid` never resolves (RFC 2606). Where no resolver answers quickly
  // the lookup may time out instead; both are no-answer failures.
  const auto r = http_fetch("GET", "no-such-host.invalid", 80, "/", "", 5s);
  BOOST_TEST_MESSAGE(r.error);
  BOOST_TEST(!r.answered());
  BOOST_TEST((r.failure == http_failure::resolve || r.failure == http_failure::timeout));
  if (r.failure == http_failure::resolve)
    BOOST_TEST(r.error.find("cannot resolve host 'no-such-host.invalid'") != std::string::npos,
               r.error);
}

BOOST_AUTO_TEST_SUITE_END()
