// stream<T>: output types deduced from the callable.
#include "sluice/stream.hpp"

#include <boost/test/unit_test.hpp>

#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "sluice/pipeline.hpp"
#include "sluice/testing/harness.hpp"

using namespace sluice;

namespace {

void split_words(const std::string& line, collector<std::string>& out) {
  size_t start = 0;
  while (start < line.size()) {
    size_t end = line.find(' ', start);
    if (end == std::string::npos)
      end = line.size();
    if (end > start)
      out.emit(line.substr(start, end - start));
    start = end + 1;
  }
}

template <class T>
std::vector<T> run_node(const pipeline& p, uint32_t id, std::vector<std::string> lines) {
  testing::harness h{p.plan().nodes.at(id).make()};
  for (auto& l : lines)
    h.push(std::move(l));
  return h.values<T>();
}

}  // namespace

BOOST_AUTO_TEST_SUITE(stream_api)

BOOST_AUTO_TEST_CASE(flat_map_deduces_output_from_the_collector_parameter) {
  pipeline p;
  auto lengths = p.from_collection<std::string>({}).flat_map(
      [](const std::string& line, collector<size_t>& out) {
        if (!line.empty())
          out.emit(line.size());
      });
  static_assert(std::is_same_v<decltype(lengths), stream<size_t>>);
  BOOST_TEST(
      (run_node<size_t>(p, lengths.node_id(), {"ab", "", "xyz"}) == std::vector<size_t>{2, 3}));
}

BOOST_AUTO_TEST_CASE(flat_map_deduces_output_of_a_function_and_a_mutable_lambda) {
  pipeline p;
  auto words = p.from_collection<std::string>({}).flat_map(&split_words);
  static_assert(std::is_same_v<decltype(words), stream<std::string>>);
  BOOST_TEST((run_node<std::string>(p, words.node_id(), {"a b", " c "}) ==
              std::vector<std::string>{"a", "b", "c"}));

  auto numbered = p.from_collection<std::string>({}).flat_map(
      [n = 0](std::string s, collector<std::string>& out) mutable {
        out.emit(std::to_string(++n) + ":" + s);
      });
  static_assert(std::is_same_v<decltype(numbered), stream<std::string>>);
  BOOST_TEST((run_node<std::string>(p, numbered.node_id(), {"x", "y"}) ==
              std::vector<std::string>{"1:x", "2:y"}));
}

BOOST_AUTO_TEST_CASE(flat_map_with_a_generic_lambda_names_its_output) {
  pipeline p;
  auto twice = p.from_collection<std::string>({}).flat_map<std::string>([](auto s, auto& out) {
    out.emit(s);
    out.emit(s);
  });
  static_assert(std::is_same_v<decltype(twice), stream<std::string>>);
  BOOST_TEST(
      (run_node<std::string>(p, twice.node_id(), {"q"}) == std::vector<std::string>{"q", "q"}));
}

BOOST_AUTO_TEST_CASE(an_explicit_output_type_wins_over_the_collector_parameter) {
  // Naming the type a collector parameter already says is still allowed.
  static_assert(std::is_same_v<collector_type_t<void (*)(int, collector<long>&)>, long>);
  static_assert(std::is_void_v<collector_type_t<decltype([](int, auto&) {})>>);
  pipeline p;
  auto s = p.from_collection<std::string>({}).flat_map<std::string>(
      [](const std::string& x, collector<std::string>& out) { out.emit(x + "!"); });
  static_assert(std::is_same_v<decltype(s), stream<std::string>>);
  BOOST_TEST((run_node<std::string>(p, s.node_id(), {"a"}) == std::vector<std::string>{"a!"}));
}

BOOST_AUTO_TEST_SUITE_END()
