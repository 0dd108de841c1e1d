#pragma once

#include <string>

#include "sluice/actors/config.hpp"
#include "sluice/actors/messages.hpp"
#include "sluice/pipeline.hpp"

namespace CLI {
class App;
}

namespace sluice::actors {

/// Runs a pipeline embedded in this process on `cfg.workers` CAF threads and
/// waits until it ends: a bounded job ends when its sources are exhausted and
/// everything reached the sinks; a job fails at the first operator failure,
/// with a report naming the operator, instance, position and cause. Never
/// throws for job errors: they are in the report. Thread-safe; each call runs
/// its own actor system.
job_report execute(const pipeline& p, const runtime_config& cfg);

/// `execute`, then prints the summary (records in/out per operator, dead
/// letters, wall time) or the error to stderr. Returns a process exit code.
int run(const pipeline& p, const runtime_config& cfg);

/// Parses the runtime's command-line options (see `add_runtime_options`) and
/// runs. For jobs with options of their own, build a CLI::App, call
/// `add_runtime_options` on it, parse, then call `run(p, cfg)`.
int run(const pipeline& p, int argc, char** argv);

/// Adds --workers, --parallelism, --batch-size, --flush-ms, --credits,
/// --no-chaining, --dead-letters, --quiet and --timeout-s to a CLI11 app.
void add_runtime_options(CLI::App& app, runtime_config& cfg);

/// Asks the running job(s) of this process for a savepoint, from any thread
/// (or a signal handler): the supervisor takes it at its next tick and keeps
/// it like a checkpoint that `retain` never deletes; with `stop`, the job
/// stops once the savepoint completed. Needs a state directory. `run` maps
/// SIGUSR1 to a savepoint and SIGUSR2 to stop-with-savepoint.
void request_savepoint(bool stop = false) noexcept;

/// Renders the per-operator summary table.
std::string format_summary(const pipeline& p, const job_report& r, double seconds);

}  // namespace sluice::actors

namespace sluice {
using actors::add_runtime_options;
using actors::execute;
using actors::run;
using actors::runtime_config;
}  // namespace sluice
