#include "sluice/sink/sinks.hpp"

#include <boost/test/unit_test.hpp>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "sluice/testing/harness.hpp"

using namespace sluice;
namespace fs = std::filesystem;

namespace sink_test {

struct reading {
  std::string sensor;
  double value = 0;
};
SLUICE_FIELDS(reading, sensor, value)

}  // namespace sink_test

using sink_test::reading;

namespace {

/// A fresh directory under the system temp dir, removed with its contents.
class temp_dir {
public:
  temp_dir() {
    const auto base = fs::temp_directory_path();
    for (int i = 0;; ++i) {
      path_ = base / ("sluice-libstream-sink-test-" + std::to_string(::getpid()) + "-" +
                      std::to_string(i));
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
  std::string file(const std::string& name) const { return (path_ / name).string(); }

private:
  fs::path path_;
};

std::string slurp(const std::string& path) {
  std::ifstream in{path, std::ios::binary};
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

BOOST_AUTO_TEST_SUITE(sink_sinks)

BOOST_AUTO_TEST_CASE(collect_sink_appends_values_across_batches_and_instances) {
  auto target = std::make_shared<collected<int>>();
  {
    testing::harness a{std::make_unique<collect_sink<int>>(target), 0, 2};
    testing::harness b{std::make_unique<collect_sink<int>>(target), 1, 2};
    a.push_batch<int>({{1, timestamp::of(1)}, {2, timestamp::of(2)}});
    b.push(3);
    a.push(4);
    a.end();
    b.end();
    BOOST_TEST(a.op().num_ports() == 0u);
  }
  BOOST_TEST(target->size() == 4u);
  BOOST_TEST(target->items() == (std::vector<int>{1, 2, 3, 4}));
}

BOOST_AUTO_TEST_CASE(callback_sink_passes_value_and_timestamp) {
  std::vector<std::pair<std::string, int64_t>> seen;
  auto f = [&seen](std::string s, timestamp ts) {
    seen.emplace_back(std::move(s), ts.ms);
  };
  testing::harness h{std::make_unique<callback_sink<std::string, decltype(f)>>(f)};
  h.push(std::string{"a"}, timestamp::of(5));
  h.push(std::string{"b"});
  BOOST_TEST_REQUIRE(seen.size() == 2u);
  BOOST_TEST(seen[0].first == "a");
  BOOST_TEST(seen[0].second == 5);
  BOOST_TEST(seen[1].second == timestamp::min().ms);
}

BOOST_AUTO_TEST_CASE(callback_sink_accepts_value_only_function) {
  int sum = 0;
  auto f = [&sum](int x) {
    sum += x;
  };
  testing::harness h{std::make_unique<callback_sink<int, decltype(f)>>(f)};
  h.push_batch<int>({{1, timestamp::of(0)}, {2, timestamp::of(0)}, {3, timestamp::of(0)}});
  BOOST_TEST(sum == 6);
}

BOOST_AUTO_TEST_CASE(text_sink_writes_csv_with_header_at_end_of_input) {
  temp_dir dir;
  const auto path = dir.file("out.csv");
  testing::harness h{std::make_unique<text_sink<reading>>(path, text_format::csv)};
  h.push(reading{"t,1", 20.5});
  h.push(reading{"t2", -1});
  h.end();
  BOOST_TEST(slurp(path) == "sensor,value\n\"t,1\",20.5\nt2,-1\n");
}

BOOST_AUTO_TEST_CASE(text_sink_writes_json_lines) {
  temp_dir dir;
  const auto path = dir.file("out.jsonl");
  testing::harness h{std::make_unique<text_sink<reading>>(path, text_format::json_lines)};
  h.push(reading{"a\"b", 1});
  h.end();
  BOOST_TEST(slurp(path) == "{\"sensor\":\"a\\\"b\",\"value\":1}\n");
}

BOOST_AUTO_TEST_CASE(text_sink_without_field_names_writes_no_header) {
  temp_dir dir;
  const auto path = dir.file("ints.csv");
  testing::harness h{std::make_unique<text_sink<std::pair<int, int>>>(path, text_format::csv)};
  h.push(std::pair<int, int>{1, 2});
  h.end();
  BOOST_TEST(slurp(path) == "1,2\n");
}

BOOST_AUTO_TEST_CASE(text_sink_instances_write_separate_part_files) {
  temp_dir dir;
  const auto path = dir.file("out.csv");
  for (uint32_t k = 0; k < 2; ++k) {
    testing::harness h{std::make_unique<text_sink<int>>(path, text_format::csv), k, 2};
    h.push(static_cast<int>(10 + k));
    h.end();
  }
  BOOST_TEST(!fs::exists(path));
  BOOST_TEST(slurp(path + ".part-0") == "10\n");
  BOOST_TEST(slurp(path + ".part-1") == "11\n");
}

BOOST_AUTO_TEST_CASE(text_sink_flushes_large_outputs_completely) {
  temp_dir dir;
  const auto path = dir.file("big.csv");
  std::string expected;
  {
    testing::harness h{std::make_unique<text_sink<int>>(path, text_format::csv)};
    std::vector<record<int>> batch;
    for (int i = 0; i < 30000; ++i) {
      batch.push_back({i, timestamp::of(i)});
      expected += std::to_string(i) + "\n";
    }
    h.push_batch(batch);
    h.end();
  }
  BOOST_TEST(slurp(path) == expected);
}

BOOST_AUTO_TEST_CASE(text_sink_unopenable_path_throws_with_path) {
  temp_dir dir;
  const auto path = dir.file("no-such-dir/out.csv");
  BOOST_CHECK_EXCEPTION(testing::harness{std::make_unique<text_sink<int>>(path, text_format::csv)},
                        std::runtime_error, [&](const std::runtime_error& e) {
                          return std::string{e.what()}.find(path) != std::string::npos;
                        });
}

BOOST_AUTO_TEST_SUITE_END()
