#include "sluice/format.hpp"

#include <boost/test/unit_test.hpp>

#include <cmath>
#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

using namespace sluice;
using format::csv_header;
using format::to_csv;
using format::to_json;

namespace fmt_test {

struct trade {
  std::string symbol;
  double price = 0;
  int64_t qty = 0;
  bool buy = false;
};
SLUICE_FIELDS(trade, symbol, price, qty, buy)

// Members are deliberately not called `x`: see fields_compile_check.cpp.
struct point {
  int lat = 0;
  int lon = 0;
};
SLUICE_FIELDS(point, lat, lon)

struct labelled {
  std::string label;
  point at;
  std::optional<int> weight;
  std::vector<int> tags;
};
SLUICE_FIELDS(labelled, label, at, weight, tags)

struct span {
  std::string name;
  std::pair<int, int> range;
};
SLUICE_FIELDS(span, name, range)

}  // namespace fmt_test

using fmt_test::labelled;
using fmt_test::point;
using fmt_test::span;
using fmt_test::trade;

BOOST_AUTO_TEST_SUITE(format_csv_json)

BOOST_AUTO_TEST_CASE(csv_leaves_plain_text_unquoted) {
  BOOST_TEST(to_csv(std::string{"plain text"}) == "plain text");
  BOOST_TEST(to_csv(std::string{}) == "");
  BOOST_TEST(to_csv("c-string") == "c-string");
}

BOOST_AUTO_TEST_CASE(csv_quotes_fields_with_delimiter_quote_or_line_break) {
  BOOST_TEST(to_csv(std::string{"a,b"}) == R"("a,b")");
  BOOST_TEST(to_csv(std::string{R"(say "hi")"}) == R"("say ""hi""")");
  BOOST_TEST(to_csv(std::string{"two\nlines"}) == "\"two\nlines\"");
  BOOST_TEST(to_csv(std::string{"cr\r"}) == "\"cr\r\"");
  BOOST_TEST(to_csv(std::string{"\""}) == R"("""")");
}

BOOST_AUTO_TEST_CASE(csv_renders_scalars) {
  BOOST_TEST(to_csv(42) == "42");
  BOOST_TEST(to_csv(-7L) == "-7");
  BOOST_TEST(to_csv(1.5) == "1.5");
  BOOST_TEST(to_csv(0.1) == "0.1");  // shortest round-trip form
  BOOST_TEST(to_csv(true) == "true");
  BOOST_TEST(to_csv(timestamp::of(1234)) == "1234");
}

BOOST_AUTO_TEST_CASE(csv_flattens_pairs_tuples_and_structs_into_columns) {
  BOOST_TEST(to_csv(std::pair<int, std::string>{1, "x,y"}) == R"(1,"x,y")");
  BOOST_TEST(to_csv(std::tuple<int, double, std::string>{1, 2.5, "z"}) == "1,2.5,z");
  BOOST_TEST(to_csv(trade{"ACME", 12.25, 100, true}) == "ACME,12.25,100,true");
  BOOST_TEST(to_csv(std::pair<point, int>{{1, 2}, 3}) == "1,2,3");
}

BOOST_AUTO_TEST_CASE(csv_renders_empty_optional_as_empty_field) {
  BOOST_TEST(to_csv(std::optional<int>{}) == "");
  BOOST_TEST(to_csv(std::optional<int>{5}) == "5");
  BOOST_TEST(to_csv(std::pair<std::optional<int>, int>{std::nullopt, 2}) == ",2");
}

BOOST_AUTO_TEST_CASE(csv_renders_containers_as_one_quoted_json_field) {
  BOOST_TEST(to_csv(std::vector<int>{1, 2, 3}) == R"("[1,2,3]")");
  BOOST_TEST(to_csv(std::vector<int>{}) == "[]");
  BOOST_TEST(to_csv(std::vector<std::string>{"a"}) == R"("[""a""]")");
  BOOST_TEST(to_csv(std::map<std::string, int>{{"k", 1}}) == R"("{""k"":1}")");
  BOOST_TEST(to_csv(labelled{"l", {1, 2}, std::nullopt, {7, 8}}) == R"(l,1,2,,"[7,8]")");
}

BOOST_AUTO_TEST_CASE(csv_header_lists_field_names) {
  BOOST_TEST(csv_header<trade>() == "symbol,price,qty,buy");
  BOOST_TEST(csv_header<int>() == "");
  BOOST_TEST((csv_header<std::pair<int, int>>() == ""));
}

// A text sink writes csv_header<T>() above rows rendered with append_csv,
// which flattens nested pairs, tuples and structs into several columns. The
// header must then name one column per rendered column, or every column after
// the nested member is mislabelled.
BOOST_AUTO_TEST_CASE(csv_header_has_one_name_per_flattened_column) {
  auto columns = [](const std::string& line) {
    size_t n = 1;
    bool quoted = false;
    for (char c : line) {
      if (c == '"')
        quoted = !quoted;
      if (c == ',' && !quoted)
        ++n;
    }
    return n;
  };
  const span s{"s", {1, 2}};
  BOOST_TEST(columns(csv_header<span>()) == columns(to_csv(s)),
             "header '" << csv_header<span>() << "' vs row '" << to_csv(s) << "'");
  const labelled l{"l", {1, 2}, 3, {}};
  BOOST_TEST(columns(csv_header<labelled>()) == columns(to_csv(l)),
             "header '" << csv_header<labelled>() << "' vs row '" << to_csv(l) << "'");
}

