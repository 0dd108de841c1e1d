#pragma once

#include <deque>
#include <map>
#include <optional>
#include <utility>

#include "sluice/time.hpp"

namespace sluice::ops {

/// When each key has something due: (time, key) pairs taken in time order
/// once the watermark passes them. Pairs mostly arrive in time order (kept
/// in a deque, no allocation per pair), the others in a multimap. A key may
/// be queued several times; the operator finds out what is due when the
/// pair comes up.
template <class K>
class key_time_queue {
public:
  void add(timestamp t, const K& k) {
    if (in_order_.empty() || in_order_.back().first <= t)
      in_order_.emplace_back(t, k);
    else
      others_.emplace(t, k);
  }

  /// Takes the earliest pair due at `wm` into `k`; false when none is due.
  bool pop_due(timestamp wm, K& k) {
    const bool a = !in_order_.empty() && in_order_.front().first <= wm;
    const bool b = !others_.empty() && others_.begin()->first <= wm;
    if (a && (!b || in_order_.front().first <= others_.begin()->first)) {
      k = std::move(in_order_.front().second);
      in_order_.pop_front();
      return true;
    }
    if (b) {
      k = std::move(others_.begin()->second);
      others_.erase(others_.begin());
      return true;
    }
    return false;
  }

  /// The earliest time queued, if any.
  std::optional<timestamp> next_time() const {
    std::optional<timestamp> t;
    if (!in_order_.empty())
      t = in_order_.front().first;
    if (!others_.empty() && (!t || others_.begin()->first < *t))
      t = others_.begin()->first;
    return t;
  }

  size_t size() const noexcept { return in_order_.size() + others_.size(); }

private:
  std::deque<std::pair<timestamp, K>> in_order_;
  std::multimap<timestamp, K> others_;
};

}  // namespace sluice::ops
