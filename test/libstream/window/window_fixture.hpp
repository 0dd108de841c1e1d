#pragma once

// Shared by the window tests: a random workload with bounded disorder, the
// driver that feeds it through the operator harness the way a bounded
// out-of-orderness source would, and helpers to compare result multisets.

#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <cstdint>
#include <iterator>
#include <limits>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "sluice/fields.hpp"
#include "sluice/format.hpp"
#include "sluice/testing/harness.hpp"
#include "sluice/window/window.hpp"

namespace sluice::test {

/// One input record: a key, an event time and a unique id (its index in
/// event-time generation order), so results can say exactly which records
/// they contain.
struct event {
  uint32_t key = 0;
  int64_t ts = 0;
  uint32_t id = 0;
};
SLUICE_FIELDS(event, key, ts, id)  // windows that keep their records checkpoint them

struct by_key {
  uint32_t operator()(const event& e) const { return e.key; }
};

/// Aggregate whose result is the sorted list of record ids in the window: the
/// strictest possible comparison (a sum could hide a swap).
struct collect_ids {
  using acc_type = std::vector<uint32_t>;
  acc_type create() const { return {}; }
  void add(acc_type& acc, const event& e) const { acc.push_back(e.id); }
  void merge(acc_type& acc, acc_type&& other) const {
    acc.insert(acc.end(), other.begin(), other.end());
  }
  std::vector<uint32_t> result(const acc_type& acc) const {
    auto out = acc;
    std::sort(out.begin(), out.end());
    return out;
  }
};

using ids_result = window::window_result<uint32_t, std::vector<uint32_t>>;

/// Shape of a random workload.
struct workload {
  size_t records = 1500;
  uint32_t keys = 4;
  int64_t first_ts = -2000;  ///< Negative on purpose: window_start must floor, not truncate.
  int64_t max_step = 6;      ///< Event-time increment between consecutive records: [0, max_step].
  int64_t disorder = 20;     ///< A record arrives after others up to this much later in event time.
  size_t max_batch = 40;     ///< Batch sizes are uniform in [1, max_batch].
};

/// Records in arrival order, cut into batches. A record's arrival position is
/// its timestamp plus a random delay in [0, disorder], so when it arrives no
/// record seen so far is more than `disorder` ahead of it in event time.
inline std::vector<std::vector<record<event>>> make_batches(uint64_t seed, const workload& w) {
  std::mt19937_64 rng{seed};
  std::uniform_int_distribution<int64_t> step{0, w.max_step};
  std::uniform_int_distribution<int64_t> delay{0, w.disorder};
  std::uniform_int_distribution<uint32_t> key{0, w.keys - 1};
  std::uniform_int_distribution<size_t> batch{1, w.max_batch};
  struct arriving {
    int64_t arrival;
    record<event> r;
  };
  std::vector<arriving> all;
  int64_t t = w.first_ts;
  for (size_t i = 0; i < w.records; ++i) {
    t += step(rng);
    event e{key(rng), t, static_cast<uint32_t>(i)};
    all.push_back({t + delay(rng), record<event>{e, timestamp::of(t)}});
  }
  std::stable_sort(all.begin(), all.end(),
                   [](const arriving& a, const arriving& b) { return a.arrival < b.arrival; });
  std::vector<std::vector<record<event>>> out;
  for (size_t i = 0; i < all.size();) {
    const size_t n = std::min(batch(rng), all.size() - i);
    std::vector<record<event>> b;
    for (size_t j = 0; j < n; ++j)
      b.push_back(all[i + j].r);
    out.push_back(std::move(b));
    i += n;
  }
  return out;
}

/// The watermark a bounded-out-of-orderness source declares after a batch.
inline timestamp bounded_watermark(int64_t max_seen, int64_t bound) {
  return timestamp::of(max_seen) - duration{bound + 1};
}

/// One window result together with the watermark in force when it was
/// emitted (the watermark before and after the call that emitted it).
struct timed_result {
  record<ids_result> r;
  timestamp wm_before;
  timestamp wm_after;
};

/// What a driven window operator produced.
struct run_output {
  std::vector<timed_result> results;
  std::vector<event> late;
  std::vector<event> skipped;  ///< In no window and not late (hopping windows).
  std::vector<dead_letter> dead;
};

/// Feeds `batches` through `h`: after each batch, the watermark
/// max timestamp seen - bound - 1; finally `end()`. `late_port` tells whether
/// the operator has a late-records port 1 to read, `skipped_port` whether it
/// has a skipped-records port 2 (the time window operator).
inline run_output drive(testing::harness& h, const std::vector<std::vector<record<event>>>& batches,
                        int64_t bound, bool late_port, bool skipped_port = false) {
  run_output out;
  timestamp wm = timestamp::min();
  int64_t max_seen = std::numeric_limits<int64_t>::min();
  auto collect = [&](timestamp before, timestamp after) {
    for (auto& r : h.output<ids_result>(0))
      out.results.push_back({std::move(r), before, after});
    if (late_port)
      for (auto& e : h.values<event>(1))
        out.late.push_back(e);
    if (skipped_port)
      for (auto& e : h.values<event>(2))
        out.skipped.push_back(e);
    for (auto& d : h.dead_letters())
      out.dead.push_back(d);
  };
  for (auto& b : batches) {
    for (auto& r : b)
      max_seen = std::max(max_seen, r.ts.ms);
    h.push_batch(b);
    collect(wm, wm);
    const timestamp next = bounded_watermark(max_seen, bound);
    h.watermark(next);
    collect(wm, next);
    wm = next;
  }
  h.end();
  collect(wm, timestamp::max());
  return out;
}

inline std::vector<ids_result> values_of(const std::vector<timed_result>& rs) {
  std::vector<ids_result> out;
  for (auto& r : rs)
    out.push_back(r.r.value);
  return out;
}

/// Checks that `actual` and `expected` hold the same results with the same
/// multiplicities, and names the first few differences when they do not.
inline void check_same_results(std::vector<ids_result> actual, std::vector<ids_result> expected,
                               const std::string& what) {
  std::sort(actual.begin(), actual.end());
  std::sort(expected.begin(), expected.end());
  std::vector<ids_result> missing, extra;
  std::set_difference(expected.begin(), expected.end(), actual.begin(), actual.end(),
                      std::back_inserter(missing));
  std::set_difference(actual.begin(), actual.end(), expected.begin(), expected.end(),
                      std::back_inserter(extra));
  std::string detail;
  for (size_t i = 0; i < std::min<size_t>(missing.size(), 3); ++i)
    detail += "\n  missing: " + format::to_json(missing[i]);
  for (size_t i = 0; i < std::min<size_t>(extra.size(), 3); ++i)
    detail += "\n  unexpected: " + format::to_json(extra[i]);
  BOOST_TEST(missing.empty(),
             what << ": " << missing.size() << " expected result(s) missing" << detail);
  BOOST_TEST(extra.empty(), what << ": " << extra.size() << " unexpected result(s)" << detail);
  BOOST_TEST(actual.size() == expected.size(), what << ": result count");
}

/// Seeds used by every randomized test; each run is reproducible.
inline const std::vector<uint64_t>& seeds() {
  static const std::vector<uint64_t> s{1, 2, 3, 42, 1234567, 0xC0FFEE};
  return s;
}

/// All events of a workload in generation order (index = id).
inline std::vector<event> all_events(const std::vector<std::vector<record<event>>>& batches) {
  std::vector<event> out;
  for (auto& b : batches)
    for (auto& r : b)
      out.push_back(r.value);
  std::sort(out.begin(), out.end(), [](const event& a, const event& b) { return a.id < b.id; });
  return out;
}

/// Floor division (the reference does not reuse window_start).
inline int64_t floor_div(int64_t a, int64_t b) {
  int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0)))
    --q;
  return q;
}

