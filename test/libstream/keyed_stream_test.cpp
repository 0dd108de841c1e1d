// keyed_stream<T, K> and the windowed and connected streams name no lambda
// type: they can be written in signatures and stored in members. The plan they
// build is driven here through its operator factories and hash partitioners,
// without the actor runtime.
#include "sluice/keyed_stream.hpp"

#include <boost/test/unit_test.hpp>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "sluice/pipeline.hpp"
#include "sluice/testing/harness.hpp"

using namespace sluice;

namespace {

struct sale {
  std::string shop;
  int64_t amount = 0;
};

/// A keyed stream in a function signature: a library of the user's own that
/// takes any keyed stream of sales, whatever lambda keyed it.
stream<std::pair<std::string, int64_t>> running_totals(keyed_stream<sale, std::string> sales) {
  return sales.process([](const std::string& shop, sale s, int64_t& total,
                          collector<std::pair<std::string, int64_t>>& out) {
    total += s.amount;
    out.emit({shop, total});
  });
}

/// A keyed stream stored in a member, built in one place and used in another.
struct sales_job {
  explicit sales_job(pipeline& p)
      : by_shop(p.from_collection<sale>({}).key_by([](const sale& s) { return s.shop; })) {}
  keyed_stream<sale, std::string> by_shop;
};

/// The operator of plan node `id`, in a harness.
testing::harness host(const pipeline& p, uint32_t id) {
  return testing::harness{p.plan().nodes.at(id).make()};
}

/// The single edge into node `id`.
const plan_edge& edge_into(const pipeline& p, uint32_t id) {
  const plan_edge* found = nullptr;
  for (auto& e : p.plan().edges)
    if (e.to == id) {
      BOOST_TEST_REQUIRE(found == nullptr);
      found = &e;
    }
  BOOST_TEST_REQUIRE(found != nullptr);
  return *found;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(keyed_stream_api)

BOOST_AUTO_TEST_CASE(keyed_stream_type_names_only_record_and_key) {
  pipeline p;
  auto by_lambda = p.from_collection<sale>({}).key_by([](const sale& s) { return s.shop; });
  auto by_other = p.from_collection<sale>({}).key_by([](const sale& s) { return s.shop + "!"; });
  static_assert(std::is_same_v<decltype(by_lambda), keyed_stream<sale, std::string>>);
  static_assert(std::is_same_v<decltype(by_lambda), decltype(by_other)>);
  auto windows = by_lambda.window(window::tumbling::of(duration{10}));
  static_assert(
      std::is_same_v<decltype(windows), windowed_stream<sale, std::string, window::tumbling>>);
  auto both = by_lambda.connect(by_other);
  static_assert(std::is_same_v<decltype(both), connected_streams<sale, sale, std::string>>);
}

BOOST_AUTO_TEST_CASE(keyed_stream_in_a_signature_and_a_member_runs_its_key_function) {
  pipeline p;
  sales_job job{p};
  keyed_stream<sale, std::string> copy = job.by_shop;  // copyable, like any value
  auto totals = running_totals(copy);

  auto h = host(p, totals.node_id());
  h.push(sale{"a", 1});
  h.push(sale{"b", 10});
  h.push(sale{"a", 2});
  using out_t = std::pair<std::string, int64_t>;
  BOOST_TEST((h.values<out_t>() == std::vector<out_t>{{"a", 1}, {"b", 10}, {"a", 3}}));

  // The edge into the keyed operator is hashed by the same key function.
  const plan_edge& e = edge_into(p, totals.node_id());
  BOOST_TEST((e.kind == partitioning::hash));
  auto part = e.make_partitioner(partitioning::hash, 0, 4, 128);
  typed_batch<sale> in;
  for (int i = 0; i < 50; ++i)
    in.records.push_back(record<sale>{sale{"shop" + std::to_string(i % 7), i}, timestamp::min()});
  part->add(in, false);
  std::map<std::string, size_t> target_of;
  for (size_t t = 0; t < part->targets(); ++t) {
    auto b = part->take(t);
    for (auto& r : batch_cast<sale>(*b).records) {
      const auto expected = instance_for(key_group_of(r.value.shop, 128), 4, 128).value;
      BOOST_TEST(t == expected);
      auto [it, fresh] = target_of.emplace(r.value.shop, t);
      BOOST_TEST(it->second == t);  // a key goes to one instance only
    }
  }
  BOOST_TEST(target_of.size() == 7u);
}

BOOST_AUTO_TEST_CASE(windowed_stream_in_a_member_aggregates_per_key) {
  pipeline p;
  struct windows_holder {
    windowed_stream<sale, std::string, window::tumbling> w;
  };
  windows_holder holder{p.from_collection<sale>({})
                            .key_by([](const sale& s) { return s.shop; })
                            .window(window::tumbling::of(duration{10}))};
  auto sums = holder.w.reduce([](sale a, const sale& b) {
    a.amount += b.amount;
    return a;
  });

  auto h = host(p, sums.node_id());
  h.push(sale{"a", 1}, timestamp::of(1));
  h.push(sale{"b", 5}, timestamp::of(2));
  h.push(sale{"a", 2}, timestamp::of(9));
  h.push(sale{"a", 4}, timestamp::of(12));
  h.watermark(timestamp::of(20));
  std::map<std::pair<std::string, int64_t>, int64_t> got;
  for (auto& r : h.values<window::window_result<std::string, sale>>())
    got[{r.key, r.window.start}] = r.value.amount;
  BOOST_TEST((got == std::map<std::pair<std::string, int64_t>, int64_t>{
                         {{"a", 0}, 3}, {{"b", 0}, 5}, {{"a", 10}, 4}}));
}

BOOST_AUTO_TEST_CASE(keyed_process_deduces_state_and_output_from_the_lambda) {
  pipeline p;
  auto counts = p.from_collection<sale>({})
                    .key_by([](const sale& s) { return s.shop; })
                    .process([](const std::string& shop, const sale&, uint64_t& seen,
                                collector<std::string>& out) {
                      out.emit(shop + "#" + std::to_string(++seen));
                    });
  static_assert(std::is_same_v<decltype(counts), stream<std::string>>);
  auto h = host(p, counts.node_id());
  h.push(sale{"a", 1});
  h.push(sale{"a", 1});
  h.push(sale{"b", 1});
  BOOST_TEST((h.values<std::string>() == std::vector<std::string>{"a#1", "a#2", "b#1"}));
}

BOOST_AUTO_TEST_CASE(keyed_process_with_a_generic_lambda_names_its_types) {
  pipeline p;
  auto out = p.from_collection<sale>({})
                 .key_by([](const sale& s) { return s.shop; })
                 .process<int64_t, int64_t>([](const auto&, const auto& s, auto& sum, auto& o) {
                   sum += s.amount;
                   o.emit(sum);
                 });
  static_assert(std::is_same_v<decltype(out), stream<int64_t>>);
  auto h = host(p, out.node_id());
  h.push(sale{"a", 2});
  h.push(sale{"a", 3});
  BOOST_TEST((h.values<int64_t>() == std::vector<int64_t>{2, 5}));
}

BOOST_AUTO_TEST_CASE(connected_process_deduces_state_and_output_from_the_first_function) {
  pipeline p;
  auto prices = p.from_collection<std::pair<std::string, int64_t>>({}).key_by(
      [](const std::pair<std::string, int64_t>& x) { return x.first; });
  auto orders = p.from_collection<sale>({}).key_by([](const sale& s) { return s.shop; });
  auto priced = prices.connect(orders).process(
      [](const std::string&, std::pair<std::string, int64_t> price, int64_t& state,
         collector<int64_t>&) { state = price.second; },
      [](const std::string&, sale s, int64_t& state, collector<int64_t>& out) {
        out.emit(s.amount * state);
      });
  static_assert(std::is_same_v<decltype(priced), stream<int64_t>>);
  auto h = host(p, priced.node_id());
  h.push(std::pair<std::string, int64_t>{"a", 3}, timestamp::min(), 0);
  h.push(sale{"a", 2}, timestamp::min(), 1);
  h.push(sale{"b", 2}, timestamp::min(), 1);
  BOOST_TEST((h.values<int64_t>() == std::vector<int64_t>{6, 0}));
}

BOOST_AUTO_TEST_SUITE_END()
