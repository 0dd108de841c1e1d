#define BOOST_TEST_MODULE integration_cluster
#include <boost/test/unit_test.hpp>

// Clusters of three node processes on 127.0.0.1, as a user runs them: the
// same job binary with --cluster/--node. Results must equal the one-process
// run; killed, paused and restarted nodes (the coordinator included) must
// leave exactly-once output; hostile peers must not disturb the job.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <random>

#include "cluster_fixture.hpp"
#include "process.hpp"

namespace {

using namespace std::chrono_literals;
using it::local_cluster;

std::vector<std::string> oracle_args(const it::fs::path& out, uint64_t count, int rate) {
  return {ORACLE_BIN, "--count",  std::to_string(count), "--keys",
          "16",       "--rate",   std::to_string(rate),  "--parallelism",
          "2",        "--output", out.string()};
}

std::string check_oracle(const it::fs::path& out, uint64_t count) {
  return it::run(std::string(ORACLE_CHECK_BIN) + " --count " + std::to_string(count) +
                 " --keys 16 --output " + out.string())
      .output;
}

/// Starts n2.., then n1 (the coordinator) with the same arguments.
void start_all(local_cluster& c, const std::vector<std::string>& args) {
  for (size_t i = 1; i < c.names().size(); ++i)
    c.start(c.names()[i], args);
  c.start("n1", args);
}

/// Every node exits 0 (the coordinator first: it ends the job).
void require_all_finish(local_cluster& c, std::chrono::milliseconds timeout = 60s) {
  BOOST_TEST_INFO(c.logs());
  BOOST_REQUIRE_EQUAL(c.wait("n1", timeout), 0);
  for (size_t i = 1; i < c.names().size(); ++i) {
    BOOST_TEST_INFO(c.logs());
    BOOST_REQUIRE_EQUAL(c.wait(c.names()[i], 20s), 0);
  }
}

void require_exactly_once(local_cluster& c, const it::fs::path& out, uint64_t count) {
  auto check = check_oracle(out, count);
  BOOST_TEST_INFO(c.logs() << "\ncheck: " << check);
  BOOST_TEST(check.find("lost=0 duplicated=0 mismatched=0") != std::string::npos);
}

std::string sorted_lines(const it::fs::path& p) {
  std::istringstream in{it::read_file(p)};
  std::vector<std::string> lines;
  for (std::string l; std::getline(in, l);)
    lines.push_back(l);
  std::sort(lines.begin(), lines.end());
  std::string s;
  for (auto& l : lines)
    s += l + "\n";
  return s;
}

/// Writes `bytes` to 127.0.0.1:port and closes (a hostile or broken peer).
void send_garbage(uint16_t port, const std::string& bytes) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0) {
    auto n = ::write(fd, bytes.data(), bytes.size());
    (void)n;
  }
  ::close(fd);
}

/// The oracle job (20,000 records) on three nodes where n3 answers its first
/// deploy request 10 s late; the coordinator gets `coordinator_extra`. Every
/// node must finish and the output must be exactly-once.
void run_with_a_slow_deploy(local_cluster& c, const std::vector<std::string>& coordinator_extra) {
  const uint64_t n = 20000;
  auto args = oracle_args(c.dir() / "out", n, 0);
  auto slow = args;
  slow.insert(slow.end(), {"--faults", "delay:at=deploy_reply,ms=10000"});
  auto coordinator = args;
  coordinator.insert(coordinator.end(), coordinator_extra.begin(), coordinator_extra.end());
  c.start("n2", args);
  c.start("n3", slow);
  c.start("n1", coordinator);
  require_all_finish(c, 90s);
  require_exactly_once(c, c.dir() / "out", n);
}

}  // namespace

BOOST_AUTO_TEST_CASE(wordcount_on_three_nodes_equals_the_local_run) {
  local_cluster c{"cl-wordcount"};
  const std::string input = SLUICE_SHARED_DATA_DIR "/churn_modelling/Churn_Modelling.csv";
  auto local = it::run(std::string(WORDCOUNT_BIN) + " --input " + input +
                       " --parallelism 2 --output " + (c.dir() / "local.csv").string());
  BOOST_REQUIRE_MESSAGE(local.code == 0, local.output);
  start_all(c, {WORDCOUNT_BIN, "--input", input, "--parallelism", "2", "--output",
                (c.dir() / "cluster.csv").string()});
  require_all_finish(c);
  const auto expected = sorted_lines(c.dir() / "local.csv");
  BOOST_TEST(!expected.empty());
  BOOST_TEST(sorted_lines(c.dir() / "cluster.csv") == expected);
  // The instances really ran on the other nodes.
  for (auto n : {"n2", "n3"})
    BOOST_TEST(it::read_file(c.log_path(n)).find("tasks deployed here") != std::string::npos);
  // A clean end is silent apart from info lines: peers leaving and links
  // closing after the job are not failures.
  for (auto& n : c.names()) {
    const auto log = it::read_file(c.log_path(n));
    BOOST_TEST_INFO(n << ":\n" << log);
    BOOST_TEST(log.find("[warning]") == std::string::npos);
    BOOST_TEST_INFO(n << ":\n" << log);
    BOOST_TEST(log.find("[error]") == std::string::npos);
  }
}

