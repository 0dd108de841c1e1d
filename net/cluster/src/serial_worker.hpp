#pragma once
// A thread that runs posted jobs one after another, in the order posted.
// The cluster node runs its blocking network calls here (deploying to the
// other nodes, cancelling an attempt, connecting a link), so that no CAF
// worker thread and no event loop thread ever waits for the network.

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

namespace sluice::net {

/// Lifecycle: constructed running; `stop` drops the jobs not started yet,
/// waits for the running one and joins. `post` after `stop` drops the job.
/// Thread-safe.
class serial_worker {
public:
  explicit serial_worker(std::string name);
  ~serial_worker();
  serial_worker(const serial_worker&) = delete;
  serial_worker& operator=(const serial_worker&) = delete;

  /// Queues `job`; false (job dropped) once stopping.
  bool post(std::function<void()> job);
  void stop();

private:
  void run();

  std::string name_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> jobs_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace sluice::net
