#pragma once
// A fresh directory under the system temp dir for the state tests, removed
// with its contents.

#include <stdlib.h>

#include <filesystem>
#include <stdexcept>
#include <string>
#include <system_error>

namespace sluice::test {

class temp_dir {
public:
  /// `prefix` names the test in the directory name ("sluice-<prefix>-XXXXXX").
  explicit temp_dir(const std::string& prefix) {
    std::string tmpl =
        (std::filesystem::temp_directory_path() / ("sluice-" + prefix + "-XXXXXX")).string();
    if (!mkdtemp(tmpl.data()))
      throw std::runtime_error("mkdtemp failed");
    path_ = tmpl;
  }
  ~temp_dir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
  std::string str() const { return path_.string(); }

private:
  std::filesystem::path path_;
};

}  // namespace sluice::test
