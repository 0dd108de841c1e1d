#pragma once

// Shared pieces of the Sluice benchmark programs (bench_window,
// bench_stateless, bench_wordcount): the event generator of the spec, command
// line options, a counting sink, timing and the BENCH line.
//
// Every program prints one line per case:
//   BENCH name=<case> events=<n> seconds=<s> events_per_s=<x>
//         baseline_events_per_s=<y> ratio=<x/y> results=<count>
// where the baseline is a hand-written single-threaded loop doing the same
// work, measured in the same process right before the Sluice run. Results
// (and a checksum) of baseline and Sluice must agree, else the program prints
// the difference to stderr and exits 1.

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <sys/resource.h>
#include <unistd.h>

#include <filesystem>
#include <system_error>

#include "sluice/actors/run.hpp"
#include "sluice/key_group.hpp"
#include "sluice/pipeline.hpp"

namespace bench {

using sluice::mix64;

/// One synthetic order event of the `window` and `stateless` cases.
struct event {
  uint64_t customer_id = 0;
  double amount = 0;
  int64_t event_time = 0;  ///< milliseconds
};

/// Event i of the spec: h = mix64(i), customer = h % 100000,
/// amount = ((h >> 32) % 10000) / 100.0, event time = i ms.
inline event make_event(uint64_t i) {
  const uint64_t h = mix64(i);
  return event{h % 100000, static_cast<double>((h >> 32) % 10000) / 100.0, static_cast<int64_t>(i)};
}

// -- options -------------------------------------------------------------------

struct options {
  uint64_t events = 10'000'000;
  std::vector<std::string> cases;  ///< empty = all
  std::vector<uint32_t> parallelism{1, 2};
  uint32_t repeat = 1;
  uint32_t workers = 2;
  uint32_t batch_size = 0;  ///< 0 = runtime default
  uint32_t credits = 0;     ///< 0 = runtime default
  int64_t flush_ms = -1;    ///< <0 = runtime default
  bool chaining = true;
  bool verbose = false;  ///< per-operator summary and CPU times on stderr
  /// "local": run with local recovery on (its logs recorded), checkpointing
  /// every 500 ms into a temporary state directory (the logs are truncated
  /// when checkpoints complete); empty: the runtime default (global, no
  /// checkpoints).
  std::string recovery;

  /// `name` is e.g. "window_p2"; `--case window` selects all parallelisms.
  bool selected(const std::string& base, const std::string& name) const {
    if (cases.empty())
      return true;
    for (auto& c : cases)
      if (c == base || c == name || c == "all")
        return true;
    return false;
  }

