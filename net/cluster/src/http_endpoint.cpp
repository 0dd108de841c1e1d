// The HTTP endpoint of a node: live metrics and the job's history from the
// actor runtime's registry, the dashboard, and the requests that change a
// running job (savepoint, cancel, rescale), served by net/node's kj-http
// server. docs/http-api.md is the contract.
#include <fmt/format.h>

#include <charconv>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <future>
#include <optional>
#include <sstream>
#include <stdexcept>

#include "dashboard.hpp"
#include "sluice/actors/metrics_registry.hpp"
#include "sluice/format.hpp"
#include "sluice/net/http_client.hpp"
#include "sluice/net/http_server.hpp"
#include "sluice/run.hpp"
#include "sluice/time.hpp"

namespace sluice {
namespace {

using actors::job_state;
using actors::live_job;
using actors::metrics_registry;

int64_t wall_ms() {
  return system_clock{}.now().ms;
}

net::http_response json(unsigned status, std::string body) {
  return {status, "application/json", std::move(body)};
}

net::http_response json_error(unsigned status, const std::string& message) {
  std::string body = "{\"error\":";
  format::append_json_string(body, message);
  body += "}";
  return json(status, std::move(body));
}

/// The value of `key` in the query string of `url`, if present.
std::optional<std::string> query_param(const std::string& url, std::string_view key) {
  auto q = url.find('?');
  if (q == std::string::npos)
    return std::nullopt;
  std::string_view rest{url};
  rest.remove_prefix(q + 1);
  while (!rest.empty()) {
    auto amp = rest.find('&');
    auto part = rest.substr(0, amp);
    auto eq = part.find('=');
    if (part.substr(0, eq) == key)
      return std::string{eq == std::string_view::npos ? std::string_view{} : part.substr(eq + 1)};
    if (amp == std::string_view::npos)
      break;
    rest.remove_prefix(amp + 1);
  }
  return std::nullopt;
}

/// Compares in time independent of where the strings differ.
bool same_secret(std::string_view a, std::string_view b) {
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  for (size_t i = 0; i < a.size(); ++i)
    diff |= static_cast<unsigned char>(a[i] ^ (i < b.size() ? b[i] : 0));
  return diff == 0;
}

bool ended(job_state s) {
  return s == job_state::finished || s == job_state::failed || s == job_state::cancelled;
}

/// The job this process coordinates: the running one, else the newest.
std::shared_ptr<live_job> current_job(bool running_only) {
  std::shared_ptr<live_job> newest;
  for (auto& j : metrics_registry::process().job_entries()) {
    if (!ended(static_cast<job_state>(j->state.load())))
      return j;
    if (!newest || j->started_ms >= newest->started_ms)
      newest = j;
  }
  return running_only ? nullptr : newest;
}

/// Waits for the savepoint a request started: the first savepoint with an
/// id above `base` that completes or is aborted.
std::function<std::optional<net::http_response>()> await_savepoint(std::shared_ptr<live_job> j,
                                                                   uint64_t base,
                                                                   std::string done_fields) {
  return [j = std::move(j), base,
          done_fields = std::move(done_fields)]() -> std::optional<net::http_response> {
    {
      std::lock_guard<std::mutex> guard{j->mtx};
      for (auto& c : j->checkpoints) {
        if (c.id <= base || !c.savepoint)
          continue;
        if (c.status == "completed")
          return json(200, fmt::format("{{\"savepoint\":{}{}}}", c.id, done_fields));
        if (c.status == "aborted")
          return json_error(500, fmt::format("savepoint {} failed: {}", c.id, c.failure));
      }
    }
    const auto st = static_cast<job_state>(j->state.load());
    if (ended(st))
      return json_error(
          500, fmt::format("the job {} before the savepoint completed", actors::to_string(st)));
    return std::nullopt;
  };
}

/// This node's operator instances and those of `peers`, as one
/// {"operators": [...]} object; peers that did not answer are listed under
/// "unreachable" with the reason. Runs on a thread of its own (the HTTP
/// client has its own event loop).
std::string cluster_operators(const std::vector<http_peer>& peers) {
  std::string local = metrics_registry::json(metrics_registry::process().sample(), wall_ms());
  constexpr std::string_view head = "{\"operators\":[", tail = "]}";
  auto items = [&](const std::string& body) -> std::optional<std::string> {
    if (body.size() < head.size() + tail.size() || body.compare(0, head.size(), head) != 0 ||
        body.compare(body.size() - tail.size(), tail.size(), tail) != 0)
      return std::nullopt;
    return body.substr(head.size(), body.size() - head.size() - tail.size());
  };
  std::string all = *items(local);
  std::string unreachable;
  net::http_client client;
  for (auto& p : peers) {
    auto r = client.request("GET", p.host, p.port, "/api/operators", {},
                            std::chrono::milliseconds{2000});
    std::optional<std::string> got;
    if (r.answered() && r.status == 200)
      got = items(r.body);
    if (got) {
      if (!got->empty())
        all += (all.empty() ? "" : ",") + *got;
      continue;
    }
    unreachable += unreachable.empty() ? "" : ",";
    format::append_json_string(
        unreachable, fmt::format("{} ({}:{}): {}", p.name, p.host, p.port,
                                 r.answered() ? fmt::format("status {}", r.status) : r.error));
  }
  return fmt::format("{{\"operators\":[{}],\"unreachable\":[{}]}}", all, unreachable);
}

class handler {
public:
  handler(std::string token, std::vector<http_peer> peers)
      : token_(std::move(token)), peers_(std::move(peers)) {}

