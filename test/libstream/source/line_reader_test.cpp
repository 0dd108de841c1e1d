#include "sluice/source/line_reader.hpp"

#include <boost/test/unit_test.hpp>

#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "../state/temp_dir.hpp"

using namespace sluice;

namespace {

std::string write_file(const test::temp_dir& dir, const std::string& content) {
  const auto path = dir.str() + "/lines.txt";
  std::ofstream{path, std::ios::binary} << content;
  return path;
}

/// Every line from `offset` on, as (start, text).
std::vector<std::pair<uint64_t, std::string>> read_all(line_reader& r, uint64_t offset = 0) {
  std::vector<std::pair<uint64_t, std::string>> out;
  r.seek(offset);
  std::string_view line;
  uint64_t start = 0;
  while (r.next(line, start))
    out.emplace_back(start, std::string{line});
  return out;
}

using lines = std::vector<std::pair<uint64_t, std::string>>;

}  // namespace

BOOST_AUTO_TEST_SUITE(source_line_reader)

BOOST_AUTO_TEST_CASE(reads_lf_crlf_empty_and_unterminated_lines_with_their_offsets) {
  test::temp_dir dir{"line-reader"};
  line_reader r{write_file(dir, "ab\r\n\ncd\n\r\nlast")};
  BOOST_TEST(r.size() == 14u);
  BOOST_TEST((read_all(r) == lines{{0, "ab"}, {4, ""}, {5, "cd"}, {8, ""}, {10, "last"}}));
  BOOST_TEST(r.offset() == 14u);
}

BOOST_AUTO_TEST_CASE(lines_longer_than_the_buffer_are_read_whole) {
  test::temp_dir dir{"line-reader"};
  const std::string long_line(1000, 'z');
  line_reader r{write_file(dir, "a\n" + long_line + "\nb\n" + long_line), 64};
  BOOST_TEST((read_all(r) == lines{{0, "a"}, {2, long_line}, {1003, "b"}, {1005, long_line}}));
}

BOOST_AUTO_TEST_CASE(align_finds_the_first_line_start_at_or_after_an_offset) {
  test::temp_dir dir{"line-reader"};
  line_reader r{write_file(dir, "ab\ncde\n\nf")};  // lines start at 0, 3, 7, 8
  std::vector<uint64_t> got;
  for (uint64_t o = 0; o <= 10; ++o)
    got.push_back(r.align(o));
  BOOST_TEST((got == std::vector<uint64_t>{0, 3, 3, 3, 7, 7, 7, 7, 8, 9, 9}));
  // reading on from an aligned offset gives whole lines
  BOOST_TEST((read_all(r, r.align(4)) == lines{{7, ""}, {8, "f"}}));
}

BOOST_AUTO_TEST_CASE(count_line_ends_counts_newlines_in_a_byte_range) {
  test::temp_dir dir{"line-reader"};
  line_reader r{write_file(dir, "a\nb\n\nc\n")};
  BOOST_TEST(r.count_line_ends(0, 7) == 4u);
  BOOST_TEST(r.count_line_ends(2, 5) == 2u);
  BOOST_TEST(r.count_line_ends(5, 5) == 0u);
  BOOST_TEST(r.count_line_ends(0, 100) == 4u);
}

BOOST_AUTO_TEST_CASE(a_missing_file_or_a_directory_throws_naming_it) {
  test::temp_dir dir{"line-reader"};
  const auto missing = dir.str() + "/nope.txt";
  BOOST_CHECK_EXCEPTION(line_reader{missing}, std::runtime_error, [&](const auto& e) {
    return std::string{e.what()}.find(missing) != std::string::npos &&
           std::string{e.what()}.find("No such file") != std::string::npos;
  });
  BOOST_CHECK_EXCEPTION(line_reader{dir.str()}, std::runtime_error, [&](const auto& e) {
    return std::string{e.what()}.find("is a directory") != std::string::npos;
  });
}

BOOST_AUTO_TEST_SUITE_END()
