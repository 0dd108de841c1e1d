#include "sluice/source/text_file.hpp"

#include <boost/test/unit_test.hpp>

#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <filesystem>
#include <fstream>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "sluice/state/snapshot.hpp"
#include "sluice/testing/harness.hpp"

using namespace sluice;
namespace fs = std::filesystem;

namespace {

/// A fresh directory under the system temp dir, removed with its contents.
class temp_dir {
public:
  temp_dir() {
    const auto base = fs::temp_directory_path();
    for (int i = 0;; ++i) {
      path_ =
          base / ("sluice-libstream-test-" + std::to_string(::getpid()) + "-" + std::to_string(i));
      if (fs::create_directory(path_))
        break;
    }
  }
  ~temp_dir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;

  /// Writes `content` byte for byte and returns the file's path.
  std::string write(const std::string& name, const std::string& content) const {
    const auto p = path_ / name;
    std::ofstream out{p, std::ios::binary};
    out << content;
    return p.string();
  }
  const fs::path& path() const noexcept { return path_; }

private:
  fs::path path_;
};

struct person {
  std::string name;
  int age = 0;
};

struct parse_person {
  parsed<person> operator()(const csv_row& r) const {
    if (r.size() != 2)
      return parsed<person>::fail("expected 2 fields, found " + std::to_string(r.size()));
    return person{r.get<std::string>(0), r.get<int>(1)};
  }
};

struct parse_int {
  parsed<int> operator()(std::string_view line) const {
    int v = 0;
    auto [p, ec] = std::from_chars(line.data(), line.data() + line.size(), v);
    if (ec != std::errc{} || p != line.data() + line.size() || line.empty())
      return parsed<int>::fail("not an integer");
    if (v < 0)
      throw std::domain_error("negative value");
    return v;
  }
};

using person_source = text_file_source<person, parse_person>;
using int_source = text_file_source<int, parse_int>;

std::unique_ptr<person_source> persons(const std::string& path, bool header = true) {
  return std::make_unique<person_source>(path, parse_person{}, text_file_options{header, ','});
}

std::vector<std::string> names(const std::vector<person>& ps) {
  std::vector<std::string> out;
  for (auto& p : ps)
    out.push_back(p.name);
  return out;
}

using strings = std::vector<std::string>;

}  // namespace

BOOST_AUTO_TEST_SUITE(source_text_file)

BOOST_AUTO_TEST_CASE(reads_lf_and_crlf_lines_and_skips_header) {
  temp_dir dir;
  const auto path = dir.write("people.csv", "name,age\r\nada,36\r\nalan,41\nlinus,28");
  testing::harness h{persons(path)};
  BOOST_TEST((h.poll() == poll_status::end));
  auto out = h.values<person>();
  BOOST_TEST(names(out) == (strings{"ada", "alan", "linus"}));  // no '\r' left behind
  BOOST_TEST_REQUIRE(out.size() == 3u);
  BOOST_TEST(out[0].age == 36);
  BOOST_TEST(out[2].age == 28);  // last line without a line end
  BOOST_TEST(h.dead_letters().empty());
  BOOST_TEST(h.as<person_source>().lines_read() == 4u);
}

BOOST_AUTO_TEST_CASE(header_is_data_unless_skipped) {
  temp_dir dir;
  const auto path = dir.write("people.csv", "name,age\nada,36\n");
  testing::harness h{persons(path, false)};
  h.poll();
  BOOST_TEST(names(h.values<person>()) == (strings{"ada"}));
  auto dead = h.dead_letters();
  BOOST_TEST_REQUIRE(dead.size() == 1u);
  BOOST_TEST(dead[0].position == path + ":1");
  BOOST_TEST(dead[0].raw == "name,age");
}

BOOST_AUTO_TEST_CASE(malformed_lines_become_dead_letters_with_file_and_line) {
  temp_dir dir;
  const auto path = dir.write("people.csv",
                              "name,age\r\n"
                              "ada,36\r\n"
                              "bob,notanumber\r\n"
                              "\"unterminated,5\r\n"
                              "grace\r\n"
                              "alan,41\r\n");
  testing::harness h{persons(path), 0, 1};
  BOOST_TEST((h.poll() == poll_status::end));
  BOOST_TEST(names(h.values<person>()) == (strings{"ada", "alan"}));

  auto dead = h.dead_letters();
  BOOST_TEST_REQUIRE(dead.size() == 3u);
  for (auto& d : dead) {
    BOOST_TEST(d.operator_name == "op-under-test");
    BOOST_TEST(d.instance == 0u);
  }
  BOOST_TEST(dead[0].position == path + ":3");
  BOOST_TEST(dead[0].raw == "bob,notanumber");  // the line as read, without "\r"
  BOOST_TEST(dead[0].reason.find("field 2") != std::string::npos, dead[0].reason);
  BOOST_TEST(dead[0].reason.find("notanumber") != std::string::npos, dead[0].reason);

  BOOST_TEST(dead[1].position == path + ":4");
  BOOST_TEST(dead[1].raw == "\"unterminated,5");
  BOOST_TEST(dead[1].reason.find("unterminated") != std::string::npos, dead[1].reason);

  BOOST_TEST(dead[2].position == path + ":5");
  BOOST_TEST(dead[2].reason == "expected 2 fields, found 1");
}

