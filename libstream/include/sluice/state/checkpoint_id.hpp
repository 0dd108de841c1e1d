#pragma once

#include <cstdint>

#include "sluice/ids.hpp"

namespace sluice {

/// Number of one checkpoint (or savepoint) of a job. Assigned by the
/// checkpoint coordinator, strictly increasing over the life of a job; a
/// recovered job continues numbering after the checkpoint it restored.
using checkpoint_id = sluice::named_id<struct checkpoint_id_tag, uint64_t>;

}  // namespace sluice
