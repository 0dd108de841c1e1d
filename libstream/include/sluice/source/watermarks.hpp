#pragma once

#include <functional>
#include <optional>

#include "sluice/time.hpp"

namespace sluice {

/// How a source stamps records with event time and derives watermarks.
///
/// `bounded(max_out_of_orderness, ts)` stamps each record with `ts(record)`
/// and, after each batch, declares watermark = highest timestamp seen -
/// out-of-orderness - 1 ms (as in Flink). `with_idleness(d)` marks the source
/// instance idle downstream when it has produced nothing for `d` of processing
/// time, so that one quiet input does not hold back event time for the rest.
template <class T>
struct watermark_strategy {
  std::function<timestamp(const T&)> timestamp_of;
  duration out_of_orderness{0};
  std::optional<duration> idleness;

  static watermark_strategy bounded(duration out_of_orderness,
                                    std::function<timestamp(const T&)> ts) {
    return {std::move(ts), out_of_orderness, std::nullopt};
  }
  static watermark_strategy monotonous(std::function<timestamp(const T&)> ts) {
    return bounded(duration{0}, std::move(ts));
  }

  watermark_strategy with_idleness(duration d) && {
    idleness = d;
    return std::move(*this);
  }
  watermark_strategy with_idleness(duration d) const& {
    auto copy = *this;
    copy.idleness = d;
    return copy;
  }
};

}  // namespace sluice