BOOST_AUTO_TEST_CASE(line_parser_failures_and_exceptions_become_dead_letters) {
  temp_dir dir;
  const auto path = dir.write("ints.txt", "1\n\n2x\n-4\r\n\r\n5\n");
  testing::harness h{std::make_unique<int_source>(path, parse_int{}, text_file_options{})};
  BOOST_TEST((h.poll() == poll_status::end));
  BOOST_TEST(h.values<int>() == (std::vector<int>{1, 5}));
  auto dead = h.dead_letters();
  BOOST_TEST_REQUIRE(dead.size() == 4u);
  std::vector<std::string> positions, reasons, raws;
  for (auto& d : dead) {
    positions.push_back(d.position);
    reasons.push_back(d.reason);
    raws.push_back(d.raw);
  }
  BOOST_TEST(positions == (strings{path + ":2", path + ":3", path + ":4", path + ":5"}));
  BOOST_TEST(reasons ==
             (strings{"not an integer", "not an integer", "negative value", "not an integer"}));
  BOOST_TEST(raws == (strings{"", "2x", "-4", ""}));
}

BOOST_AUTO_TEST_CASE(empty_file_ends_without_records) {
  temp_dir dir;
  const auto path = dir.write("empty.csv", "");
  testing::harness h{persons(path)};
  BOOST_TEST((h.poll() == poll_status::end));
  BOOST_TEST(h.values<person>().empty());
  BOOST_TEST(h.dead_letters().empty());
}

BOOST_AUTO_TEST_CASE(poll_emits_at_most_max_records) {
  temp_dir dir;
  std::string content;
  for (int i = 0; i < 10; ++i)
    content += std::to_string(i) + "\n";
  const auto path = dir.write("ints.txt", content);
  testing::harness h{std::make_unique<int_source>(path, parse_int{}, text_file_options{})};
  BOOST_TEST((h.poll(4, 1) == poll_status::more));
  BOOST_TEST(h.values<int>() == (std::vector<int>{0, 1, 2, 3}));
  BOOST_TEST(h.as<int_source>().lines_read() == 4u);
  BOOST_TEST((h.poll(4) == poll_status::end));
  BOOST_TEST(h.values<int>() == (std::vector<int>{4, 5, 6, 7, 8, 9}));
}

BOOST_AUTO_TEST_CASE(instances_split_lines_without_overlap) {
  temp_dir dir;
  std::string content = "name,age\n";
  for (int i = 0; i < 17; ++i)
    content += "p" + std::to_string(i) + "," + std::to_string(i) + "\n";
  content += "broken\n";
  const auto path = dir.write("people.csv", content);
  for (uint32_t p : {1u, 2u, 3u, 5u}) {
    std::vector<int> ages;
    size_t dead = 0;
    for (uint32_t k = 0; k < p; ++k) {
      testing::harness h{persons(path), k, p};
      h.poll(2);
      for (auto& x : h.values<person>())
        ages.push_back(x.age);
      dead += h.dead_letters().size();
    }
    std::sort(ages.begin(), ages.end());
    std::vector<int> expected(17);
    for (int i = 0; i < 17; ++i)
      expected[i] = i;
    BOOST_TEST(ages == expected, "parallelism " << p << ": every line read exactly once");
    BOOST_TEST(dead == 1u, "parallelism " << p);
  }
}

