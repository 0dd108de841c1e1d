// Checks the output directory of the `oracle` job: every record of the
// sequence exactly once, nothing else.
//
//   oracle-check --count N --keys K --output DIR [--partial] [--strict-order]
//
// Prints the first few problems per key, then a last line
// `lost=<n> duplicated=<n> mismatched=<n>`. Exit code 0 when the output is
// exactly the sequence, 1 when records are lost (unless --partial),
// duplicated or mismatched, 2 when the directory cannot be read.
#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include <cstdio>
#include <filesystem>
#include <string>

#include "sluice/testing/oracle.hpp"

int main(int argc, char** argv) {
  uint64_t count = 0;
  uint32_t keys = 16;
  std::string output;
  sluice::testing::check_options opt;
  CLI::App app{"Checks the oracle job's output: no record lost, duplicated or mismatched"};
  app.add_option("--count", count, "records the job generated")->required();
  app.add_option("--keys", keys, "distinct keys")->check(CLI::Range(1u, 1u << 24));
  app.add_option("--output", output, "the job's exactly-once output directory")->required();
  app.add_flag("--partial", opt.partial,
               "the job has not finished: missing records are not a failure");
  app.add_flag("--strict-order", opt.strict_order,
               "records of a key must be in order within each part file");
  CLI11_PARSE(app, argc, argv);

  sluice::testing::sequence_checker checker{count, keys};
  // A job killed before it created its output directory has published
  // nothing yet: for a partial check that is an empty output, not an error.
  std::error_code exists_ec;
  const bool absent = !std::filesystem::exists(output, exists_ec) && !exists_ec;
  if (absent && opt.partial) {
    std::printf("no output directory yet: nothing published\n");
  } else if (auto r = sluice::testing::read_output_directory(output, checker); !r) {
    std::fprintf(stderr, "oracle-check: %s\n", sluice::to_string(r.error()).c_str());
    return 2;
  }
  auto report = checker.report(opt);
  std::fputs(report.summary.c_str(), stdout);
  std::error_code ec;
  size_t pending = 0;
  for (std::filesystem::directory_iterator it{std::filesystem::path{output} / ".pending", ec}, end;
       !ec && it != end; it.increment(ec))
    ++pending;
  if (pending > 0)
    std::printf("  note: %zu files left in %s/.pending\n", pending, output.c_str());
  std::printf("%s\n", report.counts().c_str());
  return report.ok() ? 0 : 1;
}