/// Every window [k*slide + offset, k*slide + offset + size) that contains
/// `t`, found by scanning the candidate k's.
inline std::vector<window::time_window> windows_containing(int64_t t, int64_t size, int64_t slide,
                                                           int64_t offset) {
  std::vector<window::time_window> out;
  for (int64_t k = floor_div(t - size - offset, slide) - 1; k <= floor_div(t - offset, slide) + 1;
       ++k) {
    const int64_t start = k * slide + offset;
    if (start <= t && t < start + size)
      out.push_back({start, start + size});
  }
  return out;
}

/// Brute force for tumbling (slide == size) and sliding windows: for each key
/// and each window over the span of the data, the ids of the records inside.
/// Empty windows produce nothing.
inline std::vector<ids_result> fixed_windows_reference(const std::vector<event>& evs, int64_t size,
                                                       int64_t slide, int64_t offset) {
  std::vector<ids_result> out;
  if (evs.empty())
    return out;
  int64_t lo = evs.front().ts, hi = evs.front().ts;
  uint32_t keys = 0;
  for (auto& e : evs) {
    lo = std::min(lo, e.ts);
    hi = std::max(hi, e.ts);
    keys = std::max(keys, e.key + 1);
  }
  for (int64_t k = floor_div(lo - size - offset, slide); k * slide + offset <= hi; ++k) {
    const int64_t start = k * slide + offset;
    std::vector<std::vector<uint32_t>> per_key(keys);
    for (auto& e : evs)
      if (start <= e.ts && e.ts < start + size)
        per_key[e.key].push_back(e.id);
    for (uint32_t key = 0; key < keys; ++key) {
      if (per_key[key].empty())
        continue;
      std::sort(per_key[key].begin(), per_key[key].end());
      out.push_back({key, {start, start + size}, per_key[key]});
    }
  }
  return out;
}

