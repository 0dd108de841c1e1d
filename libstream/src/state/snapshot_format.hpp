#pragma once

// The on-disk format of the snapshot store (private to libstream). Changing
// anything here changes what old state directories mean: bump
// `current_version` and keep reading the old one instead.
//
// Database "data" (snapshot entries), key, all integers big-endian so that
// LMDB's bytewise order is checkpoint, then operator uid, then instance, then
// key group, and one checkpoint / one operator of it is a contiguous range:
//   checkpoint id u64 | operator uid bytes | 0x00 | instance u32 | key group u32
// Database "meta" (completed checkpoints), key: checkpoint id u64.
// Database "kv" (put_meta records), key: the caller's key bytes.
//
// Every value is a frame:
//   version u8 (= 1) | payload length u64 | checksum u64 | payload
// checksum = xxh64(payload, seed = xxh64(version | length | LMDB key, 0)),
// so a value that ends up under another key fails verification too.
//
// Payload of a "meta" value (version 1):
//   id u64 | savepoint u8 | completed_at_ms i64 | job name str |
//   operator count u32 | { uid str | parallelism u32 } ...
// where str = length u32 | bytes.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "sluice/result.hpp"
#include "sluice/state/snapshot_store.hpp"

namespace sluice::state::format {

inline constexpr uint8_t current_version = 1;
inline constexpr size_t frame_header_size = 1 + 8 + 8;

/// XXH64 (Yann Collet's xxHash, 64-bit variant), written here so that
/// libstream depends on nothing but std, fmt and LMDB.
uint64_t xxh64(const void* data, size_t size, uint64_t seed);

/// Size of the frame holding `payload_size` bytes.
constexpr size_t frame_size(size_t payload_size) {
  return frame_header_size + payload_size;
}

/// Writes the frame of `payload`, stored under `lmdb_key`, to `out`, which
/// has room for `frame_size(payload.size())` bytes.
void write_frame(char* out, std::string_view lmdb_key, std::string_view payload);

/// Verifies the frame `value` stored under `lmdb_key` and returns a view of
/// its payload. Errors are `corrupt_snapshot` or `unknown_format_version`,
/// with a message that says what is wrong but not where (the caller knows).
result<std::string_view> read_frame(std::string_view lmdb_key, std::string_view value);

std::string data_key(checkpoint_id id, const snapshot_key& k);
/// The first 8 bytes of every data key of checkpoint `id`.
std::string checkpoint_prefix(checkpoint_id id);
/// The common prefix of the data keys of one operator in checkpoint `id`.
std::string operator_prefix(checkpoint_id id, std::string_view operator_uid);
/// Inverse of `data_key`; nullopt if `key` is not a well-formed data key.
std::optional<std::pair<checkpoint_id, snapshot_key>> parse_data_key(std::string_view key);
/// The checkpoint id of a data or meta key; nullopt if shorter than 8 bytes.
std::optional<checkpoint_id> parse_checkpoint_prefix(std::string_view key);

std::string meta_key(checkpoint_id id);
std::string encode_meta(const checkpoint_meta& m);
/// `corrupt_snapshot` if `payload` is not exactly one encoded meta record.
result<checkpoint_meta> decode_meta(std::string_view payload);

/// "operator \"map-1\" instance 2 key group 17" (or "... operator state").
std::string describe(const snapshot_key& k);

}  // namespace sluice::state::format
