#include "format.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <ctime>

namespace sluice::cli {

void table::print(std::FILE* out) const {
  std::vector<size_t> width(header.size());
  for (size_t c = 0; c < header.size(); ++c)
    width[c] = header[c].size();
  for (auto& r : rows)
    for (size_t c = 0; c < r.size() && c < width.size(); ++c)
      width[c] = std::max(width[c], r[c].size());
  const auto line = [&](const std::vector<std::string>& cells) {
    std::string s;
    for (size_t c = 0; c < cells.size() && c < width.size(); ++c) {
      const bool last = c + 1 == cells.size();
      const bool r = c < right.size() && right[c];
      if (c > 0)
        s += "  ";
      if (r)
        s += fmt::format("{:>{}}", cells[c], width[c]);
      else
        s += last ? cells[c] : fmt::format("{:<{}}", cells[c], width[c]);
    }
    s += '\n';
    std::fputs(s.c_str(), out);
  };
  line(header);
  for (auto& r : rows)
    line(r);
}

std::string duration_text(int64_t ms) {
  if (ms < 0)
    return "-";
  if (ms < 1000)
    return fmt::format("{} ms", ms);
  if (ms < 60'000)
    return fmt::format("{:.1f} s", static_cast<double>(ms) / 1000.0);
  const int64_t s = ms / 1000;
  if (s < 3600)
    return fmt::format("{} min {:02} s", s / 60, s % 60);
  return fmt::format("{} h {:02} min", s / 3600, (s % 3600) / 60);
}

std::string bytes_text(uint64_t bytes) {
  if (bytes < 1024)
    return fmt::format("{} B", bytes);
  static const char* units[] = {"KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(bytes) / 1024.0;
  size_t u = 0;
  while (v >= 1024.0 && u + 1 < std::size(units)) {
    v /= 1024.0;
    ++u;
  }
  return fmt::format("{:.1f} {}", v, units[u]);
}

std::string rate_text(double per_second) {
  if (per_second < 10.0)
    return fmt::format("{:.1f}/s", per_second);
  return fmt::format("{:.0f}/s", per_second);
}

std::string time_of_day(int64_t epoch_ms) {
  if (epoch_ms <= 0)
    return "-";
  const std::time_t t = static_cast<std::time_t>(epoch_ms / 1000);
  std::tm tm{};
  ::localtime_r(&t, &tm);
  return fmt::format("{:02}:{:02}:{:02}", tm.tm_hour, tm.tm_min, tm.tm_sec);
}

std::string text(const nlohmann::json& j, const char* key) {
  if (!j.is_object() || !j.contains(key) || j[key].is_null())
    return "-";
  const auto& v = j[key];
  if (v.is_string())
    return v.get<std::string>();
  if (v.is_number_float()) {
    const double d = v.get<double>();
    return d == static_cast<double>(static_cast<int64_t>(d)) ? fmt::format("{}", int64_t(d))
                                                             : fmt::format("{}", d);
  }
  return v.dump();
}

int64_t integer(const nlohmann::json& j, const char* key, int64_t fallback) {
  if (!j.is_object() || !j.contains(key) || !j[key].is_number())
    return fallback;
  return j[key].get<int64_t>();
}

}  // namespace sluice::cli
