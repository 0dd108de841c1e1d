// The HTTP endpoint of a running job (`--http-port 0`), spoken to with plain
// sockets as any HTTP client would: Prometheus text on /metrics whose
// counters move while records flow, JSON on /api/operators, clear refusals
// of other methods, paths and malformed requests — and the job unaffected.
#define BOOST_TEST_MODULE http_metrics
#include <boost/test/included/unit_test.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>
#include <string>
#include <thread>

#include "process.hpp"
#include "prometheus_text.hpp"

namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

std::string read_file(const fs::path& f) {
  std::ifstream in{f};
  return {std::istreambuf_iterator<char>{in}, {}};
}

/// Sends `raw` to 127.0.0.1:port and returns the response: everything up to
/// the end of the body its Content-Length announces, or until the server
/// closed the connection (bounded: 5 s).
std::string http_exchange(uint16_t port, const std::string& raw) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  BOOST_REQUIRE(fd >= 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  BOOST_REQUIRE_MESSAGE(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0,
                        "cannot connect to 127.0.0.1:" << port);
  BOOST_REQUIRE(::send(fd, raw.data(), raw.size(), MSG_NOSIGNAL) ==
                static_cast<ssize_t>(raw.size()));
  std::string got;
  const auto until = std::chrono::steady_clock::now() + 5s;
  char buf[8192];
  while (std::chrono::steady_clock::now() < until) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 100) <= 0)
      continue;
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n <= 0)
      break;
    got.append(buf, static_cast<size_t>(n));
    const auto head_end = got.find("\r\n\r\n");
    const auto len_at = got.find("Content-Length: ");
    if (head_end != std::string::npos && len_at != std::string::npos && len_at < head_end &&
        got.size() >= head_end + 4 + std::stoul(got.substr(len_at + 16)))
      break;  // the whole response (kj-http keeps the connection open)
  }
  ::close(fd);
  return got;
}

std::string get(uint16_t port, const std::string& path) {
  return http_exchange(port,
                       "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
}

std::string post(uint16_t port, const std::string& path, const std::string& token) {
  return http_exchange(port, "POST " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n" +
                                 (token.empty() ? "" : "Authorization: Bearer " + token + "\r\n") +
                                 "Content-Length: 0\r\n\r\n");
}

/// The body of a response.
std::string body(const std::string& response) {
  auto at = response.find("\r\n\r\n");
  return at == std::string::npos ? std::string{} : response.substr(at + 4);
}

/// Looks at `path` every 100 ms until its body matches `re` (bounded: 30 s);
/// the last body.
std::string wait_for(uint16_t port, const std::string& path, const std::regex& re) {
  std::string b;
  for (int i = 0; i < 300; ++i) {
    b = body(get(port, path));
    if (std::regex_search(b, re))
      return b;
    std::this_thread::sleep_for(100ms);
  }
  BOOST_TEST_MESSAGE("gave up waiting on " << path << ": " << b);
  return b;
}

/// The port a job prints at start (`http: serving on ...`), read from its log.
uint16_t printed_port(const fs::path& log) {
  const std::regex printed{R"(http: serving on http://127\.0\.0\.1:(\d+))"};
  for (int i = 0; i < 200; ++i) {
    std::smatch m;
    const std::string text = read_file(log);
    if (std::regex_search(text, m, printed))
      return static_cast<uint16_t>(std::stoi(m[1]));
    std::this_thread::sleep_for(50ms);
  }
  return 0;
}

/// Sum of a Prometheus counter over the lines whose labels contain `match`.
double counter(const std::string& text, const std::string& name, const std::string& match) {
  return it::prometheus_sum(text, name, match);
}

}  // namespace

