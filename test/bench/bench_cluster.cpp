// Benchmark `cluster`: the `stateless` and `window` jobs of bench_stateless
// and bench_window on a 2-node cluster on 127.0.0.1, against the same job
// embedded in one process, in the same run.
//
//   (a) embedded: sluice::execute in this process, parallelism 2, `workers`
//       threads (as the other benchmarks);
//   (b) cluster: this program started twice more (/proc/self/exe --role node
//       --cluster <generated file> --node n1|n2), n1 coordinating; every
//       operator at parallelism 2, so instance i runs on node i (round-robin).
//       `stateless` then sends no record between nodes (its edges are
//       forward); `window` sends about half of the events through a remote
//       channel (the key_by shuffle).
//
// (a) and (b) alternate, a,b,a,b,... `--repeat` pairs per case (default 3);
// every pair gives a ratio b/a; the BENCH line reports the medians, the
// ratio's min and max, and the load average seen.
//
// What (b)'s time is: the coordinator prints `job '...' finished in X s`,
// X being the time of its `execute` (actor system start, waiting for n2 to
// join, deployment, the job, telling n2 that it ended). The wait for n2 is
// taken out: from the coordinator's `listening` log line to n2's `tasks
// deployed here` line (spdlog timestamps, milliseconds, same clock). So
// cluster seconds = X - (deployed - listening); process start and exit are
// not in it. (a)'s time is `execute`'s, actor system start included, as in
// the other benchmarks. The wall time of the two node processes is printed in
// the BENCH-PAIR line for comparison.
//
// Results are checked: each node prints the totals of its sink instances
// (`PARTIAL results=... checksum=...`) and their sums must equal the
// hand-written loop's, as (a)'s must.
//
//   bench_cluster [--events N] [--case window|stateless] [--repeat PAIRS]
//                 [--timeout-s S] [runtime knobs of bench_common.hpp]
//
// Prints, per pair on stderr and per case on stdout:
//   BENCH-PAIR name=<case> pair=<i> embedded_s=<s> cluster_s=<s> cluster_wall_s=<s> ratio=<b/a>
//   loadavg=<l> BENCH name=<case> events=<n> seconds=<median cluster s> events_per_s=<median (b)>
//         baseline_events_per_s=<median (a)> ratio=<median b/a> ratio_min=<x> ratio_max=<y>
//         pairs=<k> failed_pairs=<f> loadavg=<first..last> results=<count>
// Figures only: timings are never asserted. A pair that fails (a node
// crashed, the job hung or produced other results) is reported with the node
// logs (kept in a temp directory) and left out; the others still run. Exits 1
// if any pair failed.
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <sstream>
#include <thread>
#include <unordered_map>

#include "bench_jobs.hpp"
#include "sluice/run.hpp"
#include "sluice/window/tumbling.hpp"

