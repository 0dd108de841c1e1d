#pragma once

#include <utility>

#include "sluice/operator.hpp"

namespace sluice {

/// Handed to user functions that emit zero or more records per input
/// (`flat_map`, `process`). Emitted records inherit the timestamp of the
/// input record unless `emit_at` gives one.
template <class T>
class collector {
 public:
  collector(port<T>& p, timestamp ts) : port_(&p), ts_(ts) {}

  void emit(T value) { port_->emit(std::move(value), ts_); }
  void emit_at(T value, timestamp ts) { port_->emit(std::move(value), ts); }
  /// Timestamp of the record being processed.
  timestamp input_timestamp() const noexcept { return ts_; }

 private:
  port<T>* port_;
  timestamp ts_;
};

}  // namespace sluice
