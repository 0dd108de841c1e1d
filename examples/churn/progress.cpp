#include "progress.hpp"

#include <fmt/format.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <fstream>
#include <mutex>

namespace churn {

std::atomic<uint64_t>& lines_read() {
  alignas(64) static std::atomic<uint64_t> n{0};
  return n;
}

uint64_t data_lines(const std::vector<std::filesystem::path>& files, uint64_t times) {
  uint64_t n = 0;
  for (auto& f : files) {
    std::ifstream in{f, std::ios::binary};
    char buf[1 << 16];
    uint64_t lines = 0;
    char last = '\n';
    while (in.read(buf, sizeof buf) || in.gcount() > 0) {
      const auto got = static_cast<size_t>(in.gcount());
      for (size_t i = 0; i < got; ++i)
        lines += buf[i] == '\n';
      last = buf[got - 1];
    }
    lines += last != '\n';  // a last line without newline
    n += (lines > 0 ? lines - 1 : 0) * times;
  }
  return n;
}

struct progress_line::impl {
  uint64_t total;
  std::chrono::milliseconds period;
  std::chrono::steady_clock::time_point start = std::chrono::steady_clock::now();
  std::mutex mtx;
  std::condition_variable cv;
  bool stop = false;
  std::thread thread;

  void show(bool last) {
    const double s =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const std::string line = render(lines_read().load(std::memory_order_relaxed), total, s);
    std::fprintf(stderr, "\r%s\033[K%s", line.c_str(), last ? "\n" : "");
    std::fflush(stderr);
  }
};

progress_line::progress_line(uint64_t total, int64_t period_ms) : impl_(std::make_unique<impl>()) {
  impl_->total = total;
  impl_->period = std::chrono::milliseconds{period_ms};
  impl_->thread = std::thread([p = impl_.get()] {
    std::unique_lock<std::mutex> lock{p->mtx};
    while (!p->cv.wait_for(lock, p->period, [p] { return p->stop; }))
      p->show(false);
  });
}

progress_line::~progress_line() {
  {
    std::lock_guard<std::mutex> guard{impl_->mtx};
    impl_->stop = true;
  }
  impl_->cv.notify_all();
  impl_->thread.join();
  impl_->show(true);
}

std::string progress_line::render(uint64_t done, uint64_t total, double seconds) {
  const double pct = total > 0 ? 100.0 * static_cast<double>(done) / static_cast<double>(total) : 0;
  const double rate = seconds > 0 ? static_cast<double>(done) / seconds : 0;
  return fmt::format("progress: {} of {} input lines ({:.0f} %), {:.0f} lines/s, {:.1f} s", done,
                     total, std::min(pct, 100.0), rate, seconds);
}

}  // namespace churn
