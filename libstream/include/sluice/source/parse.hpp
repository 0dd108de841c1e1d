#pragma once

#include <charconv>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace sluice {

/// The outcome of parsing one input line: a value, or the reason it is
/// malformed. A malformed line becomes a dead letter; it never fails the job.
template <class T>
class parsed {
 public:
  using value_type_tag = T;
  parsed(T value) : value_(std::move(value)) {}  // NOLINT: implicit on purpose, `return record;`
  static parsed fail(std::string reason) { return parsed{std::nullopt, std::move(reason)}; }

  bool ok() const noexcept { return value_.has_value(); }
  T& value() { return *value_; }
  const std::string& error() const noexcept { return error_; }

 private:
  parsed(std::nullopt_t, std::string reason) : error_(std::move(reason)) {}
  std::optional<T> value_;
  std::string error_;
};

/// Thrown by the `csv_row` accessors; the source turns it into a dead letter.
class parse_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// One CSV line split into fields (RFC 4180 quoting), with typed accessors
/// that throw `parse_error` naming the column and the bad text.
class csv_row {
 public:
  /// Splits `line` (no line terminator) at `delimiter`.
  csv_row(std::string_view line, char delimiter);

  size_t size() const noexcept { return fields_.size(); }
  std::string_view line() const noexcept { return line_; }

  /// Field `i` as text; throws if the row has fewer fields.
  std::string_view text(size_t i) const;

  /// Field `i` converted to an arithmetic type or std::string.
  template <class T>
  T get(size_t i) const {
    std::string_view s = text(i);
    if constexpr (std::is_same_v<T, std::string>) {
      return std::string{s};
    } else if constexpr (std::is_same_v<T, bool>) {
      if (s == "1" || s == "true") return true;
      if (s == "0" || s == "false") return false;
      throw parse_error(describe(i, s, "a boolean"));
    } else {
      T out{};
      while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
      while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
      auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
      if (ec != std::errc{} || p != s.data() + s.size() || s.empty())
        throw parse_error(describe(i, s, std::is_integral_v<T> ? "an integer" : "a number"));
      return out;
    }
  }

 private:
  static std::string describe(size_t i, std::string_view s, std::string_view what);

  std::string_view line_;
  std::vector<std::string> fields_;
};

}  // namespace sluice
