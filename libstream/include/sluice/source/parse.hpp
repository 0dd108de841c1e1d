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
/// A parse function returns `parsed<T>` when it may reject a line, else just
/// `T` (a thrown std::exception rejects the line too).
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

namespace detail {

template <class R>
struct parse_value {
  using type = R;
};
template <class T>
struct parse_value<parsed<T>> {
  using type = T;
};

/// What a parse function `Parse` called with `Arg` gives a source: whether it
/// can be called so, whether it returns a value, and the record type `T` (of
/// a returned `T` or `parsed<T>`). `type` is a placeholder when not `valid`,
/// so that a failed check reports only its own message.
template <class Parse, class Arg, class = void>
struct parse_result {
  static constexpr bool invocable = false;
  static constexpr bool returns_value = true;
  static constexpr bool valid = false;
  using type = std::string;
};
template <class Parse, class Arg>
struct parse_result<Parse, Arg, std::enable_if_t<std::is_invocable_v<Parse&, Arg>>> {
  using raw = std::remove_cvref_t<std::invoke_result_t<Parse&, Arg>>;
  static constexpr bool invocable = true;
  static constexpr bool returns_value = !std::is_void_v<raw>;
  static constexpr bool valid = returns_value;
  using type = std::conditional_t<valid, typename parse_value<raw>::type, std::string>;
};

}  // namespace detail

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
      if (s == "1" || s == "true")
        return true;
      if (s == "0" || s == "false")
        return false;
      throw parse_error(describe(i, s, "a boolean"));
    } else {
      T out{};
      while (!s.empty() && s.front() == ' ')
        s.remove_prefix(1);
      while (!s.empty() && s.back() == ' ')
        s.remove_suffix(1);
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
