#include "serial_worker.hpp"

#include <spdlog/spdlog.h>

#include <exception>

namespace sluice::net {

serial_worker::serial_worker(std::string name)
    : name_(std::move(name)), thread_([this] { run(); }) {}

serial_worker::~serial_worker() {
  stop();
}

bool serial_worker::post(std::function<void()> job) {
  {
    std::lock_guard lock{mu_};
    if (stopping_)
      return false;
    jobs_.push_back(std::move(job));
  }
  cv_.notify_one();
  return true;
}

void serial_worker::stop() {
  {
    std::lock_guard lock{mu_};
    stopping_ = true;
    jobs_.clear();
  }
  cv_.notify_all();
  if (thread_.joinable() && thread_.get_id() != std::this_thread::get_id())
    thread_.join();
}

void serial_worker::run() {
  for (;;) {
    std::function<void()> job;
    {
      std::unique_lock lock{mu_};
      cv_.wait(lock, [&] { return stopping_ || !jobs_.empty(); });
      if (stopping_)
        return;
      job = std::move(jobs_.front());
      jobs_.pop_front();
    }
    try {
      job();
    } catch (const std::exception& e) {
      spdlog::error("{}: a job failed: {}", name_, e.what());
    }
  }
}

}  // namespace sluice::net
