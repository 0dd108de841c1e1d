#pragma once

#include <cstdint>
#include <string>

namespace sluice::actors {

/// Counters of one operator instance, kept by its task and reported to the
/// supervisor when the task finishes (the job summary).
struct operator_metrics {
  std::string name;
  uint32_t node = 0;
  uint32_t instance = 0;
  uint64_t records_in = 0;
  uint64_t records_out = 0;
  uint64_t dead_letters = 0;
  /// Records emitted on ports nobody consumes (e.g. late records).
  uint64_t unconsumed = 0;
  /// Of `records_out`, those emitted on late ports (operator_base::late_port),
  /// consumed or not.
  uint64_t late_records = 0;
  /// Times the task held back credits because downstream was full.
  uint64_t backpressure_events = 0;
};

}  // namespace sluice::actors
