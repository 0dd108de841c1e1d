#pragma once

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "sluice/dead_letter.hpp"
#include "sluice/result.hpp"

namespace sluice::actors {

/// The file where dead letters that no stream of the pipeline consumes are
/// appended as JSON lines. Opened on the first letter (a clean job leaves no
/// file); flushed when the job ends. Used by the supervisor's thread only.
class dead_letter_file {
public:
  explicit dead_letter_file(std::string path) : path_(std::move(path)) {}
  ~dead_letter_file();
  dead_letter_file(const dead_letter_file&) = delete;
  dead_letter_file& operator=(const dead_letter_file&) = delete;

  /// Appends `letters`; an error names the file and the cause.
  result<void> append(const std::vector<dead_letter>& letters);
  /// Flushes; returns the path when anything was written, else "".
  std::string finish();

  uint64_t count() const noexcept { return count_; }

private:
  std::string path_;
  std::FILE* file_ = nullptr;
  uint64_t count_ = 0;
};

}  // namespace sluice::actors
