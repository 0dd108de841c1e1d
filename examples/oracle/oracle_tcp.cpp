// The exactly-once oracle over TCP: the oracle job's keyed check and
// exactly-once output, fed by the replayable TCP line source. `oracle-send`
// is its client; scripts/fault-inject.sh --job tcp kills this job while the
// client sends, and checks the output with `oracle-check` and the dead
// letters with jq.
//
//   oracle-tcp --log DIR --port P --output DIR [runtime options: --state-dir,
//              --checkpoint-ms, --dead-letters, --tcp-host, ...]
//
// A line `<key>,<seq>` is a record; any other line is rejected (a dead
// letter naming the line's log position). Every key's records must arrive
// in order (one sender per key), else the keyed stage fails the job.
#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include <stdexcept>
#include <string>

#include "sluice/run.hpp"
#include "sluice/source/tcp_lines.hpp"
#include "sluice/testing/oracle.hpp"
#include "track.hpp"

using sluice::testing::seq_record;

int main(int argc, char** argv) {
  std::string log_dir, output;
  uint16_t port = 0;
  sluice::runtime_config cfg;
  CLI::App app{"Sequence-number job over the TCP line source (exactly-once oracle)"};
  app.add_option("--log", log_dir, "directory of the TCP source's line log")->required();
  app.add_option("--port", port, "port of the TCP source")->required();
  app.add_option("--output", output, "exactly-once output directory (part-* files)")->required();
  sluice::add_runtime_options(app, cfg);
  CLI11_PARSE(app, argc, argv);

  sluice::pipeline p{"oracle_tcp"};
  auto lines =
      p.read_tcp_lines(log_dir, port,
                       [](std::string_view line) -> sluice::parsed<seq_record> {
                         if (auto r = sluice::testing::parse_seq_record(line))
                           return *r;
                         return sluice::parsed<seq_record>::fail("not a '<key>,<seq>' record");
                       })
          .name("tcp_source")
          .uid("tcp_source");
  track_and_write(lines, output, "a duplicated, lost or reordered line");
  return sluice::run(p, cfg);
}
