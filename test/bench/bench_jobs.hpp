#pragma once
// The `stateless` and `window` jobs, each with its hand-written
// single-threaded equivalent: bench_stateless and bench_window run them
// embedded, bench_cluster on a 2-node cluster, all on the same definitions.

#include <chrono>
#include <cstdint>
#include <memory>
#include <unordered_map>

#include "bench_common.hpp"
#include "sluice/fields.hpp"
#include "sluice/window/tumbling.hpp"

namespace bench {

// Records cross nodes with their type's codec (bench_cluster).
SLUICE_FIELDS(event, customer_id, amount, event_time)

namespace jobs {

// -- stateless: map (amount *= 1.1) -> filter (amount >= 55.0) -> count --------

inline event scale(event e) {
  e.amount *= 1.1;
  return e;
}

inline bool large(const event& e) {
  return e.amount >= 55.0;
}

/// Hand-written equivalent. Results: records passing; checksum: sum of their
/// customer ids.
inline outcome stateless_baseline(uint64_t n) {
  outcome out;
  for (uint64_t i = 0; i < n; ++i) {
    const event e = scale(make_event(i));
    if (large(e)) {
      ++out.results;
      out.checksum += e.customer_id;
    }
  }
  return out;
}

inline void stateless_job(sluice::pipeline& p, uint64_t n, std::shared_ptr<totals> t) {
  auto passed = p.generate(n, [](uint64_t i) { return make_event(i); })
                    .name("generate")
                    .map([](event e) { return scale(e); })
                    .name("map")
                    .filter([](const event& e) { return large(e); })
                    .name("filter");
  count_into(passed, t, [](const event& e) { return e.customer_id; }).name("count");
}

// -- window: keyed tumbling 60 s event-time windows, count and sum -------------

inline constexpr int64_t window_ms = 60'000;

struct count_sum_acc {
  uint64_t count = 0;
  double sum = 0;
  friend bool operator==(const count_sum_acc&, const count_sum_acc&) = default;
  friend auto operator<=>(const count_sum_acc&, const count_sum_acc&) = default;
};
SLUICE_FIELDS(count_sum_acc, count, sum)

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
inline uint64_t result_checksum(const count_sum_acc& a) {
  return a.count + (static_cast<uint64_t>(a.sum * 100.0 + 0.5) << 24);  // sum >= 0: rounds to cents
}

/// Hand-written equivalent: one pass, state keyed by (customer, window start);
/// event time only increases, so when an event opens a new window every open
/// window has ended (watermark = event time - 1) and is emitted (counted).
inline outcome window_baseline(uint64_t n) {
  struct key {
    uint64_t customer;
    int64_t start;
    bool operator==(const key&) const = default;
  };
  struct key_hash {
    size_t operator()(const key& k) const noexcept {
      return std::hash<uint64_t>{}(k.customer) ^
             (std::hash<int64_t>{}(k.start) * 0x9E3779B97F4A7C15ull);
    }
  };
  std::unordered_map<key, count_sum_acc, key_hash> open;
  outcome out;
  int64_t current = INT64_MIN;
  auto fire_all = [&] {
    for (auto& [k, acc] : open) {
      ++out.results;
      out.checksum += result_checksum(acc);
    }
    open.clear();
  };
  for (uint64_t i = 0; i < n; ++i) {
    const event e = make_event(i);
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

inline void window_job(sluice::pipeline& p, uint64_t n, std::shared_ptr<totals> t) {
  auto windows = p.generate(n, [](uint64_t i) { return make_event(i); })
                     .name("generate")
                     .with_watermarks(sluice::watermark_strategy<event>::bounded(
                         std::chrono::milliseconds{0},
                         [](const event& e) { return sluice::timestamp::of(e.event_time); }))
                     .key_by([](const event& e) { return e.customer_id; })
                     .window(sluice::window::tumbling::of(std::chrono::milliseconds{window_ms}))
                     .aggregate(count_sum{});
  windows.name("window");
  count_into(windows, t, [](const auto& res) { return result_checksum(res.value); }).name("count");
}

}  // namespace jobs
}  // namespace bench