BOOST_AUTO_TEST_CASE(byte_range_splits_give_every_line_to_exactly_one_instance_in_file_order) {
  // Random line lengths (empty lines, CRLF, lines longer than a split, no
  // final line end) against every parallelism up to 5 and split counts from
  // 1 to 128: the instances together emit each line once, each instance in
  // file order, and one instance emits the file in order.
  temp_dir dir;
  uint64_t seed = 12345;
  auto rnd = [&](uint64_t n) {
    seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
    return (seed >> 33) % n;
  };
  for (int file = 0; file < 12; ++file) {
    strings lines;
    std::string content;
    const int count = static_cast<int>(rnd(60));
    for (int i = 0; i < count; ++i) {
      std::string l = "l" + std::to_string(i) + std::string(rnd(5) == 0 ? rnd(90) : rnd(6), 'x');
      lines.push_back(l);
      content += l + (rnd(3) == 0 ? "\r\n" : "\n");
    }
    if (!content.empty() && rnd(2) == 0)
      content.pop_back();  // no line end after the last line (maybe a lone '\r' left)
    if (!content.empty() && content.back() == '\r')
      content.pop_back();
    const auto path = dir.write("f" + std::to_string(file) + ".txt", content);
    auto parse = [](std::string_view l) {
      return std::string{l};
    };
    using source_t = text_file_source<std::string, decltype(parse)>;
    for (uint32_t max_par : {1u, 3u, 7u, 128u}) {
      for (uint32_t p = 1; p <= std::min(max_par, 5u); ++p) {
        BOOST_TEST_CONTEXT("file " << file << " (" << content.size() << " bytes), p " << p << " of "
                                   << max_par << " splits") {
          strings all;
          for (uint32_t k = 0; k < p; ++k) {
            testing::harness h{std::make_unique<source_t>(path, parse, text_file_options{}), k, p,
                               max_par};
            BOOST_TEST((h.poll(3) == poll_status::end));
            auto mine = h.values<std::string>();
            std::vector<int> order;
            for (auto& l : mine)
              order.push_back(std::stoi(l.substr(1)));
            BOOST_TEST(std::is_sorted(order.begin(), order.end()), "instance " << k);
            all.insert(all.end(), mine.begin(), mine.end());
          }
          if (p == 1)
            BOOST_TEST(all == lines);
          std::sort(all.begin(), all.end());
          strings expected = lines;
          std::sort(expected.begin(), expected.end());
          BOOST_TEST(all == expected);
        }
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(each_instance_reads_only_its_share_of_the_file) {
  // 4 instances of a 4000-line file: each reads about a quarter of the lines
  // (its byte ranges), not the whole file.
  temp_dir dir;
  std::string content;
  for (int i = 0; i < 4000; ++i)
    content += std::to_string(1000000 + i) + "\n";  // 8 bytes per line
  const auto path = dir.write("ints.txt", content);
  uint64_t total = 0;
  for (uint32_t k = 0; k < 4; ++k) {
    testing::harness h{std::make_unique<int_source>(path, parse_int{}, text_file_options{}), k, 4,
                       128};
    h.poll();
    const auto read = h.as<int_source>().lines_read();
    BOOST_TEST(read >= 990u, "instance " << k << " read " << read << " lines");
    BOOST_TEST(read <= 1010u, "instance " << k << " read " << read << " lines");
    BOOST_TEST(h.values<int>().size() == read);
    total += read;
  }
  BOOST_TEST(total == 4000u);
}

BOOST_AUTO_TEST_CASE(dead_letters_name_the_file_line_in_every_instance) {
  // Instances that start inside the file count the lines before a rejected
  // one; the numbers are the file's, whichever instance read the line.
  temp_dir dir;
  std::string content = "name,age\n";
  std::vector<std::string> expected;
  for (int i = 2; i <= 400; ++i) {
    if (i % 37 == 0) {
      content += "bad line " + std::to_string(i) + "\n";
      expected.push_back(":" + std::to_string(i));
    } else {
      content += "p" + std::to_string(i) + "," + std::to_string(i) + "\n";
    }
  }
  const auto path = dir.write("people.csv", content);
  for (uint32_t p : {1u, 2u, 3u, 7u}) {
    std::vector<std::string> got;
    for (uint32_t k = 0; k < p; ++k) {
      testing::harness h{persons(path), k, p, 16};
      h.poll(5);
      for (auto& d : h.dead_letters()) {
        BOOST_TEST(d.raw.rfind("bad line ", 0) == 0u);
        BOOST_TEST(d.position == path + ":" + d.raw.substr(9), "instance " << k << " of " << p);
        got.push_back(d.position.substr(path.size()));
      }
    }
    std::sort(got.begin(), got.end());
    auto want = expected;
    std::sort(want.begin(), want.end());
    BOOST_TEST(got == want, "parallelism " << p);
  }
}

BOOST_AUTO_TEST_CASE(restore_refuses_a_file_whose_size_changed) {
  temp_dir dir;
  const auto path = dir.write("ints.txt", "1\n2\n3\n4\n");
  state::snapshot_writer w{8, 1};
  {
    testing::harness h{std::make_unique<int_source>(path, parse_int{}, text_file_options{}), 0, 1,
                       8};
    h.poll(1, 1);
    h.as<int_source>().snapshot(w);
  }
  dir.write("ints.txt", "1\n2\n3\n4\n5\n");
  std::vector<std::string> sections;
  for (auto& [g, bytes] : w.keyed_bytes())
    sections.push_back(bytes);
  testing::harness h{std::make_unique<int_source>(path, parse_int{}, text_file_options{}), 0, 1, 8};
  BOOST_CHECK_EXCEPTION(h.as<int_source>().restore(state::snapshot_reader{std::nullopt, sections}),
                        std::runtime_error, [&](const std::runtime_error& e) {
                          const std::string m = e.what();
                          return m.find(path) != std::string::npos &&
                                 m.find("changed since the checkpoint") != std::string::npos &&
                                 m.find("8 bytes, now 10") != std::string::npos;
                        });
}

BOOST_AUTO_TEST_CASE(missing_file_throws_with_path_in_message) {
  temp_dir dir;
  const auto path = (dir.path() / "does-not-exist.csv").string();
  BOOST_CHECK_EXCEPTION(testing::harness{persons(path)}, std::runtime_error,
                        [&](const std::runtime_error& e) {
                          return std::string{e.what()}.find(path) != std::string::npos;
                        });
}

BOOST_AUTO_TEST_CASE(watermark_strategy_stamps_parsed_records) {
  temp_dir dir;
  const auto path = dir.write("ints.txt", "10\n30\n20\n");
  auto src = std::make_unique<int_source>(path, parse_int{}, text_file_options{});
  src->set_watermarks(
      watermark_strategy<int>::bounded(duration{5}, [](const int& v) { return timestamp::of(v); }));
  testing::harness h{std::move(src)};
  h.poll();
  auto out = h.output<int>();
  BOOST_TEST_REQUIRE(out.size() == 3u);
  for (auto& r : out)
    BOOST_TEST(r.ts.ms == r.value);
  BOOST_TEST(h.as<int_source>().watermark().ms == 30 - 5 - 1);
}

BOOST_AUTO_TEST_CASE(parses_churn_modelling_csv) {
  struct churn_row {
    int64_t row = 0;
    int64_t customer_id = 0;
    std::string surname, geography, gender;
    int credit_score = 0, age = 0, tenure = 0, products = 0;
    double balance = 0, salary = 0;
    bool has_card = false, active = false, exited = false;
  };
  auto parse = [](const csv_row& r) -> parsed<churn_row> {
    if (r.size() != 14)
      return parsed<churn_row>::fail("expected 14 fields");
    churn_row c;
    c.row = r.get<int64_t>(0);
    c.customer_id = r.get<int64_t>(1);
    c.surname = r.get<std::string>(2);
    c.credit_score = r.get<int>(3);
    c.geography = r.get<std::string>(4);
    c.gender = r.get<std::string>(5);
    c.age = r.get<int>(6);
    c.tenure = r.get<int>(7);
    c.balance = r.get<double>(8);
    c.products = r.get<int>(9);
    c.has_card = r.get<bool>(10);
    c.active = r.get<bool>(11);
    c.salary = r.get<double>(12);
    c.exited = r.get<bool>(13);
    return c;
  };
  const std::string path =
      std::string{SLUICE_SHARED_DATA_DIR} + "/churn_modelling/Churn_Modelling.csv";
  BOOST_TEST_REQUIRE(fs::exists(path), "shared data file missing: " << path);

  using churn_source = text_file_source<churn_row, decltype(parse)>;
  testing::harness h{std::make_unique<churn_source>(path, parse, text_file_options{true, ','})};
  BOOST_TEST((h.poll() == poll_status::end));
  auto dead = h.dead_letters();
  BOOST_TEST(dead.empty(), dead.size()
                               << " dead letter(s), first: "
                               << (dead.empty() ? "" : dead[0].position + " " + dead[0].reason));
  auto rows = h.values<churn_row>();
  BOOST_TEST_REQUIRE(rows.size() == 10000u);

  const auto& first = rows[0];
  BOOST_TEST(first.row == 1);
  BOOST_TEST(first.customer_id == 15634602);
  BOOST_TEST(first.surname == "Hargrave");
  BOOST_TEST(first.credit_score == 619);
  BOOST_TEST(first.geography == "France");
  BOOST_TEST(first.gender == "Female");
  BOOST_TEST(first.age == 42);
  BOOST_TEST(first.tenure == 2);
  BOOST_TEST(first.balance == 0.0);
  BOOST_TEST(first.products == 1);
  BOOST_TEST(first.has_card);
  BOOST_TEST(first.active);
  BOOST_TEST(first.salary == 101348.88);
  BOOST_TEST(first.exited);

  BOOST_TEST(rows[1].surname == "Hill");
  BOOST_TEST(rows[1].balance == 83807.86);
  BOOST_TEST(!rows[1].has_card);
  BOOST_TEST(!rows[1].exited);

  const auto& last = rows.back();
  BOOST_TEST(last.row == 10000);
  BOOST_TEST(last.surname == "Walker");
  BOOST_TEST(last.salary == 38190.78);  // the final CRLF is stripped before parsing

  size_t exited = 0;
  for (auto& r : rows)
    exited += r.exited;
  BOOST_TEST(exited == 2037u);
}

BOOST_AUTO_TEST_SUITE_END()
