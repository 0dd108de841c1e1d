#include "sluice/source/generator.hpp"

#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <cstdint>
#include <memory>
#include <vector>

#include "sluice/testing/harness.hpp"

using namespace sluice;

namespace {

auto times_ten = [](uint64_t i) {
  return static_cast<int64_t>(i * 10);
};
using gen_t = generator_source<int64_t, decltype(times_ten)>;

std::vector<int64_t> run_instance(uint64_t count, uint32_t instance, uint32_t parallelism,
                                  size_t max_records) {
  testing::harness h{std::make_unique<gen_t>(count, times_ten), instance, parallelism};
  BOOST_TEST((h.poll(max_records) == poll_status::end));
  auto out = h.values<int64_t>();
  BOOST_TEST(h.as<gen_t>().emitted() == out.size());
  return out;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(source_generator)

BOOST_AUTO_TEST_CASE(single_instance_produces_every_index_in_order) {
  auto out = run_instance(25, 0, 1, 7);
  BOOST_TEST_REQUIRE(out.size() == 25u);
  for (size_t i = 0; i < out.size(); ++i)
    BOOST_TEST(out[i] == static_cast<int64_t>(i * 10));
}

BOOST_AUTO_TEST_CASE(instances_own_contiguous_split_ranges_and_together_emit_every_index_once) {
  // Index i is in split i mod 128; instance k of p owns the splits its
  // key-group range covers and emits each split's indices in ascending order.
  for (uint32_t p : {1u, 2u, 3u, 4u, 7u}) {
    for (uint64_t count : {0u, 1u, 10u, 103u, 1000u}) {
      std::vector<int64_t> all;
      for (uint32_t k = 0; k < p; ++k) {
        BOOST_TEST_CONTEXT("count " << count << ", instance " << k << " of " << p) {
          auto out = run_instance(count, k, p, 5);
          auto range = split_range::of(k, p, 128);
          std::vector<int64_t> last(128, -1);
          for (auto v : out) {
            const auto i = static_cast<uint64_t>(v / 10);
            BOOST_TEST(range.owns(static_cast<uint32_t>(i % 128)));
            BOOST_TEST(static_cast<int64_t>(i) > last[i % 128]);
            last[i % 128] = static_cast<int64_t>(i);
          }
          all.insert(all.end(), out.begin(), out.end());
        }
      }
      std::sort(all.begin(), all.end());
      BOOST_TEST_REQUIRE(all.size() == count, "every index exactly once across instances");
      for (size_t i = 0; i < all.size(); ++i)
        BOOST_TEST(all[i] == static_cast<int64_t>(i * 10));
    }
  }
}

BOOST_AUTO_TEST_CASE(poll_emits_at_most_max_records) {
  testing::harness h{std::make_unique<gen_t>(10, times_ten)};
  BOOST_TEST((h.poll(4, 1) == poll_status::more));
  BOOST_TEST(h.values<int64_t>().size() == 4u);
  BOOST_TEST(h.as<gen_t>().emitted() == 4u);
  BOOST_TEST((h.poll(4, 1) == poll_status::more));
  BOOST_TEST(h.values<int64_t>().size() == 4u);
  BOOST_TEST((h.poll(4, 1) == poll_status::end));  // the last two, then exhausted
  BOOST_TEST(h.values<int64_t>().size() == 2u);
  BOOST_TEST((h.poll(4, 1) == poll_status::end));
  BOOST_TEST(h.values<int64_t>().empty());
}

BOOST_AUTO_TEST_CASE(unbounded_generator_never_ends) {
  testing::harness h{std::make_unique<gen_t>(gen_t::unbounded_count, times_ten)};
  BOOST_TEST((h.poll(100, 50) == poll_status::more));
  BOOST_TEST(h.values<int64_t>().size() == 5000u);
  BOOST_TEST(h.as<gen_t>().emitted() == 5000u);
}

BOOST_AUTO_TEST_CASE(watermark_strategy_stamps_records_and_tracks_watermark) {
  auto src = std::make_unique<gen_t>(10, times_ten);
  src->set_watermarks(watermark_strategy<int64_t>::bounded(
      duration{5}, [](const int64_t& v) { return timestamp::of(v); }));
  auto* raw = src.get();
  testing::harness h{std::move(src)};
  BOOST_TEST((raw->watermark() == timestamp::min()));  // nothing seen yet
  h.poll(3, 1);
  auto out = h.output<int64_t>();
  BOOST_TEST_REQUIRE(out.size() == 3u);
  BOOST_TEST(out[2].ts.ms == 20);
  BOOST_TEST(raw->watermark().ms == 20 - 5 - 1);
  h.poll();
  BOOST_TEST(raw->watermark().ms == 90 - 5 - 1);
}

BOOST_AUTO_TEST_CASE(records_carry_no_timestamp_without_watermark_strategy) {
  testing::harness h{std::make_unique<gen_t>(3, times_ten)};
  h.poll();
  for (auto& r : h.output<int64_t>())
    BOOST_TEST((r.ts == timestamp::min()));
  BOOST_TEST((h.as<gen_t>().watermark() == timestamp::min()));
  BOOST_TEST(!h.as<gen_t>().idle_timeout().has_value());
}

BOOST_AUTO_TEST_CASE(idleness_is_reported_to_the_host) {
  auto src = std::make_unique<gen_t>(3, times_ten);
  src->set_watermarks(watermark_strategy<int64_t>::monotonous([](const int64_t& v) {
                        return timestamp::of(v);
                      }).with_idleness(duration{250}));
  BOOST_TEST((src->idle_timeout() == std::optional<duration>{duration{250}}));
}

BOOST_AUTO_TEST_SUITE_END()
