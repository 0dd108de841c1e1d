#pragma once

#include <cstdint>
#include <functional>
#include <limits>
#include <utility>

#include "sluice/source/index_source.hpp"

namespace sluice {

/// Deterministic source: record i is `f(i)` for i in [0, count); `count` =
/// `unbounded_count` never ends. Index i belongs to split i mod (max
/// parallelism); an instance owns a contiguous range of splits and emits them
/// in turn, so one instance emits 0, 1, 2, ... in order and p instances
/// together emit every index exactly once. Its position (the next index of
/// each split) makes it replayable, also with another parallelism.
template <class T, class F>
class generator_source final : public index_source<generator_source<T, F>, T> {
public:
  static constexpr uint64_t unbounded_count = std::numeric_limits<uint64_t>::max();

  generator_source(uint64_t count, F f) : count_(count), f_(std::move(f)) {}

private:
  friend class index_source<generator_source<T, F>, T>;
  uint64_t index_limit() const noexcept { return count_; }
  T record_at(uint64_t i) { return std::invoke(f_, i); }

  uint64_t count_;
  F f_;
};

}  // namespace sluice
