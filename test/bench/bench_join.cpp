// Benchmark `interval_join`: two keyed streams of n/2 events each (100 000
// keys, event time i ms on both sides), every left event joined with the right
// events of its key within [-50 s, +50 s] — about one partner per event —
// against a hand-written single-threaded loop that merges the two streams in
// event-time order with per-key buffers in flat vectors.
//
//
// `window_join`: the same two streams joined per key in tumbling 100 s
// windows (about one partner per event again), against a loop that collects
// each window's times per key in reused flat vectors and pairs them when the
// window ends.
//
//   bench_join [--events N] [--case interval_join_p2] [--repeat R] ...
#include <cstdint>
#include <vector>

#include "bench_common.hpp"
#include "sluice/fields.hpp"

namespace bench {

struct side_event {
  uint64_t key = 0;
  int64_t ts = 0;
};
SLUICE_FIELDS(side_event, key, ts)

namespace {

constexpr uint64_t keys = 100'000;
constexpr int64_t lower = -50'000;
constexpr int64_t upper = 50'000;

side_event left_event(uint64_t i) {
  return {mix64(i) % keys, static_cast<int64_t>(i)};
}
side_event right_event(uint64_t i) {
  return {mix64(i ^ 0x5bd1e995u) % keys, static_cast<int64_t>(i)};
}
uint64_t pair_checksum(int64_t a, int64_t b) {
  return static_cast<uint64_t>(a) * 31 + static_cast<uint64_t>(b);
}

/// Both streams in event-time order (left i, then right i); per key, the
/// buffered times of each side in a vector with a read head. Times only grow,
/// so a buffered right event older than `a.ts + lower` and a buffered left
/// event older than `b.ts - upper` can meet no later event: the head skips them.
outcome baseline(uint64_t half) {
  struct buf {
    std::vector<int64_t> ts;
    size_t head = 0;
    void drop_before(int64_t t) {
      while (head < ts.size() && ts[head] < t)
        ++head;
      if (head > 64 && head * 2 > ts.size()) {
        ts.erase(ts.begin(), ts.begin() + static_cast<std::ptrdiff_t>(head));
        head = 0;
      }
    }
  };
  std::vector<buf> left(keys), right(keys);
  outcome out;
  for (uint64_t i = 0; i < half; ++i) {
    const auto a = left_event(i);
    auto& r = right[a.key];
    r.drop_before(a.ts + lower);  // right b with b.ts < a.ts + lower meets no later left
    for (size_t j = r.head; j < r.ts.size(); ++j)
      if (r.ts[j] <= a.ts + upper) {
        ++out.results;
        out.checksum += pair_checksum(a.ts, r.ts[j]);
      }
    left[a.key].ts.push_back(a.ts);
    const auto b = right_event(i);
    auto& l = left[b.key];
    l.drop_before(b.ts - upper);  // left a with a.ts + upper < b.ts meets no later right
    for (size_t j = l.head; j < l.ts.size(); ++j)
      if (l.ts[j] >= b.ts - upper && l.ts[j] <= b.ts - lower) {
        ++out.results;
        out.checksum += pair_checksum(l.ts[j], b.ts);
      }
    right[b.key].ts.push_back(b.ts);
  }
  return out;
}

constexpr int64_t window_ms = 100'000;

/// Both streams in event-time order; each window's times per key and side in
/// vectors reused across windows, the keys touched in a list; at a window's
/// end, every pair of every touched key.
outcome window_baseline(uint64_t half) {
  std::vector<std::vector<int64_t>> left(keys), right(keys);
  std::vector<uint64_t> touched;
  std::vector<uint8_t> is_touched(keys, 0);
  outcome out;
  auto close = [&] {
    for (auto k : touched) {
      for (auto a : left[k])
        for (auto b : right[k]) {
          ++out.results;
          out.checksum += pair_checksum(a, b);
        }
      left[k].clear();
      right[k].clear();
      is_touched[k] = 0;
    }
    touched.clear();
  };
  auto touch = [&](uint64_t k) {
    if (!is_touched[k]) {
      is_touched[k] = 1;
      touched.push_back(k);
    }
  };
  int64_t window = 0;
  for (uint64_t i = 0; i < half; ++i) {
    const auto a = left_event(i);
    if (a.ts / window_ms != window) {
      close();
      window = a.ts / window_ms;
    }
    left[a.key].push_back(a.ts);
    touch(a.key);
    const auto b = right_event(i);
    right[b.key].push_back(b.ts);
    touch(b.key);
  }
  close();
  return out;
}

void window_job(sluice::pipeline& p, uint64_t half, std::shared_ptr<totals> t) {
  auto by_time = [](const side_event& e) {
    return sluice::timestamp::of(e.ts);
  };
  auto l = p.generate(half, [](uint64_t i) { return left_event(i); })
               .name("left")
               .with_watermarks(sluice::watermark_strategy<side_event>::bounded(
                   std::chrono::milliseconds{0}, by_time));
  auto r = p.generate(half, [](uint64_t i) { return right_event(i); })
               .name("right")
               .with_watermarks(sluice::watermark_strategy<side_event>::bounded(
                   std::chrono::milliseconds{0}, by_time));
  auto key = [](const side_event& e) {
    return e.key;
  };
  auto joined = l.join(r)
                    .where(key)
                    .equal_to(key)
                    .window(sluice::window::tumbling::of(sluice::duration{window_ms}))
                    .apply([](const side_event& a, const side_event& b) {
                      return pair_checksum(a.ts, b.ts);
                    });
  joined.name("window_join");
  count_into(joined, t, [](uint64_t c) { return c; }).name("count");
}

void job(sluice::pipeline& p, uint64_t half, std::shared_ptr<totals> t) {
  auto by_time = [](const side_event& e) {
    return sluice::timestamp::of(e.ts);
  };
  auto l = p.generate(half, [](uint64_t i) { return left_event(i); })
               .name("left")
               .with_watermarks(sluice::watermark_strategy<side_event>::bounded(
                   std::chrono::milliseconds{0}, by_time));
  auto r = p.generate(half, [](uint64_t i) { return right_event(i); })
               .name("right")
               .with_watermarks(sluice::watermark_strategy<side_event>::bounded(
                   std::chrono::milliseconds{0}, by_time));
  auto joined =
      l.key_by([](const side_event& e) { return e.key; })
          .interval_join(r.key_by([](const side_event& e) { return e.key; }))
          .between(sluice::duration{lower}, sluice::duration{upper})
          .process([](const side_event& a, const side_event& b, sluice::collector<uint64_t>& out) {
            out.emit(pair_checksum(a.ts, b.ts));
          });
  joined.name("interval_join");
  count_into(joined, t, [](uint64_t c) { return c; }).name("count");
}

}  // namespace
}  // namespace bench

int main(int argc, char** argv) {
  bench::runner r{argc, argv};
  const uint64_t n = r.opt().events;
  const uint64_t half = n / 2;
  r.run(
      "interval_join", 2 * half, [half] { return bench::baseline(half); },
      [half](sluice::pipeline& p, std::shared_ptr<bench::totals> t) { bench::job(p, half, t); });
  r.run(
      "window_join", 2 * half, [half] { return bench::window_baseline(half); },
      [half](sluice::pipeline& p, std::shared_ptr<bench::totals> t) {
        bench::window_job(p, half, t);
      });
  return r.finish(argv[0]);
}
