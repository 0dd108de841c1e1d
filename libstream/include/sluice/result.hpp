#pragma once

#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>

namespace sluice {

/// Expected failures of libstream operations. Callers branch on the code;
/// the accompanying message is for humans and logs.
enum class errc {
  /// The operating system or the storage engine failed (disk full, permissions, LMDB error).
  io_error,
  /// Stored data failed verification: bad checksum, truncated or malformed frame.
  corrupt_snapshot,
  /// Stored data carries a format version this build cannot read.
  unknown_format_version,
  /// The requested item does not exist.
  not_found,
  /// The caller passed a value the operation cannot accept.
  invalid_argument,
  /// A durable line log failed verification: a malformed key or a gap in its sequence numbers.
  corrupt_log,
  /// A service the operation needs is not installed in this process (e.g. no line receiver).
  unavailable,
};

constexpr std::string_view to_string(errc c) noexcept {
  switch (c) {
    case errc::io_error:
      return "io_error";
    case errc::corrupt_snapshot:
      return "corrupt_snapshot";
    case errc::unknown_format_version:
      return "unknown_format_version";
    case errc::not_found:
      return "not_found";
    case errc::invalid_argument:
      return "invalid_argument";
    case errc::corrupt_log:
      return "corrupt_log";
    case errc::unavailable:
      return "unavailable";
  }
  return "unknown errc";
}

/// An expected failure: a code to branch on and a message that names what
/// failed (which checkpoint, which key, which call) and why.
struct error {
  errc code;
  std::string message;
};

/// "corrupt_snapshot: checkpoint 7 ...": the form used in logs.
inline std::string to_string(const error& e) {
  std::string s{to_string(e.code)};
  s += ": ";
  s += e.message;
  return s;
}

namespace detail {

/// Reading the value of a failed result (or the error of a successful one) is
/// a bug in the caller, never an expected failure: say so loudly and stop.
[[noreturn]] inline void result_misuse(const char* what, const error* e) {
  std::fprintf(stderr, "sluice::result misuse: %s%s%s\n", what, e ? " - the error is " : "",
               e ? to_string(*e).c_str() : "");
  std::abort();
}

}  // namespace detail

/// Either a value of type T or an `error`. Returned by operations whose
/// failure is expected (I/O, corrupt data, bad input) instead of throwing.
/// Check `ok()` (or the bool conversion) before calling `value()`; reading the
/// wrong alternative aborts, because it can only be a bug.
template <class T>
class [[nodiscard]] result {
  static_assert(!std::is_same_v<std::remove_cv_t<T>, ::sluice::error>,
                "result<error> is ambiguous");

public:
  /// Success: anything T can be built from (so `return std::nullopt;` works).
  template <class U = T>
  requires(std::is_constructible_v<T, U&&> &&
           !std::is_same_v<std::remove_cvref_t<U>, ::sluice::error> &&
           !std::is_same_v<std::remove_cvref_t<U>, result>) result(U&& value)
      : v_(std::in_place_index<0>, std::forward<U>(value)) {}

  /// Failure.
  result(::sluice::error e) : v_(std::in_place_index<1>, std::move(e)) {}

  bool ok() const noexcept { return v_.index() == 0; }
  explicit operator bool() const noexcept { return ok(); }

  T& value() & {
    check_value();
    return *std::get_if<0>(&v_);
  }
  const T& value() const& {
    check_value();
    return *std::get_if<0>(&v_);
  }
  T&& value() && {
    check_value();
    return std::move(*std::get_if<0>(&v_));
  }

  const ::sluice::error& error() const& {
    if (ok())
      detail::result_misuse("error() called on a successful result", nullptr);
    return *std::get_if<1>(&v_);
  }
  ::sluice::error&& error() && {
    if (ok())
      detail::result_misuse("error() called on a successful result", nullptr);
    return std::move(*std::get_if<1>(&v_));
  }

  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

private:
  void check_value() const {
    if (!ok())
      detail::result_misuse("value() called on a failed result", std::get_if<1>(&v_));
  }

  std::variant<T, ::sluice::error> v_;
};

/// Success without a value, or an `error`. `return {};` means success.
template <>
class [[nodiscard]] result<void> {
public:
  result() = default;
  result(::sluice::error e) : e_(std::move(e)) {}

  bool ok() const noexcept { return !e_.has_value(); }
  explicit operator bool() const noexcept { return ok(); }

  /// Aborts if this is a failure; for symmetry with result<T>.
  void value() const {
    if (e_)
      detail::result_misuse("value() called on a failed result", &*e_);
  }

  const ::sluice::error& error() const& {
    if (!e_)
      detail::result_misuse("error() called on a successful result", nullptr);
    return *e_;
  }
  ::sluice::error&& error() && {
    if (!e_)
      detail::result_misuse("error() called on a successful result", nullptr);
    return std::move(*e_);
  }

private:
  std::optional<::sluice::error> e_;
};

}  // namespace sluice
