#pragma once

#include <memory>
#include <utility>
#include <vector>

#include "sluice/source/typed_source.hpp"

namespace sluice {

/// Emits the elements of a vector; element i belongs to split i mod (max
/// parallelism), split like the generator's indices (one instance emits them
/// in order). The vector is shared, not copied, between instances. Its
/// position (the next index of each split) makes it replayable, also with
/// another parallelism.
template <class T>
class collection_source final : public typed_source<T> {
 public:
  explicit collection_source(std::shared_ptr<const std::vector<T>> items) : items_(std::move(items)) {}

  void open(operator_context& ctx) override {
    typed_source<T>::open(ctx);
    splits_.assign(this->splits(), items_->size());
  }

  poll_status poll(size_t max_records) override {
    uint64_t i = 0;
    for (size_t n = 0; n < max_records && splits_.take(i); ++n) this->emit((*items_)[i]);
    return splits_.exhausted() ? poll_status::end : poll_status::more;
  }

  /// Elements this instance has emitted since it was opened.
  uint64_t emitted() const noexcept { return splits_.taken(); }

 protected:
  bool splittable() const noexcept override { return true; }
  void snapshot_split(uint32_t s, state::writer& w) override { state::encode(w, splits_.next_of(s)); }
  void restore_split(uint32_t s, state::reader& r) override { splits_.set_next(s, r.number<uint64_t>()); }
  void splits_restored() override { splits_.restored(); }

 private:
  std::shared_ptr<const std::vector<T>> items_;
  index_splits<> splits_;
};

}  // namespace sluice
