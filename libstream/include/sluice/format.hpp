#pragma once

#include <fmt/format.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

#include "sluice/dead_letter.hpp"
#include "sluice/fields.hpp"
#include "sluice/window/window.hpp"

/// Text renderings of records for the file and stdout sinks.
///
/// Supported out of the box: arithmetic types, strings, `timestamp`,
/// pairs, tuples, optionals, vectors, maps, `window_result`, `dead_letter`
/// and structs declared with SLUICE_FIELDS. CSV flattens nested pairs,
/// tuples and structs into columns; JSON keeps their shape.
namespace sluice::format {

template <class T>
struct is_pair : std::false_type {};
template <class A, class B>
struct is_pair<std::pair<A, B>> : std::true_type {};
template <class T>
struct is_tuple : std::false_type {};
template <class... Ts>
struct is_tuple<std::tuple<Ts...>> : std::true_type {};
template <class T>
struct is_vector : std::false_type {};
template <class T, class A>
struct is_vector<std::vector<T, A>> : std::true_type {};
template <class T>
struct is_optional : std::false_type {};
template <class T>
struct is_optional<std::optional<T>> : std::true_type {};
template <class T>
struct is_map : std::false_type {};
template <class K, class V, class... R>
struct is_map<std::map<K, V, R...>> : std::true_type {};
template <class K, class V, class... R>
struct is_map<std::unordered_map<K, V, R...>> : std::true_type {};

void append_json_string(std::string& out, std::string_view s);
void append_csv_field(std::string& out, std::string_view s);

/// Appends `x` as JSON.
template <class T>
void append_json(std::string& out, const T& x) {
  if constexpr (std::is_same_v<T, bool>) {
    out += x ? "true" : "false";
  } else if constexpr (std::is_arithmetic_v<T>) {
    fmt::format_to(std::back_inserter(out), "{}", x);
  } else if constexpr (std::is_convertible_v<const T&, std::string_view>) {
    append_json_string(out, x);
  } else if constexpr (std::is_same_v<T, timestamp>) {
    fmt::format_to(std::back_inserter(out), "{}", x.ms);
  } else if constexpr (is_optional<T>::value) {
    if (x)
      append_json(out, *x);
    else
      out += "null";
  } else if constexpr (is_pair<T>::value) {
    out += '[';
    append_json(out, x.first);
    out += ',';
    append_json(out, x.second);
    out += ']';
  } else if constexpr (is_tuple<T>::value) {
    out += '[';
    bool first = true;
    std::apply([&](const auto&... xs) { ((out += first ? "" : ",", first = false, append_json(out, xs)), ...); }, x);
    out += ']';
  } else if constexpr (is_map<T>::value) {
    out += '{';
    bool first = true;
    for (auto& [k, v] : x) {
      if (!first) out += ',';
      first = false;
      if constexpr (std::is_convertible_v<const decltype(k)&, std::string_view>) {
        append_json_string(out, k);
      } else {
        std::string key;
        append_json(key, k);
        append_json_string(out, key);
      }
      out += ':';
      append_json(out, v);
    }
    out += '}';
  } else if constexpr (is_vector<T>::value) {
    out += '[';
    for (size_t i = 0; i < x.size(); ++i) {
      if (i) out += ',';
      append_json(out, x[i]);
    }
    out += ']';
  } else if constexpr (has_fields<T>) {
    const auto& names = sluice_field_names(static_cast<const T*>(nullptr));
    out += '{';
    size_t i = 0;
    std::apply(
        [&](const auto&... xs) {
          ((out += i ? "," : "", append_json_string(out, names[i]), out += ':', append_json(out, xs), ++i), ...);
        },
        sluice_fields(x));
    out += '}';
  } else if constexpr (requires { x.key, x.window, x.value; }) {
    out += "{\"key\":";
    append_json(out, x.key);
    fmt::format_to(std::back_inserter(out), ",\"window_start\":{},\"window_end\":{},\"value\":", x.window.start,
                   x.window.end);
    append_json(out, x.value);
    out += '}';
  } else {
    static_assert(sizeof(T) == 0, "type has no JSON rendering: declare it with SLUICE_FIELDS");
  }
}

/// Appends `x` as one or more CSV fields (no line end).
template <class T>
void append_csv(std::string& out, const T& x) {
  if constexpr (std::is_same_v<T, bool>) {
    out += x ? "true" : "false";
  } else if constexpr (std::is_arithmetic_v<T>) {
    fmt::format_to(std::back_inserter(out), "{}", x);
  } else if constexpr (std::is_convertible_v<const T&, std::string_view>) {
    append_csv_field(out, x);
  } else if constexpr (std::is_same_v<T, timestamp>) {
    fmt::format_to(std::back_inserter(out), "{}", x.ms);
  } else if constexpr (is_optional<T>::value) {
    if (x) append_csv(out, *x);
  } else if constexpr (is_pair<T>::value) {
    append_csv(out, x.first);
    out += ',';
    append_csv(out, x.second);
  } else if constexpr (is_tuple<T>::value) {
    bool first = true;
    std::apply([&](const auto&... xs) { ((out += first ? "" : ",", first = false, append_csv(out, xs)), ...); }, x);
  } else if constexpr (has_fields<T>) {
    bool first = true;
    std::apply([&](const auto&... xs) { ((out += first ? "" : ",", first = false, append_csv(out, xs)), ...); },
               sluice_fields(x));
  } else if constexpr (requires { x.key, x.window, x.value; }) {
    append_csv(out, x.key);
    fmt::format_to(std::back_inserter(out), ",{},{},", x.window.start, x.window.end);
    append_csv(out, x.value);
  } else if constexpr (is_vector<T>::value || is_map<T>::value) {
    std::string json;
    append_json(json, x);
    append_csv_field(out, json);
  } else {
    static_assert(sizeof(T) == 0, "type has no CSV rendering: declare it with SLUICE_FIELDS");
  }
}

/// A CSV header for `T` when its field names are known (SLUICE_FIELDS), else empty.
template <class T>
std::string csv_header() {
  std::string out;
  if constexpr (has_fields<T>) {
    const auto& names = sluice_field_names(static_cast<const T*>(nullptr));
    for (size_t i = 0; i < names.size(); ++i) {
      if (i) out += ',';
      out += names[i];
    }
  }
  return out;
}

template <class T>
std::string to_json(const T& x) {
  std::string s;
  append_json(s, x);
  return s;
}

template <class T>
std::string to_csv(const T& x) {
  std::string s;
  append_csv(s, x);
  return s;
}

}  // namespace sluice::format
