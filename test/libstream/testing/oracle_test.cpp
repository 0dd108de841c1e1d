// The exactly-once oracle: sequence generator, checker, output directory reader.
#include <boost/test/unit_test.hpp>

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <random>

#include "sluice/format.hpp"
#include "sluice/testing/oracle.hpp"

using namespace sluice::testing;
namespace fs = std::filesystem;

namespace {

std::vector<seq_record> sequence(uint64_t n, uint32_t keys) {
  std::vector<seq_record> out;
  for (uint64_t i = 0; i < n; ++i)
    out.push_back(sequence_record(i, keys));
  return out;
}

oracle_report check(const std::vector<seq_record>& rs, uint64_t n, uint32_t keys,
                    check_options opt = {}) {
  sequence_checker c{n, keys};
  c.begin_part("part-0");
  for (auto& r : rs)
    c.observe(r);
  return c.report(opt);
}

struct temp_dir {
  fs::path path;
  temp_dir() {
    static int n = 0;
    path = fs::temp_directory_path() /
           ("sluice-oracle-" + std::to_string(::getpid()) + "-" + std::to_string(n++));
    fs::remove_all(path);
    fs::create_directories(path / ".pending");
  }
  ~temp_dir() { fs::remove_all(path); }
  void write(const std::string& name, const std::vector<seq_record>& rs) const {
    std::string text;
    for (auto& r : rs) {
      sluice::format::append_csv(text, r);
      text += '\n';
    }
    std::ofstream(path / name, std::ios::binary) << text;
  }
};

}  // namespace

BOOST_AUTO_TEST_SUITE(testing_oracle)

BOOST_AUTO_TEST_CASE(record_index_determines_key_and_per_key_sequence_number) {
  const uint32_t keys = 7;
  const uint64_t n = 100;
  std::vector<uint64_t> next(keys, 0);
  for (uint64_t i = 0; i < n; ++i) {
    auto r = sequence_record(i, keys);
    BOOST_TEST(r.key < keys);
    BOOST_TEST(r.seq * keys + r.key == i);
    BOOST_TEST(r.seq == next[r.key]);  // consecutive per key
    ++next[r.key];
  }
  uint64_t total = 0;
  for (uint32_t k = 0; k < keys; ++k) {
    BOOST_TEST(sequence_records_of_key(n, keys, k) == next[k]);
    total += sequence_records_of_key(n, keys, k);
  }
  BOOST_TEST(total == n);
  BOOST_TEST(sequence_records_of_key(n, keys, keys) == 0u);
}

BOOST_AUTO_TEST_CASE(complete_sequence_in_any_order_passes) {
  auto rs = sequence(1000, 13);
  std::shuffle(rs.begin(), rs.end(), std::mt19937{42});
  auto r = check(rs, 1000, 13);
  BOOST_TEST(r.ok(), r.summary);
  BOOST_TEST(r.observed == 1000u);
  BOOST_TEST(r.counts() == "lost=0 duplicated=0 mismatched=0");
  BOOST_TEST(r.out_of_order > 0u);  // counted, but order is not required by default
}

BOOST_AUTO_TEST_CASE(missing_records_are_lost_and_named_per_key_as_runs) {
  auto rs = sequence(100, 4);
  // key 1 loses seq 3..5 (indices 13, 17, 21) and seq 9 (index 37).
  std::erase_if(rs, [](const seq_record& r) {
    return r.key == 1 && ((r.seq >= 3 && r.seq <= 5) || r.seq == 9);
  });
  auto r = check(rs, 100, 4);
  BOOST_TEST(!r.ok());
  BOOST_TEST(r.lost == 4u);
  BOOST_TEST(r.duplicated == 0u);
  BOOST_TEST(r.summary.find("key 1: lost seq 3..5, 9") != std::string::npos, r.summary);
}

BOOST_AUTO_TEST_CASE(extra_copies_are_duplicated_with_their_count) {
  auto rs = sequence(50, 5);
  rs.push_back(seq_record{2, 4});
  rs.push_back(seq_record{2, 4});
  rs.push_back(seq_record{0, 0});
  auto r = check(rs, 50, 5);
  BOOST_TEST(!r.ok());
  BOOST_TEST(r.duplicated == 3u);
  BOOST_TEST(r.lost == 0u);
  BOOST_TEST(r.summary.find("key 2: duplicated seq 4 (x3)") != std::string::npos, r.summary);
  BOOST_TEST(r.summary.find("key 0: duplicated seq 0 (x2)") != std::string::npos, r.summary);
}

BOOST_AUTO_TEST_CASE(records_the_generator_never_produced_are_mismatched) {
  auto rs = sequence(20, 4);
  rs.push_back(seq_record{4, 0});  // no such key
  rs.push_back(seq_record{3, 5});  // key 3 has seq 0..4 only
  auto r = check(rs, 20, 4);
  BOOST_TEST(!r.ok());
  BOOST_TEST(r.mismatched == 2u);
  BOOST_TEST(r.lost == 0u);
  BOOST_TEST(r.summary.find("key 4 seq 0 in part-0: not in the sequence") != std::string::npos,
             r.summary);
}

