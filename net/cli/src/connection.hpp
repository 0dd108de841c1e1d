#pragma once

// Where the `sluice` command line connects and how it turns what the HTTP
// API answers into data or a failure with an exit code.

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "sluice/net/http_client.hpp"

namespace sluice::cli {

/// The command line's exit codes (docs/operations.md, "The sluice command line").
enum class exit_code : int {
  ok = 0,            ///< Done.
  failed = 1,        ///< The job or the request failed (savepoint failed, 409 not running, ...).
  usage = 2,         ///< Wrong options, or a cluster file or token file that cannot be used.
  unreachable = 3,   ///< No answer: refused, timed out, unknown host.
  unauthorized = 4,  ///< The token was missing or refused (401), or changes are off (403).
};

/// What ends a command: printed as `sluice: MESSAGE`, then exit with `code`.
class cli_error : public std::runtime_error {
public:
  cli_error(exit_code c, const std::string& message) : std::runtime_error(message), code(c) {}
  exit_code code;
};

/// One node's HTTP API.
struct endpoint {
  std::string node;  ///< Its name in the cluster file; empty for --url.
  std::string host;
  uint16_t port = 0;

  std::string address() const { return host + ":" + std::to_string(port); }
  /// "node n2" or, for --url, "job".
  std::string who() const { return node.empty() ? "job" : "node " + node; }
};

/// The connection options as given on the command line.
struct connection_options {
  std::string url;           ///< --url http://HOST:PORT
  std::string cluster_file;  ///< --cluster FILE
  std::string node;          ///< --node NAME (with --cluster; default: the coordinator)
  std::string token_file;    ///< --token-file FILE
  int64_t timeout_ms = 5000;
};

/// Whom the options name: the node to talk to, the token for changes, and
/// (with --cluster) the other nodes whose HTTP port the cluster file gives.
struct target {
  endpoint main;
  std::string token;                 ///< Empty: none (changes will be refused).
  std::vector<endpoint> others;      ///< Other nodes with a known HTTP port.
  std::vector<std::string> skipped;  ///< Nodes left out, with the reason.
};

/// Resolves the options (reads the cluster file and token file). Throws
/// cli_error with exit_code::usage when they cannot be used.
target resolve(const connection_options& o);

/// Requests to nodes, mapping failures to cli_error with their exit code:
/// no answer → unreachable ("node n2 unreachable at 127.0.0.1:7002:
/// connection refused"), 401/403 → unauthorized, any other non-2xx → failed.
class api {
public:
  explicit api(std::chrono::milliseconds timeout) : timeout_(timeout) {}

  /// GET `path`, the answer's body as text.
  std::string get_text(const endpoint& e, const std::string& path);
  /// GET `path`, the answer as JSON.
  nlohmann::json get_json(const endpoint& e, const std::string& path);
  /// GET `path` as JSON, or null when the node does not serve the path (404).
  nlohmann::json get_json_if_served(const endpoint& e, const std::string& path);
  /// POST `path` with the bearer token, waiting at most `timeout`; the answer as JSON.
  nlohmann::json post(const endpoint& e, const std::string& path, const std::string& token,
                      std::chrono::milliseconds timeout);

  /// The raw exchange (no mapping): for polling that tolerates failures.
  net::http_result raw(const endpoint& e, const std::string& method, const std::string& path,
                       const std::string& token, std::chrono::milliseconds timeout);

  std::chrono::milliseconds timeout() const { return timeout_; }

private:
  net::http_client client_;
  std::chrono::milliseconds timeout_;
};

/// The failure a result means, or nothing for a 2xx answer.
void check(const endpoint& e, const std::string& method, const std::string& path,
           const net::http_result& r);

/// The body as JSON; a body that is not JSON is a failure naming the node.
nlohmann::json parse_json(const endpoint& e, const std::string& path, const std::string& body);

}  // namespace sluice::cli
