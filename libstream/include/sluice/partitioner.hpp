#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <utility>
#include <vector>

#include "sluice/key_group.hpp"
#include "sluice/record.hpp"

namespace sluice {

/// How records travel along one edge of the dataflow.
enum class partitioning {
  forward,    ///< Instance i sends to instance i (needs equal parallelism, else rebalance).
  rebalance,  ///< Round-robin over all downstream instances.
  broadcast,  ///< Every record to every downstream instance.
  hash,       ///< By key: key group -> owning instance.
};

const char* to_string(partitioning p) noexcept;

/// Splits the records an upstream instance emits on one edge into per-target
/// buffers. Typed code behind a type-erased interface: the runtime moves the
/// resulting batches without knowing the record type.
class partitioner_base {
public:
  virtual ~partitioner_base() = default;
  /// Distributes `in`. With `consume`, records are moved out of `in`;
  /// otherwise copied (when one output feeds several edges).
  virtual void add(batch_base& in, bool consume) = 0;
  virtual size_t targets() const noexcept = 0;
  virtual size_t buffered(size_t target) const noexcept = 0;
  /// Takes the buffered records of one target as a batch.
  virtual batch_ptr take(size_t target) = 0;
};

/// Builds the partitioner of one upstream instance of an edge.
using partitioner_factory = std::function<std::unique_ptr<partitioner_base>(
    partitioning kind, uint32_t from_instance, uint32_t targets, uint32_t max_parallelism)>;

/// Typed partitioner; `Route` maps a record to a target (or all, for broadcast).
template <class T>
class typed_partitioner : public partitioner_base {
public:
  typed_partitioner(partitioning kind, uint32_t from_instance, uint32_t targets,
                    uint32_t max_parallelism,
                    std::function<uint32_t(const T&, uint32_t, uint32_t)> key_target)
      : kind_(kind),
        next_(from_instance % targets),
        max_parallelism_(max_parallelism),
        key_target_(std::move(key_target)) {
    bufs_.reserve(targets);
    for (uint32_t i = 0; i < targets; ++i)
      bufs_.push_back(std::make_shared<typed_batch<T>>());
  }

  void add(batch_base& in, bool consume) override {
    auto& rs = batch_cast<T>(in).records;
    const uint32_t n = static_cast<uint32_t>(bufs_.size());
    switch (kind_) {
      case partitioning::forward:
        if (consume && bufs_[0]->records.empty())
          bufs_[0]->records.swap(rs);
        else
          append(bufs_[0]->records, rs, consume);
        break;
      case partitioning::broadcast:
        for (uint32_t i = 0; i < n; ++i)
          append(bufs_[i]->records, rs, consume && i + 1 == n);
        break;
      case partitioning::rebalance:
        for (auto& r : rs) {
          put(next_, r, consume);
          next_ = next_ + 1 == n ? 0 : next_ + 1;
        }
        break;
      case partitioning::hash:
        for (auto& r : rs)
          put(key_target_(r.value, n, max_parallelism_), r, consume);
        break;
    }
  }

  size_t targets() const noexcept override { return bufs_.size(); }
  size_t buffered(size_t t) const noexcept override { return bufs_[t]->records.size(); }

  batch_ptr take(size_t t) override {
    auto out = std::move(bufs_[t]);
    bufs_[t] = std::make_shared<typed_batch<T>>();
    bufs_[t]->records.reserve(out->records.size());
    return out;
  }

private:
  static void append(std::vector<record<T>>& dst, std::vector<record<T>>& src, bool consume) {
    if (consume)
      for (auto& r : src)
        dst.push_back(std::move(r));
    else
      dst.insert(dst.end(), src.begin(), src.end());
  }
  void put(uint32_t t, record<T>& r, bool consume) {
    if (consume)
      bufs_[t]->records.push_back(std::move(r));
    else
      bufs_[t]->records.push_back(r);
  }

  partitioning kind_;
  uint32_t next_;
  uint32_t max_parallelism_;
  std::function<uint32_t(const T&, uint32_t, uint32_t)> key_target_;
  std::vector<std::shared_ptr<typed_batch<T>>> bufs_;
};

/// Partitioner factory for an edge carrying `T`; `key` is used by hash edges.
template <class T, class KeyFn = std::nullptr_t>
partitioner_factory make_partitioner_factory(KeyFn key = nullptr) {
  return [key](partitioning kind, uint32_t from, uint32_t targets,
               uint32_t max_par) -> std::unique_ptr<partitioner_base> {
    std::function<uint32_t(const T&, uint32_t, uint32_t)> route;
    if constexpr (!std::is_same_v<KeyFn, std::nullptr_t>) {
      route = [key](const T& x, uint32_t n, uint32_t m) {
        return instance_for(key_group_of(std::invoke(key, x), m), n, m).value;
      };
    }
    return std::make_unique<typed_partitioner<T>>(kind, from, targets, max_par, std::move(route));
  };
}

}  // namespace sluice
