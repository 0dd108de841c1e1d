// Benchmark `window`: keyed tumbling 60 s event-time windows per customer
// computing count and sum of amount, against a hand-written single-threaded
// loop over an unordered_map keyed by (customer, window start).
//
//   bench_window [--events N] [--case window_p2] [--repeat R] ...
#include <cstdint>
#include <unordered_map>

#include "bench_common.hpp"
#include "sluice/window/tumbling.hpp"

namespace {

using bench::event;

constexpr int64_t window_ms = 60'000;

struct count_sum_acc {
  uint64_t count = 0;
  double sum = 0;
  friend bool operator==(const count_sum_acc&, const count_sum_acc&) = default;
  friend auto operator<=>(const count_sum_acc&, const count_sum_acc&) = default;
};

/// Aggregate function: count and sum of amount.
struct count_sum {
  using acc_type = count_sum_acc;
  acc_type create() const { return {}; }
  void add(acc_type& a, const event& e) const {
    ++a.count;
    a.sum += e.amount;
  }
  acc_type result(const acc_type& a) const { return a; }
};

/// Checksum contribution of one (customer, window) result: its count plus its
/// sum in cents, shifted apart (wrapping is fine: both sides wrap alike).
uint64_t result_checksum(const count_sum_acc& a) {
  return a.count + (static_cast<uint64_t>(a.sum * 100.0 + 0.5) << 24);  // sum >= 0: rounds to cents
}

/// Hand-written equivalent: one pass, state keyed by (customer, window start);
/// event time only increases, so when an event opens a new window every open
/// window has ended (watermark = event time - 1) and is emitted (counted).
bench::outcome baseline(uint64_t n) {
  struct key {
    uint64_t customer;
    int64_t start;
    bool operator==(const key&) const = default;
  };
  struct key_hash {
    size_t operator()(const key& k) const noexcept {
      return std::hash<uint64_t>{}(k.customer) ^ (std::hash<int64_t>{}(k.start) * 0x9E3779B97F4A7C15ull);
    }
  };
  std::unordered_map<key, count_sum_acc, key_hash> open;
  bench::outcome out;
  int64_t current = INT64_MIN;
  auto fire_all = [&] {
    for (auto& [k, acc] : open) {
      ++out.results;
      out.checksum += result_checksum(acc);
    }
    open.clear();
  };
  for (uint64_t i = 0; i < n; ++i) {
    const event e = bench::make_event(i);
    const int64_t start = sluice::window::window_start(e.event_time, 0, window_ms);
    if (start != current) {
      fire_all();
      current = start;
    }
    auto& acc = open[key{e.customer_id, start}];
    ++acc.count;
    acc.sum += e.amount;
  }
  fire_all();
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  bench::runner r{argc, argv};
  const uint64_t n = r.opt().events;
  r.run("window", n, [n] { return baseline(n); },
        [n](sluice::pipeline& p, std::shared_ptr<bench::totals> t) {
          auto windows =
              p.generate(n, [](uint64_t i) { return bench::make_event(i); })
                  .name("generate")
                  .with_watermarks(sluice::watermark_strategy<event>::bounded(
                      std::chrono::milliseconds{0}, [](const event& e) { return sluice::timestamp::of(e.event_time); }))
                  .key_by([](const event& e) { return e.customer_id; })
                  .window(sluice::window::tumbling::of(std::chrono::milliseconds{window_ms}))
                  .aggregate(count_sum{});
          windows.name("window");
          bench::count_into(windows, t, [](const auto& res) { return result_checksum(res.value); }).name("count");
        });
  return r.finish(argv[0]);
}
