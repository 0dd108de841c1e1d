// Benchmarks of local recovery (`--recovery local`) on the `window` job at
// parallelism 2 (100,000 customers: keyed state of up to 100,000 keys per
// window), checkpointing every 500 ms into a temporary state directory:
//
//   local_recovery_overhead  the job with local recovery on (in-flight and
//       determinant logs recorded, no failure) against the same job with
//       global recovery, in A/B pairs in the same process; ratio = median of
//       the pairs' (local events/s) / (global events/s). Also reports the
//       most memory the logs held (log_peak_bytes).
//   recovery_local / recovery_global  the job with one injected exception in
//       window instance 1 at 60 % of its input, recovered locally or
//       globally, against a failure-free run of the same job with the same
//       recovery mode (baseline): extra_seconds is what the failure cost;
//       restored_from the checkpoint it restored; for local also catch_up_ms
//       (failure until the replacement caught up), others_records (records
//       the other instances took in meanwhile: the job kept running) and
//       replayed_batches.
//
// The recovery cases run without chaining, so that the counting sink (which
// keeps no checkpointed state) is a task of its own, not the failed one.
// BENCH lines as the other programs (ratio = events/s against the baseline
// run). The local runs must give exactly the baseline's results (their sinks
// are never restarted); a global restart re-runs the sinks from the
// checkpoint, so its count is not compared.
//
//   bench_recovery [--events N] [--case NAME] [--repeat R] [--workers W]
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "bench_jobs.hpp"

namespace {

namespace fs = std::filesystem;

struct run_result {
  sluice::actors::job_report report;
  double seconds = 0;
  bench::outcome out;
};

struct temp_state {
  fs::path path;
  temp_state()
      : path(fs::temp_directory_path() / ("sluice-bench-recovery-" + std::to_string(::getpid()))) {
    fs::remove_all(path);
  }
  ~temp_state() { fs::remove_all(path); }
};

run_result run_window(const bench::options& opt, uint64_t n, const std::string& recovery,
                      const std::string& faults, bool chaining = true) {
  temp_state dir;
  auto t = std::make_shared<bench::totals>();
  sluice::pipeline p{"recovery_bench"};
  bench::jobs::window_job(p, n, t);
  auto cfg = opt.runtime(2);
  cfg.state_dir = dir.path.string();
  cfg.checkpoints.interval = std::chrono::milliseconds{500};
  cfg.recovery = recovery;
  cfg.chaining = cfg.chaining && chaining;
  cfg.restart = "fixed-delay:attempts=3,delay=1ms";
  cfg.faults = faults;
  // The logs' memory bound (default: the runtime's, 64 MiB); to tell the
  // cost of spilling from the cost of logging.
  if (const char* mb = std::getenv("SLUICE_BENCH_INFLIGHT_MB"))
    cfg.inflight_log_bytes = std::strtoull(mb, nullptr, 10) << 20;
  run_result r;
  const auto t0 = bench::clock_type::now();
  r.report = sluice::execute(p, cfg);
  r.seconds = bench::seconds_since(t0);
  r.out = t->get();
  return r;
}

bool check_ok(const char* name, const run_result& r) {
  if (r.report.ok)
    return true;
  std::fprintf(stderr, "BENCH-ERROR name=%s: job failed: %s\n", name, r.report.error.c_str());
  return false;
}

}  // namespace

