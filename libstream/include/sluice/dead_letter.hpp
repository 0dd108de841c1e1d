#pragma once

#include <cstdint>
#include <string>

#include "sluice/fields.hpp"

namespace sluice {

/// A record an operator could not process (malformed input line, failed
/// parse). Dead letters never stop a job and are never dropped: they go to the
/// operator's dead-letter stream when the pipeline consumes it
/// (`stream::dead_letters()`), otherwise to the job's dead-letter file, and
/// they are always counted in the job summary.
struct dead_letter {
  std::string operator_name;  ///< Name of the operator that rejected the record.
  uint32_t instance = 0;      ///< Instance index of that operator.
  std::string position;       ///< Where the record came from, e.g. "data.csv:17".
  std::string reason;         ///< Why it was rejected.
  std::string raw;            ///< The record as text, as far as it is known.
};
SLUICE_FIELDS(dead_letter, operator_name, instance, position, reason, raw)

/// Renders a dead letter as one JSON object (one line of a JSON-lines file).
std::string to_json_line(const dead_letter& d);

}  // namespace sluice
