#pragma once

#include "sluice/window/window.hpp"

namespace sluice::window {

/// Fixed-size, non-overlapping windows [k*size + offset, (k+1)*size + offset).
struct tumbling {
  duration size;
  duration offset{0};
  time_domain domain = time_domain::event;

  /// Event-time tumbling windows of `size`.
  static tumbling of(duration size, duration offset = duration{0}) {
    check_positive(size);
    return {size, offset, time_domain::event};
  }
  /// Processing-time tumbling windows: results every `size` of wall-clock time.
  static tumbling processing(duration size) {
    check_positive(size);
    return {size, duration{0}, time_domain::processing};
  }

  template <class F>
  void assign(int64_t t, F&& f) const {
    const int64_t start = window_start(t, offset.count(), size.count());
    f(time_window{start, start + size.count()});
  }
};

}  // namespace sluice::window
