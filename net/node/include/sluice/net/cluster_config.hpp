#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace sluice::net {

/// A cluster file that cannot be used. The message names the file, the line
/// (when known) and the key: "cluster.toml:7: nodes[1].port: expected an
/// integer in 1..65535".
class config_error : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

/// One node of the cluster.
struct node_config {
  std::string name;  ///< Unique; what `--node NAME` selects.
  std::string host;  ///< Address the node service binds and peers connect to.
  uint16_t port = 0;
  uint32_t workers = 2;   ///< CAF worker threads of the node.
  std::string state_dir;  ///< The node's snapshot store (LMDB environment).
  int http_port = -1;     ///< Live metrics over HTTP on 127.0.0.1 (0: ephemeral; -1: none).
};

/// Checkpointing of the clustered job (same meaning as actors::checkpoint_config).
struct checkpoint_settings {
  std::chrono::milliseconds interval{0};  ///< 0 disables checkpoints.
  std::chrono::milliseconds timeout{60'000};
  std::chrono::milliseconds min_pause{0};
  uint32_t retained = 3;
};

/// A cluster as described by its TOML file (see net/README.md for every key).
struct cluster_config {
  std::string name;
  std::vector<node_config> nodes;
  std::string coordinator;  ///< Name of the coordinating node.
  std::string secret;       ///< Shared secret (at least 16 bytes), inline or from secret_file.
  std::chrono::milliseconds heartbeat_interval{500};
  std::chrono::milliseconds heartbeat_timeout{
      3000};              ///< > interval; a silent node is dead after it.
  bool failover = false;  ///< Place the instances of a dead node on the others.
  std::string placement = "round-robin";
  /// Operator name or uid -> the nodes its instances may run on.
  std::map<std::string, std::vector<std::string>> constraints;
  checkpoint_settings checkpoints;
  std::string restart = "none";     ///< Restart strategy text, parsed by the runtime.
  std::string recovery = "global";  ///< "global" or "local" (`--recovery`).
  uint64_t inflight_log_mb = 64;    ///< Memory for local recovery's logs (`--inflight-log-mb`).
  /// Log level and format of every node (`--log-level`, `--log-format`
  /// win); empty: not set.
  std::string log_level;
  std::string log_format;

  /// Index of node `name` in `nodes`, or nullopt.
  std::optional<size_t> index_of(std::string_view node) const;
};

/// One key of the cluster file. The loader accepts exactly the keys of
/// `cluster_file_keys` (a typo is an error) and docs/options.md lists them
/// from the same table, so the two cannot drift apart.
struct config_key {
  std::string_view table;    ///< "" (top level), "checkpoint", "constraints" or "nodes".
  std::string_view key;      ///< "<operator>": any key (an operator name or uid).
  std::string_view type;     ///< Type, default or "required".
  std::string_view meaning;  ///< Markdown.
};

/// Every key of the cluster file, in the order the documentation lists them.
std::span<const config_key> cluster_file_keys() noexcept;

/// Placement strategies the runtime implements.
inline constexpr std::string_view placement_strategies[] = {"round-robin"};

/// Reads and validates a cluster file. A secret_file is relative to the
/// file's directory and must be private to its owner (no read or write for
/// group or others, as ssh demands of private keys). Throws config_error.
cluster_config load_cluster_config(const std::string& path);

/// Parses cluster TOML text; `source_name` is used in messages, and its
/// directory is the base of a relative secret_file (read and checked as by
/// load_cluster_config). Throws config_error.
cluster_config parse_cluster_config(std::string_view toml, std::string source_name);

}  // namespace sluice::net
