// Benchmark `metrics`: what serving and scraping the live metrics costs the
// data path. The `window` job at parallelism 2 runs with no HTTP endpoint and
// with one that a client scrapes (GET /metrics and /api/operators) every
// second — and every 100 ms, to show the headroom — alternating the order in
// every repeat so that drift of a shared machine does not favour one side.
// The BENCH line of a scraped run names the plain run of the same repeat as
// its baseline: ratio = scraped events/s ÷ plain events/s (target: >= 0.97).
//
//   bench_metrics [--events N] [--repeat R] [--workers W] ...
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <thread>

#include "bench_jobs.hpp"
#include "sluice/net/http_client.hpp"
#include "sluice/run.hpp"

namespace {

using clock_type = std::chrono::steady_clock;

struct run_result {
  double seconds = 0;
  uint64_t scrapes = 0;
  bool ok = false;
};

/// One run of the window job; with `scrape_ms` > 0 it serves HTTP on an
/// ephemeral port and a client thread scrapes it that often.
run_result run_once(const bench::options& o, uint64_t n, int scrape_ms) {
  auto t = std::make_shared<bench::totals>();
  sluice::pipeline p{"window_p2"};
  bench::jobs::window_job(p, n, t);
  auto cfg = o.runtime(2);
  std::unique_ptr<sluice::http_endpoint> http;
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> scrapes{0};
  std::thread scraper;
  if (scrape_ms > 0) {
    cfg.http_port = 0;
    http = sluice::serve_http(cfg);
    scraper = std::thread{[&, port = http->port()] {
      sluice::net::http_client client;
      while (!stop.load()) {
        auto a = client.request("GET", "127.0.0.1", port, "/metrics", {},
                                std::chrono::milliseconds{2000});
        auto b = client.request("GET", "127.0.0.1", port, "/api/operators", {},
                                std::chrono::milliseconds{2000});
        if (a.answered() && a.status == 200 && b.answered() && b.status == 200)
          ++scrapes;
        for (int waited = 0; waited < scrape_ms && !stop.load(); waited += 10)
          std::this_thread::sleep_for(std::chrono::milliseconds{10});
      }
    }};
  }
  const auto t0 = clock_type::now();
  const auto report = sluice::execute(p, cfg);
  run_result r;
  r.seconds = std::chrono::duration<double>(clock_type::now() - t0).count();
  stop = true;
  if (scraper.joinable())
    scraper.join();
  r.scrapes = scrapes.load();
  r.ok = report.ok;
  if (!report.ok)
    std::fprintf(stderr, "BENCH-ERROR name=window_p2: job failed: %s\n", report.error.c_str());
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  bench::runner r{argc, argv};
  const auto& o = r.opt();
  // Long enough for several scrapes per run at one per second.
  const uint64_t n = o.events == 10'000'000 ? 40'000'000 : o.events;
  if (!o.selected("metrics", "metrics_p2"))
    return 0;
  int failed = 0;
  for (uint32_t rep = 0; rep < o.repeat; ++rep) {
    for (int scrape_ms : {1000, 100}) {
      run_result plain, scraped;
      if (rep % 2 == 0) {
        plain = run_once(o, n, 0);
        scraped = run_once(o, n, scrape_ms);
      } else {
        scraped = run_once(o, n, scrape_ms);
        plain = run_once(o, n, 0);
      }
      if (!plain.ok || !scraped.ok) {
        ++failed;
        continue;
      }
      const double plain_eps = static_cast<double>(n) / plain.seconds;
      const double scraped_eps = static_cast<double>(n) / scraped.seconds;
      std::printf(
          "BENCH name=window_p2_scraped_every_%dms events=%llu seconds=%.3f events_per_s=%.0f "
          "baseline_events_per_s=%.0f ratio=%.3f scrapes=%llu baseline=window_p2_not_served\n",
          scrape_ms, static_cast<unsigned long long>(n), scraped.seconds, scraped_eps, plain_eps,
          scraped_eps / plain_eps, static_cast<unsigned long long>(scraped.scrapes));
      std::fflush(stdout);
    }
  }
  return failed ? 1 : 0;
}
