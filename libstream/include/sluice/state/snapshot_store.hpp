#pragma once

#include <compare>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "sluice/ids.hpp"
#include "sluice/result.hpp"
#include "sluice/state/checkpoint_id.hpp"

namespace sluice::state {

/// Number of a checkpoint. Ids grow with time; savepoints share the sequence.
using sluice::checkpoint_id;

/// Where one piece of snapshotted state belongs: an operator instance, and
/// either one of its key groups (keyed state) or `operator_state` (state of
/// the instance as a whole, e.g. a source's read position). Keyed state is
/// stored per key group so that a job can be restored with another
/// parallelism: the new instance reads the key-group range it now owns.
struct snapshot_key {
  /// The `group` of per-instance operator state.
  static constexpr key_group operator_state{UINT32_MAX};
  /// The `group` of broadcast state: the same in every instance, so written
  /// once (by instance 0) and handed to every instance on restore, at any
  /// parallelism.
  static constexpr key_group broadcast_state{UINT32_MAX - 1};

  std::string operator_uid;
  instance_index instance{};
  key_group group = operator_state;

  bool is_operator_state() const noexcept { return group == operator_state; }
  bool is_broadcast_state() const noexcept { return group == broadcast_state; }
  /// The order of the store: operator uid, then instance, then key group.
  friend auto operator<=>(const snapshot_key&, const snapshot_key&) = default;
};

/// Metadata of a completed checkpoint, written by `snapshot_store::commit`.
struct checkpoint_meta {
  checkpoint_id id;
  /// Triggered by a user and kept by `retain` regardless of its count.
  bool savepoint = false;
  /// Wall-clock time of completion, milliseconds since the Unix epoch.
  int64_t completed_at_ms = 0;
  std::string job_name;
  /// Operator uid -> parallelism at snapshot time (what a restore with
  /// another parallelism needs to interpret instance indices).
  std::vector<std::pair<std::string, uint32_t>> operator_parallelism;

  friend bool operator==(const checkpoint_meta&, const checkpoint_meta&) = default;
};

/// Why `snapshot_store::latest_valid` passed over a completed checkpoint.
struct skipped_checkpoint {
  checkpoint_id id;
  error reason;
};

/// Outcome of the search for a checkpoint to recover from.
struct recovery_point {
  /// The newest completed checkpoint whose metadata and entries all verify;
  /// empty if there is none (a first start, or every checkpoint is damaged).
  std::optional<checkpoint_meta> checkpoint;
  /// Completed checkpoints newer than `checkpoint` that failed verification,
  /// newest first, each with its reason: recovery logs them, and a caller
  /// that finds `checkpoint` empty but this non-empty must not start afresh
  /// silently.
  std::vector<skipped_checkpoint> skipped;
};

/// Durable store of checkpoint snapshots: one LMDB environment per directory
/// (a node's state directory). Tasks' snapshot writers call `write` with the
/// serialised state of their instance; the checkpoint coordinator calls
/// `commit` once every task has acknowledged, then `retain`; recovery calls
/// `latest_valid` and `read`. The runtime may also keep other small durable
/// records in the same environment through `put_meta` / `get_meta`.
///
/// Lifecycle: `open` creates the directory and environment; the environment
/// closes when the last `shared_ptr` goes away. Opening the same directory
/// twice in one process returns the same store (LMDB forbids two
/// environments on one file in a process).
///
/// Thread safety: every method may be called from any thread, concurrently.
/// Each call is one LMDB transaction: writers are serialised by LMDB,
/// readers run in parallel with them and see the last committed state. A
/// call that fills the memory map grows it and retries. Every stored value
/// is framed with a format version, its length and a 64-bit checksum, and
/// is verified whenever it is read.
class snapshot_store {
public:
  /// One snapshotted piece of state and its serialised bytes.
  using entry = std::pair<snapshot_key, std::string>;

  static constexpr size_t default_map_size = size_t{1} << 30;

