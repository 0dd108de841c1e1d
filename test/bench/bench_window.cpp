// Benchmark `window`: keyed tumbling 60 s event-time windows per customer
// computing count and sum of amount, against a hand-written single-threaded
// loop over an unordered_map keyed by (customer, window start).
//
//   bench_window [--events N] [--case window_p2] [--repeat R] ...
#include <cstdint>

#include "bench_jobs.hpp"

int main(int argc, char** argv) {
  bench::runner r{argc, argv};
  const uint64_t n = r.opt().events;
  r.run(
      "window", n, [n] { return bench::jobs::window_baseline(n); },
      [n](sluice::pipeline& p, std::shared_ptr<bench::totals> t) {
        bench::jobs::window_job(p, n, t);
      });
  return r.finish(argv[0]);
}
