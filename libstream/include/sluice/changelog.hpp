#pragma once

#include <cstdint>
#include <utility>

#include "sluice/state/codec.hpp"

namespace sluice {

/// What a change does to its key's row of a table.
enum class change_kind : uint8_t {
  upsert,  ///< the row becomes `value` (inserted or replaced)
  erase,   ///< the row is deleted (`value` only names the key)
};

/// One change of a table kept as a changelog stream: an upsert or a delete
/// of the row whose key the stream is keyed by. A stream of changes becomes a
/// table on the right side of `temporal_join` and `lookup_join`; its record
/// timestamps say from when each version of a row is valid.
template <class V>
struct change {
  change_kind kind = change_kind::upsert;
  V value{};

  static change upsert(V v) { return {change_kind::upsert, std::move(v)}; }
  static change erase(V v) { return {change_kind::erase, std::move(v)}; }
  bool is_erase() const noexcept { return kind == change_kind::erase; }

  friend bool operator==(const change&, const change&) = default;
};

template <class V>
requires(state::serializable<V>()) void sluice_encode(state::writer& w, const change<V>& c) {
  state::encode(w, static_cast<uint8_t>(c.kind));
  state::encode(w, c.value);
}
template <class V>
requires(state::serializable<V>()) void sluice_decode(state::reader& r, change<V>& c) {
  const auto k = r.number<uint8_t>();
  if (k > 1)
    throw state::codec_error("corrupt change kind " + std::to_string(k));
  c.kind = static_cast<change_kind>(k);
  state::decode(r, c.value);
}

}  // namespace sluice
