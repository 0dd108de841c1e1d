// The dashboard's files as the HTTP endpoint serves them (net/cluster/src/dashboard.hpp).
#include <boost/test/unit_test.hpp>

#include <filesystem>
#include <fstream>

#include "dashboard.hpp"

using namespace sluice;

BOOST_AUTO_TEST_SUITE(dashboard)

BOOST_AUTO_TEST_CASE(root_and_index_html_answer_the_embedded_page) {
  for (const std::string path : {"/", "/index.html"}) {
    auto r = dashboard_response(path);
    BOOST_REQUIRE_MESSAGE(r, path);
    BOOST_TEST(r->status == 200u);
    BOOST_TEST(r->content_type == "text/html; charset=utf-8");
    BOOST_TEST(r->body.find("<script src=\"dashboard.js\"></script>") != std::string::npos);
    BOOST_TEST(r->body.find("id=\"errors\"") != std::string::npos);
  }
}

BOOST_AUTO_TEST_CASE(script_and_style_sheet_are_embedded) {
  auto js = dashboard_response("/dashboard.js");
  BOOST_REQUIRE(js);
  BOOST_TEST(js->content_type == "text/javascript; charset=utf-8");
  BOOST_TEST(js->body.find("/api/operators") != std::string::npos);
  auto css = dashboard_response("/dashboard.css");
  BOOST_REQUIRE(css);
  BOOST_TEST(css->content_type == "text/css; charset=utf-8");
  BOOST_TEST(!css->body.empty());
}

BOOST_AUTO_TEST_CASE(libraries_are_read_from_the_given_files) {
  const auto dir = std::filesystem::temp_directory_path() / "sluice-dashboard-test";
  std::filesystem::create_directories(dir);
  {
    std::ofstream{dir / "d3.js"} << "var d3 = {};";
    std::ofstream{dir / "chart.js"} << "var Chart = {};";
  }
  const dashboard_libraries libs{dir / "d3.js", dir / "chart.js"};
  auto d3 = dashboard_response("/static/d3.min.js", libs);
  BOOST_REQUIRE(d3);
  BOOST_TEST(d3->status == 200u);
  BOOST_TEST(d3->body == "var d3 = {};");
  auto chart = dashboard_response("/static/chart.min.js", libs);
  BOOST_REQUIRE(chart);
  BOOST_TEST(chart->body == "var Chart = {};");
  std::filesystem::remove_all(dir);
}

BOOST_AUTO_TEST_CASE(missing_library_answers_404_naming_the_debian_package) {
  const dashboard_libraries libs{"/nonexistent/d3.min.js", "/nonexistent/chart.min.js"};
  auto d3 = dashboard_response("/static/d3.min.js", libs);
  BOOST_REQUIRE(d3);
  BOOST_TEST(d3->status == 404u);
  BOOST_TEST(d3->body.find("/nonexistent/d3.min.js") != std::string::npos, d3->body);
  BOOST_TEST(d3->body.find("libjs-d3") != std::string::npos, d3->body);
  auto chart = dashboard_response("/static/chart.min.js", libs);
  BOOST_REQUIRE(chart);
  BOOST_TEST(chart->status == 404u);
  BOOST_TEST(chart->body.find("libjs-chart.js") != std::string::npos, chart->body);
}

BOOST_AUTO_TEST_CASE(other_paths_are_not_the_dashboards) {
  for (const std::string path : {"/metrics", "/api/jobs", "/static/", "/static/other.js",
                                 "/dashboard.js/x", "/web_assets.cpp", "/index.htm", ""})
    BOOST_TEST(!dashboard_response(path), path);
}

BOOST_AUTO_TEST_SUITE_END()
