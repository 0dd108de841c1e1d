#include "sluice/window/key_table.hpp"

#include <boost/test/unit_test.hpp>

#include <cstdint>
#include <random>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

using sluice::window::key_table;

namespace {

/// A hash with many collisions, so that probing and tag mismatches are
/// exercised, not just the home slot.
struct colliding_hash {
  size_t operator()(const std::string& s) const noexcept { return s.size() % 7; }
};

}  // namespace

BOOST_AUTO_TEST_SUITE(window_key_table)

BOOST_AUTO_TEST_CASE(behaves_like_a_map_over_many_keys_and_keeps_insertion_order) {
  key_table<uint64_t, uint64_t> t;
  std::unordered_map<uint64_t, uint64_t> ref;
  std::vector<uint64_t> order;
  std::mt19937_64 rng{7};
  for (int i = 0; i < 200'000; ++i) {
    const uint64_t k = rng() % 50'000;
    auto [e, inserted] = t.find_or_insert(k, [] { return uint64_t{0}; });
    BOOST_REQUIRE(e->key == k);
    BOOST_REQUIRE(inserted == (ref.count(k) == 0));
    if (inserted)
      order.push_back(k);
    e->value += static_cast<uint64_t>(i);
    ref[k] += static_cast<uint64_t>(i);
  }
  BOOST_TEST(t.size() == ref.size());
  size_t i = 0;
  for (auto& e : t) {
    BOOST_REQUIRE(i < order.size());
    BOOST_TEST(e.key == order[i++]);
    BOOST_TEST(e.value == ref.at(e.key));
    BOOST_TEST(e.hash == sluice::key_hash<uint64_t>{}(e.key));
  }
  for (uint64_t k = 50'000; k < 50'100; ++k)
    BOOST_TEST(t.find(k) == nullptr);
}

BOOST_AUTO_TEST_CASE(colliding_hashes_still_find_each_key) {
  key_table<std::string, int, colliding_hash> t;
  for (int i = 0; i < 2000; ++i)
    t.insert_or_assign("k" + std::to_string(i), i);
  for (int i = 0; i < 2000; i += 3)
    t.insert_or_assign("k" + std::to_string(i), -i);  // overwrite, no insert
  BOOST_TEST(t.size() == 2000u);
  for (int i = 0; i < 2000; ++i) {
    const auto* e = t.find("k" + std::to_string(i));
    BOOST_REQUIRE(e != nullptr);
    BOOST_TEST(e->value == (i % 3 == 0 ? -i : i));
  }
  BOOST_TEST(t.find("k2000") == nullptr);
  BOOST_TEST(t.find("") == nullptr);
}

BOOST_AUTO_TEST_CASE(empty_table_finds_nothing) {
  const key_table<uint32_t, int> t;
  BOOST_TEST(t.empty());
  BOOST_TEST(t.find(0u) == nullptr);
  BOOST_TEST((t.begin() == t.end()));
}

BOOST_AUTO_TEST_SUITE_END()
