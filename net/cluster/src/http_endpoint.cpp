// The HTTP endpoint of a node: live metrics from the actor runtime's
// registry, served by net/node's kj-http server.
#include <fmt/format.h>

#include <chrono>
#include <cstdio>
#include <stdexcept>

#include "dashboard.hpp"
#include "sluice/actors/metrics_registry.hpp"
#include "sluice/net/http_server.hpp"
#include "sluice/run.hpp"

namespace sluice {
namespace {

int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

net::http_response handle(const net::http_request& req) {
  using actors::metrics_registry;
  const std::string path = req.url.substr(0, req.url.find('?'));
  if (req.method != "GET")
    return {405, "text/plain; charset=utf-8",
            fmt::format("{} {}: only GET is served\n", req.method, path)};
  if (path == "/metrics")
    return {200, "text/plain; version=0.0.4; charset=utf-8",
            metrics_registry::prometheus(metrics_registry::process().sample(),
                                         metrics_registry::process().jobs(), wall_ms())};
  if (path == "/api/jobs")
    return {200, "application/json",
            metrics_registry::jobs_json(metrics_registry::process().jobs(), wall_ms())};
  if (path == "/api/operators")
    return {200, "application/json",
            metrics_registry::json(metrics_registry::process().sample(), wall_ms())};
  if (auto page = dashboard_response(path))
    return *std::move(page);
  return {404, "text/plain; charset=utf-8", fmt::format("no such endpoint: {}\n", path)};
}

class endpoint final : public http_endpoint {
public:
  endpoint(const std::string& host, uint16_t port) : server_(loop_, host, port, handle) {}
  uint16_t port() const noexcept override { return server_.port(); }

private:
  net::event_loop loop_;
  net::http_server server_;
};

}  // namespace

std::unique_ptr<http_endpoint> serve_http(const actors::runtime_config& cfg) {
  if (cfg.http_port < 0)
    return nullptr;
  std::unique_ptr<http_endpoint> e;
  try {
    e = std::make_unique<endpoint>(cfg.http_host, static_cast<uint16_t>(cfg.http_port));
  } catch (const std::exception& ex) {
    throw std::runtime_error(
        fmt::format("cannot serve HTTP on {}:{}: {}", cfg.http_host, cfg.http_port, ex.what()));
  }
  std::fprintf(stderr, "http: serving on http://%s:%u (/metrics, /api/operators)\n",
               cfg.http_host.c_str(), static_cast<unsigned>(e->port()));
  std::fflush(stderr);
  return e;
}

}  // namespace sluice