  sluice::runtime_config runtime(uint32_t par) const {
    sluice::runtime_config cfg;
    cfg.workers = workers;
    cfg.parallelism = par;
    if (batch_size)
      cfg.batch_size = batch_size;
    if (credits)
      cfg.credits = credits;
    if (flush_ms >= 0)
      cfg.flush_interval = std::chrono::milliseconds{flush_ms};
    cfg.chaining = chaining;
    cfg.print_summary = false;
    cfg.timeout = std::chrono::minutes{10};
    cfg.dead_letter_path = "/dev/null";
    if (!recovery.empty()) {
      static int runs = 0;
      cfg.recovery = recovery;
      cfg.state_dir =
          "/tmp/sluice-bench-state-" + std::to_string(::getpid()) + "-" + std::to_string(runs++);
      cfg.checkpoints.interval = std::chrono::milliseconds{500};
    }
    return cfg;
  }
};

[[noreturn]] inline void usage(const char* prog, const char* error) {
  if (error)
    std::fprintf(stderr, "%s: %s\n", prog, error);
  std::fprintf(
      stderr,
      "usage: %s [--events N] [--case NAME]... [--parallelism 1,2] [--repeat R]\n"
      "          [--workers W] [--batch-size B] [--credits C] [--flush-ms MS] [--no-chaining] "
      "[--verbose] [--recovery local|global]\n"
      "  --events N       events per case (default 10000000; wordcount: N/10 lines of 10 words)\n"
      "  --case NAME      run only this case: window, stateless, wordcount or e.g. window_p2\n"
      "                   (repeatable; programs without a matching case run nothing)\n"
      "  --parallelism L  comma-separated operator parallelisms (default 1,2)\n"
      "  --repeat R       run every case R times (default 1)\n"
      "  runtime knobs    as in sluice::runtime_config (defaults: workers 2, runtime defaults)\n"
      "  --recovery M     local or global, checkpointing every 500 ms into a temporary\n"
      "                   state directory (default: no checkpoints)\n",
      prog);
  std::exit(error ? 2 : 0);
}

inline uint64_t parse_uint(const char* prog, const std::string& flag, const char* s) {
  char* end = nullptr;
  errno = 0;
  unsigned long long v = std::strtoull(s, &end, 10);
  if (errno || end == s || *end || s[0] == '-')
    usage(prog, (flag + ": not a non-negative integer: " + s).c_str());
  return v;
}

inline options parse(int argc, char** argv) {
  options o;
  const char* prog = argv[0];
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    std::string v;
    bool has_value = false;
    if (auto eq = a.find('='); a.rfind("--", 0) == 0 && eq != std::string::npos) {
      v = a.substr(eq + 1);
      a = a.substr(0, eq);
      has_value = true;
    }
    auto value = [&]() -> const char* {
      if (has_value)
        return v.c_str();
      if (i + 1 >= argc)
        usage(prog, (a + " needs a value").c_str());
      return argv[++i];
    };
    if (a == "--help" || a == "-h") {
      usage(prog, nullptr);
    } else if (a == "--events") {
      o.events = parse_uint(prog, a, value());
    } else if (a == "--case") {
      o.cases.emplace_back(value());
    } else if (a == "--parallelism") {
      o.parallelism.clear();
      std::string list = value();
      size_t pos = 0;
      while (pos <= list.size()) {
        size_t comma = list.find(',', pos);
        if (comma == std::string::npos)
          comma = list.size();
        auto p = parse_uint(prog, a, list.substr(pos, comma - pos).c_str());
        if (p == 0 || p > 128)
          usage(prog, "--parallelism: values must be in 1..128");
        o.parallelism.push_back(static_cast<uint32_t>(p));
        pos = comma + 1;
      }
    } else if (a == "--repeat") {
      o.repeat = static_cast<uint32_t>(parse_uint(prog, a, value()));
    } else if (a == "--workers") {
      o.workers = static_cast<uint32_t>(parse_uint(prog, a, value()));
      if (o.workers == 0)
        usage(prog, "--workers must be at least 1");
    } else if (a == "--batch-size") {
      o.batch_size = static_cast<uint32_t>(parse_uint(prog, a, value()));
    } else if (a == "--credits") {
      o.credits = static_cast<uint32_t>(parse_uint(prog, a, value()));
    } else if (a == "--flush-ms") {
      o.flush_ms = static_cast<int64_t>(parse_uint(prog, a, value()));
    } else if (a == "--no-chaining") {
      o.chaining = false;
    } else if (a == "--verbose") {
      o.verbose = true;
    } else if (a == "--recovery") {
      o.recovery = value();
      if (o.recovery != "local" && o.recovery != "global")
        usage(prog, "--recovery must be local or global");
    } else {
      usage(prog, ("unknown argument: " + a).c_str());
    }
  }
  return o;
}

// -- measuring -------------------------------------------------------------------

using clock_type = std::chrono::steady_clock;

inline double seconds_since(clock_type::time_point t0) {
  return std::chrono::duration<double>(clock_type::now() - t0).count();
}

/// CPU time (user + system) of the whole process so far, all threads.
inline double process_cpu_seconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  auto secs = [](const timeval& t) {
    return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6;
  };
  return secs(u.ru_utime) + secs(u.ru_stime);
}

/// First field of /proc/loadavg (the machine is shared: a high load makes
/// wall-clock numbers noisy).
inline std::string load_average() {
  std::ifstream f{"/proc/loadavg"};
  std::string x;
  f >> x;
  return x.empty() ? "?" : x;
}

/// What a run produced: the number of results and a checksum over them
/// (e.g. the sum of all per-window counts), compared between baseline and
/// Sluice.
struct outcome {
  uint64_t results = 0;
  uint64_t checksum = 0;
};

/// Totals shared by all instances of a counting sink.
struct totals {
  std::atomic<uint64_t> results{0};
  std::atomic<uint64_t> checksum{0};
  outcome get() const { return {results.load(), checksum.load()}; }
};

/// Sink that counts records per batch (no lock or atomic per record) and
/// folds `uint64_t fold(const T&)` into a checksum; it publishes both into the
/// shared totals when it closes.
template <class T, class Fold>
class counting_sink final : public sluice::typed_sink<T> {
public:
  counting_sink(std::shared_ptr<totals> t, Fold fold)
      : totals_(std::move(t)), fold_(std::move(fold)) {}

  void process(size_t, sluice::batch_base& b) override {
    auto& rs = sluice::batch_cast<T>(b).records;
    n_ += rs.size();
    for (auto& r : rs)
      sum_ += fold_(r.value);
  }

