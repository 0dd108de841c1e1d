#pragma once

// Shared by the trigger and evictor tests: Flink's test records (a string key
// and an int), a summing aggregate, and the generic window operator over
// them, as Flink's WindowOperatorTest builds its operators.

#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <cstdint>
#include <memory>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "sluice/testing/harness.hpp"
#include "sluice/window/evictor.hpp"
#include "sluice/window/generic_window_operator.hpp"
#include "sluice/window/trigger.hpp"

namespace sluice::test {

/// Flink's `Tuple2<String, Integer>` of its window tests.
using kv = std::pair<std::string, int>;

struct by_first {
  std::string operator()(const kv& v) const { return v.first; }
};

/// Flink's SumReducer: the sum of the values.
struct sum_agg {
  using acc_type = int64_t;
  acc_type create() const { return 0; }
  void add(acc_type& a, const kv& v) const { a += v.second; }
  void merge(acc_type& a, acc_type&& b) const { a += b; }
  int64_t result(const acc_type& a) const { return a; }
};

using kv_result = window::window_result<std::string, int64_t>;

template <class A, class Tr, class Ev = window::no_evictor>
using kv_op = window::generic_window_operator<kv, std::string, by_first, A, Tr, Ev, sum_agg>;

template <class A, class Tr, class Ev = window::no_evictor>
std::unique_ptr<kv_op<A, Tr, Ev>> make_kv_op(A a, Tr t, Ev e = {}, int64_t lateness = 0) {
  return std::make_unique<kv_op<A, Tr, Ev>>(by_first{}, std::move(a), std::move(t), std::move(e),
                                            sum_agg{}, duration{lateness});
}

/// One emitted result as Flink's tests compare them: key, sum, record time.
using fired = std::tuple<std::string, int64_t, int64_t>;

/// Results emitted since the last call, sorted (Flink's
/// assertOutputEqualsSorted).
inline std::vector<fired> take_fired(testing::harness& h) {
  std::vector<fired> out;
  for (auto& r : h.output<kv_result>(0))
    out.emplace_back(r.value.key, r.value.value, r.ts.ms);
  std::sort(out.begin(), out.end());
  return out;
}

/// The record time of results of a global window.
inline constexpr int64_t global_ts = std::numeric_limits<int64_t>::max() - 1;

}  // namespace sluice::test