BOOST_AUTO_TEST_CASE(a_running_job_serves_its_metrics) {
  const fs::path dir = fs::temp_directory_path() / ("sluice-http-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  // 180,000 records at 15,000/s: about 12 s of running job.
  it::child job{std::string{ORACLE_BIN} + " --count 180000 --keys 100 --rate 15000 --output " +
                    (dir / "out").string() + " --http-port 0 --parallelism 2 --state-dir " +
                    (dir / "state").string() + " --checkpoint-ms 200 --latency-interval-ms 50",
                (dir / "job.log").string()};
  // The port is printed at start.
  uint16_t port = 0;
  const std::regex printed{R"(http: serving on http://127\.0\.0\.1:(\d+))"};
  for (int i = 0; i < 100 && port == 0; ++i) {
    std::smatch m;
    const std::string log = read_file(dir / "job.log");
    if (std::regex_search(log, m, printed))
      port = static_cast<uint16_t>(std::stoi(m[1]));
    else
      std::this_thread::sleep_for(50ms);
  }
  BOOST_REQUIRE_MESSAGE(port != 0, "no port printed: " << read_file(dir / "job.log"));

  // The port is printed before the tasks start: wait (bounded) until they are listed.
  std::string first = get(port, "/metrics");
  for (int i = 0; i < 100 && first.find("operator=\"sequence\"") == std::string::npos; ++i) {
    std::this_thread::sleep_for(50ms);
    first = get(port, "/metrics");
  }
  BOOST_TEST_MESSAGE(first.substr(0, 600));
  BOOST_REQUIRE(first.rfind("HTTP/1.1 200", 0) == 0);
  BOOST_TEST(first.find("Content-Type: text/plain; version=0.0.4") != std::string::npos);
  BOOST_TEST(first.find("# TYPE sluice_records_in_total counter") != std::string::npos);
  // Labels that do not clash with Prometheus's own target labels (job, instance).
  BOOST_TEST(
      first.find("{job_name=\"oracle\",operator=\"sequence\",uid=\"sequence\",subtask=\"0\"}") !=
      std::string::npos);
  std::this_thread::sleep_for(1s);
  const std::string second = get(port, "/metrics");
  // Records flow: the source's counter moved between the two looks.
  const double a = counter(first, "sluice_records_out_total", "operator=\"sequence\"");
  const double b = counter(second, "sluice_records_out_total", "operator=\"sequence\"");
  BOOST_TEST_MESSAGE("generate records out: " << a << " then " << b);
  BOOST_TEST(b > a);
  BOOST_TEST(counter(second, "sluice_records_in_total", "subtask=\"1\"") > 0);
  // Batches move, and each task's snapshot size is reported.
  BOOST_TEST(counter(second, "sluice_batches_out_total", "operator=\"sequence\"") >
             counter(first, "sluice_batches_out_total", "operator=\"sequence\""));
  BOOST_TEST(counter(second, "sluice_batches_in_total", "operator=\"track\"") > 0);
  BOOST_TEST(second.find("# TYPE sluice_output_credits_in_use gauge") != std::string::npos);
  BOOST_TEST(second.find("# TYPE sluice_backpressured_seconds_total counter") != std::string::npos);
  BOOST_TEST(counter(second, "sluice_task_state_bytes", "task=\"track\"") > 0);
  // Keyed state entries at the last snapshot: track keeps one per key (100 keys).
  BOOST_TEST(counter(second, "sluice_state_entries", "operator=\"track\"") == 100);
  BOOST_TEST(counter(second, "sluice_job_last_checkpoint_size_bytes", "job_name=\"oracle\"") > 0);
  BOOST_TEST(second.find("sluice_job_last_checkpoint_alignment_seconds{job_name=\"oracle\"} ") !=
             std::string::npos);
  // End-to-end latency: the sources' markers reach the sink ("write"), whose
  // histogram grows; its quantiles are there, and no other operator has one.
  BOOST_TEST(second.find("# TYPE sluice_sink_latency_seconds histogram") != std::string::npos);
  const double markers_a =
      counter(first, "sluice_sink_latency_seconds_count", "operator=\"write\"");
  const double markers_b =
      counter(second, "sluice_sink_latency_seconds_count", "operator=\"write\"");
  BOOST_TEST_MESSAGE("latency markers at the sink: " << markers_a << " then " << markers_b);
  BOOST_TEST(markers_b > markers_a);
  BOOST_TEST(counter(second, "sluice_sink_latency_seconds_bucket", "le=\"+Inf\"") == markers_b);
  BOOST_TEST(counter(second, "sluice_sink_latency_seconds_count", "operator=\"track\"") == 0);
  const double p99 = counter(second, "sluice_sink_latency_recent_seconds",
                             "operator=\"write\",uid=\"write\",subtask=\"0\",quantile=\"0.99\"");
  BOOST_TEST_MESSAGE("p99 source-to-sink latency of write#0: " << p99 << " s");
  BOOST_TEST(p99 > 0);
  BOOST_TEST(p99 < 10);

  // Job figures: uptime, checkpoints completing every 200 ms, no restart.
  BOOST_TEST(second.find("sluice_job_restarts_total{job_name=\"oracle\"} 0") != std::string::npos);
  BOOST_TEST(counter(second, "sluice_job_uptime_seconds", "job_name=\"oracle\"") > 0.5);
  BOOST_TEST(counter(second, "sluice_job_checkpoints_completed_total", "job_name=\"oracle\"") >
             counter(first, "sluice_job_checkpoints_completed_total", "job_name=\"oracle\""));
  const std::string jobs = get(port, "/api/jobs");
  BOOST_TEST(jobs.find("{\"jobs\":[{\"job\":\"oracle\",\"state\":\"running\",\"parallelism\":2,") !=
             std::string::npos);

  const std::string json = get(port, "/api/operators");
  BOOST_TEST(json.rfind("HTTP/1.1 200", 0) == 0);
  BOOST_TEST(json.find("application/json") != std::string::npos);
  BOOST_TEST(json.find("{\"operators\":[{\"job\":") != std::string::npos);
  // Sources are marked, with how much of their input they read (the
  // oracle's sequence walks its own way and reports no total: 0).
  const std::regex seq{
      R"(\{"job":"oracle","name":"sequence"[^}]*"source":true,"input_done":\d+,"input_total":\d+,)"};
  BOOST_TEST_MESSAGE(json.substr(0, 600));
  BOOST_TEST(std::regex_search(json, seq));
  const std::regex write_latency{
      R"(\{"job":"oracle","name":"write"[^}]*"latency":\{"markers":\d+,"window":\d+,"p50_ms":[0-9.]+,"p95_ms":[0-9.]+,"p99_ms":[0-9.]+,"max_ms":[0-9.]+\}\})"};
  BOOST_TEST(std::regex_search(json, write_latency));

  BOOST_TEST(get(port, "/nope").rfind("HTTP/1.1 404", 0) == 0);
  BOOST_TEST(http_exchange(port,
                           "POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n"
                           "Connection: close\r\n\r\n")
                 .rfind("HTTP/1.1 405", 0) == 0);
  // Garbage and an oversized header are refused; the job goes on.
  const std::string garbage = http_exchange(port, "\x01\x02 not http at all\r\n\r\n");
  BOOST_TEST(garbage.find("200 OK") == std::string::npos);
  const std::string huge = http_exchange(
      port, "GET /metrics HTTP/1.1\r\nX-Big: " + std::string(1 << 20, 'a') + "\r\n\r\n");
  BOOST_TEST(huge.find("200 OK") == std::string::npos);
  BOOST_TEST(get(port, "/metrics").rfind("HTTP/1.1 200", 0) == 0);

  // Slow clients: 40 connections that send half a request line and stay
  // silent do not keep others waiting, and the server cuts them off (after
  // its 5 s header limit).
  std::vector<int> slow;
  for (int i = 0; i < 40; ++i) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    BOOST_REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    BOOST_REQUIRE(::send(fd, "GET /metr", 9, MSG_NOSIGNAL) == 9);
    slow.push_back(fd);
  }
  const auto t0 = std::chrono::steady_clock::now();
  BOOST_TEST(get(port, "/metrics").rfind("HTTP/1.1 200", 0) == 0);
  BOOST_TEST((std::chrono::steady_clock::now() - t0 < 2s));
  size_t cut_off = 0;
  const auto until = std::chrono::steady_clock::now() + 9s;
  for (int fd : slow) {
    char c;
    pollfd p{fd, POLLIN, 0};
    while (std::chrono::steady_clock::now() < until && ::poll(&p, 1, 100) == 0) {
    }
    if (p.revents != 0 && ::read(fd, &c, 1) <= 0)
      ++cut_off;
    ::close(fd);
  }
  BOOST_TEST(cut_off == slow.size());
  BOOST_TEST(get(port, "/metrics").rfind("HTTP/1.1 200", 0) == 0);

  // The job finishes normally and its output is exact.
  for (int i = 0; i < 600 && job.running(); ++i)
    std::this_thread::sleep_for(100ms);
  BOOST_REQUIRE(!job.running());
  const auto check = it::run(std::string{ORACLE_CHECK_BIN} +
                             " --count 180000 --keys 100 --output " + (dir / "out").string());
  BOOST_TEST_MESSAGE(check.output);
  BOOST_TEST(check.code == 0);
  fs::remove_all(dir);
}

