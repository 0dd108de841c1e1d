#include "sluice/net/cluster_config.hpp"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include <fmt/format.h>
#include <toml++/toml.h>

namespace sluice::net {

namespace {

constexpr size_t min_secret_bytes = 16;

/// The cluster file's keys: what `only_known` accepts and what
/// docs/options.md lists (sluice-options-doc prints this table).
constexpr config_key keys[] = {
    {"", "name", "string, required", "cluster name; peers must present it in hello"},
    {"", "coordinator", "string, required",
     "name of the node that places and deploys the job; must be one of `nodes`"},
    {"", "secret", "string",
     "shared secret, at least 16 bytes; exactly one of `secret` and `secret_file`"},
    {"", "secret_file", "string",
     "file holding the secret (trailing newline ignored), relative to the cluster file's "
     "directory; readable and writable by its owner only (mode 0600 or 0400)"},
    {"", "heartbeat_interval_ms", "integer, 500", "time between heartbeats to every peer"},
    {"", "heartbeat_timeout_ms", "integer, 3000",
     "a peer silent this long is dead; must be greater than the interval"},
    {"", "failover", "bool, false",
     "on a dead node, place its instances on the remaining nodes (else wait for it to restart)"},
    {"", "placement", "string, `\"round-robin\"`",
     "how instances are spread over nodes; `round-robin` is the only strategy so far"},
    {"", "restart", "string, `\"none\"`",
     "restart strategy, as `--restart` (`fixed-delay:attempts=3,delay=1s`, `exponential:...`); "
     "validated by the runtime"},
    {"", "recovery", "string, `\"global\"`",
     "how a failed operator instance is recovered, as `--recovery`: `global` or `local`; a "
     "cluster recovers globally for now (local is embedded only and says so in the log)"},
    {"", "inflight_log_mb", "integer, 64",
     "memory per node for the in-flight and determinant logs of local recovery (MiB), as "
     "`--inflight-log-mb`"},
    {"", "log_level", "string, `\"info\"`",
     "least level of every node's log lines: `trace`, `debug`, `info`, `warn`, `error` or "
     "`off`; `--log-level` wins"},
    {"", "log_format", "string, `\"text\"`",
     "`text`, or `json`: one JSON object per line (time, level, node, job, message; operator "
     "and instance when about one); `--log-format` wins"},
    {"checkpoint", "interval_ms", "integer, 0", "time between checkpoints; 0 disables them"},
    {"checkpoint", "timeout_ms", "integer, 60000", "a checkpoint not complete by then is aborted"},
    {"checkpoint", "min_pause_ms", "integer, 0",
     "least time between the end of one checkpoint and the next"},
    {"checkpoint", "retained", "integer, 3", "completed checkpoints kept per node"},
    {"constraints", "<operator>", "array of node names",
     "the nodes the instances of this operator (name or uid) may run on"},
    {"nodes", "name", "string, required", "unique node name (`--node NAME`)"},
    {"nodes", "host", "string, required", "address the node binds and peers connect to"},
    {"nodes", "port", "integer 1..65535, required",
     "node service port; `host:port` must be unique"},
    {"nodes", "workers", "integer, 2", "CAF worker threads of the node"},
    {"nodes", "state_dir", "string, required", "the node's snapshot store directory"},
    {"nodes", "http_port", "integer, none",
     "serve the node's live metrics on 127.0.0.1:PORT (`/metrics`, `/api/operators`; 0 = "
     "ephemeral); `--http-port` wins"},
};

constexpr std::string_view log_levels[] = {"trace", "debug", "info", "warn", "error", "off"};
constexpr std::string_view log_formats[] = {"text", "json"};

/// Typed, range-checked access to the TOML tree; every failure names
/// file:line: key.
class reader {
public:
  explicit reader(std::string source) : source_(std::move(source)) {}

  [[noreturn]] void fail(const toml::node* at, const std::string& key,
                         const std::string& what) const {
    const auto line = at ? at->source().begin.line : 0;
    if (line > 0)
      throw config_error(fmt::format("{}:{}: {}: {}", source_, line, key, what));
    throw config_error(fmt::format("{}: {}: {}", source_, key, what));
  }

