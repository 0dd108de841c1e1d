#pragma once

#include <cstddef>
#include <functional>
#include <tuple>
#include <utility>

namespace sluice {

/// Hash used for keys everywhere in Sluice (key groups and keyed state).
/// Defaults to `std::hash<K>` and also covers pairs and tuples, which the
/// standard library leaves out, so a composite key works without extra code.
template <class K>
struct key_hash {
  size_t operator()(const K& k) const noexcept(noexcept(std::hash<K>{}(k))) {
    return std::hash<K>{}(k);
  }
};

inline size_t hash_combine(size_t seed, size_t h) noexcept {
  return seed ^ (h + 0x9E3779B97F4A7C15ull + (seed << 6) + (seed >> 2));
}

template <class A, class B>
struct key_hash<std::pair<A, B>> {
  size_t operator()(const std::pair<A, B>& p) const noexcept {
    return hash_combine(key_hash<A>{}(p.first), key_hash<B>{}(p.second));
  }
};

template <class... Ts>
struct key_hash<std::tuple<Ts...>> {
  size_t operator()(const std::tuple<Ts...>& t) const noexcept {
    size_t seed = 0;
    std::apply(
        [&](const auto&... xs) {
          ((seed = hash_combine(seed, key_hash<std::decay_t<decltype(xs)>>{}(xs))), ...);
        },
        t);
    return seed;
  }
};

}  // namespace sluice
