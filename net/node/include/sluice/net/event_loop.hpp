#pragma once

#include <chrono>
#include <exception>
#include <functional>
#include <memory>
#include <stdexcept>
#include <thread>
#include <type_traits>
#include <utility>

#include <kj/async-io.h>
#include <kj/async.h>

namespace sluice::net {

/// A thread running a KJ async-io event loop: every Cap'n Proto object of the
/// node service (server, links, their connections) lives on it and is touched
/// only there (KJ objects belong to one thread).
///
/// Lifecycle: the constructor starts the thread and returns once the loop is
/// up; the destructor stops the loop, cancels whatever still runs on it and
/// joins the thread (waiting at most `stop_timeout`; a loop stuck in a
/// handler is detached and reported instead of hanging the caller). Destroy
/// every node_server and peer_link on this loop before the loop itself.
///
/// Threads: `call` and `post` may be used from any thread (CAF workers, test
/// threads, the loop thread itself).
class event_loop {
public:
  static constexpr std::chrono::seconds stop_timeout{10};

  event_loop();
  ~event_loop();
  event_loop(const event_loop&) = delete;
  event_loop& operator=(const event_loop&) = delete;

  /// Runs `f` on the loop thread and returns its result, blocking the caller
  /// until it is done. If `f` returns a kj::Promise<T>, waits for the promise
  /// and returns the T. An exception thrown by `f` reaches the caller with its
  /// type; a rejected promise arrives as kj::Exception (a std::exception).
  /// On the loop thread itself `f` just runs; waiting for a promise there
  /// would deadlock, so that case throws std::logic_error.
  template <class F>
  auto call(F&& f) {
    using R = std::invoke_result_t<F&>;
    if (on_loop_thread()) {
      if constexpr (is_promise<R>::value)
        throw std::logic_error("event_loop::call: cannot wait for a promise on the loop thread");
      else
        return f();
    } else {
      std::exception_ptr error;
      auto wrapped = [&]() -> R {
        try {
          return f();
        } catch (...) {
          error = std::current_exception();
          throw;
        }
      };
      try {
        return executor().executeSync(wrapped);
      } catch (...) {
        if (error)
          std::rethrow_exception(error);
        throw;
      }
    }
  }

  /// Queues `f` to run on the loop thread and returns at once (never blocks
  /// on the loop). Functions posted from one thread run in the order posted.
  /// Returns false (and drops `f`) once the loop is stopping.
  bool post(std::function<void()> f);

  /// True on the loop's own thread.
  bool on_loop_thread() const noexcept { return std::this_thread::get_id() == thread_id_; }

  /// The loop's async-io context (network, timer). Loop thread only.
  kj::AsyncIoContext& io() const;

private:
  template <class T>
  struct is_promise : std::false_type {};
  template <class T>
  struct is_promise<kj::Promise<T>> : std::true_type {};

  struct impl;

  const kj::Executor& executor() const;

  std::shared_ptr<impl> impl_;
  std::thread thread_;
  std::thread::id thread_id_;
};

}  // namespace sluice::net
