#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "sluice/result.hpp"

namespace sluice::state {

/// Where the in-flight logs of local recovery keep the batches that do not
/// fit their memory bound: an LMDB environment in a directory of its own,
/// emptied when opened and never synced to disk — what it holds is needed
/// only while the process lives (a process that dies restarts its job from
/// a checkpoint). Values are bytes under 64-bit keys from `next_key`.
///
/// Thread safety: every method may be called from any thread concurrently
/// (LMDB serialises the writers). Errors: `io_error` naming the directory.
class spill_store {
public:
  /// Creates `dir` afresh (removing what it held) and opens the store.
  static result<std::shared_ptr<spill_store>> open(std::string dir);

  ~spill_store();
  spill_store(const spill_store&) = delete;
  spill_store& operator=(const spill_store&) = delete;

  /// A key no other caller got.
  uint64_t next_key() noexcept;
  /// Values in one transaction (the in-flight logs write in groups).
  result<void> put_many(const std::vector<std::pair<uint64_t, std::string>>& values);
  /// The bytes under `key`; `io_error` when there are none.
  result<std::string> get(uint64_t key);
  /// Keys in one transaction; missing keys are skipped.
  result<void> erase_many(const std::vector<uint64_t>& keys);

  /// Bytes stored now, and the most stored at once.
  uint64_t bytes() const noexcept;
  uint64_t peak_bytes() const noexcept;
  const std::string& dir() const noexcept;

private:
  struct impl;
  explicit spill_store(std::unique_ptr<impl> p);
  std::unique_ptr<impl> impl_;
};

}  // namespace sluice::state
