#define BOOST_TEST_MODULE integration_cli
#include <boost/test/unit_test.hpp>

// The `sluice` command line against real jobs on 127.0.0.1: an embedded
// oracle job (--http-port 0) and two-node loopback clusters whose cluster
// file gives every node an http_port. No fake server: what the command line
// prints and its exit codes are checked against the HTTP API as the nodes
// serve it (docs/http-api.md).

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <regex>

#include "cluster_fixture.hpp"
#include "process.hpp"
#include "sluice/net/http_client.hpp"

namespace {

using namespace std::chrono_literals;
using it::cluster_options;
using it::local_cluster;
using it::fs::path;

it::result run_cli(const std::string& args) {
  auto r = it::run(std::string{SLUICE_BIN} + " " + args);
  BOOST_TEST_MESSAGE("$ sluice " << args << "  -> exit " << r.code << "\n" << r.output);
  return r;
}

bool contains(const std::string& text, const std::string& what) {
  return text.find(what) != std::string::npos;
}

/// True when some line of `text` matches `re` (whole line).
bool has_line(const std::string& text, const std::string& re) {
  return std::regex_search(text, std::regex{"(^|\n)" + re + "(\n|$)"});
}

/// The embedded oracle job with an ephemeral HTTP port; its port, read from
/// the line it prints at start (bounded wait).
struct embedded_job {
  explicit embedded_job(const std::string& name)
      : dir(it::fs::temp_directory_path() /
            ("sluice-cli-" + name + "-" + std::to_string(::getpid()))) {
    it::fs::remove_all(dir);
    it::fs::create_directories(dir);
    job = std::make_unique<it::child>(
        std::string{ORACLE_BIN} + " --count " + std::to_string(count) +
            " --keys 16 --rate 15000 --parallelism 2 --checkpoint-ms 200 --http-port 0" +
            " --state-dir " + (dir / "state").string() + " --output " + (dir / "out").string(),
        (dir / "job.log").string());
    const std::regex printed{R"(http: serving on http://127\.0\.0\.1:(\d+))"};
    for (int i = 0; i < 200 && port == 0; ++i) {
      std::smatch m;
      const std::string log = it::read_file(dir / "job.log");
      if (std::regex_search(log, m, printed))
        port = static_cast<uint16_t>(std::stoi(m[1]));
      else
        std::this_thread::sleep_for(50ms);
    }
    BOOST_REQUIRE_MESSAGE(port != 0, "no port printed: " << it::read_file(dir / "job.log"));
  }
  ~embedded_job() {
    job.reset();  // kills it if it still runs
    if (!std::getenv("SLUICE_KEEP_TEST_DIRS"))
      it::fs::remove_all(dir);
  }

  std::string url() const { return "--url http://127.0.0.1:" + std::to_string(port); }

  /// Waits (bounded) for the job to end; true when it did.
  bool finish(std::chrono::seconds timeout) {
    const auto until = std::chrono::steady_clock::now() + timeout;
    while (job->running() && std::chrono::steady_clock::now() < until)
      std::this_thread::sleep_for(100ms);
    return !job->running();
  }

  static constexpr uint64_t count = 60000;  // 4 s at 15,000/s
  path dir;
  std::unique_ptr<it::child> job;
  uint16_t port = 0;
};

std::vector<std::string> oracle_args(const path& out, uint64_t count, int rate) {
  return {ORACLE_BIN, "--count",  std::to_string(count), "--keys",
          "16",       "--rate",   std::to_string(rate),  "--parallelism",
          "2",        "--output", out.string()};
}

std::string check_oracle(const path& out, uint64_t count) {
  return it::run(std::string{ORACLE_CHECK_BIN} + " --count " + std::to_string(count) +
                 " --keys 16 --output " + out.string())
      .output;
}

cluster_options two_nodes_with_http() {
  cluster_options o;
  o.nodes = 2;
  o.checkpoint_ms = 300;
  o.http = true;
  return o;
}

/// Starts n2 then n1 (the coordinator) and waits (bounded) until `sluice
/// status` through the cluster file shows the job.
void start_and_wait_for_job(local_cluster& c, const std::vector<std::string>& args,
                            const std::string& cluster) {
  c.start("n2", args);
  c.start("n1", args);
  const auto until = std::chrono::steady_clock::now() + 60s;
  while (std::chrono::steady_clock::now() < until) {
    auto r = it::run(std::string{SLUICE_BIN} + " status --sample-ms 0 " + cluster);
    if (r.code == 0 && contains(r.output, "job oracle:") && contains(r.output, "write"))
      return;
    std::this_thread::sleep_for(200ms);
  }
  BOOST_FAIL("the job did not show in sluice status within 60 s\n" << c.logs());
}

/// A TCP socket on 127.0.0.1 that listens and never accepts: connections
/// complete in the kernel, requests are never answered.
struct silent_listener {
  silent_listener() {
    fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    BOOST_REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    socklen_t len = sizeof a;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    port = ntohs(a.sin_port);
    BOOST_REQUIRE(::listen(fd, 8) == 0);
  }
  ~silent_listener() { ::close(fd); }
  int fd = -1;
  uint16_t port = 0;
};

}  // namespace

