#include "sluice/key_group.hpp"

#include <boost/test/unit_test.hpp>

#include <cstdint>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

using namespace sluice;

BOOST_AUTO_TEST_SUITE(key_group_mapping)

BOOST_AUTO_TEST_CASE(key_group_of_is_stable_and_within_range) {
  for (uint32_t m : {1u, 7u, 128u, 1000u, 32768u}) {
    for (int i = 0; i < 2000; ++i) {
      const std::string s = "key-" + std::to_string(i);
      const auto kg = key_group_of(s, m);
      BOOST_TEST(kg.value < m);
      BOOST_TEST((kg == key_group_of(std::string{s}, m)));  // same key, same group
      BOOST_TEST(key_group_of(i, m).value < m);
      BOOST_TEST((key_group_of(i, m) == key_group_of(i, m)));
      const auto p = std::make_pair(i, s);
      BOOST_TEST((key_group_of(p, m) == key_group_of(std::make_pair(i, s), m)));
      BOOST_TEST(key_group_of(std::make_tuple(i, s, 1.5), m).value < m);
    }
  }
}

BOOST_AUTO_TEST_CASE(key_group_of_uses_every_group_for_sequential_integer_keys) {
  // std::hash<int> is the identity; the finaliser must still spread keys.
  const uint32_t m = 128;
  std::vector<int> count(m, 0);
  const int n = 128 * 200;
  for (int i = 0; i < n; ++i)
    ++count[key_group_of(i, m).value];
  for (uint32_t g = 0; g < m; ++g) {
    BOOST_TEST(count[g] > 100, "group " << g << " got " << count[g]);  // mean 200
    BOOST_TEST(count[g] < 300, "group " << g << " got " << count[g]);
  }
}

BOOST_AUTO_TEST_CASE(pair_keys_depend_on_both_members) {
  size_t differs_by_first = 0, differs_by_second = 0;
  for (int i = 0; i < 100; ++i) {
    differs_by_first +=
        key_group_of(std::make_pair(i, 0), 128) != key_group_of(std::make_pair(i + 1, 0), 128);
    differs_by_second +=
        key_group_of(std::make_pair(0, i), 128) != key_group_of(std::make_pair(0, i + 1), 128);
  }
  BOOST_TEST(differs_by_first > 90u);
  BOOST_TEST(differs_by_second > 90u);
}

BOOST_AUTO_TEST_CASE(every_key_group_belongs_to_exactly_one_instance_in_contiguous_ranges) {
  for (uint32_t m : {1u, 7u, 100u, 128u, 1000u}) {
    for (uint32_t p : {1u, 2u, 3u, 5u, 7u, 64u, 100u, 128u}) {
      if (p > m)
        continue;
      BOOST_TEST_CONTEXT("max parallelism " << m << ", parallelism " << p) {
        std::vector<uint32_t> owned(p, 0);
        uint32_t prev = 0;
        for (uint32_t g = 0; g < m; ++g) {
          const auto i = instance_for(key_group{g}, p, m);
          BOOST_TEST_REQUIRE(i.value < p);
          BOOST_TEST(i.value >= prev);  // non-decreasing: ranges are contiguous
          BOOST_TEST(i.value <= prev + 1);
          prev = i.value;
          ++owned[i.value];
        }
        for (uint32_t i = 0; i < p; ++i) {
          const uint32_t first = first_key_group(instance_index{i}, p, m).value;
          const uint32_t end = i + 1 < p ? first_key_group(instance_index{i + 1}, p, m).value : m;
          BOOST_TEST(first < end, "instance " << i << " owns no key group");
          BOOST_TEST(end - first == owned[i], "instance " << i);
          BOOST_TEST(instance_for(key_group{first}, p, m).value == i);
          BOOST_TEST(instance_for(key_group{end - 1}, p, m).value == i);
          if (first > 0)
            BOOST_TEST(instance_for(key_group{first - 1}, p, m).value == i - 1);
          BOOST_TEST(owned[i] >= m / p);  // balanced to within one group
          BOOST_TEST(owned[i] <= (m + p - 1) / p);
        }
        BOOST_TEST(first_key_group(instance_index{0}, p, m).value == 0u);
        BOOST_TEST(first_key_group(instance_index{p}, p, m).value == m);
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(default_max_parallelism_is_128) {
  BOOST_TEST(default_max_parallelism == 128u);
}

BOOST_AUTO_TEST_SUITE_END()