BOOST_AUTO_TEST_CASE(json_escapes_strings) {
  BOOST_TEST(to_json(std::string{"plain"}) == R"("plain")");
  BOOST_TEST(to_json(std::string{R"(q"b\s)"}) == R"("q\"b\\s")");
  BOOST_TEST(to_json(std::string{"l1\nl2\r\t"}) == R"("l1\nl2\r\t")");
  BOOST_TEST(to_json(std::string{"\x01\x1f"}) == R"("\u0001\u001f")");
  BOOST_TEST(to_json(std::string{"caf\xc3\xa9"}) == "\"caf\xc3\xa9\"");  // UTF-8 passes through
  BOOST_TEST(to_json(std::string_view{"sv"}) == R"("sv")");
  BOOST_TEST(to_json(std::string{"\0x", 2}) == R"("\u0000x")");
  // Bytes that are not valid UTF-8 become the code point of the same value:
  // valid JSON, and the bytes can be recovered.
  BOOST_TEST(to_json(std::string{"a\xff|\x80|\xc0\xaf|\xed\xa0\x80|\xe2\x82"}) ==
             R"("a\u00ff|\u0080|\u00c0\u00af|\u00ed\u00a0\u0080|\u00e2\u0082")");
  BOOST_TEST(to_json(std::string{"\xf0\x9f\x98\x80 \xe2\x82\xac"}) ==
             "\"\xf0\x9f\x98\x80 \xe2\x82\xac\"");  // 4- and 3-byte sequences pass
}

BOOST_AUTO_TEST_CASE(json_renders_scalars) {
  BOOST_TEST(to_json(0) == "0");
  BOOST_TEST(to_json(-12) == "-12");
  BOOST_TEST(to_json(uint64_t{18446744073709551615u}) == "18446744073709551615");
  BOOST_TEST(to_json(2.5) == "2.5");
  BOOST_TEST(to_json(false) == "false");
  BOOST_TEST(to_json(timestamp::of(-5)) == "-5");
}

// NaN and infinities have no JSON spelling; writing them as `nan`/`inf`
// makes the whole line unparseable for any JSON reader.
BOOST_AUTO_TEST_CASE(json_renders_non_finite_numbers_as_valid_json) {
  BOOST_TEST(to_json(std::numeric_limits<double>::quiet_NaN()) == "null");
  BOOST_TEST(to_json(std::numeric_limits<double>::infinity()) == "null");
}

BOOST_AUTO_TEST_CASE(json_renders_pairs_tuples_optionals_vectors_and_maps) {
  BOOST_TEST(to_json(std::pair<int, std::string>{1, "a"}) == R"([1,"a"])");
  BOOST_TEST(to_json(std::tuple<int, bool, std::string>{1, true, "x"}) == R"([1,true,"x"])");
  BOOST_TEST(to_json(std::tuple<>{}) == "[]");
  BOOST_TEST(to_json(std::optional<int>{}) == "null");
  BOOST_TEST(to_json(std::optional<std::string>{"v"}) == R"("v")");
  BOOST_TEST(to_json(std::vector<int>{}) == "[]");
  BOOST_TEST(to_json(std::vector<std::pair<int, int>>{{1, 2}, {3, 4}}) == "[[1,2],[3,4]]");
  BOOST_TEST(to_json(std::map<std::string, int>{{"a", 1}, {"b\"", 2}}) == R"({"a":1,"b\"":2})");
  BOOST_TEST(to_json(std::map<int, std::vector<int>>{{1, {2}}}) == R"({"1":[2]})");
}

BOOST_AUTO_TEST_CASE(json_renders_fields_structs_as_objects) {
  BOOST_TEST(to_json(trade{"A\"B", 1.5, 3, false}) ==
             R"({"symbol":"A\"B","price":1.5,"qty":3,"buy":false})");
  BOOST_TEST(to_json(labelled{"l", {1, 2}, std::nullopt, {7}}) ==
             R"({"label":"l","at":{"lat":1,"lon":2},"weight":null,"tags":[7]})");
}

BOOST_AUTO_TEST_CASE(window_result_renders_key_window_bounds_and_value) {
  using result = window::window_result<std::string, int64_t>;
  const result r{"k,1", {0, 10}, 3};
  BOOST_TEST(to_json(r) == R"({"key":"k,1","window_start":0,"window_end":10,"value":3})");
  BOOST_TEST(to_csv(r) == R"("k,1",0,10,3)");

  using composite = window::window_result<std::pair<int, int>, trade>;
  const composite c{{1, 2}, {-10, 0}, {"X", 2, 1, true}};
  BOOST_TEST(
      to_json(c) ==
      R"({"key":[1,2],"window_start":-10,"window_end":0,"value":{"symbol":"X","price":2,"qty":1,"buy":true}})");
  BOOST_TEST(to_csv(c) == "1,2,-10,0,X,2,1,true");
}

BOOST_AUTO_TEST_CASE(dead_letter_renders_as_one_json_line) {
  const dead_letter d{"parse", 3, "in.csv:17", "field 2: 'x' is not an integer", "a,x\n"};
  BOOST_TEST(to_json_line(d) == R"({"operator_name":"parse","instance":3,"position":"in.csv:17",)"
                                R"("reason":"field 2: 'x' is not an integer","raw":"a,x\n"})");
}

BOOST_AUTO_TEST_CASE(field_names_are_split_and_trimmed) {
  const auto& names = sluice_field_names(static_cast<const trade*>(nullptr));
  BOOST_TEST_REQUIRE(names.size() == 4u);
  BOOST_TEST(names[0] == "symbol");
  BOOST_TEST(names[3] == "buy");
  trade t{"S", 1, 2, true};
  std::get<0>(sluice_fields(t)) = "T";  // the tuple refers to the members
  BOOST_TEST(t.symbol == "T");
  static_assert(has_fields<trade>);
  static_assert(!has_fields<int>);
}

BOOST_AUTO_TEST_SUITE_END()
