// Benchmark `stateless`: map (amount *= 1.1) -> filter (amount >= 55.0) ->
// counting sink, against the same work as a hand-written single-threaded loop.
//
//   bench_stateless [--events N] [--case stateless_p2] [--repeat R] ...
#include <cstdint>

#include "bench_jobs.hpp"

int main(int argc, char** argv) {
  bench::runner r{argc, argv};
  const uint64_t n = r.opt().events;
  r.run(
      "stateless", n, [n] { return bench::jobs::stateless_baseline(n); },
      [n](sluice::pipeline& p, std::shared_ptr<bench::totals> t) {
        bench::jobs::stateless_job(p, n, t);
      });
  return r.finish(argv[0]);
}
