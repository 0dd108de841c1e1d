#include "sluice/source/line_reader.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <utility>

namespace sluice {

line_reader::line_reader(std::string path, size_t buffer_bytes)
    : path_(std::move(path)), buf_(std::max<size_t>(buffer_bytes, 64)) {
  fd_ = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd_ < 0)
    throw std::runtime_error("cannot open input file '" + path_ + "': " + std::strerror(errno));
  struct stat st {};
  if (::fstat(fd_, &st) != 0) {
    const int err = errno;
    ::close(fd_);
    throw std::runtime_error("cannot stat input file '" + path_ + "': " + std::strerror(err));
  }
  if (S_ISDIR(st.st_mode)) {
    ::close(fd_);
    throw std::runtime_error("cannot read input file '" + path_ + "': it is a directory");
  }
  size_ = static_cast<uint64_t>(st.st_size);
}

line_reader::~line_reader() {
  if (fd_ >= 0)
    ::close(fd_);
}

size_t line_reader::read_at(uint64_t offset, char* into, size_t n) {
  size_t got = 0;
  while (got < n) {
    const auto r = ::pread(fd_, into + got, n - got, static_cast<off_t>(offset + got));
    if (r < 0) {
      if (errno == EINTR)
        continue;
      throw std::runtime_error("error reading '" + path_ + "' at byte " +
                               std::to_string(offset + got) + ": " + std::strerror(errno));
    }
    if (r == 0)
      break;
    got += static_cast<size_t>(r);
  }
  return got;
}

void line_reader::seek(uint64_t offset) {
  pos_ = std::min(offset, size_);
}

bool line_reader::fill(uint64_t keep) {
  // Keep [keep, buffer end) if it is buffered, else start afresh at `keep`.
  if (keep >= buf_off_ && keep <= buf_off_ + buf_len_) {
    const size_t drop = static_cast<size_t>(keep - buf_off_);
    if (drop > 0) {
      std::memmove(buf_.data(), buf_.data() + drop, buf_len_ - drop);
      buf_len_ -= drop;
      buf_off_ = keep;
    }
  } else {
    buf_off_ = keep;
    buf_len_ = 0;
  }
  if (buf_len_ == buf_.size())
    buf_.resize(buf_.size() * 2);  // one line longer than the buffer
  const uint64_t at = buf_off_ + buf_len_;
  if (at >= size_)
    return false;
  const size_t want = static_cast<size_t>(std::min<uint64_t>(buf_.size() - buf_len_, size_ - at));
  const size_t got = read_at(at, buf_.data() + buf_len_, want);
  buf_len_ += got;
  return got > 0;
}

bool line_reader::next(std::string_view& line, uint64_t& start) {
  if (pos_ >= size_)
    return false;
  start = pos_;
  size_t scanned = 0;  // bytes after `start` already searched for '\n'
  for (;;) {
    const bool buffered = pos_ >= buf_off_ && pos_ < buf_off_ + buf_len_;
    if (buffered) {
      const size_t from = static_cast<size_t>(pos_ - buf_off_);
      const char* begin = buf_.data() + from;
      const size_t avail = buf_len_ - from;
      if (const void* nl = std::memchr(begin + scanned, '\n', avail - scanned)) {
        const auto len = static_cast<size_t>(static_cast<const char*>(nl) - begin);
        line = std::string_view{begin, len};
        pos_ += len + 1;
        if (!line.empty() && line.back() == '\r')
          line.remove_suffix(1);
        return true;
      }
      scanned = avail;
      if (buf_off_ + buf_len_ >= size_) {  // last line, no line end
        line = std::string_view{begin, avail};
        pos_ = size_;
        if (!line.empty() && line.back() == '\r')
          line.remove_suffix(1);
        return true;
      }
    }
    if (!fill(pos_))
      throw std::runtime_error("error reading '" + path_ + "' at byte " + std::to_string(pos_) +
                               ": the file ended early (it shrank while being read)");
  }
}

uint64_t line_reader::align(uint64_t offset) {
  if (offset == 0)
    return 0;
  if (offset >= size_)
    return size_;
  char c = 0;
  if (read_at(offset - 1, &c, 1) == 1 && c == '\n')
    return offset;
  seek(offset);
  std::string_view rest;
  uint64_t start = 0;
  next(rest, start);  // the tail of the line that began before `offset`
  return pos_;
}

uint64_t line_reader::count_line_ends(uint64_t from, uint64_t to) {
  to = std::min(to, size_);
  uint64_t n = 0;
  std::vector<char> chunk(
      std::min<uint64_t>(1 << 20, std::max<uint64_t>(to - std::min(from, to), 1)));
  while (from < to) {
    const size_t want = static_cast<size_t>(std::min<uint64_t>(chunk.size(), to - from));
    const size_t got = read_at(from, chunk.data(), want);
    if (got == 0)
      break;
    n += static_cast<uint64_t>(std::count(chunk.data(), chunk.data() + got, '\n'));
    from += got;
  }
  return n;
}

}  // namespace sluice
