#include "supervisor/dead_letter_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <optional>
#include <string_view>

namespace sluice::actors {

namespace fs = std::filesystem;

namespace {

error io_failure(std::string_view what, const std::string& path) {
  return error{errc::io_error, fmt::format("dead-letter file: cannot {} '{}': {}", what, path,
                                           std::strerror(errno))};
}

/// The epoch of a staged file's name `staged-<epoch>.jsonl`.
std::optional<uint64_t> epoch_of(std::string_view name) {
  constexpr std::string_view head = "staged-", tail = ".jsonl";
  if (name.size() <= head.size() + tail.size() || name.substr(0, head.size()) != head ||
      name.substr(name.size() - tail.size()) != tail)
    return std::nullopt;
  const std::string_view digits = name.substr(head.size(), name.size() - head.size() - tail.size());
  uint64_t e = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), e);
  if (ec != std::errc{} || end != digits.data() + digits.size())
    return std::nullopt;
  return e;
}

/// Length of `path`, 0 when it does not exist.
result<uint64_t> length_of(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0)
    return S_ISREG(st.st_mode) ? static_cast<uint64_t>(st.st_size) : uint64_t{0};
  if (errno == ENOENT)
    return uint64_t{0};
  return io_failure("stat", path);
}

result<void> sync_directory(const std::string& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    return io_failure("open directory", dir);
  const int rc = ::fsync(fd);
  ::close(fd);
  if (rc != 0)
    return io_failure("fsync directory", dir);
  return {};
}

}  // namespace

dead_letter_file::~dead_letter_file() {
  if (file_)
    std::fclose(file_);
  for (auto& [e, s] : open_)
    if (s.f)
      std::fclose(s.f);
}

std::string dead_letter_file::staged_path(uint64_t epoch) const {
  return fmt::format("{}/staged-{}.jsonl", staging_, epoch);
}

result<void> dead_letter_file::append(uint64_t epoch, const std::vector<dead_letter>& letters) {
  std::FILE* f = nullptr;
  const std::string* where = &path_;
  std::string stage;
  if (staged()) {
    if (!loaded_) {  // the first letter of this job: the staging directory starts here
      std::error_code ec;
      fs::create_directories(staging_, ec);
      if (ec)
        return error{errc::io_error, fmt::format("dead-letter file: cannot create '{}': {}",
                                                 staging_, ec.message())};
      if (auto r = load_published(); !r)
        return r;
      loaded_ = true;
    }
    auto& s = open_[epoch];
    stage = staged_path(epoch);
    where = &stage;
    if (!s.f) {
      s.f = std::fopen(stage.c_str(), "ab");
      if (!s.f)
        return io_failure("open", stage);
      dir_dirty_ = true;
    }
    s.dirty = true;
    s.letters += letters.size();
    f = s.f;
  } else {
    if (!file_) {
      file_ = std::fopen(path_.c_str(), "ab");
      if (!file_)
        return io_failure("open", path_);
    }
    f = file_;
    count_ += letters.size();
  }
  for (auto& d : letters) {
    auto line = to_json_line(d);
    line += '\n';
    if (std::fwrite(line.data(), 1, line.size(), f) != line.size())
      return io_failure("write", *where);
  }
  return {};
}

result<void> dead_letter_file::sync() {
  for (auto& [e, s] : open_) {
    if (!s.dirty)
      continue;
    if (std::fflush(s.f) != 0 || ::fdatasync(::fileno(s.f)) != 0)
      return io_failure("sync", staged_path(e));
    s.dirty = false;
  }
  if (dir_dirty_) {
    if (auto r = sync_directory(staging_); !r)
      return r;
    dir_dirty_ = false;
  }
  return {};
}

result<void> dead_letter_file::close_staged(uint64_t below) {
  if (auto r = sync(); !r)
    return r;
  for (auto it = open_.begin(); it != open_.end() && it->first < below;) {
    std::fclose(it->second.f);
    it = open_.erase(it);
  }
  return {};
}

result<void> dead_letter_file::load_published() {
  const std::string marker = staging_ + "/published";
  std::FILE* f = std::fopen(marker.c_str(), "rb");
  if (!f) {
    if (errno != ENOENT)
      return io_failure("open", marker);
    // A first run: what the file holds already is not this job's to cut.
    auto len = length_of(path_);
    if (!len)
      return std::move(len).error();
    published_upto_ = 0;
    published_length_ = *len;
    return write_published();
  }
  unsigned long long upto = 0, length = 0;
  const int n = std::fscanf(f, "%llu %llu", &upto, &length);
  std::fclose(f);
  if (n != 2)
    return error{errc::io_error,
                 fmt::format("dead-letter file: '{}' is damaged (expected '<checkpoint> <length>')",
                             marker)};
  published_upto_ = upto;
  published_length_ = length;
  return {};
}

