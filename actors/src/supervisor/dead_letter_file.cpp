#include "supervisor/dead_letter_file.hpp"

#include <fmt/format.h>

#include <cerrno>
#include <cstring>

namespace sluice::actors {

dead_letter_file::~dead_letter_file() {
  if (file_)
    std::fclose(file_);
}

result<void> dead_letter_file::append(const std::vector<dead_letter>& letters) {
  if (!file_) {
    file_ = std::fopen(path_.c_str(), "ab");
    if (!file_)
      return error{errc::io_error, fmt::format("cannot open dead-letter file '{}': {}", path_,
                                               std::strerror(errno))};
  }
  for (auto& d : letters) {
    auto line = to_json_line(d);
    line += '\n';
    if (std::fwrite(line.data(), 1, line.size(), file_) != line.size())
      return error{errc::io_error, fmt::format("cannot write dead-letter file '{}': {}", path_,
                                               std::strerror(errno))};
  }
  count_ += letters.size();
  return {};
}

std::string dead_letter_file::finish() {
  if (!file_)
    return {};
  std::fflush(file_);
  return path_;
}

}  // namespace sluice::actors