namespace {

namespace fs = std::filesystem;
using bench::event;

using bench::jobs::stateless_baseline;
using bench::jobs::stateless_job;
using bench::jobs::window_baseline;
using bench::jobs::window_job;

struct job_case {
  std::string base;         ///< "stateless" or "window"
  uint64_t default_events;  ///< about a second embedded on this machine
  bench::outcome (*baseline)(uint64_t);
  void (*build)(sluice::pipeline&, uint64_t, std::shared_ptr<bench::totals>);
};

const std::vector<job_case>& cases() {
  static const std::vector<job_case> all{
      {"stateless", 100'000'000, stateless_baseline, stateless_job},
      {"window", 15'000'000, window_baseline, window_job}};
  return all;
}

const job_case* find_case(const std::string& base) {
  for (auto& c : cases())
    if (c.base == base)
      return &c;
  return nullptr;
}

// -- options -----------------------------------------------------------------------

constexpr uint32_t parallelism = 2;  ///< one instance of every operator per node

struct cluster_options {
  bench::options common;
  uint32_t pairs = 3;
  bool events_given = false;
  int timeout_s = 180;
  // Hidden: how the benchmark starts itself as a node.
  std::string role, node, cluster_file, job;
};

/// Takes this program's own flags out of argv, hands the rest to
/// bench::parse. Defaults differing from the other benchmarks: 3 pairs, and
/// without --events 100,000,000 events for `stateless` and 15,000,000 for
/// `window` (each about a second embedded here).
cluster_options parse(int argc, char** argv) {
  cluster_options o;
  std::vector<char*> rest{argv[0]};
  bool repeat_given = false;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc)
        bench::usage(argv[0], (a + " needs a value").c_str());
      return argv[++i];
    };
    if (a == "--help" || a == "-h") {
      std::fprintf(stderr,
                   "%s: --repeat R runs R embedded/cluster pairs per case (default 3); --timeout-s "
                   "S bounds a job "
                   "(default 180); --events defaults to 100000000 (stateless) and 15000000 "
                   "(window); parallelism is always 2\n",
                   argv[0]);
      bench::usage(argv[0], nullptr);
    }
    if (a == "--role")
      o.role = value();
    else if (a == "--node")
      o.node = value();
    else if (a == "--cluster")
      o.cluster_file = value();
    else if (a == "--job")
      o.job = value();
    else if (a == "--timeout-s")
      o.timeout_s = static_cast<int>(bench::parse_uint(argv[0], a, value().c_str()));
    else {
      o.events_given |= a.rfind("--events", 0) == 0;
      repeat_given |= a.rfind("--repeat", 0) == 0;
      rest.push_back(argv[i]);
    }
  }
  o.common = bench::parse(static_cast<int>(rest.size()), rest.data());
  if (repeat_given)
    o.pairs = std::max(1u, o.common.repeat);
  if (o.timeout_s <= 0)
    bench::usage(argv[0], "--timeout-s must be positive");
  return o;
}

uint64_t events_of(const cluster_options& o, const job_case& c) {
  return o.events_given ? o.common.events : c.default_events;
}

sluice::runtime_config job_config(const cluster_options& o) {
  auto cfg = o.common.runtime(parallelism);
  cfg.timeout = std::chrono::seconds{o.timeout_s};
  return cfg;
}

// -- (b), a node process -----------------------------------------------------------

/// `--role node`: runs the job as node `--node` of `--cluster`, then prints
/// what its sink instances counted.
int run_node(const cluster_options& o) {
  const job_case* c = find_case(o.job);
  if (!c || o.node.empty() || o.cluster_file.empty()) {
    std::fprintf(stderr, "--role node needs --job stateless|window, --node and --cluster\n");
    return 2;
  }
  auto t = std::make_shared<bench::totals>();
  sluice::pipeline p{"cluster_" + c->base};
  c->build(p, o.common.events, t);
  auto cfg = job_config(o);
  cfg.cluster_file = o.cluster_file;
  cfg.node = o.node;
  cfg.print_summary = true;  // the coordinator's `finished in` line is the measurement
  const int rc = sluice::run(p, cfg);
  const auto r = t->get();
  std::printf("PARTIAL results=%llu checksum=%llu\n", static_cast<unsigned long long>(r.results),
              static_cast<unsigned long long>(r.checksum));
  std::fflush(stdout);
  return rc;
}

// -- (b), the driver ---------------------------------------------------------------

/// A port that was free a moment ago (bound with port 0, then released).
uint16_t free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0)
    throw std::runtime_error("socket() failed");
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  const bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
                  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0;
  ::close(fd);
  if (!ok)
    throw std::runtime_error("cannot find a free port on 127.0.0.1");
  return ntohs(a.sin_port);
}

