#pragma once

#include <chrono>
#include <cstdint>
#include <limits>

namespace sluice {

/// A point in event time or processing time, in milliseconds since the epoch.
/// Distinct from plain integers so that a timestamp is never confused with a
/// count or an index. Totally ordered; `min()` means "no time yet" and `max()`
/// means "end of time" (the watermark sent when an input ends).
struct timestamp {
  int64_t ms = std::numeric_limits<int64_t>::min();

  static constexpr timestamp min() { return {std::numeric_limits<int64_t>::min()}; }
  static constexpr timestamp max() { return {std::numeric_limits<int64_t>::max()}; }
  static constexpr timestamp of(int64_t ms) { return {ms}; }

  friend constexpr auto operator<=>(timestamp, timestamp) = default;
};

/// A length of time in milliseconds (window sizes, lateness, intervals).
using duration = std::chrono::milliseconds;

/// Adds a duration to a timestamp, saturating at the ends of the range so that
/// `max() + lateness` stays `max()`.
constexpr timestamp operator+(timestamp t, duration d) {
  const int64_t x = d.count();
  if (x > 0 && t.ms > std::numeric_limits<int64_t>::max() - x)
    return timestamp::max();
  if (x < 0 && t.ms < std::numeric_limits<int64_t>::min() - x)
    return timestamp::min();
  return {t.ms + x};
}

constexpr timestamp operator-(timestamp t, duration d) {
  return t + duration{-d.count()};
}

/// Processing-time source. The runtime uses `system_clock`; tests use
/// `manual_clock` and advance it by hand, so no test needs to sleep.
class clock {
public:
  virtual ~clock() = default;
  virtual timestamp now() const = 0;
};

/// Wall-clock time.
class system_clock final : public clock {
public:
  timestamp now() const override {
    using namespace std::chrono;
    return {
        duration_cast<milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count()};
  }
};

/// A clock that only moves when told to (operator harness, unit tests).
class manual_clock final : public clock {
public:
  explicit manual_clock(timestamp start = timestamp::of(0)) : now_(start) {}
  timestamp now() const override { return now_; }
  void advance(duration d) { now_ = now_ + d; }
  void set(timestamp t) { now_ = t; }

private:
  timestamp now_;
};

}  // namespace sluice
