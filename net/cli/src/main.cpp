// sluice: the command line for a running job or cluster, a client of the
// coordinator's HTTP API (docs/http-api.md). See docs/operations.md, "The
// sluice command line", for the commands, the connection options and the
// exit codes.
#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include <cstdio>
#include <exception>

#include "commands.hpp"
#include "connection.hpp"

namespace {

constexpr const char* connection_help = R"(
Where to connect (one of):
  --url http://HOST:PORT          a node's HTTP endpoint (--http-port of the job)
  --cluster FILE [--node NAME]    the node's host and http_port from the cluster file
                                  (default: the coordinator); its secret is the token
  --token-file FILE               the token for changes (an embedded job started with
                                  --http-token-file FILE); overrides the cluster secret

Exit codes: 0 ok; 1 the job or the request failed; 2 usage or configuration error;
3 unreachable or timed out; 4 unauthorized.)";

}  // namespace

int main(int argc, char** argv) {
  using namespace sluice::cli;
  connection_options conn;
  CLI::App app{"sluice: look at and steer a running Sluice job or cluster over its HTTP API"};
  app.footer(connection_help);
  app.require_subcommand(1);
  app.fallthrough();  // connection options also after the subcommand
  app.set_version_flag("--version", "sluice 0.1.0");
  app.add_option("--url", conn.url, "HTTP endpoint of a node: http://HOST:PORT");
  app.add_option("--cluster", conn.cluster_file, "cluster file (TOML) of the running cluster");
  app.add_option("--node", conn.node, "node of the cluster file to ask (default: coordinator)");
  app.add_option("--token-file", conn.token_file,
                 "file holding the token for savepoint, cancel and rescale");
  app.add_option("--timeout-ms", conn.timeout_ms, "how long to wait for each read, in ms")
      ->check(CLI::Range(int64_t{1}, int64_t{3'600'000}))
      ->capture_default_str();

  bool json = false;
  int64_t sample_ms = 1000;
  auto* status_cmd = app.add_subcommand(
      "status",
      "job state, uptime, checkpoints, restarts; records in/out and rate per operator; the nodes");
  status_cmd->add_flag("--json", json, "one JSON object for scripts");
  status_cmd
      ->add_option("--sample-ms", sample_ms,
                   "rates over this interval between two looks (0: no rates)")
      ->check(CLI::Range(int64_t{0}, int64_t{60'000}))
      ->capture_default_str();
  status_cmd->footer(
      "With --cluster, the operators of every node whose http_port the cluster file gives.");

  auto* metrics_cmd =
      app.add_subcommand("metrics", "the Prometheus text of /metrics (or --json: /api/operators)");
  metrics_cmd->add_flag("--json", json, "the operator instances as JSON (/api/operators)");

  auto* checkpoints_cmd =
      app.add_subcommand("checkpoints", "the last checkpoints and savepoints, newest first");
  checkpoints_cmd->add_flag("--json", json, "the answer of /api/checkpoints as JSON");

  bool stop = false;
  int64_t savepoint_s = 130;
  auto* savepoint_cmd =
      app.add_subcommand("savepoint", "take a savepoint and print its id (needs the token)");
  savepoint_cmd->add_flag("--stop", stop, "stop the job once the savepoint completed");
  savepoint_cmd->add_flag("--json", json, "print the answer as JSON");
  savepoint_cmd->add_option("--timeout", savepoint_s, "seconds to wait for the savepoint")
      ->check(CLI::Range(int64_t{1}, int64_t{86'400}))
      ->capture_default_str();

  bool wait = false;
  int64_t cancel_s = 60;
  auto* cancel_cmd =
      app.add_subcommand("cancel", "stop the job now, without a savepoint (needs the token)");
  cancel_cmd->add_flag("--wait", wait, "wait until the job no longer runs");
  cancel_cmd->add_option("--timeout", cancel_s, "seconds to wait with --wait")
      ->check(CLI::Range(int64_t{1}, int64_t{86'400}))
      ->capture_default_str();

  uint32_t parallelism = 0;
  int64_t rescale_s = 180;
  auto* rescale_cmd = app.add_subcommand(
      "rescale",
      "savepoint, stop, and restart every operator at a new parallelism (needs the token); "
      "waits until the job runs at it");
  rescale_cmd->add_option("--parallelism,-p", parallelism, "the new parallelism")
      ->required()
      ->check(CLI::Range(1u, 65'535u));
  rescale_cmd
      ->add_option("--timeout", rescale_s,
                   "seconds for the whole rescale: the savepoint and the restart")
      ->check(CLI::Range(int64_t{1}, int64_t{86'400}))
      ->capture_default_str();

  for (auto* sub : app.get_subcommands([](CLI::App*) { return true; }))
    sub->footer(connection_help);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);
    return rc == 0 ? 0 : static_cast<int>(exit_code::usage);
  }

  try {
    const target t = resolve(conn);
    api a{std::chrono::milliseconds{conn.timeout_ms}};
    exit_code rc = exit_code::ok;
    if (*status_cmd)
      rc = status(a, t, json, std::chrono::milliseconds{sample_ms});
    else if (*metrics_cmd)
      rc = metrics(a, t, json);
    else if (*checkpoints_cmd)
      rc = checkpoints(a, t, json);
    else if (*savepoint_cmd)
      rc = savepoint(a, t, stop, json, std::chrono::seconds{savepoint_s});
    else if (*cancel_cmd)
      rc = cancel(a, t, wait, std::chrono::seconds{cancel_s});
    else if (*rescale_cmd)
      rc = rescale(a, t, parallelism, std::chrono::seconds{rescale_s});
    std::fflush(stdout);
    return static_cast<int>(rc);
  } catch (const cli_error& e) {
    std::fflush(stdout);
    std::fprintf(stderr, "sluice: %s\n", e.what());
    return static_cast<int>(e.code);
  } catch (const std::exception& e) {
    std::fflush(stdout);
    std::fprintf(stderr, "sluice: unexpected error: %s\n", e.what());
    return static_cast<int>(exit_code::failed);
  }
}
