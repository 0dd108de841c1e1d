#pragma once

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sluice/actors/channel_element.hpp"
#include "sluice/state/spill_store.hpp"

namespace sluice::actors {

/// The memory that the in-flight logs and determinant logs of one process
/// may hold together (`--inflight-log-mb`). Beyond it an in-flight log
/// spills its batches to `spill` (LMDB, in the state directory) when there
/// is one and the records have a codec; a log that can do neither stops
/// recording and says it cannot serve a replay until a checkpoint after that
/// completes: a failure meanwhile is recovered by a global restart. Memory
/// never grows without bound and nothing is dropped silently.
/// Thread-safe: every task of the process takes from it.
class recovery_budget {
public:
  explicit recovery_budget(uint64_t limit_bytes,
                           std::shared_ptr<state::spill_store> spill_to = nullptr)
      : spill(std::move(spill_to)), limit_(limit_bytes) {}

  /// Where batches beyond the limit go (null: nowhere, the log stops).
  const std::shared_ptr<state::spill_store> spill;

  /// Takes `n` bytes; false (and nothing taken) when that exceeds the limit.
  /// The last eighth of the limit is kept for the determinant logs
  /// (`determinants`): they are small, cannot spill, and without them no
  /// instance can recover alone, while in-flight logs can spill.
  bool take(uint64_t n, bool determinants = false) noexcept {
    const uint64_t limit = determinants ? limit_ : limit_ - limit_ / 8;
    const uint64_t used = used_.fetch_add(n, std::memory_order_relaxed) + n;
    if (used > limit) {
      used_.fetch_sub(n, std::memory_order_relaxed);
      refused_.fetch_add(1, std::memory_order_relaxed);
      return false;
    }
    uint64_t peak = peak_.load(std::memory_order_relaxed);
    while (used > peak && !peak_.compare_exchange_weak(peak, used, std::memory_order_relaxed)) {
    }
    return true;
  }
  void give(uint64_t n) noexcept { used_.fetch_sub(n, std::memory_order_relaxed); }

  uint64_t limit() const noexcept { return limit_; }
  uint64_t used() const noexcept { return used_.load(std::memory_order_relaxed); }
  /// Most bytes held at once.
  uint64_t peak() const noexcept { return peak_.load(std::memory_order_relaxed); }
  /// Times a log was refused memory (and stopped recording).
  uint64_t refused() const noexcept { return refused_.load(std::memory_order_relaxed); }

private:
  uint64_t limit_;
  std::atomic<uint64_t> used_{0};
  std::atomic<uint64_t> peak_{0};
  std::atomic<uint64_t> refused_{0};
};

/// How an in-flight log copies the batches of its edge: operators consume
/// (move from) the batches they receive, so the log keeps its own copy.
/// Made from the edge's record type (`batch_codec`); `clone` is empty for a
/// type that cannot be copied, and then the edge keeps no log.
struct batch_copier {
  std::function<batch_ptr(const batch_base&)> clone;
  /// Approximate bytes of a batch (for the memory bound).
  std::function<uint64_t(const batch_base&)> bytes;
  /// The edge's codec, to spill batches beyond the bound (empty: no spill).
  std::function<void(const batch_base&, std::string& out)> encode;
  std::function<batch_ptr(std::string_view bytes, uint32_t count)> decode;
  explicit operator bool() const noexcept { return static_cast<bool>(clone); }
};

/// What one sender handed to one channel since the receiver's last completed
/// checkpoint, so that a receiver restarted alone (local recovery) gets it
/// again: batches (copies), watermarks, idleness and end of stream, and the
/// position of every checkpoint barrier. Latency markers are not kept.
///
/// Appended when an element is handed to the channel (also when it still
/// waits for credit); truncated through barrier n when checkpoint n
/// completes; `replay(n)` gives what followed barrier n. Pure logic, used by
/// the sending task's thread (and by its replacement after it failed).
class in_flight_log {
public:
  in_flight_log(std::shared_ptr<recovery_budget> budget, batch_copier copier)
      : budget_(std::move(budget)), copier_(std::move(copier)) {}
  ~in_flight_log() { release(); }
  in_flight_log(in_flight_log&& o) noexcept { *this = std::move(o); }
  in_flight_log& operator=(in_flight_log&& o) noexcept {
    if (this != &o) {
      release();
      budget_ = std::move(o.budget_);
      copier_ = std::move(o.copier_);
      entries_ = std::move(o.entries_);
      bytes_ = std::exchange(o.bytes_, 0);
      batches_ = std::exchange(o.batches_, 0);
      spilled_ = std::exchange(o.spilled_, 0);
      pending_ = std::move(o.pending_);
      pending_bytes_ = std::exchange(o.pending_bytes_, 0);
      base_ = o.base_;
      lost_ = o.lost_;
      valid_from_ = o.valid_from_;
    }
    return *this;
  }
  in_flight_log(const in_flight_log&) = delete;
  in_flight_log& operator=(const in_flight_log&) = delete;

