#include "sluice/net/event_loop.hpp"

#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <mutex>
#include <system_error>

#include <sys/eventfd.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

namespace sluice::net {

// Shared between the owner and the loop thread, so that a loop thread that
// had to be detached never touches freed memory.
struct event_loop::impl {
  std::mutex mutex;
  std::condition_variable cv;
  bool ready = false;
  std::atomic<bool> stopping{false};  // also read without the mutex, between posted functions
  bool exited = false;
  bool wake_pending = false;
  std::string startup_error;
  std::deque<std::function<void()>> posted;
  kj::Own<const kj::Executor> executor;
  kj::AsyncIoContext* io = nullptr;
  // Posting must not block on the loop, and executeAsync needs an event loop
  // on the posting thread (CAF workers have none): an eventfd wakes the loop.
  int wake_fd = -1;

  impl() {
    wake_fd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (wake_fd < 0)
      throw std::system_error(errno, std::generic_category(), "event_loop: eventfd");
  }
  ~impl() { ::close(wake_fd); }

  void wake() {
    const uint64_t one = 1;
    // EAGAIN only when the counter is saturated: the loop is awake anyway.
    [[maybe_unused]] auto n = ::write(wake_fd, &one, sizeof one);
  }

  /// Runs posted functions whenever the eventfd fires, until stop.
  kj::Promise<void> drain(kj::AsyncInputStream& wake_in, uint64_t& buffer) {
    return wake_in.read(&buffer, sizeof buffer)
        .then([this, &wake_in, &buffer]() -> kj::Promise<void> {
          std::deque<std::function<void()>> batch;
          {
            std::lock_guard lock{mutex};
            if (stopping)
              return kj::READY_NOW;
            batch.swap(posted);
            wake_pending = false;
          }
          for (auto& f : batch) {
            // The destructor may have begun while an earlier function of this
            // batch ran: the rest is dropped, as if it had not been taken yet.
            if (stopping.load(std::memory_order_acquire))
              return kj::READY_NOW;
            try {
              f();
            } catch (const std::exception& e) {
              spdlog::error("event loop: posted function failed: {}", e.what());
            }
          }
          return drain(wake_in, buffer);
        });
  }

  void run() {
    try {
      auto context = kj::setupAsyncIo();
      auto wake_in = context.lowLevelProvider->wrapInputFd(
          wake_fd, kj::LowLevelAsyncIoProvider::ALREADY_CLOEXEC |
                       kj::LowLevelAsyncIoProvider::ALREADY_NONBLOCK);
      uint64_t buffer = 0;
      auto running = drain(*wake_in, buffer);
      {
        std::lock_guard lock{mutex};
        executor = kj::getCurrentThreadExecutor().addRef();
        io = &context;
        ready = true;
      }
      cv.notify_all();
      running.wait(context.waitScope);
      std::deque<std::function<void()>> dropped;
      {
        std::lock_guard lock{mutex};
        io = nullptr;
        dropped.swap(posted);
      }
      // `dropped`, `running` and the context are destroyed here, on the loop
      // thread, cancelling whatever was still pending.
    } catch (const std::exception& e) {
      std::lock_guard lock{mutex};
      startup_error = e.what();
      if (ready)
        spdlog::error("event loop stopped by an error: {}", e.what());
    }
    {
      std::lock_guard lock{mutex};
      ready = true;
      exited = true;
    }
    cv.notify_all();
  }
};

event_loop::event_loop() : impl_(std::make_shared<impl>()) {
  thread_ = std::thread{[self = impl_] {
    self->run();
  }};
  thread_id_ = thread_.get_id();
  std::unique_lock lock{impl_->mutex};
  impl_->cv.wait(lock, [&] { return impl_->ready; });
  if (impl_->exited) {
    lock.unlock();
    thread_.join();
    throw std::runtime_error("event_loop: could not start the KJ event loop: " +
                             impl_->startup_error);
  }
}

event_loop::~event_loop() {
  {
    std::lock_guard lock{impl_->mutex};
    impl_->stopping = true;
  }
  impl_->wake();
  std::unique_lock lock{impl_->mutex};
  const bool exited = impl_->cv.wait_for(lock, stop_timeout, [&] { return impl_->exited; });
  lock.unlock();
  if (exited) {
    thread_.join();
  } else {
    // The thread owns a reference to impl_, so leaving it behind is safe.
    spdlog::error(
        "event loop did not stop within {} s (a handler is blocking the loop thread); "
        "leaving it behind",
        stop_timeout.count());
    thread_.detach();
  }
}

bool event_loop::post(std::function<void()> f) {
  bool wake = false;
  {
    std::lock_guard lock{impl_->mutex};
    if (impl_->stopping || impl_->exited)
      return false;
    impl_->posted.push_back(std::move(f));
    wake = !std::exchange(impl_->wake_pending, true);
  }
  if (wake)
    impl_->wake();
  return true;
}

kj::AsyncIoContext& event_loop::io() const {
  if (!on_loop_thread())
    throw std::logic_error("event_loop::io: only on the loop thread");
  return *impl_->io;
}

const kj::Executor& event_loop::executor() const {
  return *impl_->executor;
}

}  // namespace sluice::net
