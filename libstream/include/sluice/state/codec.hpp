#pragma once

#include <array>
#include <cstdint>
#include <cstring>
#include <deque>
#include <map>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <variant>
#include <vector>

#include "sluice/dead_letter.hpp"
#include "sluice/fields.hpp"
#include "sluice/ids.hpp"
#include "sluice/time.hpp"
#include "sluice/type_traits.hpp"
#include "sluice/window/window.hpp"

/// Binary codec for records and state: what travels between nodes and into
/// snapshots. Little-endian fixed-width numbers, length-prefixed strings and
/// containers. Supported out of the box: arithmetic types, enums, strings,
/// vectors, deques, arrays, (unordered) maps and sets, optionals, pairs,
/// tuples, variants (the index as one byte, then the value), `timestamp`, ids, windows, window
/// results, dead letters, and structs declared with SLUICE_FIELDS (one line). Other types can
/// provide `void sluice_encode(sluice::state::writer&, const T&)` and `void
/// sluice_decode(sluice::state::reader&, T&)` found by ADL.
namespace sluice::state {

/// Thrown when bytes do not decode (truncated or malformed input).
class codec_error : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

/// Appends encoded values to a byte string.
class writer {
public:
  explicit writer(std::string& out) : out_(&out) {}
  void bytes(const void* p, size_t n) { out_->append(static_cast<const char*>(p), n); }
  template <class T>
  void number(T x) {
    static_assert(std::is_arithmetic_v<T>);
    bytes(&x, sizeof(T));  // all supported targets are little-endian
  }
  void size(size_t n) { number<uint64_t>(n); }
  std::string& buffer() noexcept { return *out_; }

private:
  std::string* out_;
};

/// Reads encoded values; every read checks bounds and throws codec_error.
class reader {
public:
  explicit reader(std::string_view in) : in_(in) {}
  void bytes(void* p, size_t n) {
    if (n > in_.size() - pos_)
      throw codec_error("truncated data: need " + std::to_string(n) + " bytes at offset " +
                        std::to_string(pos_) + ", have " + std::to_string(in_.size() - pos_));
    std::memcpy(p, in_.data() + pos_, n);
    pos_ += n;
  }
  template <class T>
  T number() {
    T x;
    bytes(&x, sizeof(T));
    return x;
  }
  /// A length prefix; rejects lengths larger than the bytes left (each
  /// element takes at least one byte), so corrupt input cannot make us
  /// allocate gigabytes.
  size_t size(size_t min_element_bytes = 1) {
    auto n = number<uint64_t>();
    if (min_element_bytes > 0 && n > (in_.size() - pos_) / min_element_bytes)
      throw codec_error("corrupt length " + std::to_string(n) + " at offset " +
                        std::to_string(pos_));
    return static_cast<size_t>(n);
  }
  bool at_end() const noexcept { return pos_ == in_.size(); }
  size_t position() const noexcept { return pos_; }

private:
  std::string_view in_;
  size_t pos_ = 0;
};

template <class T>
void encode(writer& w, const T& x);
template <class T>
void decode(reader& r, T& x);

namespace detail {

template <class T>
struct is_vec : std::false_type {};
template <class T, class A>
struct is_vec<std::vector<T, A>> : std::true_type {};
template <class T, class A>
struct is_vec<std::deque<T, A>> : std::true_type {};
using traits::is_array;
using traits::is_map;
using traits::is_pair;
using traits::is_set;
using traits::is_tuple;
using traits::is_variant;
template <class T>
using is_opt = traits::is_optional<T>;
template <class T>
struct is_named_id : std::false_type {};
template <class Tag, class Rep>
struct is_named_id<named_id<Tag, Rep>> : std::true_type {};

template <class T>
concept has_custom_codec = requires(writer& w, reader& r, const T& c, T& m) {
  sluice_encode(w, c);
  sluice_decode(r, m);
};

}  // namespace detail

/// True for types this codec can encode.
template <class T>
constexpr bool serializable() {
  using namespace detail;
  if constexpr (std::is_arithmetic_v<T> || std::is_enum_v<T> || std::is_same_v<T, std::string> ||
                std::is_same_v<T, timestamp> || std::is_same_v<T, window::time_window> ||
                is_named_id<T>::value || has_custom_codec<T>)
    return true;
  else if constexpr (is_vec<T>::value || is_set<T>::value || is_opt<T>::value || is_array<T>::value)
    return serializable<typename T::value_type>();
  else if constexpr (is_map<T>::value)
    return serializable<typename T::key_type>() && serializable<typename T::mapped_type>();
  else if constexpr (is_pair<T>::value)
    return serializable<typename T::first_type>() && serializable<typename T::second_type>();
  else if constexpr (is_tuple<T>::value)
    return []<size_t... I>(std::index_sequence<I...>) {
      return (serializable<std::tuple_element_t<I, T>>() && ...);
    }
  (std::make_index_sequence<std::tuple_size_v<T>>{});
  else if constexpr (is_variant<T>::value) return []<size_t... I>(std::index_sequence<I...>) {
    return (serializable<std::variant_alternative_t<I, T>>() && ...);
  }
  (std::make_index_sequence<std::variant_size_v<T>>{});
  else if constexpr (has_fields<T>) return true;
  else if constexpr (requires(const T& x) {
                       x.key, x.window, x.value;
                     }) return serializable<decltype(std::declval<T>().key)>() &&
      serializable<decltype(std::declval<T>().value)>();
  else return false;
}

template <class T>
void encode(writer& w, const T& x) {
  using namespace detail;
  if constexpr (has_custom_codec<T>) {
    sluice_encode(w, x);
  } else if constexpr (std::is_same_v<T, bool>) {
    w.number<uint8_t>(x ? 1 : 0);
  } else if constexpr (std::is_arithmetic_v<T>) {
    w.number(x);
  } else if constexpr (std::is_enum_v<T>) {
    w.number(static_cast<std::underlying_type_t<T>>(x));
  } else if constexpr (std::is_same_v<T, std::string>) {
    w.size(x.size());
    w.bytes(x.data(), x.size());
  } else if constexpr (std::is_same_v<T, timestamp>) {
    w.number(x.ms);
  } else if constexpr (std::is_same_v<T, window::time_window>) {
    w.number(x.start);
    w.number(x.end);
  } else if constexpr (is_named_id<T>::value) {
    w.number(x.value);
  } else if constexpr (is_vec<T>::value || is_set<T>::value || is_map<T>::value) {
    w.size(x.size());
    for (const auto& e : x)
      encode(w, e);
  } else if constexpr (is_array<T>::value) {
    for (const auto& e : x)
      encode(w, e);
  } else if constexpr (is_opt<T>::value) {
    w.number<uint8_t>(x ? 1 : 0);
    if (x)
      encode(w, *x);
  } else if constexpr (is_pair<T>::value) {
    encode(w, x.first);
    encode(w, x.second);
  } else if constexpr (is_tuple<T>::value) {
    std::apply([&](const auto&... xs) { (encode(w, xs), ...); }, x);
  } else if constexpr (is_variant<T>::value) {
    static_assert(std::variant_size_v<T> < 256, "variants of up to 255 alternatives");
    w.number<uint8_t>(static_cast<uint8_t>(x.index()));
    std::visit([&](const auto& v) { encode(w, v); }, x);
  } else if constexpr (has_fields<T>) {
    std::apply([&](const auto&... xs) { (encode(w, xs), ...); }, sluice_fields(x));
  } else if constexpr (requires { x.key, x.window, x.value; }) {
    encode(w, x.key);
    encode(w, x.window);
    encode(w, x.value);
  } else {
    static_assert(sizeof(T) == 0,
                  "type is not serialisable: declare it with SLUICE_FIELDS(type, members...)");
  }
}

template <class T>
void decode(reader& r, T& x) {
  using namespace detail;
  if constexpr (has_custom_codec<T>) {
    sluice_decode(r, x);
  } else if constexpr (std::is_same_v<T, bool>) {
    auto b = r.number<uint8_t>();
    if (b > 1)
      throw codec_error("corrupt bool");
    x = b == 1;
  } else if constexpr (std::is_arithmetic_v<T>) {
    x = r.number<T>();
  } else if constexpr (std::is_enum_v<T>) {
    x = static_cast<T>(r.number<std::underlying_type_t<T>>());
  } else if constexpr (std::is_same_v<T, std::string>) {
    x.resize(r.size());
    r.bytes(x.data(), x.size());
  } else if constexpr (std::is_same_v<T, timestamp>) {
    x.ms = r.number<int64_t>();
  } else if constexpr (std::is_same_v<T, window::time_window>) {
    x.start = r.number<int64_t>();
    x.end = r.number<int64_t>();
  } else if constexpr (is_named_id<T>::value) {
    x.value = r.number<decltype(x.value)>();
  } else if constexpr (is_vec<T>::value) {
    x.clear();
    const size_t n = r.size();
    for (size_t i = 0; i < n; ++i) {
      typename T::value_type e{};
      decode(r, e);
      x.push_back(std::move(e));
    }
  } else if constexpr (is_set<T>::value) {
    x.clear();
    const size_t n = r.size();
    for (size_t i = 0; i < n; ++i) {
      typename T::value_type e{};
      decode(r, e);
      x.insert(std::move(e));
    }
  } else if constexpr (is_map<T>::value) {
    x.clear();
    const size_t n = r.size();
    for (size_t i = 0; i < n; ++i) {
      typename T::key_type k{};
      typename T::mapped_type v{};
      decode(r, k);
      decode(r, v);
      x.emplace(std::move(k), std::move(v));
    }
  } else if constexpr (is_array<T>::value) {
    for (auto& e : x)
      decode(r, e);
  } else if constexpr (is_opt<T>::value) {
    auto has = r.number<uint8_t>();
    if (has > 1)
      throw codec_error("corrupt optional");
    if (has) {
      typename T::value_type v{};
      decode(r, v);
      x = std::move(v);
    } else {
      x.reset();
    }
  } else if constexpr (is_pair<T>::value) {
    decode(r, x.first);
    decode(r, x.second);
  } else if constexpr (is_tuple<T>::value) {
    std::apply([&](auto&... xs) { (decode(r, xs), ...); }, x);
  } else if constexpr (is_variant<T>::value) {
    const size_t index = r.number<uint8_t>();
    if (index >= std::variant_size_v<T>)
      throw codec_error("corrupt variant index " + std::to_string(index));
    [&]<size_t... I>(std::index_sequence<I...>) {
      ((index == I ? (decode(r, x.template emplace<I>()), 0) : 0), ...);
    }
    (std::make_index_sequence<std::variant_size_v<T>>{});
  } else if constexpr (has_fields<T>) {
    std::apply([&](auto&... xs) { (decode(r, xs), ...); }, sluice_fields(x));
  } else if constexpr (requires { x.key, x.window, x.value; }) {
    decode(r, x.key);
    decode(r, x.window);
    decode(r, x.value);
  } else {
    static_assert(sizeof(T) == 0,
                  "type is not serialisable: declare it with SLUICE_FIELDS(type, members...)");
  }
}

/// Encodes one value into a new byte string.
template <class T>
std::string to_bytes(const T& x) {
  std::string s;
  writer w{s};
  encode(w, x);
  return s;
}

/// Decodes one value; the bytes must hold exactly one.
template <class T>
T from_bytes(std::string_view bytes) {
  reader r{bytes};
  T x{};
  decode(r, x);
  if (!r.at_end())
    throw codec_error("trailing bytes after value");
  return x;
}

}  // namespace sluice::state
