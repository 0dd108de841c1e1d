#pragma once

#include <algorithm>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <vector>

#include "sluice/actors/in_flight_log.hpp"
#include "sluice/actors/input_gate.hpp"
#include "sluice/actors/operator_metrics.hpp"
#include "sluice/time.hpp"

namespace sluice::actors {

/// The nondeterminism of one operator instance since its last completed
/// checkpoint (Clonos' determinants): the order in which it took elements
/// from its input channels, the processing-time timers it fired (and at what
/// time), and every processing time its operators read. Replayed in order
/// after a restore from that checkpoint, with the same input per channel,
/// they bring a replacement instance to exactly the state of the one that
/// failed.
///
/// The log lives outside the task actor (the supervisor holds it with the
/// instance's output side), so it survives the actor's failure. An
/// operation is recorded only once it completed: a failure part-way through
/// leaves it out (with the clock reads it made), and the replacement does it
/// again, live. Marks record the input side's event-time state at each
/// snapshot, which the replacement starts from.
///
/// Pure logic, used by one task's thread at a time.
class determinant_log {
public:
  enum class kind : uint8_t {
    arrival,  ///< The next element of input channel `channel` was processed.
    timer,    ///< Processing-time timers were fired at time `t`.
    clock,    ///< An operator read processing time `t` (before the next arrival or timer).
  };
  struct entry {
    kind k = kind::arrival;
    uint32_t channel = 0;
    int64_t t = 0;
  };

  /// Where a replay starts: the input side's state at the checkpoint and
  /// what followed.
  struct replay_plan {
    input_gate gate;
    std::vector<entry> entries;
    /// Each operator's counters at the mark, head first (so the replacement
    /// counts on where its predecessor was: the summary and the fault rules'
    /// record numbers stay right).
    std::vector<operator_metrics> counts;
  };

  explicit determinant_log(std::shared_ptr<recovery_budget> budget) : budget_(std::move(budget)) {}
  ~determinant_log() { budget_->give(taken_); }
  determinant_log(const determinant_log&) = delete;
  determinant_log& operator=(const determinant_log&) = delete;

  // -- recording -----------------------------------------------------------

  void read_clock(timestamp t) { reads_.push_back(t.ms); }
  void arrival(uint32_t channel) { commit({kind::arrival, channel, 0}); }
  void timer(timestamp now) { commit({kind::timer, 0, now.ms}); }
  /// The operation in progress failed: its clock reads are not kept.
  void abandon() { reads_.clear(); }

  /// The instance snapshotted checkpoint `id` (or started from it: `id` is
  /// the restored checkpoint, 0 for a fresh start) with this input state.
  void mark(uint64_t id, const input_gate& gate, std::vector<operator_metrics> counts = {}) {
    reads_.clear();
    if (lost_ && !valid_from_)
      valid_from_ = id;
    marks_.push_back({id, first_ + entries_.size(), gate, std::move(counts)});
  }

  /// Checkpoint `id` completed: what preceded its mark is never replayed.
  void truncate(uint64_t id) {
    auto m =
        std::find_if(marks_.begin(), marks_.end(), [id](const mark_t& x) { return x.id == id; });
    if (m == marks_.end())
      return;
    const uint64_t drop = m->position - first_;
    entries_.erase(entries_.begin(), entries_.begin() + static_cast<std::ptrdiff_t>(drop));
    first_ = m->position;
    marks_.erase(marks_.begin(), m);
    if (lost_ && valid_from_ && *valid_from_ <= id) {
      lost_ = false;
      valid_from_.reset();
    }
    shrink();
  }

  /// True when everything since the mark of checkpoint `from` is here.
  bool can_replay(uint64_t from) const {
    auto m = find(from);
    if (!m)
      return false;
    // A loss drops every mark: a mark found after one was made since.
    return !lost_ || (valid_from_ && *valid_from_ <= from);
  }

  /// What a replacement restored from checkpoint `from` replays; nullopt
  /// when the log cannot serve it (no mark for it, or memory ran out since).
  std::optional<replay_plan> replay(uint64_t from) const {
    if (!can_replay(from))
      return std::nullopt;
    auto m = find(from);
    replay_plan p{m->gate, {}, m->counts};
    p.entries.assign(entries_.begin() + static_cast<std::ptrdiff_t>(m->position - first_),
                     entries_.end());
    return p;
  }

  size_t size() const noexcept { return entries_.size(); }
  uint64_t bytes() const noexcept { return entries_.size() * sizeof(entry); }
  bool lost() const noexcept { return lost_; }

private:
  struct mark_t {
    uint64_t id = 0;
    uint64_t position = 0;  ///< Absolute index of the first entry after the mark.
    input_gate gate{0};
    std::vector<operator_metrics> counts;
  };
  static constexpr uint64_t chunk = 4096;  ///< Budget taken in steps of this many bytes.

  const mark_t* find(uint64_t id) const {
    for (auto& m : marks_)
      if (m.id == id)
        return &m;
    return nullptr;
  }

  void commit(entry e) {
    if (lost_ && !valid_from_) {
      reads_.clear();
      return;  // stopped recording until the next mark
    }
    const uint64_t need = (entries_.size() + reads_.size() + 1) * sizeof(entry);
    while (need > taken_) {
      if (!budget_->take(chunk, true)) {
        lose();
        return;
      }
      taken_ += chunk;
    }
    for (int64_t t : reads_)
      entries_.push_back({kind::clock, 0, t});
    reads_.clear();
    entries_.push_back(e);
  }

  void lose() {
    entries_.clear();
    reads_.clear();
    lost_ = true;
    valid_from_.reset();
    // Marks from before the loss cannot be replayed from any more; the next
    // mark starts a whole log again.
    marks_.clear();
    shrink();
  }

  void shrink() {
    const uint64_t need = entries_.size() * sizeof(entry);
    while (taken_ >= need + 2 * chunk) {
      budget_->give(chunk);
      taken_ -= chunk;
    }
  }

  std::shared_ptr<recovery_budget> budget_;
  std::deque<entry> entries_;
  std::vector<int64_t> reads_;  ///< Clock reads of the operation in progress.
  std::vector<mark_t> marks_;
  uint64_t first_ = 0;  ///< Absolute index of entries_.front().
  uint64_t taken_ = 0;
  bool lost_ = false;
  std::optional<uint64_t> valid_from_;
};

}  // namespace sluice::actors
