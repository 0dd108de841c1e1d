#pragma once
// Snapshots travelling between nodes: a completed checkpoint read out of a
// store for another node, and a pushed one written into this node's store.

#include <cstdint>
#include <string>
#include <vector>

#include "sluice/net/frame.hpp"
#include "sluice/state/snapshot_store.hpp"

namespace sluice::net {

/// Operator uid under which the checkpoint metadata travels with a pushed
/// snapshot (a real uid never starts with a control character).
inline constexpr const char* meta_entry_uid = "\x01checkpoint-meta";

std::string encode_meta(const state::checkpoint_meta& m);
state::checkpoint_meta decode_meta(std::string_view bytes);

/// Every entry of completed checkpoint `checkpoint` of `store`, its metadata
/// last (under `meta_entry_uid`). Throws std::runtime_error naming the cause.
std::vector<snapshot_entry_msg> read_for_transfer(state::snapshot_store& store,
                                                  uint64_t checkpoint);

/// Writes entries pushed by `peer` into `store`: a replicated snapshot, or
/// (with metadata) a completed checkpoint pushed before a restoring
/// deployment, then committed and the store trimmed to `retained`. A
/// completed checkpoint of the same id with other metadata is left from
/// another run and replaced. Throws std::runtime_error naming the cause.
void store_pushed(state::snapshot_store& store, const std::string& peer, uint64_t checkpoint,
                  std::vector<snapshot_entry_msg>&& entries, uint32_t retained);

/// Entries of a snapshot this node wrote, as they travel to the coordinator.
std::vector<snapshot_entry_msg> to_messages(
    const std::vector<state::snapshot_store::entry>& entries);

}  // namespace sluice::net
