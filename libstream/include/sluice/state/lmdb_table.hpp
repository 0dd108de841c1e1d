#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "sluice/result.hpp"

namespace sluice::state {

/// A durable key -> value table in its own LMDB environment (a directory):
/// the storage of the exactly-once table sink. `apply` upserts a batch of
/// writes and records, in the same transaction, the last checkpoint whose
/// writes it holds for one writer, so a replayed commit is recognised and
/// skipped. Thread-safe; a directory is opened once per process (the same
/// table is returned again).
class lmdb_table {
public:
  using write = std::pair<std::string, std::string>;

  static result<std::shared_ptr<lmdb_table>> open(std::string dir);
  ~lmdb_table();

  /// Upserts `writes` and sets writer `writer`'s committed checkpoint to
  /// `checkpoint`, atomically.
  result<void> apply(const std::vector<write>& writes, uint32_t writer, uint64_t checkpoint);
  /// The last checkpoint applied for `writer` (0: none).
  result<uint64_t> committed(uint32_t writer);
  result<std::optional<std::string>> get(std::string_view key);
  /// Every key and value, in key order (tests, exports).
  result<std::vector<write>> scan();

  struct impl;
  explicit lmdb_table(std::unique_ptr<impl> p);

private:
  std::unique_ptr<impl> impl_;
};

}  // namespace sluice::state