BOOST_AUTO_TEST_CASE(oracle_on_three_nodes_is_exactly_once) {
  local_cluster c{"cl-oracle"};
  const uint64_t n = 40000;
  start_all(c, oracle_args(c.dir() / "out", n, 0));
  require_all_finish(c);
  require_exactly_once(c, c.dir() / "out", n);
}

BOOST_AUTO_TEST_CASE(killed_node_restarted_with_the_same_command_recovers_exactly_once) {
  local_cluster c{"cl-kill"};
  const uint64_t n = 60000;
  auto args = oracle_args(c.dir() / "out", n, 15000);
  start_all(c, args);
  BOOST_REQUIRE(c.wait_for_log("n2", "tasks deployed here", 20s));
  // A checkpoint completed (under CPU contention that can take longer than
  // a fixed sleep).
  BOOST_REQUIRE(c.wait_for_log("n1", "completed checkpoint", 60s));
  c.kill9("n2");
  std::this_thread::sleep_for(500ms);
  c.start("n2", args);
  require_all_finish(c);
  require_exactly_once(c, c.dir() / "out", n);
  const auto coordinator = it::read_file(c.log_path("n1"));
  BOOST_TEST(coordinator.find("node n2 lost") != std::string::npos);
  BOOST_TEST(coordinator.find("restart 1: restoring checkpoint") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(broadcast_state_and_a_temporal_join_on_three_nodes_survive_a_killed_node) {
  // The risk example: a temporal join with a changelog and event-time
  // broadcast limits, state spread over three nodes; n2 is killed with
  // kill -9 after a checkpoint and started again. The alerts must be exactly
  // the brute-force reference (`risk --check`).
  local_cluster c{"cl-risk"};
  const uint64_t n = 40000;
  const auto out = c.dir() / "out";
  const std::vector<std::string> args{RISK_BIN, "--count",  std::to_string(n),
                                      "--rate", "10000",    "--parallelism",
                                      "3",      "--output", out.string()};
  start_all(c, args);
  BOOST_REQUIRE(c.wait_for_log("n2", "tasks deployed here", 20s));
  BOOST_REQUIRE(c.wait_for_log("n1", "completed checkpoint", 60s));
  c.kill9("n2");
  std::this_thread::sleep_for(500ms);
  c.start("n2", args);
  require_all_finish(c);
  auto check = it::run(std::string(RISK_BIN) + " --check --count " + std::to_string(n) +
                       " --output " + out.string());
  BOOST_TEST_INFO(c.logs() << "\ncheck: " << check.output);
  BOOST_TEST(check.code == 0);
  BOOST_TEST(check.output.find("missing=0 unexpected=0") != std::string::npos);
  BOOST_TEST(it::read_file(c.log_path("n1")).find("restart 1: restoring checkpoint") !=
             std::string::npos);
}

BOOST_AUTO_TEST_CASE(a_stateful_custom_actor_stage_keeps_exact_balances_through_a_killed_node) {
  // The custom_actor example (a ledger actor whose balance is checkpointed
  // stage state) on three nodes; n2 is killed after a checkpoint and started
  // again. Every running balance must be exact.
  local_cluster c{"cl-ledger"};
  const long count = 20000;
  const auto out = c.dir() / "b.csv";
  const std::vector<std::string> args{CUSTOM_ACTOR_BIN, "--count",  std::to_string(count), "--rate",
                                      "5000",           "--output", out.string()};
  start_all(c, args);
  BOOST_REQUIRE(c.wait_for_log("n2", "tasks deployed here", 20s));
  BOOST_REQUIRE(c.wait_for_log("n1", "completed checkpoint", 60s));
  c.kill9("n2");
  std::this_thread::sleep_for(500ms);
  c.start("n2", args);
  require_all_finish(c);
  std::vector<long> expected;
  long balance = 0;
  for (long i = 0; i < count; ++i)
    expected.push_back(balance += (i % 7) * 100 - 250);
  std::vector<long> got;
  std::istringstream in{it::read_file(out)};
  for (std::string line; std::getline(in, line);)
    got.push_back(std::stol(line));
  BOOST_TEST_INFO(c.logs());
  BOOST_TEST(got.size() == expected.size());
  BOOST_TEST((got == expected));
  BOOST_TEST(it::read_file(c.log_path("n1")).find("restart 1: restoring checkpoint") !=
             std::string::npos);
}

BOOST_AUTO_TEST_CASE(paused_node_is_declared_lost_and_the_job_recovers_exactly_once) {
  local_cluster c{"cl-pause"};
  const uint64_t n = 60000;
  start_all(c, oracle_args(c.dir() / "out", n, 15000));
  BOOST_REQUIRE(c.wait_for_log("n3", "tasks deployed here", 20s));
  std::this_thread::sleep_for(1000ms);
  c.signal("n3", SIGSTOP);
  std::this_thread::sleep_for(2500ms);  // longer than the heartbeat timeout (1.5 s)
  c.signal("n3", SIGCONT);
  require_all_finish(c);
  require_exactly_once(c, c.dir() / "out", n);
  BOOST_TEST(it::read_file(c.log_path("n1")).find("node n3 lost: no heartbeat") !=
             std::string::npos);
}

BOOST_AUTO_TEST_CASE(coordinator_restarted_from_its_state_directory_resumes_exactly_once) {
  local_cluster c{"cl-coord"};
  const uint64_t n = 60000;
  auto args = oracle_args(c.dir() / "out", n, 15000);
  start_all(c, args);
  BOOST_REQUIRE(c.wait_for_log("n2", "tasks deployed here", 20s));
  BOOST_REQUIRE(c.wait_for_log("n1", "completed checkpoint", 60s));
  c.kill9("n1");
  std::this_thread::sleep_for(500ms);
  c.start("n1", args);
  require_all_finish(c);
  require_exactly_once(c, c.dir() / "out", n);
  BOOST_TEST(it::read_file(c.log_path("n1")).find("resuming from checkpoint") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(node_with_a_wrong_secret_is_refused_and_the_cluster_goes_on) {
  local_cluster c{"cl-secret"};
  const uint64_t n = 20000;
  auto args = oracle_args(c.dir() / "out", n, 0);
  const auto bad = c.write_config(c.dir() / "bad.toml", "not-the-secret-of-this-cluster!!");
  c.start("n3", args);
  c.start("n1", args);
  c.start("n2", args, bad);
  const int code = c.wait("n2", 20s);
  BOOST_TEST_INFO(c.logs());
  BOOST_TEST(code == 2);
  BOOST_TEST(it::read_file(c.log_path("n2")).find("wrong secret") != std::string::npos);
  BOOST_TEST(it::read_file(c.log_path("n1")).find("refused connection from 127.0.0.1") !=
             std::string::npos);
  c.start("n2", args);  // now with the cluster's secret
  require_all_finish(c);
  require_exactly_once(c, c.dir() / "out", n);
}

BOOST_AUTO_TEST_CASE(garbage_on_the_node_ports_does_not_disturb_the_job) {
  local_cluster c{"cl-garbage"};
  const uint64_t n = 40000;
  start_all(c, oracle_args(c.dir() / "out", n, 20000));
  BOOST_REQUIRE(c.wait_for_log("n1", "node n3 joined", 20s));
  std::mt19937 rng{42};
  for (int round = 0; round < 5; ++round)
    for (size_t i = 0; i < c.names().size(); ++i) {
      std::string junk(1 + rng() % 4096, '\0');
      for (auto& ch : junk)
        ch = static_cast<char>(rng());
      send_garbage(c.port(i), junk);
      // A Cap'n Proto segment table announcing a huge message.
      send_garbage(c.port(i), std::string("\x00\x00\x00\x00\xff\xff\xff\x7f", 8));
    }
  require_all_finish(c);
  require_exactly_once(c, c.dir() / "out", n);
  for (auto& name : c.names())
    BOOST_TEST(it::read_file(c.log_path(name)).find("127.0.0.1") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(nodes_that_join_late_get_their_share) {
  local_cluster c{"cl-late"};
  const uint64_t n = 20000;
  auto args = oracle_args(c.dir() / "out", n, 0);
  c.start("n1", args);
  BOOST_REQUIRE(c.wait_for_log("n1", "waiting for 2 other nodes", 20s));
  std::this_thread::sleep_for(1000ms);
  c.start("n2", args);
  std::this_thread::sleep_for(1000ms);
  c.start("n3", args);
  require_all_finish(c);
  require_exactly_once(c, c.dir() / "out", n);
  BOOST_TEST(
      it::read_file(c.log_path("n1")).find("waiting before deploying: nodes not available") !=
      std::string::npos);
  BOOST_TEST(it::read_file(c.log_path("n3")).find("tasks deployed here") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(with_failover_the_instances_of_a_dead_node_move_to_the_others) {
  it::cluster_options o;
  o.failover = true;
  local_cluster c{"cl-failover", o};
  const uint64_t n = 60000;
  start_all(c, oracle_args(c.dir() / "out", n, 15000));
  BOOST_REQUIRE(c.wait_for_log("n3", "tasks deployed here", 20s));
  std::this_thread::sleep_for(1500ms);
  c.kill9("n3");  // and never started again
  BOOST_TEST_INFO(c.logs());
  BOOST_REQUIRE_EQUAL(c.wait("n1", 60s), 0);
  BOOST_REQUIRE_EQUAL(c.wait("n2", 20s), 0);
  require_exactly_once(c, c.dir() / "out", n);
  const auto coordinator = it::read_file(c.log_path("n1"));
  BOOST_TEST(coordinator.find("node n3 lost") != std::string::npos);
  BOOST_TEST(coordinator.find("restart 1: restoring checkpoint") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(constraints_keep_an_operator_on_the_nodes_they_name) {
  it::cluster_options o;
  o.extra_toml = "[constraints]\nwrite = [\"n3\"]\ntrack = [\"n1\", \"n2\"]\n";
  local_cluster c{"cl-constraints", o};
  const uint64_t n = 20000;
  start_all(c, oracle_args(c.dir() / "out", n, 0));
  require_all_finish(c);
  require_exactly_once(c, c.dir() / "out", n);
  const auto log = it::read_file(c.log_path("n1"));
  BOOST_TEST_INFO(log);
  BOOST_TEST(log.find("write#0@n3") != std::string::npos);
  BOOST_TEST(log.find("write#1@n3") != std::string::npos);
  BOOST_TEST(log.find("track#0@n1") != std::string::npos);
  BOOST_TEST(log.find("track#1@n2") != std::string::npos);
  BOOST_TEST(log.find("track#0@n3") == std::string::npos);
}

BOOST_AUTO_TEST_CASE(a_node_that_answers_its_deploy_late_stalls_nothing_else) {
  // n3 answers the deploy request 10 s late. Meanwhile the coordinator's
  // supervisor keeps running (it reports what it waits for), heartbeats go on
  // both ways (nobody is declared lost), and the job then starts and ends
  // exactly-once. The coordinator runs one CAF worker: a handler that waited
  // for the answer would stop everything else on it.
  local_cluster c{"cl-slow-deploy"};
  run_with_a_slow_deploy(c, {"--workers", "1"});
  const auto n1 = it::read_file(c.log_path("n1"));
  BOOST_TEST_INFO(c.logs());
  BOOST_TEST(it::read_file(c.log_path("n3")).find("answering the deploy request 10000 ms late") !=
             std::string::npos);
  BOOST_TEST(n1.find("still waiting after") != std::string::npos);
  BOOST_TEST(n1.find("for the other nodes to deploy attempt 0") != std::string::npos);
  BOOST_TEST(n1.find("[warning]") == std::string::npos);  // nobody was declared lost
}

BOOST_AUTO_TEST_CASE(a_deployment_without_progress_fails_the_attempt_and_the_job_goes_on) {
  // n3 answers its first deploy request 10 s late; the coordinator's
  // recovery limit is 3 s. The attempt fails with the reason, the restart
  // strategy starts attempt 1, and the job ends exactly-once.
  local_cluster c{"cl-stalled-deploy"};
  run_with_a_slow_deploy(c, {"--recovery-timeout-ms", "3000"});
  const auto n1 = it::read_file(c.log_path("n1"));
  BOOST_TEST_INFO(c.logs());
  BOOST_TEST(n1.find("recovery made no progress for") != std::string::npos);
  BOOST_TEST_INFO(c.logs());
  BOOST_TEST(n1.find("while waiting for the other nodes to deploy attempt 0") != std::string::npos);
  BOOST_TEST_INFO(c.logs());
  BOOST_TEST(n1.find("restart 1:") != std::string::npos);
}
