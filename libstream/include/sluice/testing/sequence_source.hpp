#pragma once

#include <cstdint>

#include "sluice/pipeline.hpp"
#include "sluice/source/index_source.hpp"
#include "sluice/stream.hpp"
#include "sluice/testing/oracle.hpp"

namespace sluice::testing {

namespace detail {
/// Keys spread evenly over the splits (so over the instances): key k is
/// in split k * splits / keys, so a split holds a run of consecutive keys
/// (at most one when there are no more keys than splits). A split walks
/// its keys' records i = seq * keys + key in ascending i.
struct sequence_walk {
  uint32_t keys = 1;
  uint32_t splits = 1;
  /// First key of split s (the first of the next split ends it).
  uint64_t first_key(uint64_t s) const noexcept { return (s * keys + splits - 1) / splits; }
  uint64_t first(uint32_t s) const noexcept {
    const uint64_t k = first_key(s);
    return k < first_key(uint64_t{s} + 1) ? k : UINT64_MAX;
  }
  uint64_t next(uint64_t i) const noexcept {
    const uint64_t key = i % keys;
    const uint64_t s = key * splits / keys;
    if (key + 1 < first_key(s + 1))
      return i + 1;                               // the split's next key, same seq
    return (i / keys + 1) * keys + first_key(s);  // its first key, next seq
  }
};

}  // namespace detail

/// The oracle's source: the first `count` records of the sequence over
/// `keys` keys (`sequence_record`), split by key so that all records of a key
/// come from one split, hence from one instance in increasing `seq`, at any
/// parallelism, and the keys spread evenly over the instances. Replayable
/// and rescalable like the generator.
class sequence_source final
    : public index_source<sequence_source, seq_record, detail::sequence_walk> {
public:
  sequence_source(uint64_t count, uint32_t keys) : count_(count), keys_(keys == 0 ? 1 : keys) {}

private:
  friend class index_source<sequence_source, seq_record, detail::sequence_walk>;
  uint64_t index_limit() const noexcept { return count_; }
  detail::sequence_walk walk(const split_range& r) const { return {keys_, r.count}; }
  seq_record record_at(uint64_t i) const { return sequence_record(i, keys_); }

  uint64_t count_;
  uint32_t keys_;
};

/// Adds the oracle's sequence source to a pipeline.
inline stream<seq_record> sequence(pipeline& p, uint64_t count, uint32_t keys) {
  return p.add_source<seq_record>(
      "sequence", [count, keys] { return std::make_unique<sequence_source>(count, keys); });
}

}  // namespace sluice::testing