  void close() override {
    totals_->results += std::exchange(n_, 0);
    totals_->checksum += std::exchange(sum_, 0);
  }

protected:
  void consume(sluice::record<T>&&) override {}

private:
  std::shared_ptr<totals> totals_;
  Fold fold_;
  uint64_t n_ = 0;
  uint64_t sum_ = 0;
};

/// Ends stream `s` in a counting sink.
template <class Stream, class Fold>
sluice::sink_ref count_into(Stream s, std::shared_ptr<totals> t, Fold fold) {
  using T = typename Stream::value_type;
  auto out = s.template then<int>(
      "count_sink", [t, fold] { return std::make_unique<counting_sink<T, Fold>>(t, fold); }, 0);
  return sluice::sink_ref{&out.owner(), out.node_id()};
}

/// Runs cases, checks them and prints BENCH lines; remembers failures.
class runner {
public:
  runner(int argc, char** argv) : opt_(parse(argc, argv)) {}

  const options& opt() const noexcept { return opt_; }

  /// Runs case `base` at every configured parallelism, `repeat` times.
  /// `baseline()` returns the hand-written loop's outcome; `build(p, totals)`
  /// fills pipeline `p` ending in a counting sink over `totals`. `events` is
  /// the number of events the case processes (for events/s).
  template <class Baseline, class Build>
  void run(const std::string& base, uint64_t events, Baseline baseline, Build build) {
    for (uint32_t rep = 0; rep < opt_.repeat; ++rep) {
      for (uint32_t par : opt_.parallelism) {
        const std::string name = base + "_p" + std::to_string(par);
        if (!opt_.selected(base, name))
          continue;
        ++ran_;

        const std::string load = load_average();
        auto t0 = clock_type::now();
        double c0 = process_cpu_seconds();
        const outcome b = baseline();
        const double base_s = seconds_since(t0);
        const double base_cpu = process_cpu_seconds() - c0;

        auto t = std::make_shared<totals>();
        sluice::pipeline p{name};
        build(p, t);
        const auto cfg = opt_.runtime(par);
        t0 = clock_type::now();
        c0 = process_cpu_seconds();
        const auto report = sluice::execute(p, cfg);
        const double s = seconds_since(t0);
        if (!cfg.state_dir.empty()) {
          std::error_code ec;
          std::filesystem::remove_all(cfg.state_dir, ec);
        }
        const double cpu = process_cpu_seconds() - c0;
        if (opt_.verbose || !report.ok)
          std::fputs(sluice::actors::format_summary(p, report, s).c_str(), stderr);
        if (!report.ok) {
          std::fprintf(stderr, "BENCH-ERROR name=%s: job failed: %s\n", name.c_str(),
                       report.error.c_str());
          ++failed_;
          continue;
        }
        const outcome o = t->get();
        if (o.results != b.results || o.checksum != b.checksum) {
          std::fprintf(stderr,
                       "BENCH-ERROR name=%s: results differ: sluice results=%llu checksum=%llu, "
                       "baseline results=%llu checksum=%llu\n",
                       name.c_str(), static_cast<unsigned long long>(o.results),
                       static_cast<unsigned long long>(o.checksum),
                       static_cast<unsigned long long>(b.results),
                       static_cast<unsigned long long>(b.checksum));
          ++failed_;
        }
        const double eps = s > 0 ? static_cast<double>(events) / s : 0;
        const double base_eps = base_s > 0 ? static_cast<double>(events) / base_s : 0;
        const double ratio = base_eps > 0 ? eps / base_eps : 0;
        std::printf(
            "BENCH name=%s events=%llu seconds=%.3f events_per_s=%.0f baseline_events_per_s=%.0f "
            "ratio=%.3f results=%llu\n",
            name.c_str(), static_cast<unsigned long long>(events), s, eps, base_eps, ratio,
            static_cast<unsigned long long>(o.results));
        std::fflush(stdout);
        if (opt_.verbose)
          std::fprintf(
              stderr,
              "BENCH-DETAIL name=%s baseline_seconds=%.3f baseline_cpu_s=%.3f sluice_cpu_s=%.3f "
              "loadavg_before=%s\n",
              name.c_str(), base_s, base_cpu, cpu, load.c_str());
      }
    }
  }

  /// Exit code: 1 if any case failed.
  int finish(const char* prog) const {
    if (ran_ == 0)
      std::fprintf(stderr, "%s: no case selected\n", prog);
    return failed_ ? 1 : 0;
  }

private:
  options opt_;
  int ran_ = 0;
  int failed_ = 0;
};

}  // namespace bench
