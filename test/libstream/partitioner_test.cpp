#include "sluice/partitioner.hpp"

#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <map>
#include <memory>
#include <string>
#include <vector>

using namespace sluice;

namespace {

struct item {
  std::string key;
  int seq = 0;
};

struct by_key {
  const std::string& operator()(const item& x) const { return x.key; }
};

std::shared_ptr<typed_batch<item>> make_batch(int n, int first_seq = 0, int keys = 13) {
  auto b = std::make_shared<typed_batch<item>>();
  for (int i = 0; i < n; ++i) {
    const int seq = first_seq + i;
    b->records.push_back({{"k" + std::to_string(seq % keys), seq}, timestamp::of(seq)});
  }
  return b;
}

/// Takes every target's buffer: per target, the sequence numbers it got.
std::vector<std::vector<int>> take_all(partitioner_base& p) {
  std::vector<std::vector<int>> out(p.targets());
  for (size_t t = 0; t < p.targets(); ++t) {
    const size_t buffered = p.buffered(t);
    auto b = p.take(t);
    BOOST_TEST(b->size() == buffered);
    BOOST_TEST(p.buffered(t) == 0u);
    for (auto& r : batch_cast<item>(*b).records) {
      BOOST_TEST(r.ts.ms == r.value.seq);  // timestamps travel with their records
      out[t].push_back(r.value.seq);
    }
  }
  return out;
}

std::vector<int> iota(int n, int first = 0) {
  std::vector<int> v(n);
  for (int i = 0; i < n; ++i)
    v[i] = first + i;
  return v;
}

const auto factory = make_partitioner_factory<item>(by_key{});

}  // namespace

BOOST_AUTO_TEST_SUITE(partitioner)

BOOST_AUTO_TEST_CASE(partitioning_names) {
  BOOST_TEST(std::string{to_string(partitioning::forward)} == "forward");
  BOOST_TEST(std::string{to_string(partitioning::rebalance)} == "rebalance");
  BOOST_TEST(std::string{to_string(partitioning::broadcast)} == "broadcast");
  BOOST_TEST(std::string{to_string(partitioning::hash)} == "hash");
}

// The runtime gives a forward edge's partitioner one target: the downstream
// instance with the same index.
BOOST_AUTO_TEST_CASE(forward_sends_every_record_to_its_single_target_in_order) {
  for (bool consume : {true, false}) {
    auto p = factory(partitioning::forward, 3, 1, 128);
    BOOST_TEST(p->targets() == 1u);
    auto b1 = make_batch(10);
    auto b2 = make_batch(5, 10);
    p->add(*b1, consume);
    p->add(*b2, consume);
    BOOST_TEST(p->buffered(0) == 15u);
    if (!consume)
      BOOST_TEST(b1->records.size() == 10u);  // copied, input untouched
    BOOST_TEST(take_all(*p)[0] == iota(15), "consume " << consume);
  }
}

BOOST_AUTO_TEST_CASE(rebalance_routes_every_record_once_round_robin) {
  for (uint32_t n : {1u, 2u, 3u, 8u}) {
    for (uint32_t from : {0u, 1u, 5u}) {
      BOOST_TEST_CONTEXT("targets " << n << ", from instance " << from) {
        auto p = factory(partitioning::rebalance, from, n, 128);
        auto b1 = make_batch(50);
        auto b2 = make_batch(27, 50);
        p->add(*b1, true);
        p->add(*b2, false);
        const auto got = take_all(*p);
        std::vector<int> all;
        for (uint32_t t = 0; t < n; ++t) {
          all.insert(all.end(), got[t].begin(), got[t].end());
          BOOST_TEST(std::is_sorted(got[t].begin(), got[t].end()));
          // consecutive records go to consecutive targets, starting at from % n
          for (int seq : got[t])
            BOOST_TEST((from + seq) % n == t);
        }
        std::sort(all.begin(), all.end());
        BOOST_TEST(all == iota(77));
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(broadcast_sends_every_record_to_every_target) {
  for (bool consume : {true, false}) {
    auto p = factory(partitioning::broadcast, 0, 4, 128);
    auto b = make_batch(20);
    p->add(*b, consume);
    if (!consume) {
      BOOST_TEST_REQUIRE(b->records.size() == 20u);
      BOOST_TEST(b->records[19].value.key == "k6");  // values intact after copying
    }
    const auto got = take_all(*p);
    for (uint32_t t = 0; t < 4; ++t)
      BOOST_TEST(got[t] == iota(20), "target " << t);
  }
}

BOOST_AUTO_TEST_CASE(broadcast_moves_only_into_the_last_target) {
  auto p = factory(partitioning::broadcast, 0, 3, 128);
  auto b = make_batch(5);
  p->add(*b, true);
  for (size_t t = 0; t < 3; ++t) {
    auto out = p->take(t);
    for (auto& r : batch_cast<item>(*out).records)
      BOOST_TEST(r.value.key == "k" + std::to_string(r.value.seq), "target " << t);
  }
}

BOOST_AUTO_TEST_CASE(hash_routes_every_record_once_and_equal_keys_together) {
  for (uint32_t n : {1u, 2u, 3u, 7u}) {
    for (uint32_t m : {7u, 128u}) {
      BOOST_TEST_CONTEXT("targets " << n << ", max parallelism " << m) {
        auto p = factory(partitioning::hash, 0, n, m);
        auto b = make_batch(200, 0, 31);
        p->add(*b, true);
        const auto got = take_all(*p);
        std::map<std::string, std::vector<uint32_t>> targets_of_key;
        std::vector<int> all;
        for (uint32_t t = 0; t < n; ++t) {
          for (int seq : got[t]) {
            const std::string key = "k" + std::to_string(seq % 31);
            targets_of_key[key].push_back(t);
            BOOST_TEST(instance_for(key_group_of(key, m), n, m).value == t, key);
            all.push_back(seq);
          }
        }
        std::sort(all.begin(), all.end());
        BOOST_TEST(all == iota(200));
        for (auto& [key, ts] : targets_of_key)
          BOOST_TEST(std::all_of(ts.begin(), ts.end(), [&](uint32_t t) { return t == ts[0]; }),
                     key << " went to more than one target");
        if (n > 1) {
          size_t used = 0;
          for (auto& g : got)
            used += !g.empty();
          BOOST_TEST(used > 1u, "31 keys all hashed to one target");
        }
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(hash_routing_agrees_across_upstream_instances) {
  auto p0 = factory(partitioning::hash, 0, 4, 128);
  auto p1 = factory(partitioning::hash, 1, 4, 128);
  auto b0 = make_batch(100);
  auto b1 = make_batch(100);
  p0->add(*b0, true);
  p1->add(*b1, true);
  BOOST_TEST((take_all(*p0) == take_all(*p1)));
}

BOOST_AUTO_TEST_CASE(take_leaves_an_empty_buffer_that_keeps_working) {
  auto p = factory(partitioning::rebalance, 0, 2, 128);
  auto b = make_batch(4);
  p->add(*b, true);
  auto first = p->take(0);
  BOOST_TEST(first->size() == 2u);
  BOOST_TEST(p->take(0)->size() == 0u);
  auto more = make_batch(4, 4);
  p->add(*more, true);
  BOOST_TEST(p->buffered(0) == 2u);
  BOOST_TEST(p->buffered(1) == 4u);
  BOOST_TEST((first->type() == typeid(item)));
}

BOOST_AUTO_TEST_SUITE_END()
