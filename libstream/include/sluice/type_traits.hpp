#pragma once
// Which standard container or wrapper a type is: shared by the record
// formats (format.hpp) and the state codec (state/codec.hpp).

#include <array>
#include <cstddef>
#include <map>
#include <optional>
#include <set>
#include <tuple>
#include <type_traits>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <variant>
#include <vector>

namespace sluice::traits {

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

/// std::map and std::unordered_map.
template <class T>
struct is_map : std::false_type {};
template <class K, class V, class... R>
struct is_map<std::map<K, V, R...>> : std::true_type {};
template <class K, class V, class... R>
struct is_map<std::unordered_map<K, V, R...>> : std::true_type {};

/// std::set and std::unordered_set.
template <class T>
struct is_set : std::false_type {};
template <class K, class... R>
struct is_set<std::set<K, R...>> : std::true_type {};
template <class K, class... R>
struct is_set<std::unordered_set<K, R...>> : std::true_type {};

template <class T>
struct is_array : std::false_type {};
template <class T, size_t N>
struct is_array<std::array<T, N>> : std::true_type {};

template <class T>
struct is_variant : std::false_type {};
template <class... Ts>
struct is_variant<std::variant<Ts...>> : std::true_type {};

}  // namespace sluice::traits
