#pragma once

#include <algorithm>
#include <cstdint>
#include <stdexcept>
#include <vector>

#include "sluice/record.hpp"
#include "sluice/window/window.hpp"

namespace sluice::window {

// -- The evictor interface ------------------------------------------------------
//
// An evictor removes records from a window when it fires (Flink's `Evictor`):
// before the aggregation, after it, or both. Any type with these `const`
// members:
//
//   template <class T>
//   void evict_before(std::vector<record<T>>& records, const time_window& w) const;
//   template <class T>
//   void evict_after(std::vector<record<T>>& records, const time_window& w) const;
//
// `records` are the window's records in arrival order, with their timestamps;
// what the evictor leaves is what the aggregation sees (before) or what the
// window keeps for its next firing (after). A window with an evictor keeps
// its records instead of an accumulator (Flink's EvictingWindowOperator), so
// it costs memory per record and an aggregation per firing.

/// Stands for "no evictor given" in `windowed_stream`.
struct no_evictor {};

/// Flink's `CountEvictor`: keeps the last `n` records of the window (in
/// arrival order), before the aggregation or, with `after`, after it.
struct count_evictor {
  uint64_t n = 1;
  bool after = false;

  /// Throws std::invalid_argument unless n >= 1.
  static count_evictor of(uint64_t n, bool evict_after = false) {
    if (n == 0)
      throw std::invalid_argument("count_evictor needs a count of at least 1");
    return count_evictor{n, evict_after};
  }

  template <class T>
  void evict_before(std::vector<record<T>>& rs, const time_window&) const {
    if (!after)
      evict(rs);
  }
  template <class T>
  void evict_after(std::vector<record<T>>& rs, const time_window&) const {
    if (after)
      evict(rs);
  }

private:
  template <class T>
  void evict(std::vector<record<T>>& rs) const {
    if (rs.size() > n)
      rs.erase(rs.begin(), rs.end() - static_cast<std::ptrdiff_t>(n));
  }
};

/// Flink's `TimeEvictor`: keeps the records with a timestamp within `span` of
/// the newest one (`ts > newest - span`), before the aggregation or, with
/// `after`, after it. Records without a timestamp are kept as they are.
struct time_evictor {
  duration span;
  bool after = false;

  /// Throws std::invalid_argument unless span > 0.
  static time_evictor of(duration span, bool evict_after = false) {
    check_positive("time_evictor", "span", span);
    return time_evictor{span, evict_after};
  }

  template <class T>
  void evict_before(std::vector<record<T>>& rs, const time_window&) const {
    if (!after)
      evict(rs);
  }
  template <class T>
  void evict_after(std::vector<record<T>>& rs, const time_window&) const {
    if (after)
      evict(rs);
  }

private:
  template <class T>
  void evict(std::vector<record<T>>& rs) const {
    if (rs.empty() || rs.front().ts == timestamp::min())
      return;  // as Flink: no timestamps, nothing to compare
    timestamp newest = timestamp::min();
    for (auto& r : rs)
      newest = std::max(newest, r.ts);
    const timestamp cutoff = newest - span;
    std::erase_if(rs, [&](const record<T>& r) { return r.ts <= cutoff; });
  }
};

}  // namespace sluice::window
