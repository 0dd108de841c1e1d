#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <stdexcept>
#include <utility>
#include <vector>

#include "sluice/hash.hpp"
#include "sluice/key_group.hpp"

namespace sluice::window {

/// Insert-only hash map from key to value for the per-window state of the
/// window operators: one table per open window, dropped as a whole when the
/// window is cleaned up, never erased from key by key.
///
/// Entries live densely in insertion order with the key's hash cached, and an
/// open-addressing index (linear probing) of 32-bit positions with 32-bit
/// hash tags points into them. Compared with `std::unordered_map` (one heap
/// node per key) this makes the walk a checkpoint takes over every entry a
/// sequential scan instead of a chase through scattered nodes, lets the key
/// group of an entry come from the cached hash instead of rehashing the key,
/// and costs no allocation per key. Iteration order is insertion order.
///
/// Pointers and references to entries are invalidated by an insertion (the
/// entries may move), as for `std::vector`. Owned by the operator's task
/// thread, like the operator.
template <class K, class V, class Hash = key_hash<K>>
class key_table {
public:
  struct entry {
    K key;
    V value;
    size_t hash;  ///< `Hash{}(key)`, the hash `key_group_of` starts from.
  };

  /// The entry of `k`, inserting `{k, make()}` if there is none; `.second`
  /// says whether it was inserted.
  template <class Make>
  std::pair<entry*, bool> find_or_insert(const K& k, Make&& make) {
    const size_t h = Hash{}(k);
    if (auto* e = find(k, h))
      return {e, false};
    return {&insert_new(K{k}, make(), h), true};
  }

  /// Sets the value of `k`, inserting the key if it is absent.
  void insert_or_assign(K k, V v) {
    const size_t h = Hash{}(k);
    if (auto* e = find(k, h))
      e->value = std::move(v);
    else
      insert_new(std::move(k), std::move(v), h);
  }

  /// The entry of `k`, or null.
  entry* find(const K& k) { return find(k, Hash{}(k)); }
  const entry* find(const K& k) const { return const_cast<key_table*>(this)->find(k, Hash{}(k)); }

  size_t size() const noexcept { return entries_.size(); }
  bool empty() const noexcept { return entries_.empty(); }
  auto begin() noexcept { return entries_.begin(); }
  auto end() noexcept { return entries_.end(); }
  auto begin() const noexcept { return entries_.begin(); }
  auto end() const noexcept { return entries_.end(); }

private:
  static constexpr uint32_t empty_slot = std::numeric_limits<uint32_t>::max();

  /// One index slot: position of the entry (`empty_slot` if none) and the
  /// low 32 bits of the mixed hash, so that most probes that do not match
  /// never touch the entry.
  struct slot {
    uint32_t pos = empty_slot;
    uint32_t tag = 0;
  };

  /// `std::hash` of an integer is the identity; mix before taking bits.
  static uint64_t mixed(size_t h) noexcept { return mix64(h); }

  size_t home(uint64_t m) const noexcept { return static_cast<size_t>(m >> shift_); }

  entry* find(const K& k, size_t h) {
    if (entries_.empty())
      return nullptr;
    const uint64_t m = mixed(h);
    const auto tag = static_cast<uint32_t>(m);
    const size_t mask = slots_.size() - 1;
    for (size_t i = home(m);; i = (i + 1) & mask) {
      const slot s = slots_[i];
      if (s.pos == empty_slot)
        return nullptr;
      if (s.tag == tag) {
        entry& e = entries_[s.pos];
        if (e.hash == h && e.key == k)
          return &e;
      }
    }
  }

  entry& insert_new(K k, V v, size_t h) {
    // Load factor at most 1/2: short probe sequences, and never full.
    if ((entries_.size() + 1) * 2 > slots_.size())
      grow();
    if (entries_.size() >= empty_slot)
      throw std::length_error("window key table is full");
    const auto pos = static_cast<uint32_t>(entries_.size());
    entries_.push_back(entry{std::move(k), std::move(v), h});
    place(pos, mixed(h));
    return entries_.back();
  }

  void place(uint32_t pos, uint64_t m) {
    const size_t mask = slots_.size() - 1;
    size_t i = home(m);
    while (slots_[i].pos != empty_slot)
      i = (i + 1) & mask;
    slots_[i] = slot{pos, static_cast<uint32_t>(m)};
  }

  /// Doubles the index and re-places every entry from its cached hash; keys
  /// are not rehashed and entries do not move.
  void grow() {
    const size_t n = slots_.empty() ? 16 : slots_.size() * 2;
    slots_.assign(n, slot{});
    shift_ = 64 - static_cast<unsigned>(std::countr_zero(n));
    entries_.reserve(n / 2);
    for (uint32_t p = 0; p < entries_.size(); ++p)
      place(p, mixed(entries_[p].hash));
  }

  std::vector<entry> entries_;
  std::vector<slot> slots_;
  unsigned shift_ = 64;  ///< 64 - log2(slots_.size()): home slot = top bits of the mixed hash.
};

}  // namespace sluice::window