  net::http_response operator()(const net::http_request& req) const {
    const std::string path = req.url.substr(0, req.url.find('?'));
    if (req.method == "POST")
      return post(req, path);
    if (req.method != "GET")
      return json_error(405, fmt::format("{} {}: only GET and POST are served", req.method, path));
    if (path == "/api/operators" && query_param(req.url, "scope") == "cluster")
      return cluster_wide();
    return get(path);
  }

private:
  net::http_response cluster_wide() const {
    auto f = std::make_shared<std::future<std::string>>(
        std::async(std::launch::async, cluster_operators, peers_));
    net::http_response res;
    res.later = [f]() -> std::optional<net::http_response> {
      if (f->wait_for(std::chrono::seconds{0}) != std::future_status::ready)
        return std::nullopt;
      return json(200, f->get());
    };
    res.wait_limit = std::chrono::milliseconds{30'000};
    return res;
  }

  net::http_response get(const std::string& path) const {
    auto& reg = metrics_registry::process();
    if (path == "/metrics")
      return {200, "text/plain; version=0.0.4; charset=utf-8",
              metrics_registry::prometheus(reg.sample(), reg.jobs(), wall_ms(), reg.nodes())};
    if (path == "/api/jobs")
      return json(200, metrics_registry::jobs_json(reg.jobs(), wall_ms()));
    if (path == "/api/operators")
      return json(200, metrics_registry::json(reg.sample(), wall_ms()));
    if (path == "/api/nodes")
      return json(200, metrics_registry::nodes_json(reg.nodes()));
    if (path == "/api/graph" || path == "/api/checkpoints" || path == "/api/failures") {
      auto j = current_job(false);
      if (!j)
        return json_error(404, "no job runs in this process (in a cluster, ask the coordinator)");
      if (path == "/api/graph")
        return json(200, metrics_registry::graph_json(*j));
      if (path == "/api/checkpoints")
        return json(200, metrics_registry::checkpoints_json(*j));
      return json(200, metrics_registry::failures_json(*j));
    }
    if (auto page = dashboard_response(path))
      return *std::move(page);
    return json_error(404, fmt::format("no such endpoint: {}", path));
  }

  net::http_response post(const net::http_request& req, const std::string& path) const {
    if (path != "/api/savepoint" && path != "/api/cancel" && path != "/api/rescale")
      return json_error(path.rfind("/api/", 0) == 0 ? 404 : 405,
                        fmt::format("POST {}: no such request", path));
    if (token_.empty())
      return json_error(403,
                        "state-changing requests are disabled: start the job with "
                        "--http-token-file FILE (a cluster uses its secret)");
    constexpr std::string_view bearer = "Bearer ";
    if (req.authorization.rfind(bearer, 0) != 0 ||
        !same_secret(std::string_view{req.authorization}.substr(bearer.size()), token_))
      return json_error(401, "missing or wrong bearer token (Authorization: Bearer TOKEN)");
    auto j = current_job(true);
    if (!j)
      return json_error(409, "no job is running in this process");
    if (path == "/api/cancel") {
      j->request(actors::job_request::cancel);
      std::string body = "{\"cancelling\":";
      format::append_json_string(body, j->job);
      return json(202, body + "}");
    }
    if (!j->can_savepoint.load())
      return json_error(409,
                        "the job has no state directory (--state-dir), so it cannot take "
                        "a savepoint");
    uint64_t base = 0;
    {
      std::lock_guard<std::mutex> guard{j->mtx};
      for (auto& c : j->checkpoints)
        base = std::max(base, c.id);
    }
    net::http_response res;
    if (path == "/api/savepoint") {
      auto stop = query_param(req.url, "stop").value_or("false");
      if (stop != "true" && stop != "false" && stop != "1" && stop != "0")
        return json_error(400, fmt::format("stop={}: expected true or false", stop));
      const bool stopping = stop == "true" || stop == "1";
      j->request(stopping ? actors::job_request::stop_with_savepoint
                          : actors::job_request::savepoint);
      res.later = await_savepoint(j, base, fmt::format(",\"stopped\":{}", stopping));
      return res;
    }
    auto n_text = query_param(req.url, "parallelism");
    uint32_t n = 0;
    if (!n_text ||
        std::from_chars(n_text->data(), n_text->data() + n_text->size(), n).ec != std::errc{} ||
        n == 0 || n > 32768)
      return json_error(400, "rescale needs ?parallelism=N with N in 1..32768");
    j->rescale_to.store(n);
    j->request(actors::job_request::stop_with_savepoint);
    res.later = await_savepoint(j, base, fmt::format(",\"parallelism\":{}", n));
    return res;
  }

  std::string token_;
  std::vector<http_peer> peers_;
};

class endpoint final : public http_endpoint {
public:
  endpoint(const std::string& host, uint16_t port, std::string token, std::vector<http_peer> peers)
      : server_(loop_, host, port, handler{std::move(token), std::move(peers)}) {}
  uint16_t port() const noexcept override { return server_.port(); }

private:
  net::event_loop loop_;
  net::http_server server_;
};

std::string read_token(const std::string& file) {
  std::ifstream in{file, std::ios::binary};
  if (!in)
    throw std::runtime_error(fmt::format("cannot read the HTTP token file '{}'", file));
  std::stringstream ss;
  ss << in.rdbuf();
  std::string t = ss.str();
  while (!t.empty() && (t.back() == '\n' || t.back() == '\r'))
    t.pop_back();
  if (t.size() < 16)
    throw std::runtime_error(fmt::format("the HTTP token in '{}' is shorter than 16 bytes", file));
  return t;
}

}  // namespace

std::unique_ptr<http_endpoint> serve_http(const actors::runtime_config& cfg,
                                          const std::string& token, std::vector<http_peer> peers) {
  if (cfg.http_port < 0)
    return nullptr;
  std::string t = token;
  if (t.empty() && !cfg.http_token_file.empty())
    t = read_token(cfg.http_token_file);
  std::unique_ptr<http_endpoint> e;
  try {
    e = std::make_unique<endpoint>(cfg.http_host, static_cast<uint16_t>(cfg.http_port),
                                   std::move(t), std::move(peers));
  } catch (const std::exception& ex) {
    throw std::runtime_error(
        fmt::format("cannot serve HTTP on {}:{}: {}", cfg.http_host, cfg.http_port, ex.what()));
  }
  std::fprintf(stderr, "http: serving on http://%s:%u (dashboard at /, /metrics, /api/...)\n",
               cfg.http_host.c_str(), static_cast<unsigned>(e->port()));
  std::fflush(stderr);
  return e;
}

}  // namespace sluice