  /// Opens (creating if needed) the store in directory `dir`. `map_size` is
  /// the initial size of LMDB's memory map; it grows on demand.
  static result<std::shared_ptr<snapshot_store>> open(std::string dir,
                                                      size_t map_size = default_map_size);

  ~snapshot_store();
  snapshot_store(const snapshot_store&) = delete;
  snapshot_store& operator=(const snapshot_store&) = delete;

  /// The directory of the environment, as given to `open`.
  const std::string& dir() const noexcept;

  /// Stores `entries` of checkpoint `id` in one transaction (all or none);
  /// an entry already stored under the same key is replaced. Several writers
  /// (one per task) may add to the same checkpoint before it is committed.
  /// Fails with `invalid_argument` if the checkpoint is already completed or
  /// an operator uid contains a NUL byte or is longer than `max_uid_size`.
  result<void> write(checkpoint_id id, const std::vector<entry>& entries);

  /// Marks checkpoint `meta.id` completed. Fails with `invalid_argument` if
  /// it already is.
  result<void> commit(const checkpoint_meta& meta);

  /// Completed checkpoints, ascending by id. A checkpoint whose metadata
  /// does not verify is left out here; `latest_valid` reports it.
  result<std::vector<checkpoint_meta>> completed();

  /// The last element of `completed()`, if any.
  result<std::optional<checkpoint_meta>> latest_completed();

  /// All entries of operator `operator_uid` in checkpoint `id`, ordered by
  /// instance then key group, each verified: a bad checksum, truncated or
  /// malformed frame fails with `corrupt_snapshot`, a frame of another
  /// format version with `unknown_format_version`; the message names the
  /// checkpoint and the key. No entries is an empty vector (a stateless
  /// operator), not an error.
  result<std::vector<entry>> read(checkpoint_id id, std::string_view operator_uid);

  /// Reads and verifies everything of completed checkpoint `id`: its
  /// metadata and all its entries, and that each entry's instance is below
  /// its operator's recorded parallelism. `not_found` if `id` is not
  /// completed.
  result<void> verify(checkpoint_id id);

  /// The newest completed checkpoint that verifies, and the newer ones that
  /// did not (see `recovery_point`). Fails only if the store cannot be read.
  result<recovery_point> latest_valid();

  /// Deletes the entries and metadata of checkpoint `id` (completed or not).
  /// `not_found` if nothing of it is stored.
  result<void> drop(checkpoint_id id);

  /// Keeps all savepoints and the newest `keep` completed checkpoints that
  /// are not savepoints; drops older completed ones and every never-completed
  /// checkpoint older than the newest completed one (newer ones may still be
  /// in flight). `keep` must be at least 1: recovery needs a checkpoint.
  /// A checkpoint whose metadata does not verify does not count towards
  /// `keep` and is dropped once older than the oldest one kept. Entries are
  /// not read (that would cost a full verify per checkpoint), so keep >= 2
  /// leaves a fallback should the newest one turn out damaged.
  result<void> retain(size_t keep);

  /// Durable key-value records of the runtime (e.g. sink commit markers),
  /// framed and checksummed like snapshots, in their own database. Keys are
  /// 1..`max_meta_key_size` bytes.
  result<void> put_meta(std::string_view key, std::string_view value);
  /// The value of `key`, or nullopt if there is none.
  result<std::optional<std::string>> get_meta(std::string_view key);
  /// Removes `key`; removing a missing key is not an error.
  result<void> erase_meta(std::string_view key);

  /// Longest operator uid (LMDB limits keys to 511 bytes).
  static constexpr size_t max_uid_size = 480;
  /// Longest `put_meta` key.
  static constexpr size_t max_meta_key_size = 480;

private:
  struct impl;
  explicit snapshot_store(std::unique_ptr<impl> p);

  std::unique_ptr<impl> impl_;
};

}  // namespace sluice::state
