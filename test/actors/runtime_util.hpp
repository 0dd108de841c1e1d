#pragma once

#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <random>
#include <thread>
#include <vector>

#include "sluice/actors/clock.hpp"
#include "sluice/actors/run.hpp"

namespace test_util {

using namespace std::chrono_literals;

/// A runtime config for tests: small batches so that many batches, credits
/// and watermarks flow, and a timeout so that a hang fails instead of blocking.
inline sluice::runtime_config config(uint32_t parallelism, uint32_t workers = 2) {
  sluice::runtime_config cfg;
  cfg.workers = workers;
  cfg.parallelism = parallelism;
  cfg.batch_size = 64;
  cfg.credits = 4;
  cfg.flush_interval = 2ms;
  cfg.print_summary = false;
  cfg.timeout = 120s;
  return cfg;
}

/// Moves a job's test clock forward by `step` every `every` of real time
/// while it exists (for jobs whose processing time must pass on its own).
class clock_driver {
public:
  clock_driver(std::shared_ptr<sluice::actors::test_clock> c, sluice::duration step,
               std::chrono::microseconds every)
      : thread_([this, c = std::move(c), step, every] {
          while (!stop_.load()) {
            std::this_thread::sleep_for(every);
            c->advance(step);
          }
        }) {}
  ~clock_driver() {
    stop_.store(true);
    thread_.join();
  }
  clock_driver(const clock_driver&) = delete;
  clock_driver& operator=(const clock_driver&) = delete;

private:
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

/// A bank transaction event with bounded disorder: event i happens at about
/// i * 10 ms, shifted back by up to `disorder` ms.
struct event {
  uint32_t customer;
  int64_t cents;
  int64_t ts;
  friend bool operator==(const event&, const event&) = default;
};

inline event make_event(uint64_t i, uint64_t seed, uint32_t customers, int64_t disorder) {
  uint64_t h = sluice::mix64(i ^ (seed * 0x9E3779B97F4A7C15ull));
  int64_t jitter =
      disorder > 0 ? static_cast<int64_t>((h >> 20) % static_cast<uint64_t>(disorder + 1)) : 0;
  return event{static_cast<uint32_t>(h % customers), static_cast<int64_t>((h >> 40) % 10000),
               static_cast<int64_t>(i) * 10 - jitter};
}

/// Count and sum of cents, as an aggregate function.
struct count_sum {
  using acc_type = std::pair<int64_t, int64_t>;
  acc_type create() const { return {0, 0}; }
  void add(acc_type& a, const event& e) const {
    ++a.first;
    a.second += e.cents;
  }
  void merge(acc_type& a, acc_type&& b) const {
    a.first += b.first;
    a.second += b.second;
  }
  acc_type result(const acc_type& a) const { return a; }
};

using result_t = sluice::window::window_result<uint32_t, std::pair<int64_t, int64_t>>;

template <class T>
std::vector<T> sorted(std::vector<T> v) {
  std::sort(v.begin(), v.end());
  return v;
}

inline void require_ok(const sluice::actors::job_report& r) {
  BOOST_REQUIRE_MESSAGE(r.ok, "job failed: " << r.error);
}

}  // namespace test_util
