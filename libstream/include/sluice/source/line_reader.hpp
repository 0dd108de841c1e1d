#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace sluice {

/// Reads the lines of a file from any byte offset, buffered (pread into one
/// reused buffer, memchr for line ends): the reading half of the text and
/// CSV file sources, which read byte-range splits of a file in parallel.
///
/// A line ends at '\n' (a '\r' before it is dropped, so LF and CRLF files read
/// the same); the last line of a file may have no line end. Lines start at
/// byte 0 and after every '\n'. Errors (cannot open, read failure) throw
/// std::runtime_error naming the file, the offset and the OS error.
class line_reader {
public:
  explicit line_reader(std::string path, size_t buffer_bytes = 256 * 1024);
  ~line_reader();
  line_reader(const line_reader&) = delete;
  line_reader& operator=(const line_reader&) = delete;

  const std::string& path() const noexcept { return path_; }

  /// The file's size in bytes when it was opened.
  uint64_t size() const noexcept { return size_; }

  /// Continues reading at `offset`, which must be the start of a line (or
  /// the file's size).
  void seek(uint64_t offset);

  /// Where the next line starts.
  uint64_t offset() const noexcept { return pos_; }

  /// Reads the next line into `line` (valid until the next call of any
  /// member) and its
  /// first byte's offset into `start`; false at the end of the file.
  bool next(std::string_view& line, uint64_t& start);

  /// The first line start at or after `offset`: `offset` itself when it is 0
  /// or follows a '\n', else the byte after the next '\n' (the file's size
  /// when there is none).
  uint64_t align(uint64_t offset);

  /// The number of '\n' bytes in [from, to).
  uint64_t count_line_ends(uint64_t from, uint64_t to);

private:
  /// Makes at least one byte at `pos_` available (false at the end of the file),
  /// keeping the unread bytes from `keep` on.
  bool fill(uint64_t keep);
  size_t read_at(uint64_t offset, char* into, size_t n);

  std::string path_;
  int fd_ = -1;
  uint64_t size_ = 0;
  std::vector<char> buf_;
  uint64_t buf_off_ = 0;  ///< File offset of buf_[0].
  size_t buf_len_ = 0;    ///< Valid bytes in buf_.
  uint64_t pos_ = 0;      ///< Start of the next line.
};

}  // namespace sluice
