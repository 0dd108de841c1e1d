#pragma once

#include <cstdio>
#include <string>
#include <string_view>

/// The files of the exactly-once file sink (`transactional_file.hpp`):
/// written plain or as one zstd frame per file, and read back either way.
namespace sluice {

/// How the exactly-once file sink compresses its part files.
enum class compression {
  none,  ///< plain text, `part-<instance>-<checkpoint>`
  zstd,  ///< one zstd frame per file, `part-<instance>-<checkpoint>.zst` (`zstd -d` reads it)
};

/// The suffix of part files written with `c` ("" or ".zst").
std::string_view part_suffix(compression c) noexcept;

/// Writes one part file: appended bytes go straight to the file or through a
/// zstd stream; `finish` ends the frame, syncs the file to disk and closes
/// it. Errors throw std::runtime_error naming the file and the cause.
class part_writer {
public:
  part_writer() = default;
  part_writer(const part_writer&) = delete;
  part_writer& operator=(const part_writer&) = delete;
  ~part_writer();

  /// Creates (truncates) `path`; `level` is zstd's (1..19; ignored for none).
  void open(std::string path, compression c, int level);
  bool is_open() const noexcept { return file_ != nullptr; }
  const std::string& path() const noexcept { return path_; }
  void append(std::string_view bytes);
  void finish();

private:
  void write_raw(const void* data, size_t n);

  std::string path_;
  std::FILE* file_ = nullptr;
  void* zstd_ = nullptr;  // ZSTD_CCtx*, opaque here
  std::string out_;       // compressed bytes not yet written
};

/// The text of a part file, decompressed if its name ends in ".zst".
/// Throws std::runtime_error naming the file on a read or decoding error.
std::string read_part_file(const std::string& path);

}  // namespace sluice