// The requests that change a running job: refused without the token; a
// savepoint answered with its id once complete; a rescale from 2 to 3 that
// runs on from that savepoint; a cancel that ends the process with code 3 —
// and the output, once the job is run again to its end, still exactly-once.
BOOST_AUTO_TEST_CASE(savepoint_rescale_and_cancel_over_http) {
  const fs::path dir =
      fs::temp_directory_path() / ("sluice-http-control-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  const std::string token = "0123456789abcdef-test-token";
  {
    std::ofstream t{dir / "token"};
    t << token << "\n";
  }
  const std::string args = " --count 400000 --keys 100 --output " + (dir / "out").string() +
                           " --state-dir " + (dir / "state").string() + " --checkpoint-ms 200";
  // 400,000 records at 20,000/s: 20 s, longer than the test needs.
  // One injected failure early on, recovered from by a restart.
  it::child job{std::string{ORACLE_BIN} + args + " --rate 20000 --parallelism 2 --http-port 0" +
                    " --http-token-file " + (dir / "token").string() +
                    " --faults throw:operator=track,instance=1,record=1500"
                    " --restart fixed-delay:attempts=3,delay=100ms",
                (dir / "job.log").string()};
  const uint16_t port = printed_port(dir / "job.log");
  BOOST_REQUIRE_MESSAGE(port != 0, "no port printed: " << read_file(dir / "job.log"));

  // The graph, the nodes, and checkpoints completing.
  const std::string graph = wait_for(port, "/api/graph", std::regex{R"("vertices":\[\{)"});
  BOOST_TEST_MESSAGE(graph);
  BOOST_TEST(graph.find(R"("name":"sequence","uid":"sequence","parallelism":2,"kind":"source")") !=
             std::string::npos);
  BOOST_TEST(graph.find(R"("kind":"sink")") != std::string::npos);
  BOOST_TEST(graph.find(R"("partitioning":"hash")") != std::string::npos);
  BOOST_TEST(body(get(port, "/api/nodes")).find(R"("name":"local")") != std::string::npos);
  const std::string cps = wait_for(port, "/api/checkpoints", std::regex{R"("status":"completed")"});
  BOOST_TEST(cps.find(R"("savepoint":false,"status":"completed")") != std::string::npos);
  BOOST_TEST(std::regex_search(cps, std::regex{R"("max_sync_ms":\d+,"max_alignment_ms":\d+,)"}));

  // The failure: in the failure log with its operator instance and the
  // restart, and counted per operator in Prometheus.
  const std::string failures =
      wait_for(port, "/api/failures", std::regex{R"("action":"restarted")"});
  BOOST_TEST_MESSAGE(failures);
  BOOST_TEST(std::regex_search(
      failures,
      std::regex{
          R"(\{"time_ms":\d+,"operator":"track","instance":1,"cause":"[^"]*injected[^"]*","kind":"operator_failed","action":"restarted","recovery":"global"\})"}));
  const std::string prom = body(get(port, "/metrics"));
  BOOST_TEST(
      prom.find(R"(sluice_job_operator_failures_total{job_name="oracle",operator="track"} 1)") !=
      std::string::npos);
  BOOST_TEST(prom.find(R"(sluice_job_restarts_total{job_name="oracle"} 1)") != std::string::npos);
  BOOST_TEST(
      prom.find(
          R"(sluice_job_restarts_by_cause_total{job_name="oracle",cause="operator_failed"} 1)") !=
      std::string::npos);
  wait_for(port, "/api/jobs", std::regex{R"("state":"running")"});

  // No token, a wrong one: refused, nothing happens.
  BOOST_TEST(post(port, "/api/savepoint", "").rfind("HTTP/1.1 401", 0) == 0);
  BOOST_TEST(post(port, "/api/cancel", "wrong-token-wrong-token").rfind("HTTP/1.1 401", 0) == 0);
  BOOST_TEST(post(port, "/api/rescale?parallelism=0", token).rfind("HTTP/1.1 400", 0) == 0);
  BOOST_TEST(job.running());

  // A savepoint: the answer names it once it completed.
  const std::string sp = post(port, "/api/savepoint", token);
  BOOST_TEST_MESSAGE(sp);
  std::smatch m;
  const std::string sp_body = body(sp);
  BOOST_REQUIRE(
      std::regex_search(sp_body, m, std::regex{R"(\{"savepoint":(\d+),"stopped":false\})"}));
  const std::string sp_id = m[1];
  BOOST_TEST(body(get(port, "/api/checkpoints"))
                 .find("{\"id\":" + sp_id + ",\"savepoint\":true,\"status\":\"completed\"") !=
             std::string::npos);
  BOOST_TEST(job.running());

  // Rescale 2 -> 3: savepoint, stop, run again at 3 from it.
  const std::string rs = post(port, "/api/rescale?parallelism=3", token);
  BOOST_TEST_MESSAGE(rs);
  BOOST_REQUIRE(rs.rfind("HTTP/1.1 200", 0) == 0);
  BOOST_TEST(body(rs).find("\"parallelism\":3}") != std::string::npos);
  const std::string jobs =
      wait_for(port, "/api/jobs", std::regex{R"("state":"running","parallelism":3,)"});
  BOOST_TEST(jobs.find(R"("state":"running","parallelism":3,)") != std::string::npos);
  BOOST_TEST(wait_for(port, "/api/operators",
                      std::regex{R"("name":"track","uid":"track","instance":2,"parallelism":3)"})
                 .find(R"("instance":2,"parallelism":3)") != std::string::npos);
  BOOST_TEST(read_file(dir / "job.log").find("rescale: starting again at parallelism 3") !=
             std::string::npos);
  // A checkpoint of the rescaled run completes before the cancel, so the
  // run below resumes after the rescale.
  wait_for(port, "/api/jobs", std::regex{R"("checkpoints_completed":[1-9])"});

  // Cancel: the process ends with code 3.
  const std::string cancel = post(port, "/api/cancel", token);
  BOOST_TEST(cancel.rfind("HTTP/1.1 202", 0) == 0);
  for (int i = 0; i < 300 && job.running(); ++i)
    std::this_thread::sleep_for(100ms);
  BOOST_REQUIRE(!job.running());
  BOOST_TEST(job.exit_code() == 3);
  BOOST_TEST(read_file(dir / "job.log").find("cancelled") != std::string::npos);

  // Run to the end from the latest checkpoint (parallelism 3): exactly-once.
  const auto rest = it::run(std::string{ORACLE_BIN} + args + " --parallelism 3");
  BOOST_TEST_MESSAGE(rest.output);
  BOOST_TEST(rest.code == 0);
  const auto check = it::run(std::string{ORACLE_CHECK_BIN} +
                             " --count 400000 --keys 100 --output " + (dir / "out").string());
  BOOST_TEST_MESSAGE(check.output);
  BOOST_TEST(check.code == 0);
  fs::remove_all(dir);
}
