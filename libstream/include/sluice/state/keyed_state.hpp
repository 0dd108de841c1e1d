#pragma once

#include <map>
#include <optional>
#include <utility>
#include <vector>

#include "sluice/state/codec.hpp"

/// Typed keyed-state handles for `keyed_stream::process<S, Out>` and
/// `connect(...).process<S, Out>`: the per-key state `S` can be one of these,
/// or a struct of several declared with SLUICE_FIELDS. They are snapshotted
/// with the key's key group, so they survive failures and rescaling.
///
///     struct session { sluice::value_state<int64_t> last_seen; sluice::list_state<double> amounts;
///     }; SLUICE_FIELDS(session, last_seen, amounts)
namespace sluice {

/// One value per key (Flink's ValueState).
template <class T>
class value_state {
public:
  bool has_value() const noexcept { return v_.has_value(); }
  /// The value, or `fallback` when none was set.
  T value_or(T fallback) const { return v_ ? *v_ : std::move(fallback); }
  const std::optional<T>& get() const noexcept { return v_; }
  void update(T v) { v_ = std::move(v); }
  void clear() noexcept { v_.reset(); }

  friend void sluice_encode(state::writer& w, const value_state& s) { state::encode(w, s.v_); }
  friend void sluice_decode(state::reader& r, value_state& s) { state::decode(r, s.v_); }

private:
  std::optional<T> v_;
};

/// A list per key (Flink's ListState).
template <class T>
class list_state {
public:
  void add(T v) { items_.push_back(std::move(v)); }
  const std::vector<T>& get() const noexcept { return items_; }
  void update(std::vector<T> items) { items_ = std::move(items); }
  size_t size() const noexcept { return items_.size(); }
  void clear() noexcept { items_.clear(); }

  friend void sluice_encode(state::writer& w, const list_state& s) { state::encode(w, s.items_); }
  friend void sluice_decode(state::reader& r, list_state& s) { state::decode(r, s.items_); }

private:
  std::vector<T> items_;
};

/// A map per key (Flink's MapState).
template <class K, class V>
class map_state {
public:
  void put(K k, V v) { m_.insert_or_assign(std::move(k), std::move(v)); }
  const V* get(const K& k) const {
    auto it = m_.find(k);
    return it == m_.end() ? nullptr : &it->second;
  }
  bool contains(const K& k) const { return m_.count(k) > 0; }
  void remove(const K& k) { m_.erase(k); }
  const std::map<K, V>& entries() const noexcept { return m_; }
  size_t size() const noexcept { return m_.size(); }
  void clear() noexcept { m_.clear(); }

  friend void sluice_encode(state::writer& w, const map_state& s) { state::encode(w, s.m_); }
  friend void sluice_decode(state::reader& r, map_state& s) { state::decode(r, s.m_); }

private:
  std::map<K, V> m_;
};

}  // namespace sluice
