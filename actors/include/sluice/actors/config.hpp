#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <string>
#include <thread>

namespace sluice::actors {

/// Settings of one run of a job on the embedded (single-process) runtime.
/// Every field can be set from the command line (see `add_runtime_options`).
struct runtime_config {
  /// CAF scheduler worker threads.
  uint32_t workers = std::max(2u, std::thread::hardware_concurrency());
  /// Parallelism of operators that set none.
  uint32_t parallelism = 1;
  /// An output buffer is sent when it holds this many records ...
  uint32_t batch_size = 1024;
  /// ... or when its first record has waited this long.
  std::chrono::milliseconds flush_interval{5};
  /// Batches a receiver lets each upstream channel have in flight.
  uint32_t credits = 8;
  /// Chain forward-connected operators of equal parallelism into one task.
  bool chaining = true;
  /// Where dead letters that the pipeline does not consume are appended
  /// (JSON lines). Only created when there are any.
  std::string dead_letter_path = "sluice-dead-letters.jsonl";
  /// Print the per-operator summary when the job ends.
  bool print_summary = true;
  /// Give up (job fails) when the job has not ended after this long; 0 = never.
  std::chrono::milliseconds timeout{0};
};

}  // namespace sluice::actors
