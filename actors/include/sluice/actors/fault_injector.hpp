#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace sluice::actors {

/// Moments at which a fault rule can crash the whole process (kill -9 style,
/// no cleanup), to test recovery from the state directory alone.
enum class crash_point {
  after_snapshot_write,  ///< A task's snapshot is in LMDB but not acknowledged.
  before_sink_commit,    ///< A checkpoint completed (committed) but sinks were not told.
  after_sink_commit,     ///< Sinks were told to publish checkpoint n.
  during_recovery,       ///< While tasks restore state after a restart.
};

/// Moments at which a fault rule can delay the calling thread's work, to test
/// that a slow peer never stalls the rest of a cluster.
enum class delay_point {
  deploy_reply,  ///< A cluster node answers a deploy request late.
};

/// Throws thrown by fault rules, so tests can tell them from real failures.
class injected_fault : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

/// Thrown by a `kill` rule: the task actor hosting the operator is killed
/// as by `send_exit(kill)`, without reporting a failure (an actor killed
/// from outside, as the supervisor sees it).
class injected_kill : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

/// In-process fault injection, configured by a rule list (runtime option
/// `--faults` or the environment variable SLUICE_FAULTS):
///
///   throw:operator=NAME,instance=I,record=K   throw when instance I of NAME reaches its K-th input
///   record throw:probability=P,seed=S[,operator=NAME] throw per batch with probability P (seeded)
///   kill:operator=NAME,instance=I,record=K    kill the task actor of instance I of NAME when it
///                                             reaches its K-th input record (no failure report)
///   crash:at=POINT[,checkpoint=N]             _exit(137) at POINT (after_snapshot_write,
///                                             before_sink_commit, after_sink_commit,
///                                             during_recovery)
///   delay:at=deploy_reply,ms=M                the first time POINT is reached, the work there is
///                                             done M ms late (the caller decides how, never
///                                             blocking an actor's thread)
///
/// Rules are separated by ';'. A `throw` rule with a record fires once per
/// process; a crash rule fires the first time its point (and checkpoint, if
/// given) is reached. Thread-safe: tasks on different threads consult it.
class fault_injector {
public:
  /// Parses rules; throws std::invalid_argument naming the bad rule.
  explicit fault_injector(std::string_view rules);
  fault_injector() = default;

  /// From SLUICE_FAULTS if set, else `configured`.
  static std::shared_ptr<fault_injector> from_env_or(std::string_view configured);

  bool empty() const noexcept { return rules_.empty(); }

  /// Called before an operator instance processes records [first, first+n)
  /// (1-based): throws injected_fault if a rule says so.
  void on_records(std::string_view op, uint32_t instance, uint64_t first, uint64_t n);

  /// Crashes the process if a crash rule matches.
  void at(crash_point p, uint64_t checkpoint);

  /// How late the work at `p` must be done: zero unless a delay rule
  /// matches (each delay rule fires once).
  std::chrono::milliseconds delay(delay_point p);

private:
  struct rule {
    enum class kind { throw_, kill, crash, delay } what = kind::throw_;
    std::optional<delay_point> delay_at;
    std::chrono::milliseconds delay{0};
    std::string op;
    std::optional<uint32_t> instance;
    std::optional<uint64_t> record;
    double probability = 0;
    std::optional<crash_point> point;
    std::optional<uint64_t> checkpoint;
    bool fired = false;
    std::mt19937_64 rng{0};
  };
  std::mutex mtx_;
  std::vector<rule> rules_;
};

/// The process-wide injector used by the runtime (set by `execute`).
fault_injector& faults();
void install_faults(std::shared_ptr<fault_injector> f);

}  // namespace sluice::actors
