#pragma once
// The entry point of a Sluice job: runs a pipeline embedded in this process,
// or as one node of a cluster (`--cluster FILE --node NAME`): every node runs
// the same binary with the same options, the coordinating node places the
// operator instances and the job's result is the same as embedded.

#include <memory>
#include <string>
#include <vector>

#include "sluice/actors/run.hpp"
#include "sluice/pipeline.hpp"

namespace sluice {

/// This process's HTTP endpoint while it lives (see `serve_http`).
class http_endpoint {
public:
  virtual ~http_endpoint() = default;
  /// The port it listens on.
  virtual uint16_t port() const noexcept = 0;
};

/// Serves this process's live metrics, its job's history and the requests
/// that change it on `cfg.http_host:cfg.http_port` (nothing when the port
/// is -1), as docs/http-api.md describes: GET /metrics (Prometheus text
/// format), GET /api/... (JSON), POST /api/savepoint|cancel|rescale with
/// `Authorization: Bearer TOKEN` — `token`, else the contents of
/// `cfg.http_token_file`; without either those are refused (403). Prints
/// "http: serving on http://HOST:PORT" to stderr. `run` calls it; jobs that
/// call `execute` themselves may too. Throws std::runtime_error naming the
/// address (or the token file) when it cannot serve.
/// Another node's HTTP endpoint, for the cluster-wide view.
struct http_peer {
  std::string name, host;
  uint16_t port = 0;
};

/// `peers`: the other nodes serving HTTP; `GET /api/operators?scope=cluster`
/// adds their operator instances to this node's (what the dashboard shows).
std::unique_ptr<http_endpoint> serve_http(const actors::runtime_config& cfg,
                                          const std::string& token = {},
                                          std::vector<http_peer> peers = {});

/// Runs `p` with `cfg`: embedded unless `cfg.cluster_file` is set, then as
/// node `cfg.node` of that cluster. Prints the summary (the coordinating
/// node) or the error to stderr. Returns the process exit code: 0 when the
/// job finished, 1 when it failed, 2 for a bad configuration, 3 when a user
/// cancelled it. A rescale request (POST /api/rescale) stops the job with a
/// savepoint and runs it again at the new parallelism, in the same
/// processes.
int run(const pipeline& p, const actors::runtime_config& cfg);

/// Parses the runtime's command-line options (`add_runtime_options`,
/// including --cluster/--node) and runs. Jobs with options of their own build
/// a CLI::App, call `add_runtime_options`, parse, then call `run(p, cfg)`.
int run(const pipeline& p, int argc, char** argv);

}  // namespace sluice
