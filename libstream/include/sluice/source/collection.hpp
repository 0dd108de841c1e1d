#pragma once

#include <memory>
#include <utility>
#include <vector>

#include "sluice/source/index_source.hpp"

namespace sluice {

/// Emits the elements of a vector; element i belongs to split i mod (max
/// parallelism), split like the generator's indices (one instance emits them
/// in order). The vector is shared, not copied, between instances. Its
/// position (the next index of each split) makes it replayable, also with
/// another parallelism.
template <class T>
class collection_source final : public index_source<collection_source<T>, T> {
public:
  explicit collection_source(std::shared_ptr<const std::vector<T>> items)
      : items_(std::move(items)) {}

private:
  friend class index_source<collection_source<T>, T>;
  uint64_t index_limit() const noexcept { return items_->size(); }
  const T& record_at(uint64_t i) const { return (*items_)[i]; }

  std::shared_ptr<const std::vector<T>> items_;
};

}  // namespace sluice
