#include "sluice/ops/stateless.hpp"

#include <boost/test/unit_test.hpp>

#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "sluice/testing/harness.hpp"

using namespace sluice;

namespace {

template <class Op, class... Args>
testing::harness make(Args&&... args) {
  return testing::harness{std::make_unique<Op>(std::forward<Args>(args)...)};
}

template <class T>
std::vector<int64_t> stamps(const std::vector<record<T>>& rs) {
  std::vector<int64_t> out;
  for (auto& r : rs)
    out.push_back(r.ts.ms);
  return out;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(ops_stateless)

BOOST_AUTO_TEST_CASE(map_transforms_each_record_and_keeps_its_timestamp) {
  auto f = [](int x) {
    return std::to_string(x * 2);
  };
  auto h = make<ops::map_operator<int, std::string, decltype(f)>>(f);
  h.push_batch<int>({{1, timestamp::of(10)}, {2, timestamp::of(20)}, {3, timestamp::min()}});
  auto out = h.output<std::string>();
  BOOST_TEST_REQUIRE(out.size() == 3u);
  BOOST_TEST(out[0].value == "2");
  BOOST_TEST(out[1].value == "4");
  BOOST_TEST(out[2].value == "6");
  BOOST_TEST(stamps(out) == (std::vector<int64_t>{10, 20, timestamp::min().ms}));
}

BOOST_AUTO_TEST_CASE(map_moves_value_into_function_taking_it_by_value) {
  auto f = [](std::unique_ptr<int> p) {
    return *p + 1;
  };  // move-only input
  auto h = make<ops::map_operator<std::unique_ptr<int>, int, decltype(f)>>(f);
  h.push(std::make_unique<int>(41), timestamp::of(1));
  BOOST_TEST(h.values<int>() == std::vector<int>{42});
}

BOOST_AUTO_TEST_CASE(map_passes_const_reference_to_function_taking_one) {
  int calls = 0;
  auto f = [&calls](const std::string& s) {
    ++calls;
    return s.size();
  };
  auto h = make<ops::map_operator<std::string, size_t, decltype(f)>>(f);
  h.push(std::string{"abcd"});
  h.push(std::string{""});
  BOOST_TEST(h.values<size_t>() == (std::vector<size_t>{4, 0}));
  BOOST_TEST(calls == 2);
}

BOOST_AUTO_TEST_CASE(filter_keeps_matching_records_in_order) {
  auto even = [](const int& x) {
    return x % 2 == 0;
  };
  auto h = make<ops::filter_operator<int, decltype(even)>>(even);
  std::vector<record<int>> in;
  for (int i = 0; i < 10; ++i)
    in.push_back({i, timestamp::of(100 + i)});
  h.push_batch(in);
  auto out = h.output<int>();
  std::vector<int> vals;
  for (auto& r : out)
    vals.push_back(r.value);
  BOOST_TEST(vals == (std::vector<int>{0, 2, 4, 6, 8}));
  BOOST_TEST(stamps(out) == (std::vector<int64_t>{100, 102, 104, 106, 108}));
}

BOOST_AUTO_TEST_CASE(filter_rejecting_everything_emits_nothing) {
  auto none = [](const int&) {
    return false;
  };
  auto h = make<ops::filter_operator<int, decltype(none)>>(none);
  h.push_batch<int>({{1, timestamp::of(1)}, {2, timestamp::of(2)}});
  BOOST_TEST(h.output<int>().empty());
}

BOOST_AUTO_TEST_CASE(flat_map_emits_zero_or_more_records_per_input) {
  auto split = [](const std::string& line, collector<std::string>& out) {
    std::istringstream in{line};
    for (std::string w; in >> w;)
      out.emit(w);
  };
  auto h = make<ops::flat_map_operator<std::string, std::string, decltype(split)>>(split);
  h.push_batch<std::string>(
      {{"a b  c", timestamp::of(5)}, {"", timestamp::of(6)}, {"d", timestamp::of(7)}});
  auto out = h.output<std::string>();
  std::vector<std::string> words;
  for (auto& r : out)
    words.push_back(r.value);
  BOOST_TEST(words == (std::vector<std::string>{"a", "b", "c", "d"}));
  BOOST_TEST(stamps(out) == (std::vector<int64_t>{5, 5, 5, 7}));  // inherited from the input
}

BOOST_AUTO_TEST_CASE(flat_map_emit_at_overrides_the_timestamp) {
  auto f = [](int x, collector<int>& out) {
    BOOST_TEST(out.input_timestamp().ms == 100);
    out.emit(x);
    out.emit_at(x + 1, timestamp::of(out.input_timestamp().ms + 50));
  };
  auto h = make<ops::flat_map_operator<int, int, decltype(f)>>(f);
  h.push(1, timestamp::of(100));
  auto out = h.output<int>();
  BOOST_TEST_REQUIRE(out.size() == 2u);
  BOOST_TEST(out[0].value == 1);
  BOOST_TEST(out[0].ts.ms == 100);
  BOOST_TEST(out[1].value == 2);
  BOOST_TEST(out[1].ts.ms == 150);
}

BOOST_AUTO_TEST_CASE(union_forwards_records_of_every_input_unchanged) {
  testing::harness h{std::make_unique<ops::union_operator<int>>()};
  h.push_batch<int>({{1, timestamp::of(1)}, {2, timestamp::of(2)}}, 0);
  h.push_batch<int>({{10, timestamp::of(10)}}, 1);
  h.push_batch<int>({{3, timestamp::of(3)}}, 2);
  auto out = h.output<int>();
  std::vector<int> vals;
  for (auto& r : out)
    vals.push_back(r.value);
  BOOST_TEST(vals == (std::vector<int>{1, 2, 10, 3}));
  BOOST_TEST(stamps(out) == (std::vector<int64_t>{1, 2, 10, 3}));
}

// The harness drains after every call; a runtime may call process twice
// before draining, which takes the append path instead of the swap.
BOOST_AUTO_TEST_CASE(union_appends_when_output_not_yet_drained) {
  ops::union_operator<int> op;
  typed_batch<int> a{{{1, timestamp::of(1)}, {2, timestamp::of(2)}}};
  typed_batch<int> b{{{3, timestamp::of(3)}}};
  op.process(0, a);
  op.process(1, b);
  BOOST_TEST(op.out(0).size() == 3u);
  auto batch = op.out(0).take();
  auto& rs = batch_cast<int>(*batch).records;
  BOOST_TEST_REQUIRE(rs.size() == 3u);
  BOOST_TEST(rs[0].value == 1);
  BOOST_TEST(rs[1].value == 2);
  BOOST_TEST(rs[2].value == 3);
  BOOST_TEST(op.out(0).size() == 0u);
}

BOOST_AUTO_TEST_CASE(stateless_operators_have_one_output_port) {
  auto id = [](int x) {
    return x;
  };
  ops::map_operator<int, int, decltype(id)> m{id};
  ops::union_operator<int> u;
  BOOST_TEST(m.num_ports() == 1u);
  BOOST_TEST(u.num_ports() == 1u);
}

BOOST_AUTO_TEST_SUITE_END()
