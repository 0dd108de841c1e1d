// Benchmark `stateless`: map (amount *= 1.1) -> filter (amount >= 55.0) ->
// counting sink, against the same work as a hand-written single-threaded loop.
//
//   bench_stateless [--events N] [--case stateless_p2] [--repeat R] ...
#include <cstdint>

#include "bench_common.hpp"

namespace {

using bench::event;

event scale(event e) {
  e.amount *= 1.1;
  return e;
}

bool large(const event& e) { return e.amount >= 55.0; }

/// Hand-written equivalent. Results: records passing; checksum: sum of their
/// customer ids.
bench::outcome baseline(uint64_t n) {
  bench::outcome out;
  for (uint64_t i = 0; i < n; ++i) {
    const event e = scale(bench::make_event(i));
    if (large(e)) {
      ++out.results;
      out.checksum += e.customer_id;
    }
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  bench::runner r{argc, argv};
  const uint64_t n = r.opt().events;
  r.run("stateless", n, [n] { return baseline(n); },
        [n](sluice::pipeline& p, std::shared_ptr<bench::totals> t) {
          auto passed = p.generate(n, [](uint64_t i) { return bench::make_event(i); })
                            .name("generate")
                            .map([](event e) { return scale(e); })
                            .name("map")
                            .filter([](const event& e) { return large(e); })
                            .name("filter");
          bench::count_into(passed, t, [](const event& e) { return e.customer_id; }).name("count");
        });
  return r.finish(argv[0]);
}
