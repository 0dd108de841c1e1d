#include "sluice/result.hpp"

#include <boost/test/unit_test.hpp>

#include <optional>
#include <string>
#include <vector>

using namespace sluice;

namespace {

result<int> half(int x) {
  if (x % 2 != 0)
    return error{errc::invalid_argument, "odd"};
  return x / 2;
}

result<std::optional<std::string>> lookup(bool present) {
  if (!present)
    return std::nullopt;
  return std::optional<std::string>{"found"};
}

result<void> check(bool good) {
  if (!good)
    return error{errc::not_found, "missing"};
  return {};
}

}  // namespace

BOOST_AUTO_TEST_SUITE(result_type)

BOOST_AUTO_TEST_CASE(holds_a_value_or_an_error) {
  const auto a = half(4);
  BOOST_TEST(a.ok());
  BOOST_TEST(static_cast<bool>(a));
  BOOST_TEST(a.value() == 2);
  BOOST_TEST(*a == 2);
  const auto b = half(3);
  BOOST_TEST(!b.ok());
  BOOST_TEST((b.error().code == errc::invalid_argument));
  BOOST_TEST(b.error().message == "odd");
  BOOST_TEST(to_string(b.error()) == "invalid_argument: odd");
}

BOOST_AUTO_TEST_CASE(converts_from_anything_the_value_type_accepts) {
  BOOST_TEST(!lookup(false).value().has_value());
  BOOST_TEST(*lookup(true).value() == "found");
  result<std::vector<int>> v = std::vector<int>{1, 2, 3};
  BOOST_TEST(v->size() == 3u);
  auto moved = std::move(v).value();
  BOOST_TEST(moved.size() == 3u);
}

BOOST_AUTO_TEST_CASE(void_result_is_success_or_error) {
  BOOST_TEST(check(true).ok());
  const auto r = check(false);
  BOOST_TEST(!r);
  BOOST_TEST((r.error().code == errc::not_found));
}

BOOST_AUTO_TEST_CASE(every_code_has_a_name) {
  for (auto c : {errc::io_error, errc::corrupt_snapshot, errc::unknown_format_version,
                 errc::not_found, errc::invalid_argument, errc::corrupt_log, errc::unavailable})
    BOOST_TEST(to_string(c) != "unknown errc");
}

BOOST_AUTO_TEST_SUITE_END()
