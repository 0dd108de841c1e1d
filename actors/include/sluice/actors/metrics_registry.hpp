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
  /// Sources: how much of the input is read (source_base::progress).
  bool is_source = false;
  std::atomic<uint64_t> input_done{0};
  std::atomic<uint64_t> input_total{0};
};

/// One job's figures, as last published by its supervisor (each tick).
struct live_job {
  std::string job;
  int64_t started_ms = 0;  ///< wall clock at the start of the run
  std::atomic<uint64_t> checkpoints_completed{0};
  std::atomic<uint64_t> checkpoints_aborted{0};
  std::atomic<uint64_t> last_checkpoint{0};  ///< id of the latest completed one, 0: none
  std::atomic<uint64_t> restarts{0};
  std::atomic<uint64_t> failures{0};  ///< failures seen, also those recovered from
};

struct job_sample {
  std::string job;
  int64_t started_ms = 0;
  uint64_t checkpoints_completed = 0, checkpoints_aborted = 0, last_checkpoint = 0, restarts = 0,
           failures = 0;
};

/// A copy of one entry, for rendering.
struct operator_sample {
  std::string job, name, uid;
  uint32_t instance = 0, parallelism = 0;
  uint64_t records_in = 0, records_out = 0, dead_letters = 0, unconsumed = 0,
           backpressure_events = 0;
  int64_t watermark_ms = INT64_MIN;
  bool is_source = false;
  uint64_t input_done = 0, input_total = 0;
};

class metrics_registry {
public:
  /// The registry of this process.
  static metrics_registry& process();

  /// A new entry, listed while the returned pointer lives.
  std::shared_ptr<live_operator> add(std::string job, std::string name, std::string uid,
                                     uint32_t instance, uint32_t parallelism,
                                     bool is_source = false);

  /// A new job entry (its supervisor's), listed while the pointer lives.
  std::shared_ptr<live_job> add_job(std::string job, int64_t started_ms);

  /// Every live entry, by job, operator and instance.
  std::vector<operator_sample> sample() const;
  /// The live entries of `job`, oldest first (holding one keeps it readable
  /// after its task ended).
  std::vector<std::shared_ptr<live_operator>> entries_of(const std::string& job) const;
  /// Every live job entry, by name.
  std::vector<job_sample> jobs() const;

  /// Prometheus text exposition format (version 0.0.4) of the samples, with
  /// `now_ms` (wall clock) for the watermark lag and the uptime.
  static std::string prometheus(const std::vector<operator_sample>& s,
                                const std::vector<job_sample>& jobs, int64_t now_ms);
  /// The operators as a JSON object: {"operators": [...]}.
  static std::string json(const std::vector<operator_sample>& s, int64_t now_ms);
  /// The jobs as a JSON object: {"jobs": [...]}.
  static std::string jobs_json(const std::vector<job_sample>& jobs, int64_t now_ms);

private:
  mutable std::mutex mtx_;
  mutable std::vector<std::weak_ptr<live_operator>> entries_;
  mutable std::vector<std::weak_ptr<live_job>> jobs_;
};

}  // namespace sluice::actors
