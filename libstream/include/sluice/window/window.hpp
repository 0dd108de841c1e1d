#pragma once

#include <cstdint>
#include <functional>
#include <limits>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>

#include "sluice/hash.hpp"
#include "sluice/time.hpp"

namespace sluice::window {

/// Which clock drives a window: event time (timestamps and watermarks) or
/// processing time (the wall clock at arrival: the micro-batch mode).
enum class time_domain {
  event,       ///< Assigned by record timestamp, fired by watermarks.
  processing,  ///< Assigned by arrival time, fired by processing-time timers.
};

/// A half-open interval of time [start, end) in milliseconds.
struct time_window {
  int64_t start = 0;
  int64_t end = 0;

  /// The last timestamp inside the window; the window fires when the
  /// watermark reaches it.
  timestamp max_timestamp() const noexcept { return timestamp::of(end - 1); }
  friend constexpr bool operator==(const time_window&, const time_window&) = default;
  friend constexpr auto operator<=>(const time_window&, const time_window&) = default;
};

/// What a window operator emits: the key, the window and the aggregate. Its
/// record timestamp is `window.max_timestamp()`.
template <class K, class R>
struct window_result {
  K key;
  time_window window;
  R value;
  friend bool operator==(const window_result&, const window_result&) = default;
  friend auto operator<=>(const window_result&, const window_result&) = default;
};

/// Throws std::invalid_argument, naming the values, unless `length` (the
/// `what` of a `kind` window, e.g. "size" of "tumbling") is positive.
inline void check_positive(const char* kind, const char* what, duration length) {
  if (length.count() <= 0)
    throw std::invalid_argument(std::string{kind} + " window " + what + " must be positive, got " +
                                std::to_string(length.count()) + " ms");
}

/// Throws std::invalid_argument, naming the values, unless |offset| < period.
/// Flink rejects larger offsets too: windows start every `period`, so an
/// offset of a whole period or more would silently mean `offset % period`.
inline void check_offset(const char* kind, const char* period_name, duration offset,
                         duration period) {
  const int64_t o = offset.count();
  // -INT64_MIN overflows; such an offset is out of range for any period.
  if (o == std::numeric_limits<int64_t>::min() || (o < 0 ? -o : o) >= period.count())
    throw std::invalid_argument(std::string{kind} + " window offset must satisfy |offset| < " +
                                period_name + ", got offset " + std::to_string(o) + " ms and " +
                                period_name + " " + std::to_string(period.count()) + " ms");
}

/// Floor of `t` to a multiple of `size` shifted by `offset` (negative-safe).
constexpr int64_t window_start(int64_t t, int64_t offset, int64_t size) {
  int64_t r = (t - offset) % size;
  if (r < 0)
    r += size;
  return t - r;
}

/// Adapts a reduce function `T f(T, T)` to the aggregate-function interface.
template <class T, class F>
struct reduce_aggregate {
  F f;
  using acc_type = std::optional<T>;
  acc_type create() const { return std::nullopt; }
  void add(acc_type& acc, const T& x) const {
    if (acc)
      acc = std::invoke(f, std::move(*acc), x);
    else
      acc = x;
  }
  void merge(acc_type& acc, acc_type&& other) const {
    if (!other)
      return;
    if (acc)
      acc = std::invoke(f, std::move(*acc), std::move(*other));
    else
      acc = std::move(other);
  }
  T result(const acc_type& acc) const { return *acc; }
};

/// The result type of an aggregate function `Agg`.
template <class Agg>
using aggregate_result_t = std::decay_t<decltype(std::declval<const Agg&>().result(
    std::declval<const typename Agg::acc_type&>()))>;

}  // namespace sluice::window

template <>
struct std::hash<sluice::window::time_window> {
  size_t operator()(const sluice::window::time_window& w) const noexcept {
    return sluice::hash_combine(std::hash<int64_t>{}(w.start), std::hash<int64_t>{}(w.end));
  }
};