  /// Rejects keys the format does not know (those of `keys` in `table`, and
  /// at the top level the tables themselves), so that a typo is an error
  /// instead of a silently ignored setting.
  void only_known(const toml::table& t, const std::string& prefix, std::string_view table) const {
    std::vector<std::string_view> known;
    for (auto& k : keys) {
      auto name = k.table == table ? k.key : table.empty() ? k.table : std::string_view{};
      if (!name.empty() && std::find(known.begin(), known.end(), name) == known.end())
        known.push_back(name);
    }
    for (auto&& [k, v] : t) {
      if (std::find(known.begin(), known.end(), k.str()) != known.end())
        continue;
      std::string list;
      for (auto n : known)
        list += (list.empty() ? "" : ", ") + std::string(n);
      fail(&v, prefix + std::string(k.str()), "unknown key (known keys: " + list + ")");
    }
  }

  std::optional<std::string> string(const toml::table& t, std::string_view key,
                                    const std::string& path) const {
    const auto* n = t.get(key);
    if (!n)
      return std::nullopt;
    const auto* s = n->as_string();
    if (!s)
      fail(n, path, "expected a string");
    if (s->get().empty())
      fail(n, path, "must not be empty");
    return s->get();
  }

  /// `parent` (the table, or nullptr for the root) gives the line of a missing key.
  std::string required_string(const toml::table& t, std::string_view key, const std::string& path,
                              const toml::node* parent) const {
    auto s = string(t, key, path);
    if (!s)
      fail(parent, path, "missing");
    return *s;
  }

  std::optional<int64_t> integer(const toml::table& t, std::string_view key,
                                 const std::string& path, int64_t lo, int64_t hi) const {
    const auto* n = t.get(key);
    if (!n)
      return std::nullopt;
    const auto v = n->value_exact<int64_t>();
    if (!v || *v < lo || *v > hi)
      fail(n, path, fmt::format("expected an integer in {}..{}", lo, hi));
    return *v;
  }

  std::optional<bool> boolean(const toml::table& t, std::string_view key,
                              const std::string& path) const {
    const auto* n = t.get(key);
    if (!n)
      return std::nullopt;
    const auto v = n->value_exact<bool>();
    if (!v)
      fail(n, path, "expected true or false");
    return *v;
  }

  /// A string that must be one of `allowed`.
  template <size_t N>
  std::optional<std::string> one_of(const toml::table& t, std::string_view key,
                                    const std::string_view (&allowed)[N]) const {
    auto s = string(t, key, std::string{key});
    if (s && std::find(std::begin(allowed), std::end(allowed), *s) == std::end(allowed)) {
      std::string list;
      for (auto a : allowed)
        list += (list.empty() ? "" : ", ") + std::string(a);
      fail(t.get(key), std::string{key}, fmt::format("unknown value '{}' (known: {})", *s, list));
    }
    return s;
  }

