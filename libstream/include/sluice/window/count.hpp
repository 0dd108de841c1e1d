#pragma once

#include <cstdint>
#include <stdexcept>

namespace sluice::window {

/// Count windows: every `size` records of a key form one window, fired when
/// it is full. Incomplete count windows are not emitted at end of input (as in
/// Flink); the result's window spans the timestamps of its records. Count
/// windows have no event-time lateness, so they have no late records.
struct count {
  uint64_t size;

  static count of(uint64_t size) {
    count c{size};
    c.validate();
    return c;
  }

  /// Throws std::invalid_argument unless size >= 1.
  void validate() const {
    if (size == 0)
      throw std::invalid_argument("count windows need a size of at least 1");
  }
};

}  // namespace sluice::window
