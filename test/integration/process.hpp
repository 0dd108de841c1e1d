#pragma once

// Runs a command line as a child process for the integration tests.

#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <string>

#include <boost/test/unit_test.hpp>

namespace it {

struct result {
  int code;            ///< Exit code (-1 if the process did not exit normally).
  std::string output;  ///< Standard output and standard error.
};

/// Runs `cmd` through the shell, capturing its output and exit code.
inline result run(const std::string& cmd) {
  result r{-1, {}};
  FILE* f = ::popen((cmd + " 2>&1").c_str(), "r");
  BOOST_REQUIRE_MESSAGE(f, "cannot run " << cmd);
  std::array<char, 4096> buf;
  size_t n;
  while ((n = std::fread(buf.data(), 1, buf.size(), f)) > 0)
    r.output.append(buf.data(), n);
  int st = ::pclose(f);
  r.code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return r;
}

}  // namespace it
