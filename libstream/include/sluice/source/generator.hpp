#pragma once

#include <cstdint>
#include <functional>
#include <limits>
#include <utility>

#include "sluice/source/typed_source.hpp"

namespace sluice {

/// Deterministic source: record i is `f(i)` for i in [0, count); `count` =
/// `unbounded_count` never ends. Index i belongs to split i mod (max
/// parallelism); an instance owns a contiguous range of splits and emits them
/// in turn, so one instance emits 0, 1, 2, ... in order and p instances
/// together emit every index exactly once. Its position (the next index of
/// each split) makes it replayable, also with another parallelism.
template <class T, class F>
class generator_source final : public typed_source<T> {
 public:
  static constexpr uint64_t unbounded_count = std::numeric_limits<uint64_t>::max();

  generator_source(uint64_t count, F f) : count_(count), f_(std::move(f)) {}

  void open(operator_context& ctx) override {
    typed_source<T>::open(ctx);
    splits_.assign(this->splits(), count_);
  }

  poll_status poll(size_t max_records) override {
    this->output().records().reserve(this->output().size() + max_records);
    uint64_t i = 0;
    for (size_t n = 0; n < max_records && splits_.take(i); ++n) this->emit(std::invoke(f_, i));
    return splits_.exhausted() ? poll_status::end : poll_status::more;
  }

  /// Indices this instance has emitted since it was opened.
  uint64_t emitted() const noexcept { return splits_.taken(); }

 protected:
  bool splittable() const noexcept override { return true; }
  void snapshot_split(uint32_t s, state::writer& w) override { state::encode(w, splits_.next_of(s)); }
  void restore_split(uint32_t s, state::reader& r) override { splits_.set_next(s, r.number<uint64_t>()); }
  void splits_restored() override { splits_.restored(); }

 private:
  uint64_t count_;
  F f_;
  index_splits<> splits_;
};

}  // namespace sluice
