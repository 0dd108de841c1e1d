#pragma once

#include <compare>
#include <cstddef>
#include <cstdint>
#include <functional>

namespace sluice {

/// A strongly typed integer: `named_id<Tag>` values of different tags do not
/// convert into each other, so an instance index is never passed where a key
/// group is expected.
template <class Tag, class Rep = uint32_t>
struct named_id {
  Rep value = 0;
  constexpr named_id() = default;
  constexpr explicit named_id(Rep v) : value(v) {}
  friend constexpr auto operator<=>(named_id, named_id) = default;
};

/// Index of one parallel instance of an operator, 0 .. parallelism-1.
using instance_index = named_id<struct instance_index_tag>;
/// Key group: the unit in which keyed state is partitioned and snapshotted.
using key_group = named_id<struct key_group_tag>;

}  // namespace sluice

template <class Tag, class Rep>
struct std::hash<sluice::named_id<Tag, Rep>> {
  size_t operator()(sluice::named_id<Tag, Rep> x) const noexcept {
    return std::hash<Rep>{}(x.value);
  }
};
