#pragma once

#include <memory>
#include <utility>
#include <vector>

#include "sluice/source/typed_source.hpp"

namespace sluice {

/// Emits the elements of a vector in order; instance k of p emits the
/// elements at indices k, k + p, ... The vector is shared, not copied, between
/// instances.
template <class T>
class collection_source final : public typed_source<T> {
 public:
  explicit collection_source(std::shared_ptr<const std::vector<T>> items) : items_(std::move(items)) {}

  void open(operator_context& ctx) override {
    typed_source<T>::open(ctx);
    next_ = ctx.instance();
    stride_ = ctx.parallelism();
  }

  poll_status poll(size_t max_records) override {
    for (size_t n = 0; n < max_records && next_ < items_->size(); ++n, next_ += stride_) this->emit((*items_)[next_]);
    return next_ >= items_->size() ? poll_status::end : poll_status::more;
  }

  size_t position() const noexcept { return next_; }

 protected:
  void snapshot_position(state::writer& w) override { state::encode(w, static_cast<uint64_t>(next_)); }
  void restore_position(state::reader& r) override { next_ = static_cast<size_t>(r.number<uint64_t>()); }

 private:
  std::shared_ptr<const std::vector<T>> items_;
  size_t next_ = 0;
  size_t stride_ = 1;
};

}  // namespace sluice
