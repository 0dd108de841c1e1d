// The exactly-once oracle job: a sequence of (key, seq) records through keyed
// state into an exactly-once output directory. Check the directory with
// `oracle-check`; scripts/fault-inject.sh kills and restarts this job.
//
//   oracle --count N --keys K --output DIR [--rate R] [runtime options]
//
// Record i is (key i % K, seq i / K). The source splits by key, so every
// key's records come from one source instance in order (at any parallelism,
// also after a restore with another one). The keyed stage keeps, per key, the
// next sequence number it expects; any other number means the restored state
// and the replayed source position disagree, and the job fails saying so.
#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include <stdexcept>
#include <string>

#include "sluice/run.hpp"
#include "sluice/testing/oracle.hpp"
#include "sluice/testing/sequence_source.hpp"
#include "track.hpp"

using sluice::testing::seq_record;

int main(int argc, char** argv) {
  uint64_t count = 0;
  uint32_t keys = 16;
  double rate = 0;
  std::string output;
  sluice::runtime_config cfg;
  CLI::App app{"Sequence-number job whose output oracle-check verifies (exactly-once oracle)"};
  app.add_option("--count", count, "records to generate")->required();
  app.add_option("--keys", keys, "distinct keys")->check(CLI::Range(1u, 1u << 24));
  app.add_option("--output", output, "exactly-once output directory (part-* files)")->required();
  app.add_option("--rate", rate, "records per second over all instances (0 = unlimited)")
      ->check(CLI::NonNegativeNumber);
  sluice::add_runtime_options(app, cfg);
  CLI11_PARSE(app, argc, argv);

  sluice::pipeline p{"oracle"};
  auto source = sluice::testing::sequence(p, count, keys);
  source.name("sequence").uid("sequence");
  if (rate > 0)
    source.rate_limit(rate);
  track_and_write(source, output, "state and source position disagree");
  return sluice::run(p, cfg);
}
