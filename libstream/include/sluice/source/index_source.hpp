#pragma once

#include <cstdint>

#include "sluice/source/splits.hpp"
#include "sluice/source/typed_source.hpp"

namespace sluice {

/// Base of the sources whose records are addressed by an index (the
/// generator, the collection, the oracle's sequence): the indices below
/// `Derived::index_limit()` are divided into splits walked by `Walk` (see
/// index_splits), each split's next index is checkpointed, and a restore
/// with any parallelism replays exactly what was not emitted. `Derived`
/// provides `index_limit()`, `record_at(i)` and, for another walk than the
/// strided one, `walk(split_range)`; it befriends this class.
template <class Derived, class T, class Walk = strided_walk>
class index_source : public typed_source<T> {
public:
  void open(operator_context& ctx) override {
    typed_source<T>::open(ctx);
    auto& self = static_cast<Derived&>(*this);
    const auto r = this->splits();
    splits_.assign(r, self.index_limit(), self.walk(r));
  }

  poll_status poll(size_t max_records) override {
    auto& self = static_cast<Derived&>(*this);
    this->output().records().reserve(this->output().size() + max_records);
    uint64_t i = 0;
    for (size_t n = 0; n < max_records && splits_.take(i); ++n)
      this->emit(self.record_at(i));
    return splits_.exhausted() ? poll_status::end : poll_status::more;
  }

  /// Records this instance has emitted since it was opened.
  uint64_t emitted() const noexcept { return splits_.taken(); }
  /// Indices of this instance emitted, of its total (strided walk, bounded).
  std::pair<uint64_t, uint64_t> progress() const noexcept override { return splits_.progress(); }

protected:
  Walk walk(const split_range& r) const { return Walk{r.count}; }

  bool splittable() const noexcept override { return true; }
  void snapshot_split(uint32_t s, state::writer& w) override {
    state::encode(w, splits_.next_of(s));
  }
  void restore_split(uint32_t s, state::reader& r) override {
    splits_.set_next(s, r.number<uint64_t>());
  }
  void splits_restored() override { splits_.restored(); }

private:
  index_splits<Walk> splits_;
};

}  // namespace sluice
