#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace sluice::net {

/// Why an HTTP request got no answer (an answer with any status, 4xx and 5xx
/// included, is `none`: the caller judges the status).
enum class http_failure : uint8_t {
  none,        ///< An answer arrived.
  resolve,     ///< The host name could not be resolved (DNS).
  refused,     ///< Nothing listens on host:port (connection refused).
  timeout,     ///< No complete answer within the timeout.
  connection,  ///< The connection failed otherwise (reset, closed mid-answer, no route).
};

constexpr std::string_view to_string(http_failure f) noexcept {
  switch (f) {
    case http_failure::none:
      return "none";
    case http_failure::resolve:
      return "resolve";
    case http_failure::refused:
      return "refused";
    case http_failure::timeout:
      return "timeout";
    case http_failure::connection:
      return "connection";
  }
  return "unknown";
}

/// The outcome of one request: an answer (status, content type, body) or,
/// when `failure` is not `none`, why there is none.
struct http_result {
  http_failure failure = http_failure::none;
  /// For people, when failed: "connection refused", "timed out after 2000 ms
  /// waiting for the answer", "cannot resolve host 'x': ...".
  std::string error;
  unsigned status = 0;
  std::string content_type;  ///< The Content-Type header, "" when absent.
  std::string body;

  bool answered() const noexcept { return failure == http_failure::none; }
};

/// A small blocking HTTP/1.1 client on kj-http (Cap'n Proto's HTTP library),
/// for tools such as the `sluice` command line and for tests.
///
/// Lifecycle and threads: the constructor sets up a KJ event loop on the
/// calling thread (kj::setupAsyncIo), so construct, use and destroy it on one
/// thread that does not run a KJ event loop already (not on a
/// net::event_loop's thread). `request` blocks that thread until the answer is
/// complete or the timeout passed. Every request opens its own connection
/// and closes it afterwards (no keep-alive: a tool sends a few requests).
class http_client {
public:
  /// Bodies larger than this are refused (a connection failure).
  static constexpr uint64_t max_body_bytes = 64u << 20;

  http_client();
  ~http_client();
  http_client(const http_client&) = delete;
  http_client& operator=(const http_client&) = delete;

  /// Sends `method path_and_query` to host:port and waits for the whole
  /// answer, at most `timeout` for everything (name lookup, connect, answer).
  /// A non-empty `bearer_token` is sent as `Authorization: Bearer TOKEN`.
  /// No request body is sent (a POST says Content-Length: 0): the Sluice API
  /// takes its arguments in the query. An unknown `method` throws
  /// std::invalid_argument.
  http_result request(const std::string& method, const std::string& host, uint16_t port,
                      const std::string& path_and_query, const std::string& bearer_token,
                      std::chrono::milliseconds timeout);

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

/// One request with a client of its own (see http_client for the thread rule).
http_result http_fetch(const std::string& method, const std::string& host, uint16_t port,
                       const std::string& path_and_query, const std::string& bearer_token,
                       std::chrono::milliseconds timeout);

}  // namespace sluice::net
