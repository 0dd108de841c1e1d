#pragma once

#include <algorithm>
#include <cstdint>
#include <type_traits>
#include <utility>
#include <vector>

#include "sluice/key_group.hpp"

namespace sluice {

/// The splits a source instance owns. A rescalable source divides its input
/// into `count` splits (the job's max parallelism) and gives instance i of p
/// the contiguous range that the key-group layout gives it (as Flink's
/// split-based sources do). Each split's read position is checkpointed under
/// the key group with the split's number, so a restore with another
/// parallelism hands every instance exactly the positions of the splits it
/// owns now, whichever instance read them before.
struct split_range {
  uint32_t begin = 0;
  uint32_t end = 1;
  uint32_t count = 1;

  static split_range of(uint32_t instance, uint32_t parallelism, uint32_t max_parallelism) {
    return {first_key_group(instance_index{instance}, parallelism, max_parallelism).value,
            first_key_group(instance_index{instance + 1}, parallelism, max_parallelism).value,
            max_parallelism};
  }

  bool owns(uint32_t split) const noexcept { return split >= begin && split < end; }
  uint32_t size() const noexcept { return end - begin; }
};

/// How an index-addressed source walks one split: the split's first index
/// and the index after `i`, both ascending. The default walk gives split s
/// the indices s, s + count, s + 2 count, ...
struct strided_walk {
  uint32_t count = 1;
  uint64_t first(uint32_t split) const noexcept { return split; }
  uint64_t next(uint64_t i) const noexcept { return i + count; }
  /// One round of turns covers indices [lowest, lowest + span): a split
  /// further ahead waits (see index_splits::take).
  uint64_t span() const noexcept { return count; }
};

/// Positions of an index-addressed source (generator, collection, the
/// oracle's sequence): the instance emits its splits in turn, one index
/// each, so that one instance (p = 1) with the strided walk emits 0, 1, 2,
/// ... in order. Per split it keeps the next index; exhausted splits drop out.
template <class Walk = strided_walk>
class index_splits {
public:
  void assign(split_range r, uint64_t limit, Walk walk) {
    range_ = r;
    limit_ = limit;
    walk_ = walk;
    next_.resize(r.size());
    for (uint32_t k = 0; k < r.size(); ++k)
      next_[k] = walk_.first(r.begin + k);
    rebuild();
  }
  void assign(split_range r, uint64_t limit) { assign(r, limit, Walk{r.count}); }

  /// The next index to emit, advancing; false when every split is exhausted.
  bool take(uint64_t& index) {
    if (active_.empty())
      return false;
    if (cursor_ >= active_.size())
      wrap();
    if constexpr (requires(const Walk& w) { w.span(); }) {
      // Splits restored from instances that had read further than others
      // wait until the least advanced ones catch up, so that this instance
      // emits indices (and, for sources in time order, event times) in
      // order after a restore at another parallelism, instead of turning the
      // laggards' records late. In normal turns no split is that far ahead,
      // and this costs one predictable branch.
      if (catching_up_)
        while (next_[active_[cursor_]] >= round_low_ + walk_.span())
          if (++cursor_ >= active_.size())
            wrap();
    }
    const uint32_t k = active_[cursor_];
    index = next_[k];
    next_[k] = walk_.next(index);
    ++taken_;
    if (next_[k] >= limit_)
      active_.erase(active_.begin() + static_cast<std::ptrdiff_t>(cursor_));
    else
      ++cursor_;
    return true;
  }

  bool exhausted() const noexcept { return active_.empty(); }

  /// Indices taken since `assign` (a restore does not count what came before).
  uint64_t taken() const noexcept { return taken_; }

  const split_range& range() const noexcept { return range_; }
  uint64_t next_of(uint32_t split) const { return next_[split - range_.begin]; }

  /// Indices of this instance's splits emitted, of their total below the
  /// limit (the strided walk only; (0, 0) for others or without a limit).
  std::pair<uint64_t, uint64_t> progress() const noexcept {
    if constexpr (!std::is_same_v<Walk, strided_walk>) {
      return {0, 0};
    } else {
      if (limit_ == UINT64_MAX || walk_.count == 0)
        return {0, 0};
      const uint64_t p = walk_.count;
      auto below_limit_from = [&](uint64_t i) {
        return i < limit_ ? (limit_ - i + p - 1) / p : 0;
      };
      uint64_t total = 0, left = 0;
      for (size_t k = 0; k < next_.size(); ++k) {
        total += below_limit_from(range_.begin + k);
        left += below_limit_from(next_[k]);
      }
      return {total - left, total};
    }
  }

  /// Restores one split's next index (from a checkpoint); call `restored`
  /// after the last one.
  void set_next(uint32_t split, uint64_t next) { next_[split - range_.begin] = next; }

  /// Rebuilds the turn order after restoring: the least advanced split goes
  /// first, which is where the turn stood when the snapshot was taken for the
  /// strided walk (the splits before the cursor are one round ahead), so an
  /// unchanged parallelism replays in exactly the original order.
  void restored() {
    rebuild();
    for (size_t j = 1; j < active_.size(); ++j)
      if (next_[active_[j]] < next_[active_[cursor_]])
        cursor_ = j;
    if (!active_.empty())
      round_low_ = next_[active_[cursor_]];
    uint64_t high = 0;
    for (auto k : active_)
      high = std::max(high, next_[k]);
    catching_up_ = !active_.empty() && high - round_low_ >= span();
  }

private:
  /// Starts a new round of turns: the lowest next index sets what may go.
  void wrap() {
    cursor_ = 0;
    if (!catching_up_)
      return;
    uint64_t high = 0;
    round_low_ = UINT64_MAX;
    for (auto k : active_) {
      round_low_ = std::min(round_low_, next_[k]);
      high = std::max(high, next_[k]);
    }
    catching_up_ = high - round_low_ >= span();
  }

  uint64_t span() const noexcept {
    if constexpr (requires(const Walk& w) { w.span(); })
      return walk_.span();
    else
      return UINT64_MAX;
  }

  void rebuild() {
    active_.clear();
    for (uint32_t k = 0; k < next_.size(); ++k)
      if (next_[k] < limit_)
        active_.push_back(k);
    cursor_ = 0;
    round_low_ = 0;
    for (size_t j = 0; j < active_.size(); ++j)
      if (j == 0 || next_[active_[j]] < round_low_)
        round_low_ = next_[active_[j]];
  }

  split_range range_;
  uint64_t limit_ = 0;
  Walk walk_;
  std::vector<uint64_t> next_;    ///< Per owned split (index split - begin).
  std::vector<uint32_t> active_;  ///< Owned splits not yet exhausted, in turn order.
  size_t cursor_ = 0;
  uint64_t round_low_ = 0;    ///< Lowest next index at the start of this round.
  bool catching_up_ = false;  ///< Restored splits are more than a round apart.
  uint64_t taken_ = 0;
};

}  // namespace sluice
