# The churn report (examples/churn/report.hpp): the HTML page (Chart.js inlined, the data as
# escaped JSON, byte-identical for the same data, empty data, errors naming the path) and the
# text summary.
sluice_add_test(churn_report_test
  SOURCES report_test.cpp
  LIBS churn_report
  TIMEOUT 60
  LABELS churn)

# The page in a real browser. churn_report_sample writes a sample report (the district names and
# customers of examples/data, made-up scores) with the test binary; churn_report_browser opens it
# in headless Chromium (scripts/check-report.sh): every chart built, no script error, and a
# screenshot in report_browser/report.png of this build directory. Skipped (exit 77) when
# Chromium is not installed.
set(churn_report_browser_dir ${CMAKE_CURRENT_BINARY_DIR}/report_browser)
add_test(NAME churn_report_sample
  COMMAND churn_report_test --run_test=churn_report_html/sample_report_is_written)
set_tests_properties(churn_report_sample PROPERTIES
  ENVIRONMENT "CHURN_REPORT_SAMPLE_HTML=${churn_report_browser_dir}/churn_report.html"
  FIXTURES_SETUP churn_report_page
  TIMEOUT 60
  LABELS churn)
add_test(NAME churn_report_browser
  COMMAND bash ${PROJECT_SOURCE_DIR}/scripts/check-report.sh
          ${churn_report_browser_dir}/churn_report.html ${churn_report_browser_dir})
set_tests_properties(churn_report_browser PROPERTIES
  FIXTURES_REQUIRED churn_report_page
  SKIP_RETURN_CODE 77
  TIMEOUT 180
  LABELS "churn;browser")
