#pragma once

// A local cluster for the integration tests: a generated cluster file with
// free ports on 127.0.0.1 and state directories in a temp directory, and
// node processes started, killed, paused and awaited by PID. Everything it
// started is killed when it goes away.

#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <boost/test/unit_test.hpp>

extern char** environ;

namespace it {

namespace fs = std::filesystem;

/// A port that was free a moment ago (bound with port 0, then released).
inline uint16_t free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  BOOST_REQUIRE(fd >= 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  BOOST_REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

inline std::string read_file(const fs::path& p) {
  std::ifstream in{p};
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

/// 32 random hex digits: a test cluster's secret (the repository ships none).
inline std::string random_secret() {
  std::random_device rd;
  std::string s;
  for (int i = 0; i < 32; ++i)
    s += "0123456789abcdef"[rd() % 16];
  return s;
}

struct cluster_options {
  size_t nodes = 3;
  int checkpoint_ms = 300;
  std::string restart = "fixed-delay:attempts=10,delay=200ms";
  int heartbeat_interval_ms = 200;
  int heartbeat_timeout_ms = 1500;
  std::string secret = random_secret();  ///< Every cluster its own; written to a private file.
  bool failover = false;
  std::string extra_toml;  ///< Appended after the settings (e.g. a [constraints] table).
  bool http = false;       ///< Give every node a free `http_port` (see local_cluster::http_port).
};

class local_cluster {
public:
  explicit local_cluster(const std::string& name, cluster_options o = {}) : opts_(o) {
    dir_ = fs::temp_directory_path() / ("sluice-" + name + "-" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    for (size_t i = 0; i < o.nodes; ++i) {
      names_.push_back("n" + std::to_string(i + 1));
      ports_.push_back(free_port());
      http_ports_.push_back(o.http ? free_port() : 0);
    }
    write_config(config_path(), o.secret);
  }

  ~local_cluster() {
    for (auto& [name, pid] : pids_) {
      ::kill(pid, SIGCONT);
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
    }
    if (!std::getenv("SLUICE_KEEP_TEST_DIRS"))
      fs::remove_all(dir_);  // keep them to debug a failure
  }

  const fs::path& dir() const { return dir_; }
  fs::path config_path() const { return dir_ / "cluster.toml"; }
  fs::path log_path(const std::string& node) const { return dir_ / (node + ".log"); }
  uint16_t port(size_t i) const { return ports_[i]; }
  /// The HTTP port of node i (cluster_options::http; 0 otherwise).
  uint16_t http_port(size_t i) const { return http_ports_[i]; }
  const std::vector<std::string>& names() const { return names_; }

  /// Writes a cluster file (e.g. with another secret) next to the real one;
  /// its secret goes to `<stem>.secret` beside it, readable by the owner only
  /// (nodes refuse a secret file group or others can read).
  fs::path write_config(const fs::path& path, const std::string& secret) const {
    const auto secret_file = fs::path{path}.replace_extension(".secret");
    std::ofstream{secret_file} << secret << "\n";
    fs::permissions(secret_file, fs::perms::owner_read | fs::perms::owner_write);
    std::ofstream f{path};
    f << "name = \"it\"\ncoordinator = \"n1\"\nsecret_file = \"" << secret_file.filename().string()
      << "\"\n"
      << "heartbeat_interval_ms = " << opts_.heartbeat_interval_ms << "\n"
      << "heartbeat_timeout_ms = " << opts_.heartbeat_timeout_ms << "\n"
      << "restart = \"" << opts_.restart << "\"\n"
      << "failover = " << (opts_.failover ? "true" : "false")
      << "\n"
      // The tests wait for debug lines ("completed checkpoint N").
      << "log_level = \"debug\"\n"
      << "[checkpoint]\ninterval_ms = " << opts_.checkpoint_ms << "\nretained = 3\n"
      << opts_.extra_toml << "\n";
    for (size_t i = 0; i < names_.size(); ++i)
      f << "[[nodes]]\nname = \"" << names_[i] << "\"\nhost = \"127.0.0.1\"\nport = " << ports_[i]
        << "\nworkers = 2\nstate_dir = \"" << (dir_ / "state" / names_[i]).string() << "\"\n"
        << (http_ports_[i] ? "http_port = " + std::to_string(http_ports_[i]) + "\n" : "");
    return path;
  }

  /// Starts `node` running `args` plus `--cluster <config> --node <node>`;
  /// output goes to the node's log (appended: restarts keep the history).
  void start(const std::string& node, std::vector<std::string> args, const fs::path& config = {}) {
    args.push_back("--cluster");
    args.push_back((config.empty() ? config_path() : config).string());
    args.push_back("--node");
    args.push_back(node);
    std::vector<char*> argv;
    for (auto& a : args)
      argv.push_back(a.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    const auto log = log_path(node).string();
    posix_spawn_file_actions_addopen(&fa, 1, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
    pid_t pid = 0;
    const int rc = posix_spawn(&pid, argv[0], &fa, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    BOOST_REQUIRE_MESSAGE(rc == 0, "cannot start " << args[0]);
    pids_[node] = pid;
  }

  void signal(const std::string& node, int sig) { ::kill(pids_.at(node), sig); }

  /// kill -9, reaped.
  void kill9(const std::string& node) {
    auto pid = pids_.at(node);
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
    pids_.erase(node);
  }

  /// Waits up to `timeout` for `node` to exit; its exit code, or -1 on timeout.
  int wait(const std::string& node, std::chrono::milliseconds timeout) {
    auto pid = pids_.at(node);
    const auto until = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < until) {
      int st = 0;
      if (::waitpid(pid, &st, WNOHANG) == pid) {
        pids_.erase(node);
        return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return -1;
  }

  /// Waits until `node`'s log contains `text` (bounded).
  bool wait_for_log(const std::string& node, const std::string& text,
                    std::chrono::milliseconds timeout) {
    const auto until = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < until) {
      if (read_file(log_path(node)).find(text) != std::string::npos)
        return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return false;
  }

  std::string logs() const {
    std::string s;
    for (auto& n : names_)
      s += "---- " + n + " ----\n" + read_file(log_path(n));
    return s;
  }

private:
  cluster_options opts_;
  fs::path dir_;
  std::vector<std::string> names_;
  std::vector<uint16_t> ports_;
  std::vector<uint16_t> http_ports_;
  std::map<std::string, pid_t> pids_;
};

}  // namespace it
