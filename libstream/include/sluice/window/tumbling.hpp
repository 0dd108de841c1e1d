#pragma once

#include "sluice/window/window.hpp"

namespace sluice::window {

/// Fixed-size, non-overlapping windows [k*size + offset, (k+1)*size + offset).
/// Built with `of` or `processing`, which reject a size <= 0 and an offset
/// with |offset| >= size (as Flink's TumblingEventTimeWindows does).
struct tumbling {
  duration size;
  duration offset{0};
  time_domain domain = time_domain::event;

  /// Event-time tumbling windows of `size`, shifted by `offset`
  /// (|offset| < size, e.g. -8 h for days in UTC+8).
  static tumbling of(duration size, duration offset = duration{0}) {
    tumbling t{size, offset, time_domain::event};
    t.validate();
    return t;
  }
  /// Processing-time tumbling windows: results every `size` of wall-clock time.
  static tumbling processing(duration size) {
    tumbling t{size, duration{0}, time_domain::processing};
    t.validate();
    return t;
  }

  /// Throws std::invalid_argument, naming the values, unless size > 0 and
  /// |offset| < size. The pipeline calls it when the window is used, so an
  /// assigner built field by field is checked too.
  void validate() const {
    check_positive("tumbling", "size", size);
    check_offset("tumbling", "size", offset, size);
  }

  template <class F>
  void assign(int64_t t, F&& f) const {
    const int64_t start = window_start(t, offset.count(), size.count());
    f(time_window{start, start + size.count()});
  }
};

}  // namespace sluice::window
