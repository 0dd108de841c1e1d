#pragma once
// The entry point of a Sluice job: runs a pipeline embedded in this process,
// or as one node of a cluster (`--cluster FILE --node NAME`): every node runs
// the same binary with the same options, the coordinating node places the
// operator instances and the job's result is the same as embedded.

#include "sluice/actors/run.hpp"
#include "sluice/pipeline.hpp"

namespace sluice {

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
