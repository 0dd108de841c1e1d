#include "sluice/source/parse.hpp"

#include <fmt/format.h>

namespace sluice {

csv_row::csv_row(std::string_view line, char delimiter) : line_(line) {
  std::string cur;
  bool quoted = false;
  for (size_t i = 0; i < line.size(); ++i) {
    char c = line[i];
    if (quoted) {
      if (c == '"') {
        if (i + 1 < line.size() && line[i + 1] == '"') {
          cur += '"';
          ++i;
        } else {
          quoted = false;
        }
      } else {
        cur += c;
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == delimiter) {
      fields_.push_back(std::move(cur));
      cur.clear();
    } else {
      cur += c;
    }
  }
  if (quoted)
    throw parse_error("unterminated quoted field");
  fields_.push_back(std::move(cur));
}

std::string_view csv_row::text(size_t i) const {
  if (i >= fields_.size())
    throw parse_error(fmt::format("expected at least {} fields, found {}", i + 1, fields_.size()));
  return fields_[i];
}

std::string csv_row::describe(size_t i, std::string_view s, std::string_view what) {
  return fmt::format("field {}: '{}' is not {}", i + 1, s, what);
}

}  // namespace sluice
