#pragma once
// The progress line: input lines read so far in this process, the rate and
// the percentage of the job's input, shown on standard error while the job
// runs when standard error is a terminal.

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <thread>
#include <vector>

#include "sluice/source/parse.hpp"

namespace churn {

/// Lines read by the job's file sources in this process (all sources, all
/// instances; a source restarted after a failure counts its lines again).
std::atomic<uint64_t>& lines_read();

/// `parse` counting each line it is given in `lines_read`.
template <class Parse>
auto counted(Parse parse) {
  return [parse](const sluice::csv_row& r) {
    lines_read().fetch_add(1, std::memory_order_relaxed);
    return parse(r);
  };
}

/// Data lines (all but the header) of `files`, each counted `times` times.
uint64_t data_lines(const std::vector<std::filesystem::path>& files, uint64_t times = 1);

/// While alive, rewrites one line on standard error every `period_ms`:
/// "lines read, lines/s, percent of `total`"; the last one stays.
class progress_line {
public:
  progress_line(uint64_t total, int64_t period_ms = 250);
  ~progress_line();
  progress_line(const progress_line&) = delete;
  progress_line& operator=(const progress_line&) = delete;

  /// The line shown for `done` of `total` lines after `seconds`.
  static std::string render(uint64_t done, uint64_t total, double seconds);

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace churn
