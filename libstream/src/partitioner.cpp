#include "sluice/partitioner.hpp"

namespace sluice {

const char* to_string(partitioning p) noexcept {
  switch (p) {
    case partitioning::forward:
      return "forward";
    case partitioning::rebalance:
      return "rebalance";
    case partitioning::broadcast:
      return "broadcast";
    case partitioning::hash:
      return "hash";
  }
  return "?";
}

}  // namespace sluice
