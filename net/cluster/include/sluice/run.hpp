#pragma once
// The entry point of a Sluice job: runs a pipeline embedded in this process,
// or as one node of a cluster (`--cluster FILE --node NAME`): every node runs
// the same binary with the same options, the coordinating node places the
// operator instances and the job's result is the same as embedded.

#include <memory>

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

/// Serves the live metrics of this process's operator instances on
/// `cfg.http_host:cfg.http_port` (nothing when the port is -1): GET /metrics
/// (Prometheus text format), GET /api/operators (JSON). Prints
/// "http: serving on http://HOST:PORT" to stderr. `run` calls it; jobs that
/// call `execute` themselves may too. Throws std::runtime_error naming the
/// address when it cannot listen.
std::unique_ptr<http_endpoint> serve_http(const actors::runtime_config& cfg);

/// Runs `p` with `cfg`: embedded unless `cfg.cluster_file` is set, then as
/// node `cfg.node` of that cluster. Prints the summary (the coordinating
/// node) or the error to stderr. Returns the process exit code: 0 when the
/// job finished, 1 when it failed, 2 for a bad configuration.
int run(const pipeline& p, const actors::runtime_config& cfg);

/// Parses the runtime's command-line options (`add_runtime_options`,
/// including --cluster/--node) and runs. Jobs with options of their own build
/// a CLI::App, call `add_runtime_options`, parse, then call `run(p, cfg)`.
int run(const pipeline& p, int argc, char** argv);

}  // namespace sluice
