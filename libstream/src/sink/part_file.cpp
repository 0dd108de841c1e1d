#include "sluice/sink/part_file.hpp"

#include <fmt/format.h>
#include <zstd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

#include <unistd.h>

namespace sluice {

namespace {

ZSTD_CCtx* cctx(void* p) {
  return static_cast<ZSTD_CCtx*>(p);
}

bool ends_with(const std::string& s, std::string_view suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

}  // namespace

std::string_view part_suffix(compression c) noexcept {
  return c == compression::zstd ? ".zst" : "";
}

part_writer::~part_writer() {
  if (file_)
    std::fclose(file_);
  ZSTD_freeCCtx(cctx(zstd_));
}

void part_writer::open(std::string path, compression c, int level) {
  path_ = std::move(path);
  file_ = std::fopen(path_.c_str(), "wb");
  if (!file_)
    throw std::runtime_error(fmt::format("cannot create '{}': {}", path_, std::strerror(errno)));
  if (c == compression::zstd) {
    if (!zstd_)
      zstd_ = ZSTD_createCCtx();
    ZSTD_CCtx_reset(cctx(zstd_), ZSTD_reset_session_only);
    if (const size_t rc = ZSTD_CCtx_setParameter(cctx(zstd_), ZSTD_c_compressionLevel, level);
        ZSTD_isError(rc))
      throw std::runtime_error(
          fmt::format("cannot compress '{}': level {}: {}", path_, level, ZSTD_getErrorName(rc)));
  } else if (zstd_) {
    ZSTD_freeCCtx(cctx(zstd_));
    zstd_ = nullptr;
  }
}

void part_writer::write_raw(const void* data, size_t n) {
  if (n != 0 && std::fwrite(data, 1, n, file_) != n)
    throw std::runtime_error(fmt::format("cannot write '{}': {}", path_, std::strerror(errno)));
}

void part_writer::append(std::string_view bytes) {
  if (!zstd_) {
    write_raw(bytes.data(), bytes.size());
    return;
  }
  ZSTD_inBuffer in{bytes.data(), bytes.size(), 0};
  while (in.pos < in.size) {
    out_.resize(ZSTD_CStreamOutSize());
    ZSTD_outBuffer out{out_.data(), out_.size(), 0};
    if (const size_t rc = ZSTD_compressStream2(cctx(zstd_), &out, &in, ZSTD_e_continue);
        ZSTD_isError(rc))
      throw std::runtime_error(
          fmt::format("cannot compress '{}': {}", path_, ZSTD_getErrorName(rc)));
    write_raw(out_.data(), out.pos);
  }
}

void part_writer::finish() {
  if (!file_)
    return;
  if (zstd_) {
    ZSTD_inBuffer in{nullptr, 0, 0};
    size_t remaining = 1;
    while (remaining != 0) {
      out_.resize(ZSTD_CStreamOutSize());
      ZSTD_outBuffer out{out_.data(), out_.size(), 0};
      remaining = ZSTD_compressStream2(cctx(zstd_), &out, &in, ZSTD_e_end);
      if (ZSTD_isError(remaining))
        throw std::runtime_error(
            fmt::format("cannot compress '{}': {}", path_, ZSTD_getErrorName(remaining)));
      write_raw(out_.data(), out.pos);
    }
  }
  if (std::fflush(file_) != 0 || ::fsync(fileno(file_)) != 0)
    throw std::runtime_error(fmt::format("cannot sync '{}': {}", path_, std::strerror(errno)));
  std::fclose(file_);
  file_ = nullptr;
}

std::string read_part_file(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f)
    throw std::runtime_error(fmt::format("cannot open '{}': {}", path, std::strerror(errno)));
  std::string raw;
  char buf[1 << 16];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0)
    raw.append(buf, n);
  const bool failed = std::ferror(f) != 0;
  std::fclose(f);
  if (failed)
    throw std::runtime_error(fmt::format("cannot read '{}'", path));
  if (!ends_with(path, ".zst"))
    return raw;
  std::string text;
  ZSTD_DCtx* d = ZSTD_createDCtx();
  ZSTD_inBuffer in{raw.data(), raw.size(), 0};
  size_t last = 0;
  for (;;) {
    const size_t at = text.size();
    text.resize(at + ZSTD_DStreamOutSize());
    ZSTD_outBuffer out{text.data() + at, ZSTD_DStreamOutSize(), 0};
    last = ZSTD_decompressStream(d, &out, &in);
    text.resize(at + out.pos);
    if (ZSTD_isError(last)) {
      ZSTD_freeDCtx(d);
      throw std::runtime_error(
          fmt::format("cannot decompress '{}': {}", path, ZSTD_getErrorName(last)));
    }
    // A full output buffer may hold back more; else stop once the input is used up.
    if (in.pos == in.size && out.pos < out.size)
      break;
  }
  ZSTD_freeDCtx(d);
  if (last != 0)
    throw std::runtime_error(fmt::format("cannot decompress '{}': truncated zstd frame", path));
  return text;
}

}  // namespace sluice
