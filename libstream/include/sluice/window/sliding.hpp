#pragma once

#include "sluice/window/window.hpp"

namespace sluice::window {

/// Windows of `size` starting every `slide`; a record belongs to
/// ceil(size / slide) windows.
struct sliding {
  duration size;
  duration slide;
  duration offset{0};
  time_domain domain = time_domain::event;

  static sliding of(duration size, duration slide, duration offset = duration{0}) {
    return {size, slide, offset, time_domain::event};
  }
  static sliding processing(duration size, duration slide) {
    return {size, slide, duration{0}, time_domain::processing};
  }

  template <class F>
  void assign(int64_t t, F&& f) const {
    const int64_t last = window_start(t, offset.count(), slide.count());
    for (int64_t start = last; start > t - size.count(); start -= slide.count())
      f(time_window{start, start + size.count()});
  }
};

}  // namespace sluice::window
