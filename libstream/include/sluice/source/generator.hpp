#pragma once

#include <cstdint>
#include <functional>
#include <limits>
#include <utility>

#include "sluice/source/typed_source.hpp"

namespace sluice {

/// Deterministic source: record i is `f(i)` for i in [0, count). Instance k of
/// p produces the indices k, k + p, k + 2p, ...; `count` =
/// `unbounded_count` never ends. Its position (the next index) makes it
/// replayable.
template <class T, class F>
class generator_source final : public typed_source<T> {
 public:
  static constexpr uint64_t unbounded_count = std::numeric_limits<uint64_t>::max();

  generator_source(uint64_t count, F f) : count_(count), f_(std::move(f)) {}

  void open(operator_context& ctx) override {
    typed_source<T>::open(ctx);
    next_ = ctx.instance();
    stride_ = ctx.parallelism();
  }

  poll_status poll(size_t max_records) override {
    this->output().records().reserve(this->output().size() + max_records);
    for (size_t n = 0; n < max_records; ++n) {
      if (next_ >= count_) return poll_status::end;
      this->emit(std::invoke(f_, next_));
      next_ += stride_;
    }
    return next_ >= count_ ? poll_status::end : poll_status::more;
  }

  /// Next index this instance will produce.
  uint64_t position() const noexcept { return next_; }

 protected:
  void snapshot_position(state::writer& w) override { state::encode(w, next_); }
  void restore_position(state::reader& r) override { state::decode(r, next_); }

 private:
  uint64_t count_;
  F f_;
  uint64_t next_ = 0;
  uint64_t stride_ = 1;
};

}  // namespace sluice
