// Log lines: the JSON form is valid for any message and carries the fields
// log shippers index; levels and formats parse; bad values are usage errors
// naming the option.
#include <boost/test/unit_test.hpp>

#include <CLI/CLI.hpp>

#include <algorithm>
#include <chrono>
#include <string>
#include <utility>
#include <vector>

#include "sluice/actors/logging.hpp"

using namespace sluice::actors;

BOOST_AUTO_TEST_SUITE(logging_suite)

namespace {
const auto noon = std::chrono::system_clock::time_point{std::chrono::milliseconds{1767355200123}};
}  // namespace

BOOST_AUTO_TEST_CASE(json_line_has_time_level_node_job_and_message) {
  BOOST_TEST(json_log_line(noon, log_level::info, {"n1", "wordcount"}, nullptr, "started") ==
             R"({"time":"2026-01-02T12:00:00.123Z","level":"info","node":"n1",)"
             R"("job":"wordcount","message":"started"})");
}

BOOST_AUTO_TEST_CASE(json_line_names_the_operator_instance_it_is_about) {
  const log_subject about{"count", 3};
  BOOST_TEST(json_log_line(noon, log_level::error, {"local", "wc"}, &about, "failed") ==
             R"({"time":"2026-01-02T12:00:00.123Z","level":"error","node":"local","job":"wc",)"
             R"("operator":"count","instance":3,"message":"failed"})");
  const log_subject no_instance{"count", std::nullopt};
  BOOST_TEST(json_log_line(noon, log_level::warn, {"n", "j"}, &no_instance, "x")
                 .find(R"("operator":"count","message":"x")") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(json_line_escapes_anything_a_message_holds) {
  auto message_of = [](std::string_view m) {
    auto line = json_log_line(noon, log_level::info, {"n", "j"}, nullptr, m);
    const std::string key = R"("message":)";
    return line.substr(line.find(key) + key.size(), line.size() - line.find(key) - key.size() - 1);
  };
  BOOST_TEST(message_of("say \"hi\" \\ o/") == R"("say \"hi\" \\ o/")");
  BOOST_TEST(message_of("a\nb\rc\td\x01\x1f") == R"("a\nb\rc\td\u0001\u001f")");
  BOOST_TEST(message_of("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80") ==
             "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"");  // valid UTF-8 stays
  // Not UTF-8: a lone byte, a stray continuation, an overlong '/', a
  // surrogate, a sequence cut short at the end.
  BOOST_TEST(message_of("\xff|\x80|\xc0\xaf|\xed\xa0\x80|\xe2\x82") ==
             R"("\u00ff|\u0080|\u00c0\u00af|\u00ed\u00a0\u0080|\u00e2\u0082")");
  // Names of nodes and jobs are escaped too.
  BOOST_TEST(json_log_line(noon, log_level::info, {"n\"1", "j\\"}, nullptr, "")
                 .find(R"("node":"n\"1","job":"j\\")") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(levels_and_formats_parse_by_name) {
  for (auto name : {"trace", "debug", "info", "warn", "error", "off"}) {
    auto l = parse_log_level(name);
    BOOST_TEST_REQUIRE(l.has_value());
    BOOST_TEST(to_string(*l) == name);
  }
  BOOST_TEST(!parse_log_level("warning"));
  BOOST_TEST(!parse_log_level("INFO"));
  BOOST_TEST((parse_log_format("json") == log_format::json));
  BOOST_TEST(!parse_log_format("xml"));
  runtime_config cfg;
  cfg.log_level = "loud";
  BOOST_TEST(configure_logging(cfg, "j") ==
             "invalid --log-level 'loud' (trace|debug|info|warn|error|off)");
}

BOOST_AUTO_TEST_CASE(a_bad_value_is_a_usage_error_naming_the_option) {
  auto parse = [](std::vector<std::string> args) {
    runtime_config cfg;
    CLI::App app{"t"};
    add_logging_options(app, cfg);
    std::reverse(args.begin(), args.end());
    app.parse(args);
    return cfg;
  };
  auto cfg = parse({"--log-level", "debug", "--log-format", "json"});
  BOOST_TEST(cfg.log_level == "debug");
  BOOST_TEST(cfg.log_format == "json");
  BOOST_TEST(parse({}).log_level.empty());  // not given: the cluster file or info decides
  for (auto [option, value] : {std::pair{"--log-level", "verbose"}, {"--log-format", "xml"}}) {
    try {
      parse({option, value});
      BOOST_FAIL("accepted " << option << " " << value);
    } catch (const CLI::ValidationError& e) {
      BOOST_TEST(std::string{e.what()}.find(option) != std::string::npos, e.what());
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()