  /// An element was handed to the channel.
  void append(const channel_element& e) {
    using k = channel_element::kind;
    if (e.k == k::latency)
      return;
    if (e.k == k::barrier)
      return barrier(e.checkpoint);
    if (recording_stopped())
      return;
    entry en{e, 0};
    if (e.k == k::batch) {
      en.bytes = copier_.bytes(*e.batch) + sizeof(entry);
      if (!budget_->take(en.bytes)) {
        if (!spill(en))
          lose();
        return;
      }
      en.e.batch = copier_.clone(*e.batch);
      bytes_ += en.bytes;
      ++batches_;
    }
    entries_.push_back(std::move(en));
  }

  /// The position of checkpoint `id`'s barrier on the channel (also for a
  /// sender that ended before it, which sends no barrier).
  void barrier(uint64_t id) {
    if (recording_stopped())
      valid_from_ = id;  // complete again from this barrier on
    channel_element e{channel_element::kind::barrier, nullptr, {}, id};
    entries_.push_back({std::move(e), 0});
  }

  /// Checkpoint `id` completed: the receiver will never need what preceded
  /// barrier `id` again.
  void truncate(uint64_t id) {
    // Written first, so that the erase below finds them (a failed write
    // lost the log: then there is nothing left to truncate).
    (void)flush_spills();
    auto it = find_barrier(id);
    if (it == entries_.end())
      return;
    std::vector<uint64_t> keys;
    for (auto p = entries_.begin(); p != std::next(it); ++p)
      forget(*p, keys);
    if (!keys.empty())
      (void)budget_->spill->erase_many(keys);  // a failed erase only leaves dead values
    entries_.erase(entries_.begin(), std::next(it));
    base_ = id;
    if (lost_ && valid_from_ && *valid_from_ <= id) {
      lost_ = false;
      valid_from_.reset();
    }
  }

  /// True when the log holds everything after barrier `from` (0: since the
  /// sender started), so `replay(from)` can serve it.
  bool can_replay(uint64_t from) const {
    if (find_barrier(from) != entries_.end())
      return !lost_ || (valid_from_ && *valid_from_ <= from);
    return !lost_ && from == base_;
  }

  /// Copies of what followed barrier `from`, barriers left out (a replay
  /// happens after the checkpoints in progress were aborted); nullopt when
  /// the log lost part of it to the memory bound.
  std::optional<std::vector<channel_element>> replay(uint64_t from) {
    if (!can_replay(from) || !flush_spills())
      return std::nullopt;
    auto it = find_barrier(from);
    it = it == entries_.end() ? entries_.begin() : std::next(it);
    std::vector<channel_element> out;
    for (; it != entries_.end(); ++it) {
      const auto& e = it->e;
      if (e.k == channel_element::kind::barrier)
        continue;
      channel_element c = e;
      if (e.k == channel_element::kind::batch) {
        if (it->spilled == 0) {
          c.batch = copier_.clone(*e.batch);
        } else {
          auto bytes = budget_->spill->get(it->spilled);
          if (!bytes)
            return std::nullopt;  // LMDB failed: the replay cannot be whole
          try {
            c.batch = copier_.decode(bytes.value(), it->records);
          } catch (const std::exception&) {
            return std::nullopt;
          }
        }
      }
      out.push_back(std::move(c));
    }
    return out;
  }

