#pragma once

#include <cstdint>

#include "sluice/record.hpp"
#include "sluice/time.hpp"

namespace sluice::actors {

/// One element on a channel, in FIFO order with the data.
struct channel_element {
  enum class kind {
    batch,      ///< Records (needs a credit).
    watermark,  ///< Event time advanced to `wm`.
    idle,       ///< The sender went idle: do not wait for its watermarks.
    active,     ///< The sender is active again; `wm` repeats its last watermark.
    eos,        ///< End of stream.
    barrier,    ///< Checkpoint barrier `checkpoint`.
    latency,    ///< Latency marker: a source emitted it at wall-clock `marked_us`.
  };
  kind k = kind::batch;
  batch_ptr batch;
  timestamp wm;             ///< For watermarks, and the last watermark for `active`.
  uint64_t checkpoint = 0;  ///< For barriers.
  int64_t marked_us = 0;    ///< For latency markers (µs since the epoch).
};

}  // namespace sluice::actors
