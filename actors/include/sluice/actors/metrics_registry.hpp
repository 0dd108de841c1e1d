#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

/// Live metrics of the operator instances running in this process, read by
/// whoever serves them (the HTTP endpoint of `sluice::run`, tests) while the
/// job runs. Tasks own their entries and publish into them once per batch
/// (relaxed atomic stores on the task's thread), so reading costs the data
/// path nothing; an entry disappears when its task ends.
namespace sluice::actors {

/// One operator instance's figures, as last published by its task.
struct live_operator {
  std::string job, name, uid;
  uint32_t instance = 0;
  uint32_t parallelism = 0;
  std::atomic<uint64_t> records_in{0};
  std::atomic<uint64_t> records_out{0};
  std::atomic<uint64_t> dead_letters{0};
  std::atomic<uint64_t> unconsumed{0};
  std::atomic<uint64_t> backpressure_events{0};
  /// Event time (ms) the operator has reached; INT64_MIN: none yet.
  std::atomic<int64_t> watermark_ms{INT64_MIN};
};

/// A copy of one entry, for rendering.
struct operator_sample {
  std::string job, name, uid;
  uint32_t instance = 0, parallelism = 0;
  uint64_t records_in = 0, records_out = 0, dead_letters = 0, unconsumed = 0,
           backpressure_events = 0;
  int64_t watermark_ms = INT64_MIN;
};

class metrics_registry {
public:
  /// The registry of this process.
  static metrics_registry& process();

  /// A new entry, listed while the returned pointer lives.
  std::shared_ptr<live_operator> add(std::string job, std::string name, std::string uid,
                                     uint32_t instance, uint32_t parallelism);

  /// Every live entry, by job, operator and instance.
  std::vector<operator_sample> sample() const;

  /// Prometheus text exposition format (version 0.0.4) of `sample()`,
  /// with `now_ms` (wall clock) for the watermark lag.
  static std::string prometheus(const std::vector<operator_sample>& s, int64_t now_ms);
  /// The same as a JSON object: {"operators": [...]}.
  static std::string json(const std::vector<operator_sample>& s, int64_t now_ms);

private:
  mutable std::mutex mtx_;
  mutable std::vector<std::weak_ptr<live_operator>> entries_;
};

}  // namespace sluice::actors
