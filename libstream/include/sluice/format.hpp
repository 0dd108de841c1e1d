#pragma once

#include <fmt/format.h>

#include <cmath>
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
#include "sluice/type_traits.hpp"
#include "sluice/window/window.hpp"

/// Text renderings of records for the file and stdout sinks.
///
/// Supported out of the box: arithmetic types, strings, `timestamp`,
/// pairs, tuples, optionals, vectors, maps, `window_result`, `dead_letter`
/// and structs declared with SLUICE_FIELDS. CSV flattens nested pairs,
/// tuples and structs into columns; JSON keeps their shape.
namespace sluice::format {

using traits::is_map;
using traits::is_optional;
using traits::is_pair;
using traits::is_tuple;
using traits::is_vector;

void append_json_string(std::string& out, std::string_view s);
void append_csv_field(std::string& out, std::string_view s);

/// Appends `x` as JSON.
template <class T>
void append_json(std::string& out, const T& x) {
  if constexpr (std::is_same_v<T, bool>) {
    out += x ? "true" : "false";
  } else if constexpr (std::is_floating_point_v<T>) {
    if (std::isfinite(x))
      fmt::format_to(std::back_inserter(out), "{}", x);
    else
      out += "null";  // JSON has no NaN or infinity
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
    std::apply(
        [&](const auto&... xs) {
          ((out += first ? "" : ",", first = false, append_json(out, xs)), ...);
        },
        x);
    out += ']';
  } else if constexpr (is_map<T>::value) {
    out += '{';
    bool first = true;
    for (auto& [k, v] : x) {
      if (!first)
        out += ',';
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
      if (i)
        out += ',';
      append_json(out, x[i]);
    }
    out += ']';
  } else if constexpr (has_fields<T>) {
    const auto& names = sluice_field_names(static_cast<const T*>(nullptr));
    out += '{';
    size_t i = 0;
    std::apply(
        [&](const auto&... xs) {
          ((out += i ? "," : "", append_json_string(out, names[i]), out += ':',
            append_json(out, xs), ++i),
           ...);
        },
        sluice_fields(x));
    out += '}';
  } else if constexpr (requires { x.key, x.window, x.value; }) {
    out += "{\"key\":";
    append_json(out, x.key);
    fmt::format_to(std::back_inserter(out),
                   ",\"window_start\":{},\"window_end\":{},\"value\":", x.window.start,
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
    if (x)
      append_csv(out, *x);
  } else if constexpr (is_pair<T>::value) {
    append_csv(out, x.first);
    out += ',';
    append_csv(out, x.second);
  } else if constexpr (is_tuple<T>::value) {
    bool first = true;
    std::apply(
        [&](const auto&... xs) {
          ((out += first ? "" : ",", first = false, append_csv(out, xs)), ...);
        },
        x);
  } else if constexpr (has_fields<T>) {
    bool first = true;
    std::apply(
        [&](const auto&... xs) {
          ((out += first ? "" : ",", first = false, append_csv(out, xs)), ...);
        },
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

/// Appends the CSV column names of `T` under `prefix`, one per column that
/// `append_csv` writes: nested structs, pairs and tuples are flattened into
/// `prefix.field`, `prefix.first`, `prefix.0`, ...
template <class T>
void append_csv_names(std::vector<std::string>& out, const std::string& prefix) {
  auto join = [&](std::string_view name) {
    return prefix.empty() ? std::string{name} : prefix + "." + std::string{name};
  };
  if constexpr (has_fields<T>) {
    const auto& names = sluice_field_names(static_cast<const T*>(nullptr));
    using tuple_t = decltype(sluice_fields(std::declval<const T&>()));
    [&]<size_t... I>(std::index_sequence<I...>) {
      (append_csv_names<std::decay_t<std::tuple_element_t<I, tuple_t>>>(out, join(names[I])), ...);
    }
    (std::make_index_sequence<std::tuple_size_v<tuple_t>>{});
  } else if constexpr (is_pair<T>::value) {
    append_csv_names<typename T::first_type>(out, join("first"));
    append_csv_names<typename T::second_type>(out, join("second"));
  } else if constexpr (is_tuple<T>::value) {
    [&]<size_t... I>(std::index_sequence<I...>) {
      (append_csv_names<std::tuple_element_t<I, T>>(out, join(std::to_string(I))), ...);
    }
    (std::make_index_sequence<std::tuple_size_v<T>>{});
  } else if constexpr (is_optional<T>::value) {
    append_csv_names<typename T::value_type>(out, prefix);
  } else if constexpr (requires(const T& x) { x.key, x.window, x.value; }) {
    append_csv_names<decltype(std::declval<T>().key)>(out, join("key"));
    out.push_back(join("window_start"));
    out.push_back(join("window_end"));
    append_csv_names<decltype(std::declval<T>().value)>(out, join("value"));
  } else {
    out.push_back(prefix.empty() ? std::string{"value"} : prefix);
  }
}

/// A CSV header for `T` when its columns have names (structs declared with
/// SLUICE_FIELDS, window results), else empty. One name per column.
template <class T>
std::string csv_header() {
  std::string out;
  if constexpr (has_fields<T> || requires(const T& x) { x.key, x.window, x.value; }) {
    std::vector<std::string> names;
    append_csv_names<T>(names, "");
    for (size_t i = 0; i < names.size(); ++i) {
      if (i)
        out += ',';
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
