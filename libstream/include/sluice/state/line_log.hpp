#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "sluice/result.hpp"

namespace sluice::state {

/// Durable append-only log of lines in its own LMDB environment (one
/// directory): what makes the TCP line source replayable. A receiver
/// (`source::line_receiver`) appends what it receives and acknowledges it
/// only afterwards; the source reads the log by sequence number. Line `n`
/// (1-based) is stored under the 8-byte big-endian key `n`. Every `append`
/// is one transaction, durable when it returns.
///
/// Lifecycle: `open` creates the directory and environment; the environment
/// closes when the last `shared_ptr` goes away. Opening the same directory
/// again in one process returns the same log.
///
/// Thread safety: every method may be called from any thread concurrently.
/// Errors: `io_error` from the file system or LMDB, `corrupt_log` if a key
/// is malformed or sequence numbers have a gap; messages name the directory.
class line_log {
public:
  static constexpr size_t default_map_size = size_t{64} << 20;

  /// Opens (creating the directory if needed) the log in `dir`. The memory
  /// map starts at `map_size` bytes and grows on demand.
  static result<std::shared_ptr<line_log>> open(std::string dir,
                                                size_t map_size = default_map_size);

  ~line_log();
  line_log(const line_log&) = delete;
  line_log& operator=(const line_log&) = delete;

  /// Appends `lines` in one transaction; returns the sequence number of the
  /// last line of the log afterwards (that of the last line appended).
  result<uint64_t> append(const std::vector<std::string>& lines);

  /// What `append(sender, first, lines)` did.
  struct sender_append {
    uint64_t appended = 0;  ///< lines added to the log
    uint64_t dropped = 0;   ///< lines the log already had (numbers at or below the mark)
    uint64_t mark = 0;      ///< the sender's high-water mark afterwards
  };

  /// Appends the lines of `sender` numbered `first`, `first + 1`, ... that
  /// are above its high-water mark, and raises the mark, in one
  /// transaction. `sender` must not be empty, `first` must be positive.
  result<sender_append> append(std::string_view sender, uint64_t first,
                               const std::vector<std::string>& lines);

  /// The high-water mark of `sender`: the highest line number of it that the
  /// log holds (0: none).
  result<uint64_t> sender_mark(std::string_view sender);

  /// Appends up to `max` lines with sequence numbers >= `from_seq` (1-based)
  /// to `out`, in order; returns how many it appended (0: none yet).
  result<size_t> read(uint64_t from_seq, size_t max, std::vector<std::string>& out);

  /// Number of lines in the log (= sequence number of the last one).
  result<uint64_t> size();

  /// The directory, as given to `open`.
  const std::string& dir() const noexcept;

private:
  struct impl;
  explicit line_log(std::unique_ptr<impl> p);
  std::unique_ptr<impl> impl_;
};

}  // namespace sluice::state
