#pragma once

#include <string>

#include <caf/fwd.hpp>

#include <functional>
#include <memory>
#include <optional>

#include "sluice/actors/cluster_port.hpp"
#include "sluice/actors/config.hpp"
#include "sluice/actors/messages.hpp"
#include "sluice/pipeline.hpp"
#include "sluice/state/snapshot_store.hpp"

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

/// How a cluster runtime joins an `execute` on the coordinating node: called
/// once the actor system, the job graph and the state directory exist, it
/// returns the cluster port the supervisor uses and a callback that learns
/// the supervisor (to route remote tasks' reports to it).
struct cluster_attachment {
  std::shared_ptr<cluster_port> port;
  std::function<void(const caf::actor& supervisor)> on_supervisor;
  /// The job ended; runs before the actor system shuts down.
  std::function<void(const job_report&)> on_done;
  /// Where the supervisor logs notes and failures as they happen; null: the
  /// process's logger (sluice/actors/logging.hpp).
  std::function<void(bool warning, const std::string&)> log;
};
using attach_fn = std::function<cluster_attachment(
    caf::actor_system&, std::shared_ptr<const job_graph>, std::shared_ptr<state::snapshot_store>)>;

/// `execute` as the coordinating node of a cluster.
job_report execute(const pipeline& p, const runtime_config& cfg, const attach_fn& attach);

/// Process-wide settings every node applies before running tasks (malloc
/// tuning, fault-injection rules from `cfg.faults` / SLUICE_FAULTS). Returns
/// an error message, or empty.
std::string prepare_process(const runtime_config& cfg);

/// `execute`, then prints the summary (records in/out per operator, dead
/// letters, wall time) or the error to stderr. Returns a process exit code.
/// Jobs call `sluice::run` (sluice/run.hpp), which runs this unless the
/// configuration names a cluster.
int run_embedded(const pipeline& p, const runtime_config& cfg);

/// After a run that a user stopped to rescale (`job_report::rescale_to`):
/// the configuration of the next run (that parallelism, from the stop
/// savepoint), announced on stderr. Else nothing.
std::optional<runtime_config> rescaled(const job_report& r, const runtime_config& cfg);

/// The process exit code for a run's report, printing its error: 0
/// finished, 1 failed, 3 cancelled by a user.
int exit_code(const job_report& r);

/// Adds every runtime option to a CLI11 app (`--help` lists them; docs/api.md
/// explains each): threads and parallelism, batching and credits, chaining,
/// dead letters, summary and timeout, state directory and checkpoints,
/// restart strategy and recovery timeout, fault injection, savepoints, and
/// the cluster file and node name.
void add_runtime_options(CLI::App& app, runtime_config& cfg);

/// Asks the running job(s) of this process for a savepoint, from any thread
/// (or a signal handler): the supervisor takes it at its next tick and keeps
/// it like a checkpoint that `retain` never deletes; with `stop`, the job
/// stops once the savepoint completed. Needs a state directory. `run` maps
/// SIGUSR1 to a savepoint and SIGUSR2 to stop-with-savepoint.
void request_savepoint(bool stop = false) noexcept;

/// Renders the per-operator summary table.
std::string format_summary(const pipeline& p, const job_report& r, double seconds);

/// While alive, and only when standard output is a terminal, rewrites one
/// line there every 500 ms: the records job `job_name`'s sources emitted in
/// this process, their rate, and — when every source knows its input size —
/// the share of the input read and an estimate of the time left. The last
/// line stays. `run` shows it; jobs that call `execute` themselves may too.
class console_progress {
public:
  explicit console_progress(std::string job_name);
  ~console_progress();
  console_progress(const console_progress&) = delete;
  console_progress& operator=(const console_progress&) = delete;

  /// The line for `records` after `seconds`, with `fraction` of the input
  /// read (negative: not known).
  static std::string render(uint64_t records, double seconds, double fraction);

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace sluice::actors

namespace sluice {
using actors::add_runtime_options;
using actors::execute;
using actors::runtime_config;
}  // namespace sluice
