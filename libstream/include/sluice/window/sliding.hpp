#pragma once

#include <stdexcept>

#include "sluice/window/window.hpp"

namespace sluice::window {

/// Windows of `size` starting every `slide`; a record belongs to every
/// window that contains it (size / slide of them when slide divides size).
/// With slide > size (hopping windows with gaps) a record may belong to none;
/// such records are not late and produce no result.
struct sliding {
  duration size;
  duration slide;
  duration offset{0};
  time_domain domain = time_domain::event;

  static sliding of(duration size, duration slide, duration offset = duration{0}) {
    check_positive(size, slide);
    return {size, slide, offset, time_domain::event};
  }
  static sliding processing(duration size, duration slide) {
    check_positive(size, slide);
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
