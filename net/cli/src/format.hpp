#pragma once

// Text output of the `sluice` command line: aligned tables and readable
// durations, sizes, rates and times, and field access that tolerates
// missing or null JSON fields (shown as "-").

#include <nlohmann/json.hpp>

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

namespace sluice::cli {

/// Columns of text; `right` marks the columns aligned right (numbers).
struct table {
  std::vector<std::string> header;
  std::vector<bool> right;
  std::vector<std::vector<std::string>> rows;

  void print(std::FILE* out) const;
};

/// "850 ms", "12.3 s", "4 min 05 s", "2 h 03 min".
std::string duration_text(int64_t ms);
/// "512 B", "1.5 KiB", "3.2 MiB", "1.0 GiB".
std::string bytes_text(uint64_t bytes);
/// "1234/s", "0.5/s".
std::string rate_text(double per_second);
/// Local time of day of an epoch-milliseconds instant: "14:03:07".
std::string time_of_day(int64_t epoch_ms);

/// j[key] as text ("-" when missing or null; numbers without decimals when whole).
std::string text(const nlohmann::json& j, const char* key);
/// j[key] as a number, or `fallback` when missing, null or not a number.
int64_t integer(const nlohmann::json& j, const char* key, int64_t fallback = 0);

}  // namespace sluice::cli
