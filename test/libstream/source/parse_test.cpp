#include "sluice/source/parse.hpp"

#include <boost/test/unit_test.hpp>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <type_traits>
#include <vector>

#include <unistd.h>

#include "sluice/pipeline.hpp"
#include "sluice/testing/harness.hpp"

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

/// A file in the system temp dir holding `content`, removed at the end.
class temp_file {
public:
  explicit temp_file(const std::string& content)
      : path_(std::filesystem::temp_directory_path() /
              ("sluice-parse-test-" + std::to_string(::getpid()) + "-" + std::to_string(next_++))) {
    std::ofstream{path_, std::ios::binary} << content;
  }
  ~temp_file() {
    std::error_code ec;
    std::filesystem::remove(path_, ec);
  }
  temp_file(const temp_file&) = delete;
  temp_file& operator=(const temp_file&) = delete;
  std::string path() const { return path_.string(); }

private:
  static inline int next_ = 0;
  std::filesystem::path path_;
};

struct point {
  int x = 0;
  int y = 0;
  friend bool operator==(const point&, const point&) = default;
};

/// Runs the source of a one-source pipeline to its end.
testing::harness run_source(const pipeline& p) {
  testing::harness h{p.plan().nodes.at(0).make()};
  h.poll();
  return h;
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

BOOST_AUTO_TEST_CASE(read_csv_parse_may_return_the_record_itself) {
  temp_file f{"x,y\n1,2\n3,oops\n5,6\n"};
  pipeline p;
  auto points = p.read_csv(f.path(), [](const csv_row& r) {
    return point{r.get<int>(0), r.get<int>(1)};
  });
  static_assert(std::is_same_v<decltype(points), stream<point>>);
  auto h = run_source(p);
  BOOST_TEST((h.values<point>() == std::vector<point>{{1, 2}, {5, 6}}));
  auto dead = h.dead_letters();  // a throwing accessor still rejects the row
  BOOST_TEST_REQUIRE(dead.size() == 1u);
  BOOST_TEST(dead[0].position == f.path() + ":3");
}

BOOST_AUTO_TEST_CASE(read_text_parse_may_return_the_record_or_parsed_to_reject) {
  temp_file f{"7\n-1\n8\n"};
  pipeline p;
  auto plain = p.read_text(f.path(), [](std::string_view l) { return std::string{l} + "!"; });
  static_assert(std::is_same_v<decltype(plain), stream<std::string>>);
  BOOST_TEST((run_source(p).values<std::string>() == std::vector<std::string>{"7!", "-1!", "8!"}));

  pipeline q;
  auto checked = q.read_text(f.path(), [](std::string_view l) -> parsed<int> {
    if (l.starts_with('-'))
      return parsed<int>::fail("negative");
    return std::stoi(std::string{l});
  });
  static_assert(std::is_same_v<decltype(checked), stream<int>>);
  auto h = run_source(q);
  BOOST_TEST((h.values<int>() == std::vector<int>{7, 8}));
  auto dead = h.dead_letters();
  BOOST_TEST_REQUIRE(dead.size() == 1u);
  BOOST_TEST(dead[0].reason == "negative");
}

BOOST_AUTO_TEST_CASE(parse_result_names_the_record_type) {
  using plain = detail::parse_result<int (*)(std::string_view), std::string_view>;
  static_assert(plain::valid && std::is_same_v<plain::type, int>);
  using wrapped = detail::parse_result<parsed<double> (*)(const csv_row&), const csv_row&>;
  static_assert(wrapped::valid && std::is_same_v<wrapped::type, double>);
  using nothing = detail::parse_result<void (*)(std::string_view), std::string_view>;
  static_assert(nothing::invocable && !nothing::returns_value && !nothing::valid);
  using wrong_arg = detail::parse_result<int (*)(int), const csv_row&>;
  static_assert(!wrong_arg::invocable && !wrong_arg::valid);
}

BOOST_AUTO_TEST_SUITE_END()