BOOST_AUTO_TEST_SUITE(cli)

BOOST_AUTO_TEST_CASE(status_and_metrics_of_an_embedded_job_then_unreachable_once_it_ended) {
  embedded_job j{"embedded"};
  auto st = run_cli("status " + j.url() + " --sample-ms 300");
  BOOST_TEST(st.code == 0);
  BOOST_TEST(contains(st.output, "job oracle: "));
  BOOST_TEST(contains(st.output, "checkpoints: "));
  BOOST_TEST(contains(st.output, "restarts 0, failures 0"));
  for (const char* op : {"sequence", "track", "write"})
    BOOST_TEST(
        has_line(st.output, std::string{op} + " +" + op + R"( +2/2 +\d+ +\d+ +\S+/s +\S+/s)"), op);

  auto js = run_cli("status --json --sample-ms 200 " + j.url());
  BOOST_TEST(js.code == 0);
  BOOST_TEST(contains(js.output, R"("operators": [)"));
  BOOST_TEST(contains(js.output, R"("in_per_s": )"));
  BOOST_TEST(contains(js.output, R"("job": "oracle")"));

  auto m = run_cli("metrics " + j.url());
  BOOST_TEST(m.code == 0);
  BOOST_TEST(contains(m.output, "# TYPE sluice_records_in_total counter"));
  BOOST_TEST(contains(m.output, "sluice_job_uptime_seconds{job_name=\"oracle\"}"));
  auto mj = run_cli("metrics --json " + j.url());
  BOOST_TEST(mj.code == 0);
  BOOST_TEST(contains(mj.output, R"("name": "sequence")"));

  BOOST_REQUIRE(j.finish(60s));
  const auto check = check_oracle(j.dir / "out", embedded_job::count);
  BOOST_TEST(contains(check, "lost=0 duplicated=0 mismatched=0"), check);

  // The job ended: its port is closed.
  auto gone = run_cli("status " + j.url());
  BOOST_TEST(gone.code == 3);
  BOOST_TEST(contains(gone.output, "sluice: job unreachable at 127.0.0.1:" +
                                       std::to_string(j.port) + ": connection refused"));
}

BOOST_AUTO_TEST_CASE(usage_config_unreachable_and_timeout_errors_have_their_exit_codes) {
  auto none = run_cli("status");
  BOOST_TEST(none.code == 2);
  BOOST_TEST(contains(none.output, "say where the job is: --url http://HOST:PORT"));
  BOOST_TEST(run_cli("").code == 2);                                  // no subcommand
  BOOST_TEST(run_cli("rescale --url http://127.0.0.1:1").code == 2);  // no --parallelism
  auto bad_url = run_cli("status --url 127.0.0.1:8080");
  BOOST_TEST(bad_url.code == 2);
  BOOST_TEST(contains(bad_url.output, "not an http:// URL"));
  BOOST_TEST(run_cli("status --url http://127.0.0.1:1 --cluster x.toml").code == 2);

  {
    cluster_options plain_options;
    plain_options.nodes = 2;
    local_cluster plain{"cli-nohttp", plain_options};
    auto no_http = run_cli("status --cluster " + plain.config_path().string());
    BOOST_TEST(no_http.code == 2);
    BOOST_TEST(
        contains(no_http.output, "node n1 has no http_port in " + plain.config_path().string()));
  }
  local_cluster c{"cli-down", two_nodes_with_http()};  // never started
  const std::string cluster = "--cluster " + c.config_path().string();
  auto unknown = run_cli("status " + cluster + " --node n9");
  BOOST_TEST(unknown.code == 2);
  BOOST_TEST(contains(unknown.output, "no node named 'n9'; the nodes are: n1, n2"));
  auto down = run_cli("status " + cluster + " --node n2");
  BOOST_TEST(down.code == 3);
  BOOST_TEST(contains(down.output, "sluice: node n2 unreachable at 127.0.0.1:" +
                                       std::to_string(c.http_port(1)) + ": connection refused"));
  auto missing_token =
      run_cli("savepoint " + cluster + " --token-file " + (c.dir() / "no-such-file").string());
  BOOST_TEST(missing_token.code == 2);

  silent_listener silent;
  const auto start = std::chrono::steady_clock::now();
  auto slow =
      run_cli("status --timeout-ms 300 --url http://127.0.0.1:" + std::to_string(silent.port));
  BOOST_TEST(slow.code == 3);
  BOOST_TEST(contains(slow.output, "timed out after 300 ms waiting for the answer"));
  BOOST_TEST((std::chrono::steady_clock::now() - start < 5s));
}