  const std::string& source() const noexcept { return source_; }

private:
  std::string source_;
};

std::string read_secret_file(const reader& r, const toml::node* at,
                             const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    r.fail(at, "secret_file", fmt::format("cannot read '{}'", path.string()));
  // As ssh does with private keys: a secret others can read (or replace) is
  // no secret, so refuse it instead of running with it.
  namespace fs = std::filesystem;
  std::error_code ec;
  const auto perms = fs::status(path, ec).permissions();
  if (ec)
    r.fail(at, "secret_file", fmt::format("cannot stat '{}': {}", path.string(), ec.message()));
  constexpr auto readable = fs::perms::group_read | fs::perms::others_read;
  constexpr auto writable = fs::perms::group_write | fs::perms::others_write;
  if ((perms & (readable | writable)) != fs::perms::none)
    r.fail(
        at, "secret_file",
        fmt::format("secret file {} is {} by group/others (mode {:04o}); run: chmod 600 {}",
                    path.string(), (perms & readable) != fs::perms::none ? "readable" : "writable",
                    static_cast<unsigned>(perms & fs::perms::mask), path.string()));
  std::stringstream ss;
  ss << in.rdbuf();
  std::string s = ss.str();
  // A trailing newline is how editors save files, not part of the secret.
  while (!s.empty() &&
         (s.back() == '\n' || s.back() == '\r' || s.back() == ' ' || s.back() == '\t'))
    s.pop_back();
  return s;
}

node_config parse_node(const reader& r, const toml::node& n, size_t i) {
  const std::string p = fmt::format("nodes[{}]", i);
  const auto* t = n.as_table();
  if (!t)
    r.fail(&n, p, "expected a table ([[nodes]])");
  r.only_known(*t, p + ".", "nodes");
  node_config c;
  c.name = r.required_string(*t, "name", p + ".name", &n);
  c.host = r.required_string(*t, "host", p + ".host", &n);
  auto port = r.integer(*t, "port", p + ".port", 1, 65535);
  if (!port)
    r.fail(&n, p + ".port", "missing");
  c.port = static_cast<uint16_t>(*port);
  c.workers =
      static_cast<uint32_t>(r.integer(*t, "workers", p + ".workers", 1, 1024).value_or(c.workers));
  c.state_dir = r.required_string(*t, "state_dir", p + ".state_dir", &n);
  c.http_port =
      static_cast<int>(r.integer(*t, "http_port", p + ".http_port", 0, 65535).value_or(-1));
  return c;
}

void parse_nodes(const reader& r, const toml::table& root, cluster_config& c) {
  const auto* n = root.get("nodes");
  if (!n)
    r.fail(nullptr, "nodes", "missing (at least one [[nodes]] table)");
  const auto* a = n->as_array();
  if (!a || a->empty())
    r.fail(n, "nodes", "expected at least one [[nodes]] table");
  std::map<std::string, size_t> names, endpoints;
  for (size_t i = 0; i < a->size(); ++i) {
    const auto& item = *a->get(i);
    auto node = parse_node(r, item, i);
    if (auto [it, fresh] = names.emplace(node.name, i); !fresh)
      r.fail(item.as_table()->get("name"), fmt::format("nodes[{}].name", i),
             fmt::format("duplicate node name '{}' (also nodes[{}])", node.name, it->second));
    const auto endpoint = fmt::format("{}:{}", node.host, node.port);
    if (auto [it, fresh] = endpoints.emplace(endpoint, i); !fresh)
      r.fail(item.as_table()->get("port"), fmt::format("nodes[{}].port", i),
             fmt::format("duplicate address {} (also nodes[{}])", endpoint, it->second));
    c.nodes.push_back(std::move(node));
  }
}

std::string node_list(const cluster_config& c) {
  std::string s;
  for (auto& n : c.nodes)
    s += (s.empty() ? "" : ", ") + n.name;
  return s;
}

void parse_secret(const reader& r, const toml::table& root, const std::filesystem::path& base,
                  cluster_config& c) {
  const auto inline_secret = r.string(root, "secret", "secret");
  const auto file = r.string(root, "secret_file", "secret_file");
  if (inline_secret && file)
    r.fail(root.get("secret_file"), "secret_file", "give either secret or secret_file, not both");
  if (!inline_secret && !file)
    r.fail(nullptr, "secret", "missing (give secret or secret_file; peers must authenticate)");
  const toml::node* at = root.get(inline_secret ? "secret" : "secret_file");
  const std::string key = inline_secret ? "secret" : "secret_file";
  if (inline_secret) {
    c.secret = *inline_secret;
  } else {
    std::filesystem::path p{*file};
    if (p.is_relative())
      p = base / p;
    c.secret = read_secret_file(r, at, p);
  }
  if (c.secret.size() < min_secret_bytes)
    r.fail(at, key,
           fmt::format("secret too short ({} bytes, need at least {})", c.secret.size(),
                       min_secret_bytes));
}

void parse_checkpoint(const reader& r, const toml::table& root, cluster_config& c) {
  const auto* n = root.get("checkpoint");
  if (!n)
    return;
  const auto* t = n->as_table();
  if (!t)
    r.fail(n, "checkpoint", "expected a table ([checkpoint])");
  r.only_known(*t, "checkpoint.", "checkpoint");
  constexpr int64_t day_ms = 86'400'000;
  auto& k = c.checkpoints;
  k.interval =
      std::chrono::milliseconds{r.integer(*t, "interval_ms", "checkpoint.interval_ms", 0, day_ms)
                                    .value_or(k.interval.count())};
  k.timeout = std::chrono::milliseconds{
      r.integer(*t, "timeout_ms", "checkpoint.timeout_ms", 1, day_ms).value_or(k.timeout.count())};
  k.min_pause =
      std::chrono::milliseconds{r.integer(*t, "min_pause_ms", "checkpoint.min_pause_ms", 0, day_ms)
                                    .value_or(k.min_pause.count())};
  k.retained = static_cast<uint32_t>(
      r.integer(*t, "retained", "checkpoint.retained", 1, 1000).value_or(k.retained));
}

void parse_constraints(const reader& r, const toml::table& root, cluster_config& c) {
  const auto* n = root.get("constraints");
  if (!n)
    return;
  const auto* t = n->as_table();
  if (!t)
    r.fail(n, "constraints", "expected a table ([constraints])");
  for (auto&& [k, v] : *t) {
    const std::string key = "constraints." + std::string(k.str());
    const auto* a = v.as_array();
    if (!a || a->empty())
      r.fail(&v, key, "expected a non-empty array of node names");
    std::vector<std::string> allowed;
    for (auto& item : *a) {
      const auto* s = item.as_string();
      if (!s)
        r.fail(&item, key, "expected node names (strings)");
      if (!c.index_of(s->get()))
        r.fail(&item, key, fmt::format("unknown node '{}' (nodes: {})", s->get(), node_list(c)));
      allowed.push_back(s->get());
    }
    c.constraints.emplace(std::string(k.str()), std::move(allowed));
  }
}

}  // namespace

std::span<const config_key> cluster_file_keys() noexcept {
  return keys;
}

std::optional<size_t> cluster_config::index_of(std::string_view node) const {
  for (size_t i = 0; i < nodes.size(); ++i)
    if (nodes[i].name == node)
      return i;
  return std::nullopt;
}

cluster_config parse_cluster_config(std::string_view toml_text, std::string source_name) {
  toml::table root;
  try {
    root = toml::parse(toml_text, source_name);
  } catch (const toml::parse_error& e) {
    throw config_error(
        fmt::format("{}:{}: {}", source_name, e.source().begin.line, e.description()));
  }
  const reader r{source_name};
  r.only_known(root, "", "");
  cluster_config c;
  c.name = r.required_string(root, "name", "name", nullptr);
  parse_nodes(r, root, c);
  c.coordinator = r.required_string(root, "coordinator", "coordinator", nullptr);
  if (!c.index_of(c.coordinator))
    r.fail(root.get("coordinator"), "coordinator",
           fmt::format("unknown node '{}' (nodes: {})", c.coordinator, node_list(c)));
  parse_secret(r, root, std::filesystem::path{source_name}.parent_path(), c);

  c.heartbeat_interval = std::chrono::milliseconds{
      r.integer(root, "heartbeat_interval_ms", "heartbeat_interval_ms", 1, 3'600'000)
          .value_or(c.heartbeat_interval.count())};
  c.heartbeat_timeout = std::chrono::milliseconds{
      r.integer(root, "heartbeat_timeout_ms", "heartbeat_timeout_ms", 1, 3'600'000)
          .value_or(c.heartbeat_timeout.count())};
  if (c.heartbeat_timeout <= c.heartbeat_interval)
    r.fail(root.get("heartbeat_timeout_ms") ? root.get("heartbeat_timeout_ms")
                                            : root.get("heartbeat_interval_ms"),
           "heartbeat_timeout_ms",
           fmt::format("must be greater than heartbeat_interval_ms ({} <= {})",
                       c.heartbeat_timeout.count(), c.heartbeat_interval.count()));

  c.failover = r.boolean(root, "failover", "failover").value_or(c.failover);
  c.placement = r.string(root, "placement", "placement").value_or(c.placement);
  if (std::find(std::begin(placement_strategies), std::end(placement_strategies), c.placement) ==
      std::end(placement_strategies))
    r.fail(root.get("placement"), "placement",
           fmt::format("unknown strategy '{}' (known: round-robin)", c.placement));
  c.restart = r.string(root, "restart", "restart").value_or(c.restart);
  {
    static constexpr std::string_view modes[] = {"global", "local"};
    c.recovery = r.one_of(root, "recovery", modes).value_or(c.recovery);
  }
  c.inflight_log_mb =
      static_cast<uint64_t>(r.integer(root, "inflight_log_mb", "inflight_log_mb", 1, 1 << 20)
                                .value_or(static_cast<int64_t>(c.inflight_log_mb)));
  c.log_level = r.one_of(root, "log_level", log_levels).value_or("");
  c.log_format = r.one_of(root, "log_format", log_formats).value_or("");
  parse_checkpoint(r, root, c);
  parse_constraints(r, root, c);
  return c;
}

cluster_config load_cluster_config(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    throw config_error(fmt::format("{}: cannot read the cluster file", path));
  std::stringstream ss;
  ss << in.rdbuf();
  return parse_cluster_config(ss.str(), path);
}

}  // namespace sluice::net
