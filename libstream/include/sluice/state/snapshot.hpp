#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <typeinfo>
#include <vector>

#include "sluice/key_group.hpp"
#include "sluice/state/codec.hpp"

namespace sluice::state {

/// Thrown when a checkpoint needs the state of an operator whose key or
/// state type has no codec.
class not_serializable : public std::logic_error {
public:
  using std::logic_error::logic_error;
};

/// Collects the state of one operator instance for a checkpoint: per-instance
/// operator state (e.g. a source's read position) and keyed state split by
/// key group, so that a restore with another parallelism can hand each
/// instance exactly its key groups. Used by one task thread.
class snapshot_writer {
public:
  explicit snapshot_writer(uint32_t max_parallelism, uint64_t checkpoint = 0)
      : max_parallelism_(max_parallelism), checkpoint_(checkpoint) {}

  /// The checkpoint being taken (sinks stage their output under it).
  uint64_t checkpoint() const noexcept { return checkpoint_; }

  /// Writer for per-instance operator state.
  writer operator_state() {
    has_operator_state_ = true;
    return writer{operator_state_};
  }
  /// Writer for broadcast state: state every instance holds identically
  /// (rules, thresholds), stored once per checkpoint — the runtime keeps
  /// instance 0's — and handed to every instance on restore.
  writer broadcast_state() {
    has_broadcast_state_ = true;
    return writer{broadcast_state_};
  }
  /// Writer for the key group of `key`.
  template <class K>
  writer keyed(const K& key) {
    return writer{section(key_group_of(key, max_parallelism_))};
  }

  /// The bytes of key group `kg`, created empty on first use. Operators that
  /// write many keys cache the key group per key and append here directly.
  std::string& section(key_group kg) {
    if (kg.value >= max_parallelism_)
      throw std::out_of_range("key group " + std::to_string(kg.value) + " >= max parallelism");
    // An index of the map's nodes (which never move) spares a tree lookup per
    // key; taking the map through keyed_bytes() drops it.
    if (index_.empty())
      index_.assign(max_parallelism_, nullptr);
    std::string*& s = index_[kg.value];
    if (!s)
      s = &keyed_[kg.value];
    return *s;
  }

  uint32_t max_parallelism() const noexcept { return max_parallelism_; }
  bool has_operator_state() const noexcept { return has_operator_state_; }
  std::string& operator_bytes() noexcept { return operator_state_; }
  bool has_broadcast_state() const noexcept { return has_broadcast_state_; }
  std::string& broadcast_bytes() noexcept { return broadcast_state_; }
  std::map<uint32_t, std::string>& keyed_bytes() noexcept {
    index_.clear();  // the caller may erase sections
    return keyed_;
  }

private:
  uint32_t max_parallelism_;
  uint64_t checkpoint_;
  bool has_operator_state_ = false;
  bool has_broadcast_state_ = false;
  std::string operator_state_;
  std::string broadcast_state_;
  std::map<uint32_t, std::string> keyed_;
  std::vector<std::string*> index_;  ///< Per key group: its node in `keyed_`, or null.
};

/// The state handed to one operator instance on restore: its own operator
/// state (only when the parallelism did not change), the keyed sections of
/// every key group it owns now, whichever instance wrote them, and the
/// broadcast state (at any parallelism).
class snapshot_reader {
public:
  snapshot_reader(std::optional<std::string> operator_state, std::vector<std::string> keyed,
                  std::optional<std::string> broadcast_state = std::nullopt)
      : operator_state_(std::move(operator_state)),
        keyed_(std::move(keyed)),
        broadcast_state_(std::move(broadcast_state)) {}

  const std::optional<std::string>& operator_state() const noexcept { return operator_state_; }
  const std::optional<std::string>& broadcast_state() const noexcept { return broadcast_state_; }
  const std::vector<std::string>& keyed_sections() const noexcept { return keyed_; }

  /// Calls `f(reader&)` until every keyed section is consumed.
  template <class F>
  void for_each_keyed(F&& f) const {
    for (auto& s : keyed_) {
      reader r{s};
      while (!r.at_end())
        f(r);
    }
  }

private:
  std::optional<std::string> operator_state_;
  std::vector<std::string> keyed_;
  std::optional<std::string> broadcast_state_;
};

/// Throws `not_serializable` naming the type unless `T` has a codec; used by
/// operators so that pipelines without checkpoints never need codecs.
template <class T>
void require_serializable(const char* what) {
  if constexpr (!serializable<T>())
    throw not_serializable(std::string(what) + " of type '" + typeid(T).name() +
                           "' cannot be checkpointed: declare it with SLUICE_FIELDS");
}

/// Encodes `x` if its type has a codec; otherwise throws `not_serializable`.
template <class T>
void encode_checked(writer& w, const T& x, const char* what) {
  if constexpr (serializable<T>())
    encode(w, x);
  else
    require_serializable<T>(what), (void)w, (void)x;
}

/// Decodes `x` if its type has a codec; otherwise throws `not_serializable`.
template <class T>
void decode_checked(reader& r, T& x, const char* what) {
  if constexpr (serializable<T>())
    decode(r, x);
  else
    require_serializable<T>(what), (void)r, (void)x;
}

}  // namespace sluice::state
