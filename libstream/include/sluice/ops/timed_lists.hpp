#pragma once

#include <algorithm>
#include <cstdint>
#include <deque>
#include <utility>

#include "sluice/state/snapshot.hpp"
#include "sluice/time.hpp"

namespace sluice::ops {

/// One key's entries with their times, sorted by time: what the two-input
/// operators that wait for the watermark (interval and temporal joins) keep
/// per key and side.
template <class T>
using timed_list = std::deque<std::pair<timestamp, T>>;

/// Inserts `x` at `ts` after the entries of the same or an earlier time:
/// an append when entries arrive in time order.
template <class T>
void insert_by_time(timed_list<T>& l, timestamp ts, T x) {
  if (l.empty() || l.back().first <= ts)
    l.emplace_back(ts, std::move(x));
  else
    l.emplace(std::upper_bound(l.begin(), l.end(), ts,
                               [](timestamp t, const auto& e) { return t < e.first; }),
              ts, std::move(x));
}

/// Writes a list (none: empty) as its length, then (time, value) pairs.
template <class T>
void write_timed_list(state::writer& out, const timed_list<T>* l, const char* what) {
  state::encode(out, static_cast<uint64_t>(l ? l->size() : 0));
  if (l)
    for (auto& [ts, x] : *l) {
      state::encode(out, ts);
      state::encode_checked(out, x, what);
    }
}

/// Writes, under each key's key group, the key and its lists of both sides
/// (`left` and `right` map keys to `timed_list`s), once per key of either.
template <class K, class Left, class Right>
void snapshot_timed_lists(state::snapshot_writer& w, const Left& left, const Right& right,
                          const char* left_what, const char* right_what) {
  using left_list = typename Left::mapped_type;
  auto write = [&](const K& k, const left_list* l, const typename Right::mapped_type* r) {
    auto out = w.keyed(k);
    state::encode_checked(out, k, "key");
    write_timed_list(out, l, left_what);
    write_timed_list(out, r, right_what);
  };
  for (auto& [k, l] : left) {
    auto it = right.find(k);
    write(k, &l, it == right.end() ? nullptr : &it->second);
  }
  for (auto& [k, r] : right)
    if (!left.count(k))
      write(k, static_cast<const left_list*>(nullptr), &r);
}

}  // namespace sluice::ops
