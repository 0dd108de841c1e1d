#include "sluice/source/parse.hpp"

#include <boost/test/unit_test.hpp>

#include <cstdint>
#include <string>
#include <vector>

using namespace sluice;

namespace {

std::vector<std::string> fields(const csv_row& r) {
  std::vector<std::string> out;
  for (size_t i = 0; i < r.size(); ++i)
    out.emplace_back(r.text(i));
  return out;
}

using strings = std::vector<std::string>;

bool message_contains(const parse_error& e, const std::string& part) {
  return std::string{e.what()}.find(part) != std::string::npos;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(source_parse)

BOOST_AUTO_TEST_CASE(csv_row_splits_at_delimiter) {
  BOOST_TEST(fields(csv_row{"a,b,c", ','}) == (strings{"a", "b", "c"}));
  BOOST_TEST(fields(csv_row{"a;b,c", ';'}) == (strings{"a", "b,c"}));
  BOOST_TEST(fields(csv_row{"a\tb", '\t'}) == (strings{"a", "b"}));
}

BOOST_AUTO_TEST_CASE(csv_row_keeps_empty_fields) {
  BOOST_TEST(fields(csv_row{"", ','}) == (strings{""}));
  BOOST_TEST(fields(csv_row{",,", ','}) == (strings{"", "", ""}));
  BOOST_TEST(fields(csv_row{"a,", ','}) == (strings{"a", ""}));
  BOOST_TEST(fields(csv_row{",a", ','}) == (strings{"", "a"}));
}

BOOST_AUTO_TEST_CASE(csv_row_unquotes_rfc4180_fields) {
  csv_row r{R"("x,y","say ""hi""",z,"")", ','};
  BOOST_TEST(fields(r) == (strings{"x,y", R"(say "hi")", "z", ""}));
  BOOST_TEST(r.line() == R"("x,y","say ""hi""",z,"")");
}

BOOST_AUTO_TEST_CASE(csv_row_rejects_unterminated_quote) {
  BOOST_CHECK_EXCEPTION(csv_row("a,\"bc", ','), parse_error,
                        [](const parse_error& e) { return message_contains(e, "unterminated"); });
}

BOOST_AUTO_TEST_CASE(get_converts_numbers_trimming_spaces) {
  csv_row r{" 42 ,-7,83807.86,1e3,18446744073709551615", ','};
  BOOST_TEST(r.get<int>(0) == 42);
  BOOST_TEST(r.get<int64_t>(1) == -7);
  BOOST_TEST(r.get<double>(2) == 83807.86);
  BOOST_TEST(r.get<double>(3) == 1000.0);
  BOOST_TEST(r.get<uint64_t>(4) == UINT64_MAX);
  BOOST_TEST(r.get<std::string>(0) == " 42 ");  // strings are not trimmed
}

BOOST_AUTO_TEST_CASE(get_converts_booleans) {
  csv_row r{"1,0,true,false", ','};
  BOOST_TEST(r.get<bool>(0));
  BOOST_TEST(!r.get<bool>(1));
  BOOST_TEST(r.get<bool>(2));
  BOOST_TEST(!r.get<bool>(3));
}

BOOST_AUTO_TEST_CASE(get_names_field_and_text_when_conversion_fails) {
  csv_row r{"ada,12x,,yes,300,1.5", ','};
  BOOST_CHECK_EXCEPTION(r.get<int>(1), parse_error, [](const parse_error& e) {
    return message_contains(e, "field 2") && message_contains(e, "12x") &&
           message_contains(e, "integer");
  });
  BOOST_CHECK_EXCEPTION(r.get<double>(2), parse_error,
                        [](const parse_error& e) { return message_contains(e, "field 3"); });
  BOOST_CHECK_EXCEPTION(r.get<bool>(3), parse_error, [](const parse_error& e) {
    return message_contains(e, "yes") && message_contains(e, "boolean");
  });
  BOOST_CHECK_THROW(r.get<uint8_t>(4), parse_error);  // out of range
  BOOST_CHECK_THROW(r.get<int>(5), parse_error);      // trailing ".5"
  BOOST_CHECK_THROW(r.get<int>(0), parse_error);
}

BOOST_AUTO_TEST_CASE(text_beyond_last_field_throws_with_counts) {
  csv_row r{"a,b,c", ','};
  BOOST_CHECK_EXCEPTION(r.text(5), parse_error, [](const parse_error& e) {
    return message_contains(e, "expected at least 6 fields, found 3");
  });
  BOOST_CHECK_THROW(r.get<int>(3), parse_error);
}

BOOST_AUTO_TEST_CASE(parsed_holds_value_or_reason) {
  parsed<int> ok = 5;
  BOOST_TEST(ok.ok());
  BOOST_TEST(ok.value() == 5);
  auto bad = parsed<int>::fail("no digits");
  BOOST_TEST(!bad.ok());
  BOOST_TEST(bad.error() == "no digits");
}

BOOST_AUTO_TEST_SUITE_END()
