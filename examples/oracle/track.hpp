#pragma once
// The tail both oracle jobs share: keyed state that expects each key's next
// sequence number, then an exactly-once output directory for oracle-check.

#include <fmt/format.h>

#include <stdexcept>
#include <string>

#include "sluice/testing/oracle.hpp"

/// Keys `records` (seq_record) by key into the operator "track", which fails
/// the job naming `mismatch` (what a wrong number means for this job) when a
/// key's sequence number is not the next one, and writes what passes to the
/// exactly-once directory `output` (operator "write").
template <class Stream>
void track_and_write(Stream&& records, const std::string& output, std::string mismatch) {
  using sluice::testing::seq_record;
  records.key_by([](const seq_record& r) { return r.key; })
      .process([mismatch](const uint32_t& key, seq_record r, uint64_t& next,
                          sluice::collector<seq_record>& out) {
        if (r.seq != next)
          throw std::runtime_error(
              fmt::format("key {}: seq {} arrived where the keyed state expects seq {} ({})", key,
                          r.seq, next, mismatch));
        next = r.seq + 1;
        out.emit(r);
      })
      .name("track")
      .uid("track")
      .write_csv_exactly_once(output)
      .name("write")
      .uid("write");
}