int main(int argc, char** argv) {
  bench::options opt = bench::parse(argc, argv);
  if (opt.events == 10'000'000)
    opt.events = 4'000'000;  // this program's default: several runs per case
  const uint64_t n = opt.events;
  int failed = 0, ran = 0;

  if (opt.selected("local_recovery_overhead", "local_recovery_overhead")) {
    ++ran;
    const uint32_t pairs = std::max<uint32_t>(3, opt.repeat);
    std::vector<double> ratios, local_eps, global_eps;
    uint64_t peak = 0;
    for (uint32_t k = 0; k < pairs; ++k) {
      auto g = run_window(opt, n, "global", "");
      auto l = run_window(opt, n, "local", "");
      if (!check_ok("local_recovery_overhead", g) || !check_ok("local_recovery_overhead", l)) {
        ++failed;
        break;
      }
      if (l.out.results != g.out.results || l.out.checksum != g.out.checksum) {
        std::fprintf(stderr, "BENCH-ERROR name=local_recovery_overhead: results differ\n");
        ++failed;
      }
      global_eps.push_back(static_cast<double>(n) / g.seconds);
      local_eps.push_back(static_cast<double>(n) / l.seconds);
      ratios.push_back(local_eps.back() / global_eps.back());
      peak = std::max(peak, l.report.recovery_log_peak_bytes);
    }
    if (!ratios.empty()) {
      auto median = [](std::vector<double> v) {
        std::sort(v.begin(), v.end());
        return v[v.size() / 2];
      };
      std::printf(
          "BENCH name=local_recovery_overhead events=%llu pairs=%zu events_per_s=%.0f "
          "baseline_events_per_s=%.0f ratio=%.3f log_peak_bytes=%llu\n",
          static_cast<unsigned long long>(n), ratios.size(), median(local_eps), median(global_eps),
          median(ratios), static_cast<unsigned long long>(peak));
      std::fflush(stdout);
    }
  }

  const bool want_local = opt.selected("recovery_local", "recovery_local");
  const bool want_global = opt.selected("recovery_global", "recovery_global");
  if (want_local || want_global) {
    // Window instance 1 gets about half the events; fail it at 60 % of them.
    const std::string fault = "throw:operator=window,instance=1,record=" +
                              std::to_string(std::max<uint64_t>(1, n * 3 / 10));
    for (uint32_t rep = 0; rep < std::max<uint32_t>(1, opt.repeat); ++rep) {
      for (const char* mode : {"local", "global"}) {
        const bool local = std::string{mode} == "local";
        if (!(local ? want_local : want_global))
          continue;
        ++ran;
        const std::string name = std::string{"recovery_"} + mode;
        // Not chained: the counting sink keeps no checkpointed state, so it
        // must not be in the failed task (it is, chained to the window).
        auto free = run_window(opt, n, mode, "", false);
        if (!check_ok(name.c_str(), free)) {
          ++failed;
          continue;
        }
        const double base_eps = static_cast<double>(n) / free.seconds;
        auto r = run_window(opt, n, mode, fault, false);
        if (!check_ok(name.c_str(), r)) {
          ++failed;
          continue;
        }
        const auto* rec = r.report.recoveries.empty() ? nullptr : &r.report.recoveries.front();
        if (!rec || rec->mode != mode) {
          std::fprintf(stderr, "BENCH-ERROR name=%s: the failure was recovered %s\n", name.c_str(),
                       rec ? rec->mode.c_str() : "not at all");
          ++failed;
          continue;
        }
        if (local && (r.out.results != free.out.results || r.out.checksum != free.out.checksum)) {
          std::fprintf(stderr, "BENCH-ERROR name=%s: results differ from the failure-free run\n",
                       name.c_str());
          ++failed;
        }
        const double eps = static_cast<double>(n) / r.seconds;
        std::printf(
            "BENCH name=%s events=%llu seconds=%.3f events_per_s=%.0f baseline_events_per_s=%.0f "
            "ratio=%.3f extra_seconds=%.3f catch_up_ms=%lld others_records=%llu "
            "replayed_batches=%llu restored_from=%llu\n",
            name.c_str(), static_cast<unsigned long long>(n), r.seconds, eps, base_eps,
            eps / base_eps, r.seconds - free.seconds,
            static_cast<long long>(local ? rec->duration_ms : -1),
            static_cast<unsigned long long>(local ? rec->others_records : 0),
            static_cast<unsigned long long>(local ? rec->batches_replayed : 0),
            static_cast<unsigned long long>(rec->restored_from));
        std::fflush(stdout);
      }
    }
  }
  if (ran == 0)
    std::fprintf(stderr, "%s: no case selected\n", argv[0]);
  return failed ? 1 : 0;
}