BOOST_AUTO_TEST_CASE(order_is_checked_within_a_part_and_required_only_when_strict) {
  sequence_checker c{6, 1};
  c.begin_part("part-0-1");
  c.observe({0, 0});
  c.observe({0, 2});
  c.observe({0, 1});  // after 2 in the same part
  c.begin_part("part-0-2");
  c.observe({0, 3});
  c.begin_part("part-1-1");
  c.observe({0, 5});
  c.begin_part("part-1-2");
  c.observe({0, 4});  // a lower seq in another part is fine
  auto relaxed = c.report();
  BOOST_TEST(relaxed.ok(), relaxed.summary);
  BOOST_TEST(relaxed.out_of_order == 1u);
  BOOST_TEST(relaxed.summary.find("out of order:") == std::string::npos, relaxed.summary);
  check_options strict;
  strict.strict_order = true;
  auto r = c.report(strict);
  BOOST_TEST(!r.ok());
  BOOST_TEST(r.summary.find("key 0: out of order: seq 1 after 2 in part-0-1") != std::string::npos,
             r.summary);
}

BOOST_AUTO_TEST_CASE(partial_check_tolerates_missing_records_but_not_duplicates) {
  auto rs = sequence(30, 3);
  rs.resize(10);
  check_options partial;
  partial.partial = true;
  auto r = check(rs, 30, 3, partial);
  BOOST_TEST(r.ok(), r.summary);
  BOOST_TEST(r.lost == 20u);
  rs.push_back(rs.front());
  BOOST_TEST(!check(rs, 30, 3, partial).ok());
}

BOOST_AUTO_TEST_CASE(summary_names_a_bounded_number_of_keys) {
  auto r = check({}, 100, 50);
  BOOST_TEST(r.lost == 100u);
  BOOST_TEST(r.summary.find("key 9: lost seq 0..1") != std::string::npos, r.summary);
  BOOST_TEST(r.summary.find("key 10:") == std::string::npos, r.summary);
  BOOST_TEST(r.summary.find("and 40 more keys") != std::string::npos, r.summary);
}

BOOST_AUTO_TEST_CASE(parses_the_csv_the_sinks_write) {
  std::string line;
  sluice::format::append_csv(line, seq_record{7, 123456789012ull});
  BOOST_TEST(line == "7,123456789012");
  auto r = parse_seq_record(line);
  BOOST_REQUIRE(r.has_value());
  BOOST_TEST((*r == seq_record{7, 123456789012ull}));
  BOOST_TEST(parse_seq_record("7,12\r").has_value());
  for (const char* bad : {"", "7", "7,", ",3", "a,1", "1,2,3", "1, 2", "-1,2", "4294967296,1"})
    BOOST_TEST(!parse_seq_record(bad).has_value(), bad);
}

BOOST_AUTO_TEST_CASE(reads_published_parts_only) {
  temp_dir dir;
  auto rs = sequence(40, 4);
  dir.write("part-0-000000000001", {rs.begin(), rs.begin() + 15});
  dir.write("part-0-000000000002", {rs.begin() + 15, rs.end()});
  dir.write(".pending/part-0-000000000003", {rs.begin(), rs.begin() + 5});  // staged, not published
  dir.write("other.txt", {rs.begin(), rs.begin() + 5});
  sequence_checker c{40, 4};
  auto read = read_output_directory(dir.path, c);
  BOOST_REQUIRE(read.ok());
  auto r = c.report(check_options{.strict_order = true});
  BOOST_TEST(r.ok(), r.summary);
  BOOST_TEST(r.parts == 2u);
  BOOST_TEST(r.observed == 40u);
}

BOOST_AUTO_TEST_CASE(unreadable_lines_are_mismatched_with_file_and_line) {
  temp_dir dir;
  dir.write("part-0-final", sequence(4, 2));
  std::ofstream(dir.path / "part-1-final") << "0,2\ngarbage\n";
  sequence_checker c{5, 2};
  BOOST_REQUIRE(read_output_directory(dir.path, c).ok());
  auto r = c.report();
  BOOST_TEST(r.mismatched == 1u);
  BOOST_TEST(r.lost == 0u);
  BOOST_TEST(r.summary.find("unreadable line 2 in part-1-final: 'garbage'") != std::string::npos,
             r.summary);
}

BOOST_AUTO_TEST_CASE(missing_directory_is_an_io_error) {
  sequence_checker c{1, 1};
  auto read = read_output_directory("/nonexistent/sluice-oracle", c);
  BOOST_REQUIRE(!read.ok());
  BOOST_TEST((read.error().code == sluice::errc::io_error));
}

BOOST_AUTO_TEST_SUITE_END()
