#include "sluice/ops/keyed.hpp"

#include <boost/test/unit_test.hpp>

#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "sluice/testing/harness.hpp"

using namespace sluice;

namespace {

struct sale {
  std::string shop;
  int amount = 0;
};

struct by_shop {
  std::string operator()(const sale& s) const { return s.shop; }
};

struct add_amounts {
  sale operator()(sale acc, sale next) const {
    acc.amount += next.amount;
    return acc;
  }
};

using reduce_op = ops::reduce_operator<sale, std::string, by_shop, add_amounts>;

}  // namespace

BOOST_AUTO_TEST_SUITE(ops_keyed)

BOOST_AUTO_TEST_CASE(reduce_emits_running_value_per_key_after_every_record) {
  testing::harness h{std::make_unique<reduce_op>(by_shop{}, add_amounts{})};
  h.push_batch<sale>({{{"a", 1}, timestamp::of(1)},
                      {{"b", 10}, timestamp::of(2)},
                      {{"a", 2}, timestamp::of(3)},
                      {{"a", 3}, timestamp::of(4)}});
  auto out = h.output<sale>();
  BOOST_TEST_REQUIRE(out.size() == 4u);
  std::vector<std::pair<std::string, int>> got;
  for (auto& r : out)
    got.emplace_back(r.value.shop, r.value.amount);
  BOOST_TEST(
      (got == std::vector<std::pair<std::string, int>>{{"a", 1}, {"b", 10}, {"a", 3}, {"a", 6}}));
  BOOST_TEST(out[3].ts.ms == 4);  // the input record's timestamp
  auto& op = h.as<reduce_op>();
  BOOST_TEST(op.keys() == 2u);
  BOOST_TEST_REQUIRE(op.value("a") != nullptr);
  BOOST_TEST(op.value("a")->amount == 6);
  BOOST_TEST(op.value("b")->amount == 10);
  BOOST_TEST(op.value("zzz") == nullptr);
  h.end();
  BOOST_TEST(h.output<sale>().empty(), "continuous mode emits nothing more at end");
}

BOOST_AUTO_TEST_CASE(reduce_state_survives_across_batches_and_matches_brute_force) {
  testing::harness h{std::make_unique<reduce_op>(by_shop{}, add_amounts{})};
  std::mt19937_64 rng{7};
  std::map<std::string, int> expected;
  for (int b = 0; b < 20; ++b) {
    std::vector<record<sale>> batch;
    for (int i = 0; i < 50; ++i) {
      sale s{"shop" + std::to_string(rng() % 5), static_cast<int>(rng() % 100)};
      expected[s.shop] += s.amount;
      batch.push_back({s, timestamp::of(b * 50 + i)});
    }
    h.push_batch(batch);
    auto out = h.output<sale>();
    BOOST_TEST_REQUIRE(out.size() == batch.size());
  }
  auto& op = h.as<reduce_op>();
  BOOST_TEST(op.keys() == expected.size());
  for (auto& [shop, total] : expected) {
    BOOST_TEST_REQUIRE(op.value(shop) != nullptr, shop);
    BOOST_TEST(op.value(shop)->amount == total, shop);
  }
}

BOOST_AUTO_TEST_CASE(reduce_in_micro_batch_mode_emits_changed_keys_once_per_interval) {
  testing::harness h{std::make_unique<reduce_op>(by_shop{}, add_amounts{},
                                                 ops::emit_policy::every(duration{100}))};
  h.push_batch<sale>(
      {{{"a", 1}, timestamp::of(7)}, {{"b", 10}, timestamp::of(2)}, {{"a", 2}, timestamp::of(5)}});
  BOOST_TEST(h.output<sale>().empty());
  h.advance_processing_time(duration{99});
  BOOST_TEST(h.output<sale>().empty());

  h.advance_processing_time(duration{1});  // now 100: one result per changed key
  auto out = h.output<sale>();
  std::map<std::string, std::pair<int, int64_t>> got;
  for (auto& r : out)
    got[r.value.shop] = {r.value.amount, r.ts.ms};
  BOOST_TEST(out.size() == 2u);
  BOOST_TEST((got["a"] == std::pair<int, int64_t>{3, 7}));  // latest timestamp of the key
  BOOST_TEST((got["b"] == std::pair<int, int64_t>{10, 2}));

  h.advance_processing_time(duration{100});  // nothing changed: nothing emitted
  BOOST_TEST(h.output<sale>().empty());

  h.push(sale{"b", 5}, timestamp::of(9));
  h.advance_processing_time(duration{100});  // now 300
  out = h.output<sale>();
  BOOST_TEST_REQUIRE(out.size() == 1u);
  BOOST_TEST(out[0].value.shop == "b");
  BOOST_TEST(out[0].value.amount == 15);

  h.push(sale{"a", 1}, timestamp::of(10));
  h.end();  // the keys changed since the last interval are emitted at end of input
  out = h.output<sale>();
  BOOST_TEST_REQUIRE(out.size() == 1u);
  BOOST_TEST(out[0].value.amount == 4);
}