// Needs the endpoints of docs/http-api.md beyond /api/jobs, /api/operators
// and /metrics: /api/checkpoints, and the 403 of POST without a token file.
BOOST_AUTO_TEST_CASE(an_embedded_job_lists_its_checkpoints_and_refuses_changes_without_a_token) {
  embedded_job j{"embedded-cp"};
  std::this_thread::sleep_for(1s);  // checkpoints every 200 ms
  auto cp = run_cli("checkpoints " + j.url());
  BOOST_TEST(cp.code == 0);
  BOOST_TEST(has_line(cp.output, R"( *\d+ +checkpoint +completed +\d\d:\d\d:\d\d +.*)"));
  auto cpj = run_cli("checkpoints --json " + j.url());
  BOOST_TEST(cpj.code == 0);
  BOOST_TEST(contains(cpj.output, R"("status": "completed")"));
  auto refused = run_cli("savepoint " + j.url());
  BOOST_TEST(refused.code == 4);
  BOOST_TEST(contains(refused.output, "403 forbidden"));
}

// Needs /api/nodes, /api/checkpoints, "state" and "parallelism" in /api/jobs,
// POST /api/savepoint and /api/rescale (docs/http-api.md).
BOOST_AUTO_TEST_CASE(a_cluster_takes_a_savepoint_and_rescales_from_2_to_3_exactly_once) {
  local_cluster c{"cli-rescale", two_nodes_with_http()};
  const std::string cluster = "--cluster " + c.config_path().string();
  const uint64_t n = 150000;  // 15 s at 10,000/s: still running after the rescale
  start_and_wait_for_job(c, oracle_args(c.dir() / "out", n, 10000), cluster);

  auto st = run_cli("status --sample-ms 300 " + cluster);
  BOOST_TEST(st.code == 0);
  BOOST_TEST(contains(st.output, "job oracle: running, parallelism 2, up "));
  // Operators summed over both nodes' /api/operators.
  for (const char* op : {"sequence", "track", "write"})
    BOOST_TEST(has_line(st.output, std::string{op} + " +" + op + R"( +2/2 .*)"), op);
  BOOST_TEST(has_line(st.output, R"(n1 +127\.0\.0\.1:\d+ +alive.*)"));
  BOOST_TEST(has_line(st.output, R"(n2 +127\.0\.0\.1:\d+ +alive.*)"));
  BOOST_TEST(run_cli("status --sample-ms 0 " + cluster + " --node n2").code == 0);
  // The coordinator's cluster-wide view has every instance, its own view only its own.
  {
    sluice::net::http_client client;
    auto all = client.request("GET", "127.0.0.1", c.http_port(0), "/api/operators?scope=cluster",
                              {}, std::chrono::milliseconds{10'000});
    auto own = client.request("GET", "127.0.0.1", c.http_port(0), "/api/operators", {},
                              std::chrono::milliseconds{10'000});
    BOOST_REQUIRE(all.answered() && own.answered());
    BOOST_TEST_MESSAGE(all.body);
    auto count = [](const std::string& body, const std::string& needle) {
      size_t n = 0;
      for (auto at = body.find(needle); at != std::string::npos; at = body.find(needle, at + 1))
        ++n;
      return n;
    };
    for (const char* op : {"sequence", "track", "write"}) {
      const std::string needle = std::string{R"("name":")"} + op + "\"";
      BOOST_TEST(count(all.body, needle) == 2u, op);
      BOOST_TEST(count(own.body, needle) < 2u, op);
    }
    BOOST_TEST(contains(all.body, R"("unreachable":[])"));
    // Batches cross the nodes encoded (hash partitioning into track): bytes
    // counted on both sides; latency markers reach the sinks through them.
    BOOST_TEST(std::regex_search(all.body, std::regex{R"("bytes_in":[1-9])"}));
    BOOST_TEST(std::regex_search(all.body, std::regex{R"("bytes_out":[1-9])"}));
    BOOST_TEST(std::regex_search(all.body,
                                 std::regex{R"("name":"write"[^}]*"latency":\{"markers":[1-9])"}));
    // Each node reports its peers' heartbeat state to Prometheus.
    auto m = client.request("GET", "127.0.0.1", c.http_port(0), "/metrics", {},
                            std::chrono::milliseconds{10'000});
    BOOST_REQUIRE(m.answered());
    BOOST_TEST(contains(m.body, R"(sluice_node_peer_up{node="n1",peer="n2"} 1)"));
    BOOST_TEST(contains(m.body, R"(sluice_node_peer_heartbeat_age_seconds{node="n1",peer="n2"} )"));
  }

  // A wrong token is refused (401 → exit 4); so is none at all.
  const auto wrong = c.dir() / "wrong.token";
  std::ofstream{wrong} << "not-the-cluster-secret-0123456789\n";
  auto refused = run_cli("savepoint " + cluster + " --token-file " + wrong.string());
  BOOST_TEST(refused.code == 4);
  BOOST_TEST(contains(refused.output,
                      "sluice: 401 unauthorized: the token was refused (use "
                      "--cluster with the cluster file, or --token-file)"));
  auto anonymous = run_cli("savepoint --url http://127.0.0.1:" + std::to_string(c.http_port(0)));
  BOOST_TEST(anonymous.code == 4);

  auto sp = run_cli("savepoint " + cluster);
  BOOST_TEST_REQUIRE(sp.code == 0);
  std::smatch m;
  BOOST_REQUIRE(std::regex_search(sp.output, m, std::regex{R"(savepoint (\d+) completed)"}));
  const std::string id = m[1];
  auto cp = run_cli("checkpoints " + cluster);
  BOOST_TEST(cp.code == 0);
  BOOST_TEST(has_line(cp.output, " *" + id + R"( +savepoint +completed .*)"));
  BOOST_TEST(contains(run_cli("status --sample-ms 0 " + cluster).output, "last savepoint " + id));

  auto rs = run_cli("rescale --parallelism 3 --timeout 120 " + cluster);
  BOOST_TEST_REQUIRE(rs.code == 0, c.logs());
  BOOST_TEST(contains(rs.output, "job oracle runs at parallelism 3"));
  auto after = run_cli("status --sample-ms 300 " + cluster);
  BOOST_TEST(contains(after.output, "job oracle: running, parallelism 3, up "));
  for (const char* op : {"sequence", "track", "write"})
    BOOST_TEST(has_line(after.output, std::string{op} + " +" + op + R"( +3/3 .*)"), op);

  // The job goes on at parallelism 3 to its end, every record exactly once.
  BOOST_TEST_INFO(c.logs());
  BOOST_REQUIRE_EQUAL(c.wait("n1", 120s), 0);
  BOOST_TEST_INFO(c.logs());
  BOOST_REQUIRE_EQUAL(c.wait("n2", 30s), 0);
  const auto check = check_oracle(c.dir() / "out", n);
  BOOST_TEST(contains(check, "lost=0 duplicated=0 mismatched=0"), check << c.logs());
}

// Needs POST /api/cancel (docs/http-api.md).
BOOST_AUTO_TEST_CASE(a_cancelled_cluster_job_stops) {
  local_cluster c{"cli-cancel", two_nodes_with_http()};
  const std::string cluster = "--cluster " + c.config_path().string();
  start_and_wait_for_job(c, oracle_args(c.dir() / "out", 10'000'000, 5000), cluster);

  auto cancel = run_cli("cancel --wait --timeout 60 " + cluster);
  BOOST_TEST(cancel.code == 0);
  BOOST_TEST(contains(cancel.output, "cancelling job oracle"));
  BOOST_TEST(contains(cancel.output, "job oracle stopped"));
  BOOST_TEST_INFO(c.logs());
  BOOST_TEST(c.wait("n1", 30s) != -1);  // the coordinator ends
  auto gone = run_cli("status " + cluster);
  BOOST_TEST(gone.code == 3);
  BOOST_TEST(contains(gone.output, "node n1 unreachable at 127.0.0.1:" +
                                       std::to_string(c.http_port(0)) + ": connection refused"));
  // Nothing it published holds a duplicate or a wrong record.
  const auto check =
      it::run(std::string{ORACLE_CHECK_BIN} + " --partial --count 10000000 --keys 16 --output " +
              (c.dir() / "out").string());
  BOOST_TEST(contains(check.output, "duplicated=0 mismatched=0"), check.output);
}

BOOST_AUTO_TEST_SUITE_END()
