// The TOML cluster file: the shipped example parses, and every mistake is
// reported with file:line: key.
#include <boost/test/unit_test.hpp>

#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include <unistd.h>

#include "sluice/net/cluster_config.hpp"

using namespace sluice::net;

namespace {

constexpr const char* good_secret = "secret = \"0123456789abcdef\"\n";

/// Lines 1-3 are the header (plus `header_extra`), then n1 from line 4 and n2
/// from line 10 (name 11, host 12, port 13, state_dir 14, `node2_extra` 15).
std::string config(const std::string& header_extra = "", const std::string& node2_extra = "",
                   const std::string& secret_line = good_secret) {
  return "name = \"c\"\ncoordinator = \"n1\"\n" + secret_line + header_extra +
         "[[nodes]]\nname = \"n1\"\nhost = \"127.0.0.1\"\nport = 7101\nstate_dir = \"/tmp/n1\"\n\n"
         "[[nodes]]\nname = \"n2\"\nhost = \"127.0.0.1\"\nport = 7102\nstate_dir = \"/tmp/n2\"\n" +
         node2_extra;
}

/// A fresh directory, removed at the end of the test.
struct temp_dir {
  std::filesystem::path path;
  temp_dir() {
    static int n = 0;
    path = std::filesystem::temp_directory_path() /
           ("sluice-net-test-" + std::to_string(::getpid()) + "-" + std::to_string(n++));
    std::filesystem::remove_all(path);
    std::filesystem::create_directories(path);
  }
  ~temp_dir() { std::filesystem::remove_all(path); }
};

/// Writes `text` to `file`, readable and writable by its owner only (0600).
void write_private(const std::filesystem::path& file, const std::string& text) {
  std::ofstream(file) << text;
  std::filesystem::permissions(
      file, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
}

std::string error_of(const std::string& text, const std::string& source = "cluster.toml") {
  try {
    parse_cluster_config(text, source);
  } catch (const config_error& e) {
    return e.what();
  }
  return "(no error)";
}

}  // namespace

BOOST_AUTO_TEST_SUITE(net_cluster_config)

BOOST_AUTO_TEST_CASE(the_shipped_three_node_config_parses) {
  // The repository ships no secret: the config names secret.txt next to it,
  // which `scripts/cluster.sh init --secret-only` writes. Here a copy of the
  // config gets a secret of its own.
  temp_dir dir;
  std::filesystem::copy_file(SLUICE_NET_CONFIG_DIR "/cluster-3.toml", dir.path / "cluster-3.toml");
  write_private(dir.path / "secret.txt", std::string(32, 'k') + "\n");
  const auto c = load_cluster_config((dir.path / "cluster-3.toml").string());
  BOOST_TEST(c.name == "sluice-local");
  BOOST_REQUIRE_EQUAL(c.nodes.size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    const auto name = "n" + std::to_string(i + 1);
    BOOST_TEST(c.nodes[i].name == name);
    BOOST_TEST(c.nodes[i].host == "127.0.0.1");
    BOOST_TEST(c.nodes[i].port == 7101 + i);
    BOOST_TEST(c.nodes[i].state_dir == "/tmp/sluice-cluster/" + name);
    BOOST_TEST((c.index_of(name) == i));
  }
  BOOST_TEST(c.coordinator == "n1");
  BOOST_TEST(c.secret == std::string(32, 'k'));  // read from secret.txt, newline stripped
  BOOST_TEST(c.heartbeat_interval.count() == 500);
  BOOST_TEST(c.heartbeat_timeout.count() == 3000);
  BOOST_TEST(c.checkpoints.interval.count() == 2000);
  BOOST_TEST(c.checkpoints.retained == 3u);
  BOOST_TEST(!c.index_of("n4").has_value());
}

BOOST_AUTO_TEST_CASE(defaults_and_constraints) {
  const auto c = parse_cluster_config(config("[constraints]\nscore = [\"n2\"]\n"), "c.toml");
  BOOST_TEST(c.nodes[0].workers == 2u);
  BOOST_TEST(c.placement == "round-robin");
  BOOST_TEST(!c.failover);
  BOOST_TEST(c.restart == "none");
  BOOST_TEST((c.constraints.at("score") == std::vector<std::string>{"n2"}));
}

// docs/options.md lists the cluster keys from cluster_file_keys(); the
// defaults written there must be the ones the parser gives a file without
// the key.
BOOST_AUTO_TEST_CASE(the_documented_defaults_are_the_parsed_defaults) {
  const auto c = parse_cluster_config(config(), "c.toml");
  auto ms = [](std::chrono::milliseconds d) {
    return std::to_string(d.count());
  };
  const std::map<std::string, std::string> parsed{
      {".heartbeat_interval_ms", ms(c.heartbeat_interval)},
      {".heartbeat_timeout_ms", ms(c.heartbeat_timeout)},
      {".failover", c.failover ? "true" : "false"},
      {".placement", "`\"" + c.placement + "\"`"},
      {".restart", "`\"" + c.restart + "\"`"},
      {"checkpoint.interval_ms", ms(c.checkpoints.interval)},
      {"checkpoint.timeout_ms", ms(c.checkpoints.timeout)},
      {"checkpoint.min_pause_ms", ms(c.checkpoints.min_pause)},
      {"checkpoint.retained", std::to_string(c.checkpoints.retained)},
      {"nodes.workers", std::to_string(c.nodes[0].workers)},
  };
  size_t checked = 0;
  for (const auto& k : cluster_file_keys()) {
    const std::string name = std::string{k.table} + "." + std::string{k.key};
    const std::string type{k.type};
    const auto comma = type.find(", ");
    if (comma == std::string::npos || type.find("required") != std::string::npos)
      continue;  // no default to compare
    const std::string documented = type.substr(comma + 2);
    auto it = parsed.find(name);
    if (it == parsed.end())
      continue;  // defaults the parser leaves to others (log_level, http_port: "none")
    BOOST_TEST(documented == it->second, name);
    ++checked;
  }
  BOOST_TEST(checked == parsed.size());  // every default above is documented
}

BOOST_AUTO_TEST_CASE(a_node_may_serve_metrics_over_http) {
  BOOST_TEST(parse_cluster_config(config(), "c.toml").nodes[1].http_port == -1);  // none
  BOOST_TEST(parse_cluster_config(config("", "http_port = 0\n"), "c.toml").nodes[1].http_port == 0);
  BOOST_TEST(parse_cluster_config(config("", "http_port = 9464\n"), "c.toml").nodes[1].http_port ==
             9464);
  BOOST_TEST(error_of(config("", "http_port = 70000\n"))
                 .find("nodes[1].http_port: expected an integer in 0..65535") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(a_bad_port_names_file_line_and_key) {
  auto text = config();
  text.replace(text.find("port = 7102"), 11, "port = 70000");
  BOOST_TEST(error_of(text) == "cluster.toml:13: nodes[1].port: expected an integer in 1..65535");
  text.replace(text.find("port = 70000"), 12, "port = \"x\"");
  BOOST_TEST(error_of(text) == "cluster.toml:13: nodes[1].port: expected an integer in 1..65535");
}

BOOST_AUTO_TEST_CASE(missing_nodes_are_an_error) {
  BOOST_TEST(error_of("name = \"c\"\ncoordinator = \"n1\"\n" + std::string(good_secret)) ==
             "cluster.toml: nodes: missing (at least one [[nodes]] table)");
}

BOOST_AUTO_TEST_CASE(duplicate_names_and_addresses_are_errors) {
  auto dup_name = config();
  dup_name.replace(dup_name.find("name = \"n2\""), 11, "name = \"n1\"");
  BOOST_TEST(error_of(dup_name) ==
             "cluster.toml:11: nodes[1].name: duplicate node name 'n1' (also nodes[0])");
  auto dup_port = config();
  dup_port.replace(dup_port.find("port = 7102"), 11, "port = 7101");
  BOOST_TEST(error_of(dup_port) ==
             "cluster.toml:13: nodes[1].port: duplicate address 127.0.0.1:7101 (also nodes[0])");
}

BOOST_AUTO_TEST_CASE(an_unknown_coordinator_is_an_error) {
  auto text = config();
  text.replace(text.find("coordinator = \"n1\""), 18, "coordinator = \"n9\"");
  BOOST_TEST(error_of(text) == "cluster.toml:2: coordinator: unknown node 'n9' (nodes: n1, n2)");
}

BOOST_AUTO_TEST_CASE(secrets_must_be_given_once_and_long_enough) {
  BOOST_TEST(error_of(config("", "", "")) ==
             "cluster.toml: secret: missing (give secret or secret_file; peers must authenticate)");
  BOOST_TEST(error_of(config("", "", "secret = \"short\"\n")) ==
             "cluster.toml:3: secret: secret too short (5 bytes, need at least 16)");
  BOOST_TEST(error_of(config("secret_file = \"s.txt\"\n")) ==
             "cluster.toml:4: secret_file: give either secret or secret_file, not both");
}

BOOST_AUTO_TEST_CASE(a_secret_file_is_relative_to_the_config_directory) {
  temp_dir dir;
  write_private(dir.path / "s.txt", "fedcba9876543210fedcba\n");
  const auto c = parse_cluster_config(config("", "", "secret_file = \"s.txt\"\n"),
                                      (dir.path / "cluster.toml").string());
  BOOST_TEST(c.secret == "fedcba9876543210fedcba");
  const auto missing = error_of(config("", "", "secret_file = \"nope.txt\"\n"),
                                (dir.path / "cluster.toml").string());
  BOOST_TEST(missing == (dir.path / "cluster.toml").string() + ":3: secret_file: cannot read '" +
                            (dir.path / "nope.txt").string() + "'");
}

BOOST_AUTO_TEST_CASE(a_secret_file_others_can_read_or_write_is_refused_with_the_fix) {
  namespace fs = std::filesystem;
  temp_dir dir;
  const auto secret = dir.path / "secret.txt";
  const auto toml = (dir.path / "cluster.toml").string();
  const auto text = config("", "", "secret_file = \"secret.txt\"\n");
  write_private(secret, "fedcba9876543210fedcba\n");
  BOOST_TEST(parse_cluster_config(text, toml).secret ==
             "fedcba9876543210fedcba");            // 0600 is accepted
  fs::permissions(secret, fs::perms::owner_read);  // 0400 too
  BOOST_TEST(parse_cluster_config(text, toml).secret == "fedcba9876543210fedcba");

  const auto refused = [&](fs::perms mode, const std::string& how, const std::string& octal) {
    fs::permissions(secret, mode);
    const auto e = error_of(text, toml);
    BOOST_TEST(e == toml + ":3: secret_file: secret file " + secret.string() + " is " + how +
                        " by group/others (mode " + octal + "); run: chmod 600 " + secret.string(),
               octal << ": " << e);
  };
  using p = fs::perms;
  refused(p::owner_read | p::owner_write | p::group_read | p::others_read, "readable", "0644");
  refused(p::owner_read | p::owner_write | p::group_read, "readable", "0640");
  refused(p::owner_read | p::owner_write | p::others_read, "readable", "0604");
  refused(p::owner_read | p::owner_write | p::group_write, "writable", "0620");
  refused(p::owner_read | p::owner_write | p::others_write, "writable", "0602");
}

BOOST_AUTO_TEST_CASE(heartbeat_timeout_must_exceed_the_interval) {
  BOOST_TEST(error_of(config("heartbeat_interval_ms = 500\nheartbeat_timeout_ms = 500\n")) ==
             "cluster.toml:5: heartbeat_timeout_ms: must be greater than heartbeat_interval_ms "
             "(500 <= 500)");
}

BOOST_AUTO_TEST_CASE(unknown_keys_are_rejected_by_name) {
  BOOST_TEST(error_of(config("hearbeat_interval_ms = 100\n"))
                 .find("cluster.toml:4: hearbeat_interval_ms: unknown key (known keys: name, ") ==
             0u);
  BOOST_TEST(
      error_of(config("", "worker = 4\n")).find("cluster.toml:15: nodes[1].worker: unknown key") ==
      0u);
  BOOST_TEST(error_of(config("[checkpoint]\ninterval = 5\n"))
                 .find("cluster.toml:5: checkpoint.interval: unknown key") == 0u);
}

BOOST_AUTO_TEST_CASE(constraints_and_placement_are_checked) {
  BOOST_TEST(error_of(config("[constraints]\nscore = [\"n5\"]\n")) ==
             "cluster.toml:5: constraints.score: unknown node 'n5' (nodes: n1, n2)");
  BOOST_TEST(error_of(config("placement = \"random\"\n")) ==
             "cluster.toml:4: placement: unknown strategy 'random' (known: round-robin)");
}

BOOST_AUTO_TEST_CASE(toml_syntax_errors_name_the_line) {
  BOOST_TEST(error_of("name = \"c\"\nnodes = [\n").find("cluster.toml:") == 0u);
  BOOST_TEST(error_of("name = \"c\"\nnodes = [\n") != "(no error)");
}

BOOST_AUTO_TEST_CASE(a_missing_file_is_named) {
  try {
    load_cluster_config("/nonexistent/cluster.toml");
    BOOST_FAIL("no error");
  } catch (const config_error& e) {
    BOOST_TEST(std::string(e.what()) == "/nonexistent/cluster.toml: cannot read the cluster file");
  }
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_CASE(log_level_and_format_are_checked) {
  auto c = parse_cluster_config(config("log_level = \"debug\"\nlog_format = \"json\"\n"),
                                "cluster.toml");
  BOOST_TEST(c.log_level == "debug");
  BOOST_TEST(c.log_format == "json");
  auto unset = parse_cluster_config(config(), "cluster.toml");
  BOOST_TEST(unset.log_level.empty());  // the command line or the default decides
  BOOST_TEST(error_of(config("log_level = \"loud\"\n")) ==
             "cluster.toml:4: log_level: unknown value 'loud' (known: trace, debug, info, warn, "
             "error, off)");
  BOOST_TEST(error_of(config("log_format = \"xml\"\n")) ==
             "cluster.toml:4: log_format: unknown value 'xml' (known: text, json)");
}

BOOST_AUTO_TEST_CASE(every_documented_key_is_accepted) {
  // The key table is what the loader checks and what docs/options.md lists:
  // each of its top-level keys must be one the loader knows.
  std::set<std::string> tables;
  for (auto& k : cluster_file_keys()) {
    BOOST_TEST(!k.meaning.empty());
    if (!k.table.empty())
      tables.insert(std::string{k.table});
    else if (k.key != "name" && k.key != "coordinator" && k.key != "secret")
      BOOST_TEST(error_of(config(std::string{k.key} + " = 1\n"))
                     .find(std::string{k.key} + ": unknown key") == std::string::npos);
  }
  BOOST_TEST((tables == std::set<std::string>{"checkpoint", "constraints", "nodes"}));
}
