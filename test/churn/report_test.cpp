// Tests of the churn report (examples/churn/report.hpp): the HTML page and the
// text summary. The page is also checked in a real browser by the ctest
// churn_report_browser (test/churn/report_tests.cmake): the test case
// sample_report_is_written writes a report of realistic size to
// $CHURN_REPORT_SAMPLE_HTML for it.
#define BOOST_TEST_MODULE churn_report
#define BOOST_BIND_GLOBAL_PLACEHOLDERS  // property_tree includes the deprecated boost/bind.hpp
#include "report.hpp"

#include <boost/property_tree/json_parser.hpp>
#include <boost/property_tree/ptree.hpp>
#include <boost/test/unit_test.hpp>

#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace fs = std::filesystem;
using namespace churn;

namespace {

/// A fresh directory under the system temp directory, removed at the end.
struct temp_dir {
  fs::path path;
  temp_dir() {
    std::string tmpl = (fs::temp_directory_path() / "churn-report-XXXXXX").string();
    BOOST_TEST_REQUIRE(::mkdtemp(tmpl.data()) != nullptr);
    path = tmpl;
  }
  ~temp_dir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

std::string read(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  BOOST_TEST_REQUIRE(in.good(), "cannot read " << p);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

size_t count(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1))
    ++n;
  return n;
}

/// The text of the <script type="application/json"> element.
std::string data_json(const std::string& page) {
  const std::string open = "<script type=\"application/json\" id=\"report-data\">";
  const auto begin = page.find(open);
  BOOST_TEST_REQUIRE(begin != std::string::npos);
  const auto end = page.find("</script>", begin);
  BOOST_TEST_REQUIRE(end != std::string::npos);
  return page.substr(begin + open.size(), end - begin - open.size());
}

boost::property_tree::ptree parse_json(const std::string& json) {
  std::istringstream in(json);
  boost::property_tree::ptree tree;
  boost::property_tree::read_json(in, tree);
  return tree;
}

std::string write_page(const report_data& d, const fs::path& dir,
                       const std::string& name = "report.html") {
  write_html_report(d, dir / name);
  return read(dir / name);
}

const std::string nasty = "</script><b>&\"'";

report_data small_data() {
  report_data d;
  d.title = "Churn <demo> & co";
  d.facts = {{"held-out AUC", "0.871"}, {"customers scored", "14,500"}};
  d.churn_scores = {0.01f, 0.07f, 0.5f, 0.97f, 1.0f};
  d.auc_over_time = {
      {100, 80, 20, std::nan(""), 1000}, {200, 160, 40, 0.75, 2000}, {400, 320, 80, 0.81, 3000}};
  d.top_risk = {{nasty, "churn_modelling", 0.98, "inactive, 1 product", "age 52", 86'400'000},
                {"15634602 Hargrave", "churn_modelling", 0.91, "balance", "", 0},
                {"account 576", "berka", 0.9, "loan in debt", "status D", 788'918'400'000}};
  d.groups = {{"geography", "France", 5014, 400, 0.16},
              {"geography", "Germany", 2509, 610, 0.32},
              {"district", "Hl.m. Praha", 554, 40, 0.2}};
  d.alerts_per_day = {{"1993-01-05", "berka", 2},
                      {"1993-01-05", "berka", 1},
                      {"1998-12-29", "berka", 4},
                      {"2024-01-01", "churn_modelling", 7}};
  d.stages = {{"score", 14500, 52000.5}, {"alerts sink", 2210, 9000}};
  return d;
}

// ---- a realistic sample for the browser check: real district names and
// customers of examples/data, made-up scores (a deterministic hash). ----

uint64_t mix(uint64_t x) {  // splitmix64
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

double unit(uint64_t i, uint64_t salt) {
  return static_cast<double>(mix(i * 0x100000001B3ull ^ salt) >> 11) / 9007199254740992.0;
}

std::vector<std::string> split(const std::string& line, char sep) {
  std::vector<std::string> out(1);
  for (char c : line) {
    if (c == sep)
      out.emplace_back();
    else if (c != '"' && c != '\r')
      out.back() += c;
  }
  return out;
}

std::vector<std::vector<std::string>> read_table(const fs::path& p, char sep) {
  std::ifstream in(p);
  BOOST_TEST_REQUIRE(in.good(), "cannot read " << p << " (the data of examples/data)");
  std::vector<std::vector<std::string>> rows;
  std::string line;
  std::getline(in, line);  // header
  while (std::getline(in, line))
    rows.push_back(split(line, sep));
  return rows;
}

std::string iso_day(int days) {
  const std::chrono::year_month_day ymd{std::chrono::sys_days{std::chrono::days{days}}};
  std::ostringstream s;
  s << static_cast<int>(ymd.year()) << '-' << (static_cast<unsigned>(ymd.month()) < 10 ? "0" : "")
    << static_cast<unsigned>(ymd.month()) << '-'
    << (static_cast<unsigned>(ymd.day()) < 10 ? "0" : "") << static_cast<unsigned>(ymd.day());
  return s.str();
}

report_data sample_data() {
  const fs::path data = SLUICE_SHARED_DATA_DIR;
  const auto districts = read_table(data / "berka" / "district.asc", ';');
  const auto customers = read_table(data / "churn_modelling" / "Churn_Modelling.csv", ',');
  BOOST_TEST_REQUIRE(districts.size() == 77u);
  BOOST_TEST_REQUIRE(customers.size() == 10000u);

  report_data d;
  d.title = "Churn prediction: Berka + Churn_Modelling (sample)";
  for (uint64_t i = 0; i < 14500; ++i)
    d.churn_scores.push_back(static_cast<float>(std::pow(unit(i, 1), 2.4)));
  d.auc_over_time.push_back({50, 40, 10, std::nan(""), 1'700'000'000'000});
  for (uint64_t k = 1; k <= 40; ++k) {
    const double auc = 0.87 - 0.25 * std::exp(-static_cast<double>(k) / 8) + 0.01 * unit(k, 2);
    d.auc_over_time.push_back(
        {250 * k, 200 * k, 50 * k, auc, 1'700'000'000'000 + static_cast<int64_t>(k) * 60'000});
  }
  d.top_risk.push_back({nasty, "churn_modelling", 0.995, "escaping check", "<i>not italic</i>", 0});
  for (uint64_t i = 0; i < 29; ++i) {
    const auto& c = customers[(mix(i) % customers.size())];
    const bool berka = i % 3 == 2;
    d.top_risk.push_back(
        {berka ? "account " + std::to_string(100 + mix(i) % 11000) : c[1] + " " + c[2],
         berka ? "berka" : "churn_modelling", 0.99 - 0.011 * static_cast<double>(i),
         berka ? "loan status D" : "inactive member, 1 product",
         berka ? "district " + districts[i % 77][1] : "Geography " + c[4],
         berka ? 883'612'800'000 : 1'700'000'000'000});
  }
  std::map<std::string, uint64_t> geography;
  for (const auto& c : customers)
    ++geography[c[4]];
  for (const auto& [country, n] : geography) {
    const double rate = country == "Germany" ? 0.31 : 0.16;
    d.groups.push_back({"geography", country, n,
                        static_cast<uint64_t>(rate * static_cast<double>(n)), rate + 0.05});
  }
  for (uint64_t i = 0; i < districts.size(); ++i) {
    const uint64_t population = 20 + mix(i + 500) % 500;
    const double rate = 0.05 + 0.3 * unit(i, 3);
    d.groups.push_back({"district", districts[i][1], population,
                        static_cast<uint64_t>(rate * static_cast<double>(population)), rate + 0.1});
  }
  const int berka_first = 8401, berka_last = 10591;  // 1993-01-01 .. 1998-12-31
  for (int day = berka_first; day <= berka_last; day += 1 + static_cast<int>(mix(day) % 4))
    d.alerts_per_day.push_back(
        {iso_day(day), "berka", 1 + mix(day + 7) % (2 + (day - berka_first) / 300)});
  for (int day = 19723; day < 19723 + 90; ++day)  // 2024-01-01, 90 synthetic days
    d.alerts_per_day.push_back({iso_day(day), "churn_modelling", 5 + mix(day) % 20});
  d.stages = {{"berka transactions (source)", 99999, 48210.4},
              {"Churn_Modelling customers (source)", 10000, 61500.0},
              {"features (keyed state)", 109999, 40123.9},
              {"score (XGBoost)", 14500, 18250.2},
              {"alerts (sink)", 2210, 2210.0}};
  d.facts = {{"held-out AUC", "0.871"},
             {"labels seen", "10,000"},
             {"customers scored", "14,500"},
             {"high-risk customers", "2,210"}};
  return d;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(churn_report_html)

BOOST_AUTO_TEST_CASE(page_inlines_chart_js_and_embeds_the_data_as_json) {
  temp_dir dir;
  const std::string page = write_page(small_data(), dir.path);
  const std::string chart_js = read(default_chart_js());
  BOOST_TEST(page.find(chart_js) != std::string::npos);
  BOOST_TEST(page.find("Chart.js v3.9.1") != std::string::npos);
  BOOST_TEST(page.find("<script src") == std::string::npos);  // nothing from the network
  BOOST_TEST(page.find("http://") == std::string::npos);

  const auto json = parse_json(data_json(page));
  std::vector<std::string> bins;
  for (const auto& [_, v] : json.get_child("histogram"))
    bins.push_back(v.data());
  const std::vector<std::string> expected = {"1", "1", "0", "0", "0", "0", "0", "0", "0", "0",
                                             "1", "0", "0", "0", "0", "0", "0", "0", "0", "2"};
  BOOST_TEST(bins == expected, boost::test_tools::per_element());
  BOOST_TEST(json.get_child("auc").size() == 3u);
  BOOST_TEST(json.get_child("auc").front().second.get<std::string>("y") == "null");  // NaN
  BOOST_TEST(json.get_child("top").size() == 3u);
  BOOST_TEST(json.get_child("groups").size() == 2u);  // geography, district
  BOOST_TEST(json.get_child("alerts").size() == 2u);  // berka, churn_modelling
  BOOST_TEST(count(page, "<canvas data-chart=") == 7u);
  BOOST_TEST(page.find("<dt>held-out AUC</dt><dd>0.871</dd>") != std::string::npos);
  BOOST_TEST(page.find("<title>Churn &lt;demo&gt; &amp; co</title>") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(customer_name_cannot_break_out_of_html_or_json) {
  temp_dir dir;
  const std::string page = write_page(small_data(), dir.path);
  BOOST_TEST(page.find(nasty) == std::string::npos);
  BOOST_TEST(page.find("<b>") == std::string::npos);
  // The table cell, HTML-escaped.
  BOOST_TEST(page.find("<td>&lt;/script&gt;&lt;b&gt;&amp;&quot;&#39;</td>") != std::string::npos);
  // The JSON: no '<' at all, and the name reads back unchanged.
  const std::string json = data_json(page);
  BOOST_TEST(json.find('<') == std::string::npos);
  BOOST_TEST(json.find(R"("\u003c/script\u003e\u003cb\u003e\u0026\"'")") != std::string::npos);
  BOOST_TEST(parse_json(json).get_child("top").front().second.get<std::string>("customer") ==
             nasty);
  // Exactly the page's own four <script> elements end.
  BOOST_TEST(count(page, "</script>") == 4u);
}

BOOST_AUTO_TEST_CASE(invalid_utf8_and_control_characters_are_replaced) {
  temp_dir dir;
  report_data d;
  d.top_risk = {{"bad \xff\xc3 name\x01", "s\xe2\x80\xa8", 0.5, "", "", 0},
                {"back\\slash \"quoted\"\nline", "s", 0.4, "", "", 0}};
  const std::string page = write_page(d, dir.path);
  BOOST_TEST(page.find("<td>bad \xef\xbf\xbd\xef\xbf\xbd name\xef\xbf\xbd</td>") !=
             std::string::npos);
  const std::string json = data_json(page);
  BOOST_TEST(json.find("\"bad \xef\xbf\xbd\xef\xbf\xbd name\\u0001\"") != std::string::npos);
  BOOST_TEST(json.find("\"s\\u2028\"") != std::string::npos);
  const auto top = parse_json(json).get_child("top");
  BOOST_TEST(std::next(top.begin())->second.get<std::string>("customer") ==
             "back\\slash \"quoted\"\nline");
}

BOOST_AUTO_TEST_CASE(same_data_gives_a_byte_identical_page) {
  temp_dir dir;
  const report_data d = small_data();
  const std::string a = write_page(d, dir.path, "a.html");
  const std::string b = write_page(report_data(d), dir.path, "b.html");
  BOOST_TEST(a.size() > 100'000u);
  BOOST_TEST((a == b));
  report_data changed = d;
  changed.top_risk[1].score = 0.92;
  BOOST_TEST((write_page(changed, dir.path, "c.html") != a));
}

BOOST_AUTO_TEST_CASE(empty_data_renders_a_page_that_says_no_data) {
  temp_dir dir;
  const std::string page = write_page(report_data{}, dir.path);
  BOOST_TEST(count(page, "<p class=\"nodata\">no data</p>") == 7u);  // every section
  BOOST_TEST(page.find("<canvas") == std::string::npos);
  BOOST_TEST(page.find("Chart.js v3.9.1") != std::string::npos);
  const auto json = parse_json(data_json(page));
  BOOST_TEST(json.get_child("histogram").size() == 20u);
  BOOST_TEST(json.get_child("auc").empty());
  BOOST_TEST(json.get_child("top").empty());
  BOOST_TEST(json.get_child("groups").empty());
  BOOST_TEST(json.get_child("alerts").empty());
}

BOOST_AUTO_TEST_CASE(districts_are_sorted_by_share_and_cut_to_30) {
  temp_dir dir;
  report_data d;
  for (int i = 0; i < 77; ++i)  // district i: i high-risk customers of 100
    d.groups.push_back(
        {"district", "district " + std::to_string(i), 100, static_cast<uint64_t>(i), 0.5});
  d.groups.push_back({"district", "empty", 0, 0, std::nan("")});
  const std::string page = write_page(d, dir.path);
  const auto json = parse_json(data_json(page));
  const auto& rows = json.get_child("groups").front().second.get_child("rows");
  BOOST_TEST_REQUIRE(rows.size() == 30u);
  BOOST_TEST(rows.front().second.get<std::string>("group") == "district 76");
  BOOST_TEST(rows.back().second.get<std::string>("group") == "district 47");
  BOOST_TEST(page.find("The 30 of 78 groups with the highest share.") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(alerts_are_summed_per_source_and_day) {
  temp_dir dir;
  report_data d = small_data();
  d.alerts_per_day.push_back({"1998-02-30", "berka", 9});  // no such day
  const std::string page = write_page(d, dir.path);
  const auto json = parse_json(data_json(page));
  const auto& berka = json.get_child("alerts").front().second;
  BOOST_TEST(berka.get<std::string>("source") == "berka");
  const auto& days = berka.get_child("days");
  BOOST_TEST_REQUIRE(days.size() == 2u);
  BOOST_TEST(days.front().second.get<int>("x") == 8405);  // 1993-01-05
  BOOST_TEST(days.front().second.get<int>("y") == 3);
  BOOST_TEST(page.find("7 alerts on 2 days, 1993-01-05 to 1998-12-29.") != std::string::npos);
  BOOST_TEST(page.find("1 rows with a day that is not YYYY-MM-DD are not shown.") !=
             std::string::npos);
}

BOOST_AUTO_TEST_CASE(missing_chart_js_throws_naming_the_path_and_the_package) {
  temp_dir dir;
  const fs::path missing = dir.path / "no-such-dir" / "chart.min.js";
  try {
    write_html_report(small_data(), dir.path / "r.html", missing);
    BOOST_FAIL("no exception");
  } catch (const std::runtime_error& e) {
    const std::string what = e.what();
    BOOST_TEST(what.find(missing.string()) != std::string::npos, what);
    BOOST_TEST(what.find("No such file or directory") != std::string::npos, what);
    BOOST_TEST(what.find("libjs-chart.js") != std::string::npos, what);
  }
  BOOST_TEST(!fs::exists(dir.path / "r.html"));
}

BOOST_AUTO_TEST_CASE(chart_js_that_would_end_the_script_element_is_refused) {
  temp_dir dir;
  std::ofstream(dir.path / "evil.js") << "var s = '</SCRIPT>';";
  BOOST_CHECK_THROW(write_html_report(small_data(), dir.path / "r.html", dir.path / "evil.js"),
                    std::runtime_error);
}

BOOST_AUTO_TEST_CASE(unwritable_output_throws_naming_the_path) {
  temp_dir dir;
  const fs::path out = dir.path / "no-such-dir" / "r.html";
  try {
    write_html_report(small_data(), out);
    BOOST_FAIL("no exception");
  } catch (const std::runtime_error& e) {
    const std::string what = e.what();
    BOOST_TEST(what.find(out.string()) != std::string::npos, what);
    BOOST_TEST(what.find("No such file or directory") != std::string::npos, what);
  }
}

BOOST_AUTO_TEST_CASE(sample_report_is_written) {
  // With CHURN_REPORT_SAMPLE_HTML set (the ctest churn_report_sample), the page
  // stays there for scripts/check-report.sh.
  temp_dir dir;
  const char* env = std::getenv("CHURN_REPORT_SAMPLE_HTML");
  const fs::path out = env && *env ? fs::path(env) : dir.path / "sample.html";
  if (out.has_parent_path())
    fs::create_directories(out.parent_path());
  const report_data d = sample_data();
  write_html_report(d, out);
  const std::string page = read(out);
  BOOST_TEST(count(page, "<canvas data-chart=") == 7u);
  BOOST_TEST(page.find("<h3>Share of high-risk customers per district</h3>") != std::string::npos);
  BOOST_TEST(page.find("The 30 of 77 groups with the highest share.") != std::string::npos);
  BOOST_TEST_MESSAGE("sample report: " << out << "\n" << text_summary(d));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(churn_report_text)

BOOST_AUTO_TEST_CASE(summary_holds_facts_stages_top_risks_and_auc) {
  report_data d = small_data();
  for (int i = 0; i < 12; ++i)
    d.top_risk.push_back({"customer " + std::to_string(i), "berka", 0.5, "r", "", 0});
  const std::string s = text_summary(d);
  BOOST_TEST_MESSAGE(s);
  BOOST_TEST(s.find("Churn <demo> & co\n") == 0u);
  BOOST_TEST(s.find("held-out AUC      0.871") != std::string::npos);
  BOOST_TEST(s.find("customers scored  14,500") != std::string::npos);
  BOOST_TEST(s.find("score         14,500   52,000.5") != std::string::npos);
  BOOST_TEST(s.find("Top 10 risks") != std::string::npos);
  BOOST_TEST(s.find("  1  0.980  </script><b>&\"'") != std::string::npos);
  BOOST_TEST(s.find("15634602 Hargrave") != std::string::npos);
  BOOST_TEST(s.find("customer 6 ") != std::string::npos);  // the 10th row
  BOOST_TEST(s.find("customer 7 ") == std::string::npos);  // the 11th is not shown
  BOOST_TEST(s.find("          100          80        20    n/a") != std::string::npos);
  BOOST_TEST(s.find("          400         320        80  0.810") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(summary_of_many_auc_points_shows_a_few_lines) {
  report_data d;
  for (uint64_t k = 1; k <= 100; ++k)
    d.auc_over_time.push_back({k * 10, k * 8, k * 2, 0.5 + 0.003 * static_cast<double>(k), 0});
  const std::string s = text_summary(d);
  const auto auc = s.substr(s.find("Held-out AUC"));
  BOOST_TEST(count(auc, "\n") == 8u);                   // heading, column names, 6 lines
  BOOST_TEST(auc.find(" 10 ") != std::string::npos);    // the first
  BOOST_TEST(auc.find("1,000 ") != std::string::npos);  // the latest
  BOOST_TEST(s.find("(no facts)") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(summary_line_cannot_carry_terminal_escapes) {
  report_data d;
  d.top_risk = {{"evil\x1b[2Jname\nnext", "s", 0.9, "", "", 0}};
  const std::string s = text_summary(d);
  BOOST_TEST(s.find('\x1b') == std::string::npos);
  BOOST_TEST(s.find("evil?[2Jname?next") != std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()