  uint64_t bytes() const noexcept { return bytes_; }
  uint64_t batches() const noexcept { return batches_; }
  /// Batches of the log kept in the spill store rather than in memory.
  uint64_t spilled() const noexcept { return spilled_; }
  /// The log stopped recording at the memory bound (and waits for a barrier
  /// and its completion to be whole again).
  bool lost() const noexcept { return lost_; }

private:
  struct entry {
    channel_element e;
    uint64_t bytes = 0;    ///< Memory taken from the budget (0: none).
    uint64_t spilled = 0;  ///< Key in the spill store (0: the batch is in memory).
    uint32_t records = 0;  ///< Of a spilled batch.
  };

  /// Batches encoded for the spill store, written together (one LMDB
  /// transaction per `spill_group` batches or `spill_group_bytes`).
  static constexpr size_t spill_group = 32;
  static constexpr size_t spill_group_bytes = size_t{1} << 20;

  bool flush_spills() {
    if (pending_.empty())
      return true;
    const bool ok = static_cast<bool>(budget_->spill->put_many(pending_));
    pending_.clear();
    pending_bytes_ = 0;
    if (!ok)
      lose();  // entries refer to values that were never written
    return ok;
  }

  /// Keeps the batch of `en` in the spill store instead of memory; false
  /// when there is none, the records have no codec, or LMDB fails.
  bool spill(entry& en) {
    const auto& store = budget_->spill;
    if (!store || !copier_.encode || !copier_.decode)
      return false;
    std::string bytes;
    copier_.encode(*en.e.batch, bytes);
    const uint64_t key = store->next_key();
    pending_bytes_ += bytes.size();
    pending_.emplace_back(key, std::move(bytes));
    en.records = static_cast<uint32_t>(en.e.batch->size());
    en.e.batch = nullptr;
    en.bytes = 0;
    en.spilled = key;
    ++batches_;
    ++spilled_;
    entries_.push_back(std::move(en));
    if (pending_.size() >= spill_group || pending_bytes_ >= spill_group_bytes)
      return flush_spills() || true;  // a failed write lost the log: nothing more to do
    return true;
  }

  bool recording_stopped() const noexcept { return lost_ && !valid_from_; }

  std::deque<entry>::const_iterator find_barrier(uint64_t id) const {
    return std::find_if(entries_.begin(), entries_.end(), [id](const entry& en) {
      return en.e.k == channel_element::kind::barrier && en.e.checkpoint == id;
    });
  }
  std::deque<entry>::iterator find_barrier(uint64_t id) {
    return std::find_if(entries_.begin(), entries_.end(), [id](const entry& en) {
      return en.e.k == channel_element::kind::barrier && en.e.checkpoint == id;
    });
  }

  void forget(const entry& en, std::vector<uint64_t>& spilled_keys) {
    if (en.spilled != 0) {
      spilled_keys.push_back(en.spilled);
      --batches_;
      --spilled_;
      return;
    }
    if (en.bytes == 0)
      return;
    budget_->give(en.bytes);
    bytes_ -= en.bytes;
    --batches_;
  }

  /// Over the memory bound: drop everything and stop recording until the
  /// next barrier.
  void lose() {
    release();
    lost_ = true;
    valid_from_.reset();
  }

  void release() {
    pending_.clear();  // never written: nothing to erase
    pending_bytes_ = 0;
    std::vector<uint64_t> keys;
    for (auto& en : entries_)
      forget(en, keys);
    if (!keys.empty())
      (void)budget_->spill->erase_many(keys);  // missing keys are skipped
    entries_.clear();
  }

  std::shared_ptr<recovery_budget> budget_;
  batch_copier copier_;
  std::deque<entry> entries_;
  uint64_t bytes_ = 0;
  uint64_t batches_ = 0;
  uint64_t spilled_ = 0;
  std::vector<std::pair<uint64_t, std::string>> pending_;  ///< Spills not written yet.
  size_t pending_bytes_ = 0;
  uint64_t base_ = 0;  ///< Everything after barrier `base_` (0: the start) is here.
  bool lost_ = false;
  std::optional<uint64_t> valid_from_;
};

}  // namespace sluice::actors
