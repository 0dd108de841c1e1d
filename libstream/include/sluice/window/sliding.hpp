#pragma once

#include "sluice/window/window.hpp"

namespace sluice::window {

/// Windows of `size` starting every `slide` (at k*slide + offset); a record
/// belongs to every window that contains it (size / slide of them when slide
/// divides size). With slide > size (hopping windows with gaps) a record may
/// belong to none: the window operator then reports it late if it is late,
/// and otherwise counts it as skipped. Built with `of` or `processing`, which
/// reject a size or slide <= 0 and an offset with |offset| >= slide (as
/// Flink's SlidingEventTimeWindows does).
struct sliding {
  duration size;
  duration slide;
  duration offset{0};
  time_domain domain = time_domain::event;

  static sliding of(duration size, duration slide, duration offset = duration{0}) {
    sliding s{size, slide, offset, time_domain::event};
    s.validate();
    return s;
  }
  static sliding processing(duration size, duration slide) {
    sliding s{size, slide, duration{0}, time_domain::processing};
    s.validate();
    return s;
  }

  /// Throws std::invalid_argument, naming the values, unless size > 0,
  /// slide > 0 and |offset| < slide.
  void validate() const {
    check_positive("sliding", "size", size);
    check_positive("sliding", "slide", slide);
    check_offset("sliding", "slide", offset, slide);
  }

  template <class F>
  void assign(int64_t t, F&& f) const {
    const int64_t last = window_start(t, offset.count(), slide.count());
    for (int64_t start = last; start > t - size.count(); start -= slide.count())
      f(time_window{start, start + size.count()});
  }
};

}  // namespace sluice::window
