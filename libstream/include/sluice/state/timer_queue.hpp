#pragma once

#include <cstddef>
#include <map>
#include <optional>
#include <unordered_set>
#include <utility>

#include "sluice/hash.hpp"
#include "sluice/time.hpp"

namespace sluice::state {

/// The timers of one time domain of a keyed operator: at most one timer per
/// (key, time), popped in time order (keys of equal time in no particular
/// order), as Flink's timer service keeps them. Timers are keyed state: the
/// operator snapshots them per key and restores them with their key.
template <class K>
class timer_queue {
public:
  /// Registers a timer; false when (key, time) was already registered.
  bool add(const K& key, timestamp t) {
    auto& keys = by_time_[t];
    const bool added = keys.insert(key).second;
    size_ += added;
    return added;
  }

  /// Deletes a timer; false when there was none.
  bool remove(const K& key, timestamp t) {
    auto it = by_time_.find(t);
    if (it == by_time_.end() || it->second.erase(key) == 0)
      return false;
    if (it->second.empty())
      by_time_.erase(it);
    --size_;
    return true;
  }

  /// The time of the earliest timer.
  std::optional<timestamp> earliest() const {
    if (by_time_.empty())
      return std::nullopt;
    return by_time_.begin()->first;
  }

  /// Takes the earliest timer if it is due at `now` (time <= now).
  bool pop_due(timestamp now, K& key, timestamp& when) {
    if (by_time_.empty() || by_time_.begin()->first > now)
      return false;
    auto it = by_time_.begin();
    auto k = it->second.begin();
    key = *k;
    when = it->first;
    it->second.erase(k);
    if (it->second.empty())
      by_time_.erase(it);
    --size_;
    return true;
  }

  size_t size() const noexcept { return size_; }
  bool empty() const noexcept { return size_ == 0; }

  /// Calls `f(key, time)` for every timer, in time order.
  template <class F>
  void for_each(F&& f) const {
    for (auto& [t, keys] : by_time_)
      for (auto& k : keys)
        f(k, t);
  }

private:
  std::map<timestamp, std::unordered_set<K, key_hash<K>>> by_time_;
  size_t size_ = 0;
};

}  // namespace sluice::state
