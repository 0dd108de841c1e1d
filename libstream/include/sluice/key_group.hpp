#pragma once

#include <cstdint>
#include <functional>

#include "sluice/hash.hpp"
#include "sluice/ids.hpp"

namespace sluice {

/// Default number of key groups, i.e. the maximum parallelism of keyed operators.
inline constexpr uint32_t default_max_parallelism = 128;

/// Finalises a 64-bit hash (splitmix64) so that key groups are evenly used even
/// when `std::hash` is the identity, as it is for integers.
constexpr uint64_t mix64(uint64_t z) {
  z += 0x9E3779B97F4A7C15ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

/// The key group of a key: stable for a given key and number of groups.
template <class K>
key_group key_group_of(const K& key, uint32_t max_parallelism) {
  return key_group{static_cast<uint32_t>(mix64(key_hash<K>{}(key)) % max_parallelism)};
}

/// The instance that owns a key group. Key groups map to instances in
/// contiguous ranges (as in Flink), so rescaling moves whole ranges.
constexpr instance_index instance_for(key_group kg, uint32_t parallelism,
                                      uint32_t max_parallelism) {
  return instance_index{static_cast<uint32_t>(uint64_t{kg.value} * parallelism / max_parallelism)};
}

/// First key group owned by an instance.
constexpr key_group first_key_group(instance_index i, uint32_t parallelism,
                                    uint32_t max_parallelism) {
  return key_group{
      static_cast<uint32_t>((uint64_t{i.value} * max_parallelism + parallelism - 1) / parallelism)};
}

}  // namespace sluice