BOOST_AUTO_TEST_CASE(reduce_at_end_emits_each_key_once_when_input_ends) {
  testing::harness h{
      std::make_unique<reduce_op>(by_shop{}, add_amounts{}, ops::emit_policy::at_end())};
  for (int i = 0; i < 10; ++i)
    h.push(sale{i % 2 ? "odd" : "even", i}, timestamp::of(i));
  h.advance_processing_time(duration{1000000});
  h.watermark(timestamp::of(1000));
  BOOST_TEST(h.output<sale>().empty());
  h.end();
  std::map<std::string, int> got;
  for (auto& s : h.values<sale>())
    got[s.shop] += s.amount;
  BOOST_TEST((got == std::map<std::string, int>{{"even", 20}, {"odd", 25}}));
}

BOOST_AUTO_TEST_CASE(keyed_process_gives_each_key_its_own_default_constructed_state) {
  auto count = [](const std::string& key, sale s, int& seen, collector<std::string>& out) {
    ++seen;
    out.emit(key + "#" + std::to_string(seen) + ":" + std::to_string(s.amount));
  };
  using op_t =
      ops::keyed_process_operator<sale, std::string, int, std::string, by_shop, decltype(count)>;
  testing::harness h{std::make_unique<op_t>(by_shop{}, count)};
  h.push_batch<sale>(
      {{{"x", 5}, timestamp::of(1)}, {{"y", 6}, timestamp::of(2)}, {{"x", 7}, timestamp::of(3)}});
  auto out = h.output<std::string>();
  BOOST_TEST_REQUIRE(out.size() == 3u);
  BOOST_TEST(out[0].value == "x#1:5");
  BOOST_TEST(out[1].value == "y#1:6");
  BOOST_TEST(out[2].value == "x#2:7");
  BOOST_TEST(out[2].ts.ms == 3);
  BOOST_TEST(h.as<op_t>().state().at("x") == 2);
  BOOST_TEST(h.as<op_t>().state().at("y") == 1);
}

BOOST_AUTO_TEST_CASE(keyed_process_may_emit_nothing_or_several_records) {
  // Emits the running maximum only when it changes, plus an alert above 100.
  auto f = [](const std::string&, sale s, std::optional<int>& max, collector<int>& out) {
    if (!max || s.amount > *max) {
      max = s.amount;
      out.emit(s.amount);
      if (s.amount > 100)
        out.emit_at(-1, timestamp::of(0));
    }
  };
  using op_t =
      ops::keyed_process_operator<sale, std::string, std::optional<int>, int, by_shop, decltype(f)>;
  testing::harness h{std::make_unique<op_t>(by_shop{}, f)};
  h.push_batch<sale>(
      {{{"a", 5}, timestamp::of(1)}, {{"a", 3}, timestamp::of(2)}, {{"a", 200}, timestamp::of(3)}});
  auto out = h.output<int>();
  BOOST_TEST_REQUIRE(out.size() == 3u);
  BOOST_TEST(out[0].value == 5);
  BOOST_TEST(out[1].value == 200);
  BOOST_TEST(out[2].value == -1);
  BOOST_TEST(out[2].ts.ms == 0);
}

// Stream-table enrichment: input 1 carries customer records (the table),
// input 0 carries orders (the stream) that look up their customer.
BOOST_AUTO_TEST_CASE(co_process_enriches_stream_with_table_state) {
  struct order {
    int customer;
    int amount;
  };
  struct customer {
    int id;
    std::string name;
  };
  auto order_key = [](const order& o) {
    return o.customer;
  };
  auto customer_key = [](const customer& c) {
    return c.id;
  };
  auto on_order = [](const int& id, order o, std::string& name, collector<std::string>& out) {
    out.emit((name.empty() ? "unknown#" + std::to_string(id) : name) + ":" +
             std::to_string(o.amount));
  };
  auto on_customer = [](const int&, customer c, std::string& name, collector<std::string>&) {
    name = std::move(c.name);  // table update: state only, no output
  };
  using op_t =
      ops::co_process_operator<order, customer, int, std::string, std::string, decltype(order_key),
                               decltype(customer_key), decltype(on_order), decltype(on_customer)>;
  testing::harness h{std::make_unique<op_t>(order_key, customer_key, on_order, on_customer)};

  h.push(order{1, 10}, timestamp::of(1), 0);  // before the table knows customer 1
  h.push(customer{1, "ada"}, timestamp::of(2), 1);
  BOOST_TEST(h.values<std::string>() == std::vector<std::string>{"unknown#1:10"});

  h.push_batch<order>({{{1, 20}, timestamp::of(3)}, {{2, 5}, timestamp::of(4)}}, 0);
  auto out = h.output<std::string>();
  BOOST_TEST_REQUIRE(out.size() == 2u);
  BOOST_TEST(out[0].value == "ada:20");
  BOOST_TEST(out[0].ts.ms == 3);
  BOOST_TEST(out[1].value == "unknown#2:5");

  h.push(customer{1, "grace"}, timestamp::of(5), 1);  // table update replaces the row
  h.push(customer{2, "alan"}, timestamp::of(6), 1);
  h.push_batch<order>({{{2, 7}, timestamp::of(7)}, {{1, 8}, timestamp::of(8)}}, 0);
  BOOST_TEST(h.values<std::string>() == (std::vector<std::string>{"alan:7", "grace:8"}));
  BOOST_TEST(h.as<op_t>().state().size() == 2u);
  BOOST_TEST(h.as<op_t>().state().at(1) == "grace");
}

BOOST_AUTO_TEST_SUITE_END()