std::string read_all(const fs::path& p) {
  std::ifstream in{p};
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

/// A child process, killed (SIGKILL) and reaped when this goes away unless
/// it was awaited. The child also dies with this process (PR_SET_PDEATHSIG).
class child {
public:
  child(std::vector<std::string> args, const fs::path& log) {
    std::vector<char*> argv;
    for (auto& a : args)
      argv.push_back(a.data());
    argv.push_back(nullptr);
    const std::string log_s = log.string();
    const pid_t parent = ::getpid();
    pid_ = ::fork();
    if (pid_ < 0)
      throw std::runtime_error("fork() failed");
    if (pid_ == 0) {  // only async-signal-safe calls until exec
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (::getppid() != parent)
        ::_exit(127);
      const int fd = ::open(log_s.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
      if (fd < 0)
        ::_exit(127);
      ::dup2(fd, 1);
      ::dup2(fd, 2);
      ::close(fd);
      ::execv(argv[0], argv.data());
      ::_exit(127);
    }
  }
  child(const child&) = delete;
  child& operator=(const child&) = delete;
  ~child() { kill(); }

  /// Exit code (128 + signal if killed), or nullopt if still running.
  std::optional<int> poll() {
    if (status_)
      return status_;
    int st = 0;
    if (::waitpid(pid_, &st, WNOHANG) == pid_)
      status_ = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    return status_;
  }

  void kill() {
    if (status_ || pid_ <= 0)
      return;
    ::kill(pid_, SIGKILL);
    int st = 0;
    ::waitpid(pid_, &st, 0);
    status_ = 128 + SIGKILL;
  }

private:
  pid_t pid_ = -1;
  std::optional<int> status_;
};

/// Seconds since midnight of an spdlog line `[HH:MM:SS.mmm] ...` that
/// contains `text`, or nullopt.
std::optional<double> log_time(const std::string& log, const std::string& text) {
  const size_t at = log.find(text);
  if (at == std::string::npos)
    return std::nullopt;
  const size_t bol = log.rfind('\n', at);
  const size_t start = bol == std::string::npos ? 0 : bol + 1;
  int h = 0, m = 0, s = 0, ms = 0;
  if (std::sscanf(log.c_str() + start, "[%d:%d:%d.%d]", &h, &m, &s, &ms) != 4)
    return std::nullopt;
  return h * 3600.0 + m * 60.0 + s + ms / 1000.0;
}

/// Sum of the `PARTIAL` lines of a node log.
std::optional<bench::outcome> partial(const std::string& log) {
  const size_t at = log.find("PARTIAL results=");
  if (at == std::string::npos)
    return std::nullopt;
  unsigned long long r = 0, c = 0;
  if (std::sscanf(log.c_str() + at, "PARTIAL results=%llu checksum=%llu", &r, &c) != 2)
    return std::nullopt;
  return bench::outcome{r, c};
}

struct cluster_run {
  double job_s = 0;   ///< coordinator's job time without the wait for n2
  double wall_s = 0;  ///< first process started .. both exited
};

/// Runs case `c` on a fresh 2-node cluster. Throws std::runtime_error with
/// the reason (and where the logs were kept) on failure.
cluster_run run_cluster(const cluster_options& o, const job_case& c,
                        const bench::outcome& expected) {
  static int serial = 0;
  const fs::path dir =
      fs::temp_directory_path() /
      ("sluice-bench-cluster-" + std::to_string(::getpid()) + "-" + std::to_string(++serial));
  fs::remove_all(dir);
  fs::create_directories(dir);
  const std::vector<std::string> names{"n1", "n2"};
  {
    std::ofstream f{dir / "cluster.toml"};
    // Generous heartbeat timeout: two cores shared with builds must not
    // make a busy node look dead.
    f << "name = \"bench\"\ncoordinator = \"n1\"\nsecret = \"bench-cluster-secret-0123456789\"\n"
      << "heartbeat_interval_ms = 100\nheartbeat_timeout_ms = 15000\nrestart = \"none\"\n";
    for (auto& n : names)
      f << "[[nodes]]\nname = \"" << n << "\"\nhost = \"127.0.0.1\"\nport = " << free_port()
        << "\nworkers = " << o.common.workers << "\nstate_dir = \"" << (dir / "state" / n).string()
        << "\"\n";
  }
  std::vector<std::string> base{fs::read_symlink("/proc/self/exe").string(),
                                "--role",
                                "node",
                                "--job",
                                c.base,
                                "--events",
                                std::to_string(events_of(o, c)),
                                "--cluster",
                                (dir / "cluster.toml").string(),
                                "--timeout-s",
                                std::to_string(o.timeout_s),
                                "--workers",
                                std::to_string(o.common.workers)};
  if (o.common.batch_size)
    base.insert(base.end(), {"--batch-size", std::to_string(o.common.batch_size)});
  if (o.common.credits)
    base.insert(base.end(), {"--credits", std::to_string(o.common.credits)});
  if (o.common.flush_ms >= 0)
    base.insert(base.end(), {"--flush-ms", std::to_string(o.common.flush_ms)});
  if (!o.common.chaining)
    base.emplace_back("--no-chaining");

  auto fail = [&](const std::string& why) -> std::runtime_error {
    std::string logs;
    for (auto& n : names)
      logs += "---- " + n + " ----\n" + read_all(dir / (n + ".log"));
    return std::runtime_error(why + " (logs kept in " + dir.string() + ")\n" + logs);
  };

  const auto t0 = bench::clock_type::now();
  std::vector<std::unique_ptr<child>> nodes;
  for (auto& n : names) {
    auto args = base;
    args.insert(args.end(), {"--node", n});
    nodes.push_back(std::make_unique<child>(std::move(args), dir / (n + ".log")));
  }
  const auto deadline = t0 + std::chrono::seconds{o.timeout_s + 30};
  std::vector<int> codes(nodes.size(), -1);
  for (;;) {
    bool all = true;
    for (size_t i = 0; i < nodes.size(); ++i)
      if (auto code = nodes[i]->poll())
        codes[i] = *code;
      else
        all = false;
    if (all)
      break;
    if (bench::clock_type::now() > deadline) {
      for (auto& n : nodes)
        n->kill();
      throw fail("the cluster did not finish within " + std::to_string(o.timeout_s + 30) +
                 " s: killed");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds{5});
  }
  const double wall = bench::seconds_since(t0);
  if (codes[0] != 0 || codes[1] != 0)
    throw fail("exit codes (128 + signal if killed): n1 " + std::to_string(codes[0]) + ", n2 " +
               std::to_string(codes[1]));

  const std::string n1 = read_all(dir / "n1.log"), n2 = read_all(dir / "n2.log");
  const std::string finished = "job 'cluster_" + c.base + "' finished in ";
  const size_t at = n1.find(finished);
  const auto listening = log_time(n1, "coordinator n1 listening");
  const auto deployed = log_time(n2, "tasks deployed here");
  const auto p1 = partial(n1), p2 = partial(n2);
  if (at == std::string::npos || !listening || !deployed || !p1 || !p2)
    throw fail("cannot find the summary, the log lines or the totals of both nodes");
  const double x = std::strtod(n1.c_str() + at + finished.size(), nullptr);
  double wait = *deployed - *listening;
  if (wait < 0)
    wait += 86400;  // midnight passed
  const bench::outcome got{p1->results + p2->results, p1->checksum + p2->checksum};
  if (got.results != expected.results || got.checksum != expected.checksum)
    throw fail("results differ: cluster results=" + std::to_string(got.results) +
               " checksum=" + std::to_string(got.checksum) + ", expected results=" +
               std::to_string(expected.results) + " checksum=" + std::to_string(expected.checksum));
  if (wait < 0 || wait > x)
    throw fail("implausible join wait " + std::to_string(wait) + " s");
  fs::remove_all(dir);
  return {x - wait, wall};
}

// -- (a) -------------------------------------------------------------------------

/// Runs case `c` embedded; its `execute` time in seconds. Throws on failure.
double run_embedded(const cluster_options& o, const job_case& c, const bench::outcome& expected) {
  auto t = std::make_shared<bench::totals>();
  sluice::pipeline p{"cluster_" + c.base};
  c.build(p, events_of(o, c), t);
  const auto cfg = job_config(o);
  const auto t0 = bench::clock_type::now();
  const auto report = sluice::execute(p, cfg);
  const double s = bench::seconds_since(t0);
  if (o.common.verbose || !report.ok)
    std::fputs(sluice::actors::format_summary(p, report, s).c_str(), stderr);
  if (!report.ok)
    throw std::runtime_error("embedded job failed: " + report.error);
  const auto got = t->get();
  if (got.results != expected.results || got.checksum != expected.checksum)
    throw std::runtime_error("embedded results differ: results=" + std::to_string(got.results) +
                             ", expected " + std::to_string(expected.results));
  return s;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

struct series {
  std::vector<double> embedded_s, cluster_s, ratio;
  std::string load_first, load_last;
  uint32_t failures = 0;  ///< pairs that failed (kept going: the others still measure)
};

}  // namespace

int main(int argc, char** argv) {
  const cluster_options o = parse(argc, argv);
  if (o.role == "node")
    return run_node(o);
  if (!o.role.empty())
    bench::usage(argv[0], "--role: only 'node' is known");

  std::vector<const job_case*> selected;
  std::vector<bench::outcome> expected;
  for (auto& c : cases())
    if (o.common.selected(c.base, "cluster_" + c.base + "_2nodes")) {
      selected.push_back(&c);
      expected.push_back(c.baseline(events_of(o, c)));  // the oracle; not timed
    }
  if (selected.empty()) {
    std::fprintf(stderr, "%s: no case selected\n", argv[0]);
    return 0;
  }

  std::vector<series> results(selected.size());
  for (uint32_t pair = 0; pair < o.pairs; ++pair)
    for (size_t k = 0; k < selected.size(); ++k) {
      auto& c = *selected[k];
      auto& r = results[k];
      const std::string name = "cluster_" + c.base + "_2nodes";
      const std::string load = bench::load_average();
      try {
        const double a = run_embedded(o, c, expected[k]);
        const auto b = run_cluster(o, c, expected[k]);
        r.embedded_s.push_back(a);
        r.cluster_s.push_back(b.job_s);
        r.ratio.push_back(b.job_s > 0 ? a / b.job_s : 0);  // events/s ratio b/a = time a / time b
        if (r.load_first.empty())
          r.load_first = load;
        r.load_last = bench::load_average();
        std::fprintf(stderr,
                     "BENCH-PAIR name=%s pair=%u embedded_s=%.3f cluster_s=%.3f "
                     "cluster_wall_s=%.3f ratio=%.3f "
                     "loadavg=%s\n",
                     name.c_str(), pair + 1, a, b.job_s, b.wall_s, r.ratio.back(), load.c_str());
      } catch (const std::exception& e) {
        std::fprintf(stderr, "BENCH-ERROR name=%s pair=%u: %s\n", name.c_str(), pair + 1, e.what());
        ++r.failures;
      }
    }

  bool failed = false;
  for (size_t k = 0; k < selected.size(); ++k) {
    auto& r = results[k];
    failed |= r.failures > 0;
    if (r.ratio.empty())
      continue;
    const double a = median(r.embedded_s), b = median(r.cluster_s);
    const uint64_t n = events_of(o, *selected[k]);
    const auto [lo, hi] = std::minmax_element(r.ratio.begin(), r.ratio.end());
    std::printf(
        "BENCH name=cluster_%s_2nodes events=%llu seconds=%.3f events_per_s=%.0f "
        "baseline_events_per_s=%.0f "
        "ratio=%.3f ratio_min=%.3f ratio_max=%.3f pairs=%zu failed_pairs=%u loadavg=%s..%s "
        "results=%llu\n",
        selected[k]->base.c_str(), static_cast<unsigned long long>(n), b,
        static_cast<double>(n) / b, static_cast<double>(n) / a, median(r.ratio), *lo, *hi,
        r.ratio.size(), r.failures, r.load_first.c_str(), r.load_last.c_str(),
        static_cast<unsigned long long>(expected[k].results));
    std::fflush(stdout);
  }
  return failed ? 1 : 0;
}