/// Every emitted window fired at the first watermark that reached its max
/// timestamp: not before (the watermark in force when it was emitted is past
/// it) and not later (the previous watermark was still before it). Holds when
/// no record is late.
inline void check_fired_on_time(const std::vector<timed_result>& rs) {
  size_t early = 0, delayed = 0, wrong_ts = 0;
  for (auto& r : rs) {
    const timestamp max_ts = r.r.value.window.max_timestamp();
    if (max_ts > r.wm_after)
      ++early;
    if (max_ts <= r.wm_before)
      ++delayed;
    if (r.r.ts != max_ts)
      ++wrong_ts;
  }
  BOOST_TEST(early == 0u, early << " window(s) fired before the watermark reached them");
  BOOST_TEST(delayed == 0u, delayed << " window(s) fired after a later watermark than needed");
  BOOST_TEST(wrong_ts == 0u, wrong_ts << " result(s) not stamped with the window's max timestamp");
}

/// Replays the driver's sequence of batches and watermarks on a reference
/// model with `record(event, watermark)` and `watermark(wm)`.
template <class Model>
void replay(Model& m, const std::vector<std::vector<record<event>>>& batches, int64_t bound) {
  timestamp wm = timestamp::min();
  int64_t max_seen = std::numeric_limits<int64_t>::min();
  for (auto& b : batches) {
    for (auto& r : b) {
      m.record(r.value, wm);
      max_seen = std::max(max_seen, r.ts.ms);
    }
    wm = bounded_watermark(max_seen, bound);
    m.watermark(wm);
  }
  m.watermark(timestamp::max());
}

/// Every input record is counted in at least one emitted result, or reported
/// late, or reported skipped: exactly one of the three.
inline void check_nothing_lost(const run_output& out, const std::vector<event>& all) {
  std::vector<int> counted(all.size(), 0), late(all.size(), 0), skipped(all.size(), 0);
  for (auto& r : out.results)
    for (auto id : r.r.value.value)
      counted.at(id) = 1;
  for (auto& e : out.late)
    ++late.at(e.id);
  for (auto& e : out.skipped)
    ++skipped.at(e.id);
  size_t lost = 0, twice = 0, reported_twice = 0;
  for (size_t i = 0; i < all.size(); ++i) {
    if (!counted[i] && !late[i] && !skipped[i])
      ++lost;
    if (counted[i] + (late[i] > 0) + (skipped[i] > 0) > 1)
      ++twice;
    if (late[i] > 1 || skipped[i] > 1)
      ++reported_twice;
  }
  BOOST_TEST(lost == 0u,
             lost << " record(s) neither counted in a result nor reported late or skipped");
  BOOST_TEST(twice == 0u, twice << " record(s) in more than one of: results, late, skipped");
  BOOST_TEST(reported_twice == 0u,
             reported_twice << " record(s) reported late or skipped more than once");
}

inline std::vector<uint32_t> sorted_ids(const std::vector<event>& evs) {
  std::vector<uint32_t> out;
  for (auto& e : evs)
    out.push_back(e.id);
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace sluice::test
