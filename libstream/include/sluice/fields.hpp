#pragma once

#include <string_view>
#include <tuple>
#include <type_traits>
#include <vector>

/// Makes a plain struct usable by Sluice's text formats (CSV, JSON) and its
/// binary codec (checkpoints, remote channels), in one line at namespace scope
/// next to the struct:
///
///     struct trade { std::string symbol; double price; };
///     SLUICE_FIELDS(trade, symbol, price)
///
/// It declares `sluice_fields(x)`, a tuple of references to the members, and
/// `sluice_field_names(x)`, their names, found by argument-dependent lookup.
#define SLUICE_FIELDS(type, ...)                                                                 \
  [[maybe_unused]] inline auto sluice_fields(type& sluice_self_) {                               \
    auto& [__VA_ARGS__] = sluice_self_;                                                          \
    return std::tie(__VA_ARGS__);                                                                \
  }                                                                                              \
  [[maybe_unused]] inline auto sluice_fields(const type& sluice_self_) {                         \
    const auto& [__VA_ARGS__] = sluice_self_;                                                    \
    return std::tie(__VA_ARGS__);                                                                \
  }                                                                                              \
  [[maybe_unused]] inline const std::vector<std::string_view>& sluice_field_names(const type*) { \
    static const std::vector<std::string_view> names =                                           \
        ::sluice::detail::split_names(#__VA_ARGS__);                                             \
    return names;                                                                                \
  }

namespace sluice {
namespace detail {

inline std::vector<std::string_view> split_names(std::string_view s) {
  std::vector<std::string_view> out;
  while (!s.empty()) {
    auto comma = s.find(',');
    auto part = s.substr(0, comma);
    while (!part.empty() && part.front() == ' ')
      part.remove_prefix(1);
    while (!part.empty() && part.back() == ' ')
      part.remove_suffix(1);
    out.push_back(part);
    if (comma == std::string_view::npos)
      break;
    s.remove_prefix(comma + 1);
  }
  return out;
}

}  // namespace detail

/// True for types declared with SLUICE_FIELDS.
template <class T>
concept has_fields = requires(const T& x) {
  sluice_fields(x);
  sluice_field_names(static_cast<const T*>(nullptr));
};

}  // namespace sluice
