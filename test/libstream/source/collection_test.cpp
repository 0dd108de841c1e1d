#include "sluice/source/collection.hpp"

#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "sluice/testing/harness.hpp"

using namespace sluice;

BOOST_AUTO_TEST_SUITE(source_collection)

BOOST_AUTO_TEST_CASE(emits_elements_in_order_then_ends) {
  auto items = std::make_shared<const std::vector<std::string>>(
      std::vector<std::string>{"a", "b", "c", "d", "e"});
  testing::harness h{std::make_unique<collection_source<std::string>>(items)};
  BOOST_TEST((h.poll(2, 1) == poll_status::more));
  BOOST_TEST(h.values<std::string>() == (std::vector<std::string>{"a", "b"}));
  BOOST_TEST((h.poll(2) == poll_status::end));
  BOOST_TEST(h.values<std::string>() == (std::vector<std::string>{"c", "d", "e"}));
  BOOST_TEST(h.as<collection_source<std::string>>().emitted() == items->size());
}

BOOST_AUTO_TEST_CASE(empty_collection_ends_immediately) {
  auto items = std::make_shared<const std::vector<int>>();
  testing::harness h{std::make_unique<collection_source<int>>(items)};
  BOOST_TEST((h.poll() == poll_status::end));
  BOOST_TEST(h.values<int>().empty());
}

BOOST_AUTO_TEST_CASE(instances_share_the_vector_and_split_it_by_split_range) {
  std::vector<int> v(23);
  for (int i = 0; i < 23; ++i)
    v[i] = 100 + i;
  auto items = std::make_shared<const std::vector<int>>(v);
  for (uint32_t p : {1u, 2u, 4u, 5u, 30u}) {
    std::vector<int> all;
    for (uint32_t k = 0; k < p; ++k) {
      testing::harness h{std::make_unique<collection_source<int>>(items), k, p};
      BOOST_TEST((h.poll(3) == poll_status::end));
      auto out = h.values<int>();
      auto range = split_range::of(k, p, 128);
      for (size_t j = 0; j < out.size(); ++j)
        BOOST_TEST(range.owns(static_cast<uint32_t>((out[j] - 100) % 128)),
                   "instance " << k << " of " << p);
      BOOST_TEST(std::is_sorted(out.begin(), out.end()));
      all.insert(all.end(), out.begin(), out.end());
    }
    std::sort(all.begin(), all.end());
    BOOST_TEST(all == v, "parallelism " << p << ": every element exactly once");
  }
  BOOST_TEST(items.use_count() == 1);  // the harnesses are gone; nothing kept a copy
}

BOOST_AUTO_TEST_CASE(watermark_strategy_stamps_collection_records) {
  auto items = std::make_shared<const std::vector<int>>(std::vector<int>{5, 1, 9, 3});
  auto src = std::make_unique<collection_source<int>>(items);
  src->set_watermarks(
      watermark_strategy<int>::bounded(duration{2}, [](const int& x) { return timestamp::of(x); }));
  testing::harness h{std::move(src)};
  h.poll();
  auto out = h.output<int>();
  BOOST_TEST_REQUIRE(out.size() == 4u);
  for (auto& r : out)
    BOOST_TEST(r.ts.ms == r.value);
  BOOST_TEST(h.as<collection_source<int>>().watermark().ms == 9 - 2 - 1);
}

BOOST_AUTO_TEST_SUITE_END()
