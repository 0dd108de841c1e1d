#pragma once

#include <caf/fwd.hpp>

#include <caf/actor.hpp>

#include <functional>
#include <memory>
#include <vector>

#include "sluice/state/snapshot_store.hpp"

namespace sluice::actors {

/// Spawns the node's snapshot writer: a detached actor (its own thread) that
/// writes the serialised state tasks hand it into the snapshot store, so the
/// LMDB transaction never runs on a task's thread. For each
/// `(write_atom, id, vertex, instance, entries, sync_ms)` it writes one
/// transaction and sends `(ack_atom, id, vertex, instance, bytes, sync_ms,
/// async_ms)` to `coordinator`, or `(decline_atom, id, vertex, instance,
/// reason)` when the write failed.
///
/// `replicate` (cluster mode, on nodes other than the coordinator) copies
/// the entries to another node after the local write and before the
/// acknowledgement, so a completed checkpoint never depends on one node; a
/// replication error declines the checkpoint with its message.
using replicate_fn =
    std::function<void(uint64_t id, const std::vector<state::snapshot_store::entry>& entries)>;

caf::actor spawn_snapshot_writer(caf::actor_system& sys,
                                 std::shared_ptr<state::snapshot_store> store,
                                 caf::actor coordinator, replicate_fn replicate = {});

}  // namespace sluice::actors
