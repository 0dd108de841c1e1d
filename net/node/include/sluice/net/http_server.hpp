#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "sluice/net/event_loop.hpp"

namespace sluice::net {

/// One HTTP request as the handler sees it (the body is not read: the
/// endpoints take no body).
struct http_request {
  std::string method;  ///< "GET", "POST", ...
  std::string url;     ///< path and query, as sent
  std::string authorization;
};

struct http_response {
  http_response() = default;
  http_response(unsigned s, std::string type, std::string b)
      : status(s), content_type(std::move(type)), body(std::move(b)) {}

  unsigned status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
  /// An answer that is not ready yet (e.g. a savepoint in flight): the
  /// server asks every 50 ms, on its loop, until it returns one or
  /// `wait_limit` passed (then 504). The fields above are then ignored.
  std::function<std::optional<http_response>()> later;
  std::chrono::milliseconds wait_limit{120'000};
};

/// Runs on the event loop's thread: keep it short and thread-safe.
using http_handler = std::function<http_response(const http_request&)>;

/// A small HTTP/1.1 server (kj-http, from the Cap'n Proto package) on an
/// event loop: serves `handler` on `host:port` (port 0: an ephemeral one,
/// see `port()`). Requests whose headers take longer than 5 s or exceed
/// kj-http's limits are refused by kj-http without reaching the handler; a
/// handler that throws answers 500 with the message. Stops (closing every
/// connection) in the destructor, after giving answers still pending (see
/// `http_response::later`) up to 2 s to be sent.
class http_server {
public:
  http_server(event_loop& loop, const std::string& host, uint16_t port, http_handler handler);
  ~http_server();
  http_server(const http_server&) = delete;
  http_server& operator=(const http_server&) = delete;

  /// The port it listens on.
  uint16_t port() const noexcept { return port_; }

private:
  struct impl;
  event_loop& loop_;
  std::unique_ptr<impl> impl_;
  uint16_t port_ = 0;
};

}  // namespace sluice::net
