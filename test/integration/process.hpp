#pragma once

// Runs a command line as a child process for the integration tests.

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

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

/// A command line running as a child process (through `sh -c exec`, so the
/// pid is the command's own), its output going to `log`. Killed with
/// SIGKILL when it is still running as it goes out of scope: a test never
/// leaves a process behind.
class child {
public:
  child(const std::string& cmd, const std::string& log) {
    const std::string line = "exec " + cmd + " > '" + log + "' 2>&1";
    pid_ = ::fork();
    if (pid_ == 0) {
      ::execl("/bin/sh", "sh", "-c", line.c_str(), static_cast<char*>(nullptr));
      ::_exit(127);
    }
    BOOST_REQUIRE_MESSAGE(pid_ > 0, "cannot fork for " << cmd);
  }
  child(const child&) = delete;
  child& operator=(const child&) = delete;
  ~child() {
    if (running())
      kill9();
  }

  pid_t pid() const noexcept { return pid_; }

  /// True until the process ended (and was reaped).
  bool running() {
    if (done_)
      return false;
    int st = 0;
    if (::waitpid(pid_, &st, WNOHANG) == pid_) {
      done_ = true;
      status_ = st;
    }
    return !done_;
  }

  /// The exit code once it ended (-1 while running or when killed by a signal).
  int exit_code() {
    if (running() || !WIFEXITED(status_))
      return -1;
    return WEXITSTATUS(status_);
  }

  /// `kill -9` and reap; returns the wait status.
  int kill9() {
    if (running()) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, &status_, 0);
      done_ = true;
    }
    return status_;
  }

private:
  pid_t pid_ = -1;
  bool done_ = false;
  int status_ = 0;
};

}  // namespace it