result<void> dead_letter_file::write_published() {
  const std::string marker = staging_ + "/published";
  const std::string tmp = marker + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0)
    return io_failure("open", tmp);
  const std::string text = fmt::format("{} {}\n", published_upto_, published_length_);
  const bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) &&
                  ::fdatasync(fd) == 0;
  ::close(fd);
  if (!ok)
    return io_failure("write", tmp);
  if (::rename(tmp.c_str(), marker.c_str()) != 0)
    return io_failure("rename", tmp);
  return sync_directory(staging_);
}

result<void> dead_letter_file::restart_from(uint64_t restored) {
  // Staged files of an earlier attempt are on disk; none stays open.
  for (auto& [e, s] : open_)
    std::fclose(s.f);
  open_.clear();
  std::error_code ec;
  if (!loaded_ && !fs::exists(staging_, ec) && !ec)
    return {};  // no letter was ever staged: nothing to recover (a clean job touches no file)
  if (!loaded_) {
    if (auto r = load_published(); !r)
      return r;
    loaded_ = true;
  }
  // A publish that a crash interrupted before it recorded itself is undone
  // here and redone below from its staged files, which are still there.
  auto len = length_of(path_);
  if (!len)
    return std::move(len).error();
  if (*len > published_length_) {
    if (::truncate(path_.c_str(), static_cast<off_t>(published_length_)) != 0)
      return io_failure("truncate", path_);
  } else if (*len < published_length_) {
    published_length_ = *len;  // cut or removed by someone else: go on from what is there
  }
  for (auto& entry : fs::directory_iterator(staging_, ec)) {
    auto e = epoch_of(entry.path().filename().string());
    if (!e || (*e >= published_upto_ && *e < restored))
      continue;
    // Published already (a crash before the staged file was deleted), or
    // produced after the restored checkpoint: its input is replayed.
    if (!fs::remove(entry.path(), ec) && ec)
      return error{errc::io_error, fmt::format("dead-letter file: cannot remove '{}': {}",
                                               entry.path().string(), ec.message())};
  }
  if (ec)
    return error{errc::io_error,
                 fmt::format("dead-letter file: cannot list '{}': {}", staging_, ec.message())};
  return publish(restored);
}

result<uint64_t> dead_letter_file::publish_one(int out, const std::string& file) {
  const int in = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
  if (in < 0)
    return io_failure("open", file);
  char buf[65536];
  uint64_t lines = 0;
  for (;;) {
    const ssize_t n = ::read(in, buf, sizeof buf);
    if (n == 0)
      break;
    if (n < 0) {
      if (errno == EINTR)
        continue;
      ::close(in);
      return io_failure("read", file);
    }
    lines += static_cast<uint64_t>(std::count(buf, buf + n, '\n'));
    for (ssize_t done = 0; done < n;) {
      const ssize_t w = ::write(out, buf + done, static_cast<size_t>(n - done));
      if (w < 0 && errno == EINTR)
        continue;
      if (w <= 0) {
        ::close(in);
        return io_failure("write", path_);
      }
      done += w;
    }
  }
  ::close(in);
  return lines;
}

result<void> dead_letter_file::publish(uint64_t completed) {
  if (!staged() || !loaded_)
    return {};  // nothing staged yet
  if (auto r = close_staged(completed); !r)
    return r;
  std::map<uint64_t, std::string> due;
  std::error_code ec;
  for (auto& entry : fs::directory_iterator(staging_, ec))
    if (auto e = epoch_of(entry.path().filename().string()); e && *e < completed)
      due.emplace(*e, entry.path().string());
  if (ec)
    return error{errc::io_error,
                 fmt::format("dead-letter file: cannot list '{}': {}", staging_, ec.message())};
  if (due.empty())
    return {};
  const int out = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (out < 0)
    return io_failure("open", path_);
  uint64_t lines = 0;
  for (auto& [e, file] : due) {
    auto n = publish_one(out, file);
    if (!n) {
      ::close(out);
      return std::move(n).error();
    }
    lines += *n;
  }
  struct stat st {};
  // EINVAL: a file that cannot be synced, such as /dev/null.
  const bool ok = (::fdatasync(out) == 0 || errno == EINVAL) && ::fstat(out, &st) == 0;
  ::close(out);
  if (!ok)
    return io_failure("sync", path_);
  published_upto_ = std::max(published_upto_, completed);
  published_length_ = S_ISREG(st.st_mode) ? static_cast<uint64_t>(st.st_size) : 0;
  if (auto r = write_published(); !r)
    return r;
  for (auto& [e, file] : due)
    fs::remove(file, ec);  // a leftover is recognised as published at the next start
  count_ += lines;
  return {};
}

std::string dead_letter_file::finish() {
  if (staged()) {
    for (auto& [e, s] : open_)
      std::fclose(s.f);
    open_.clear();
    return count_ > 0 ? path_ : std::string{};
  }
  if (!file_)
    return {};
  std::fflush(file_);
  return path_;
}

}  // namespace sluice::actors
