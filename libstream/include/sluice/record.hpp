#pragma once

#include <cstddef>
#include <memory>
#include <typeinfo>
#include <utility>
#include <vector>

#include "sluice/time.hpp"

namespace sluice {

/// One element of a stream: a value and its event timestamp. Records without
/// an event time carry `timestamp::min()`.
template <class T>
struct record {
  T value;
  timestamp ts;
};

/// Type-erased batch of records, the unit that travels on a channel. The
/// runtime moves batches between tasks without looking inside; only typed
/// operator and partitioner code (which knows `T`) reads them.
class batch_base {
public:
  virtual ~batch_base() = default;
  virtual size_t size() const noexcept = 0;
  virtual const std::type_info& type() const noexcept = 0;
};

using batch_ptr = std::shared_ptr<batch_base>;

/// A batch of records of type `T`.
template <class T>
class typed_batch final : public batch_base {
public:
  std::vector<record<T>> records;

  typed_batch() = default;
  explicit typed_batch(std::vector<record<T>> rs) : records(std::move(rs)) {}

  size_t size() const noexcept override { return records.size(); }
  const std::type_info& type() const noexcept override { return typeid(T); }
};

/// Downcasts a batch whose type the caller knows from the plan. A mismatch can
/// only be a bug in plan construction, so it is checked in debug builds only.
template <class T>
typed_batch<T>& batch_cast(batch_base& b) {
#ifndef NDEBUG
  if (b.type() != typeid(T))
    std::abort();
#endif
  return static_cast<typed_batch<T>&>(b);
}

}  // namespace sluice
