#pragma once

// The subcommands of `sluice`. Each prints its result on stdout and returns
// the exit code; failures are thrown as cli_error (connection.hpp).

#include <chrono>
#include <cstdint>

#include "connection.hpp"

namespace sluice::cli {

/// Job state, checkpoints, restarts, per-operator records and rates (from
/// two looks `sample` apart; 0: no rates), per-node state.
exit_code status(api& a, const target& t, bool json, std::chrono::milliseconds sample);
/// /metrics as it is, or /api/operators with `json`.
exit_code metrics(api& a, const target& t, bool json);
/// The checkpoints and savepoints, newest first.
exit_code checkpoints(api& a, const target& t, bool json);

/// Takes a savepoint (then stops the job with `stop`) and prints its id.
exit_code savepoint(api& a, const target& t, bool stop, bool json, std::chrono::seconds timeout);
/// Cancels the job; with `wait`, until it no longer runs (bounded by `timeout`).
exit_code cancel(api& a, const target& t, bool wait, std::chrono::seconds timeout);
/// Restarts the job at `parallelism` and waits until it runs so (bounded by `timeout`).
exit_code rescale(api& a, const target& t, uint32_t parallelism, std::chrono::seconds timeout);

}  // namespace sluice::cli
