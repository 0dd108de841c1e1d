#include "sluice/window/count_operator.hpp"

#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <map>
#include <memory>
#include <vector>

#include "sluice/testing/harness.hpp"
#include "window_fixture.hpp"

using namespace sluice;
using namespace sluice::test;
using window::time_window;

namespace {

using count_op = window::count_window_operator<event, uint32_t, by_key, collect_ids>;

std::unique_ptr<count_op> make_op(uint64_t size) {
  return std::make_unique<count_op>(by_key{}, window::count::of(size), collect_ids{});
}

/// Brute force: per key, in arrival order, every `size` consecutive records
/// form a window spanning [min ts, max ts + 1); a trailing partial group is
/// not emitted.
std::vector<ids_result> count_reference(const std::vector<std::vector<record<event>>>& batches,
                                        uint64_t size) {
  std::map<uint32_t, std::vector<event>> per_key;
  for (auto& b : batches)
    for (auto& r : b)
      per_key[r.value.key].push_back(r.value);
  std::vector<ids_result> out;
  for (auto& [key, evs] : per_key) {
    for (size_t i = 0; i + size <= evs.size(); i += size) {
      int64_t lo = evs[i].ts, hi = evs[i].ts;
      std::vector<uint32_t> ids;
      for (size_t j = i; j < i + size; ++j) {
        lo = std::min(lo, evs[j].ts);
        hi = std::max(hi, evs[j].ts);
        ids.push_back(evs[j].id);
      }
      std::sort(ids.begin(), ids.end());
      out.push_back({key, {lo, hi + 1}, ids});
    }
  }
  return out;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(window_count_operator)

BOOST_AUTO_TEST_CASE(emits_every_size_records_per_key_in_arrival_order) {
  testing::harness h{make_op(2)};
  h.push(event{1, 10, 0}, timestamp::of(10));
  h.push(event{2, 11, 1}, timestamp::of(11));
  BOOST_TEST(h.output<ids_result>().empty());
  h.push(event{1, 12, 2}, timestamp::of(12));
  check_same_results(h.values<ids_result>(), {ids_result{1, {10, 13}, {0, 2}}}, "key 1");
  h.push(event{2, 13, 3}, timestamp::of(13));
  check_same_results(h.values<ids_result>(), {ids_result{2, {11, 14}, {1, 3}}}, "key 2");
  BOOST_TEST(h.as<count_op>().open_windows() == 0u);
}

BOOST_AUTO_TEST_CASE(window_spans_record_timestamps_in_any_order) {
  testing::harness h{make_op(3)};
  h.push(event{1, 30, 0}, timestamp::of(30));
  h.push(event{1, 10, 1}, timestamp::of(10));
  h.push(event{1, 20, 2}, timestamp::of(20));
  auto out = h.output<ids_result>();
  BOOST_TEST_REQUIRE(out.size() == 1u);
  BOOST_TEST((out[0].value == ids_result{1, {10, 31}, {0, 1, 2}}));
  BOOST_TEST(out[0].ts.ms == 30);  // stamped with the latest record's time
}

BOOST_AUTO_TEST_CASE(incomplete_window_is_not_emitted_at_end) {
  testing::harness h{make_op(3)};
  h.push(event{1, 1, 0}, timestamp::of(1));
  h.push(event{1, 2, 1}, timestamp::of(2));
  h.end();
  BOOST_TEST(h.output<ids_result>().empty());
  BOOST_TEST(h.as<count_op>().open_windows() == 1u);
}

BOOST_AUTO_TEST_CASE(count_of_one_emits_every_record) {
  testing::harness h{make_op(1)};
  h.push_batch<event>({{{1, 5, 0}, timestamp::of(5)}, {{1, 6, 1}, timestamp::of(6)}});
  check_same_results(h.values<ids_result>(),
                     {ids_result{1, {5, 6}, {0}}, ids_result{1, {6, 7}, {1}}}, "size 1");
}

BOOST_AUTO_TEST_CASE(watermarks_do_not_fire_count_windows) {
  testing::harness h{make_op(2)};
  h.push(event{1, 5, 0}, timestamp::of(5));
  h.watermark(timestamp::of(1000));
  BOOST_TEST(h.output<ids_result>().empty());
  h.push(event{1, 6, 1}, timestamp::of(6));  // not late: count windows have no lateness
  check_same_results(h.values<ids_result>(), {ids_result{1, {5, 7}, {0, 1}}}, "after watermark");
}

// Count windows have no late output of their own (late_records() on them does
// not compile, see late_records_compile_check.cpp); standing in for a window
// chosen at run time they get a late port 1 that stays empty.
BOOST_AUTO_TEST_CASE(late_port_exists_only_when_asked_for_and_stays_empty) {
  BOOST_TEST(make_op(2)->num_ports() == 1u);
  testing::harness h{
      std::make_unique<count_op>(by_key{}, window::count::of(2), collect_ids{}, true)};
  BOOST_TEST(h.op().num_ports() == 2u);
  h.push(event{1, 50, 0}, timestamp::of(50));
  h.watermark(timestamp::of(1000));
  h.push(event{1, 5, 1}, timestamp::of(5));  // far behind the watermark, yet not late
  check_same_results(h.values<ids_result>(), {ids_result{1, {5, 51}, {0, 1}}}, "count");
  h.end();
  BOOST_TEST(h.values<event>(1).empty());
  BOOST_TEST(h.dead_letters().empty());
}

BOOST_AUTO_TEST_CASE(matches_brute_force_on_random_out_of_order_data) {
  for (auto seed : seeds()) {
    for (uint64_t size : {1u, 3u, 7u, 50u}) {
      BOOST_TEST_CONTEXT("seed " << seed << ", size " << size) {
        workload w;
        w.disorder = 30;
        const auto batches = make_batches(seed, w);
        testing::harness h{make_op(size)};
        // Windows fire as soon as they are full: after each batch, exactly
        // floor(records of the key so far / size) windows were emitted per key.
        std::map<uint32_t, size_t> seen, fired;
        std::vector<ids_result> results;
        bool on_time = true;
        for (auto& b : batches) {
          h.push_batch(b);
          for (auto& r : b)
            ++seen[r.value.key];
          for (auto& r : h.output<ids_result>()) {
            if (r.ts != r.value.window.max_timestamp())
              on_time = false;
            ++fired[r.value.key];
            results.push_back(std::move(r.value));
          }
          for (auto& [k, n] : seen)
            if (fired[k] != n / size)
              on_time = false;
          h.watermark(timestamp::of(1 << 30));
        }
        BOOST_TEST(on_time, "a count window fired late, early, or with a wrong timestamp");
        h.end();
        BOOST_TEST(h.output<ids_result>().empty());
        check_same_results(results, count_reference(batches, size), "count windows");
        size_t partial = 0;
        for (auto& [k, n] : seen)
          partial += n % size != 0;
        BOOST_TEST(h.as<count_op>().open_windows() == partial);
      }
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()
