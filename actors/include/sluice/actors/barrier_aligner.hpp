#pragma once

#include <cstddef>
#include <optional>
#include <vector>

#include "sluice/state/checkpoint_id.hpp"

namespace sluice::actors {

/// What a task does after telling the `barrier_aligner` about a barrier or an
/// ended channel.
struct barrier_outcome {
  enum class status {
    none,     ///< Nothing to do (a channel ended without completing an alignment).
    blocked,  ///< The barrier's channel is held back: buffer what arrives on it until alignment.
    aligned,  ///< Every channel delivered barrier `id`: snapshot, forward it, acknowledge, release
              ///< all.
    ignored,  ///< The barrier is older than the current one (or repeated): drop it.
  };
  status state = status::none;
  /// The barrier concerned (for `blocked`, `aligned`, `ignored`).
  checkpoint_id id;
  /// An older alignment given up because a newer barrier arrived: the task
  /// declines that checkpoint and releases the channels that were held for it.
  std::optional<checkpoint_id> aborted;

  bool is_aligned() const noexcept { return state == status::aligned; }
  bool is_blocked() const noexcept { return state == status::blocked; }
};

/// Aligned checkpoint barriers for one task with N input channels: once a
/// channel delivered barrier `n`, the task holds it back until every other
/// channel delivered `n` too (ended channels count as delivered), so the
/// snapshot contains exactly the records before the barrier on every input.
///
/// A newer barrier during an alignment aborts the older one (as Flink cancels
/// the older checkpoint) and starts aligning the newer; a barrier older than
/// the current or last one is ignored.
///
/// Lifecycle: one per task, built with the task's channel count. The task
/// reports each channel's barriers and end in FIFO order as it processes
/// them; what it buffers behind a blocked channel is reported only once the
/// channel is released. Pure logic: it says which channels to hold, the task
/// buffers. Used by that task's actor thread only.
class barrier_aligner {
public:
  explicit barrier_aligner(size_t channels) : ch_(channels) {}

  size_t size() const noexcept { return ch_.size(); }

  /// Barrier `id` reached the front of channel `c`.
  barrier_outcome on_barrier(size_t c, checkpoint_id id) {
    using st = barrier_outcome::status;
    barrier_outcome out{st::ignored, id, std::nullopt};
    if (ch_[c].ended)
      return out;
    if (current_) {
      if (id < *current_)
        return out;
      if (id == *current_) {
        if (ch_[c].delivered)
          return out;
      } else {
        out.aborted = *current_;
        reset();
      }
    } else if (last_ && id <= *last_) {
      return out;
    }
    current_ = id;
    last_ = id;
    ch_[c].delivered = true;
    return finish_if_aligned(out);
  }

  /// Channel `c` ended: it no longer holds back an alignment.
  barrier_outcome on_end(size_t c) {
    ch_[c].ended = true;
    ch_[c].delivered = false;
    barrier_outcome out{barrier_outcome::status::none, current_.value_or(checkpoint_id{}),
                        std::nullopt};
    if (!current_)
      return out;
    out = finish_if_aligned(out);
    if (!out.is_aligned())
      out.state = barrier_outcome::status::none;
    return out;
  }

  /// Checkpoints up to `id` were aborted (a local recovery): an alignment of
  /// one of them is given up (true: release what was held), and their
  /// barriers still on the way are ignored.
  bool abort_through(checkpoint_id id) {
    const bool was = current_ && *current_ <= id;
    if (was)
      reset();
    if (!last_ || *last_ < id)
      last_ = id;
    return was;
  }

  /// True while channel `c` is held back by an alignment in progress.
  bool blocked(size_t c) const noexcept { return current_.has_value() && ch_[c].delivered; }

  /// Open channels that have yet to deliver the barrier being aligned (0 when none is).
  size_t pending_channels() const noexcept {
    if (!current_)
      return 0;
    size_t n = 0;
    for (auto& ch : ch_)
      if (!ch.ended && !ch.delivered)
        ++n;
    return n;
  }

  /// The barrier being aligned, if any.
  std::optional<checkpoint_id> aligning() const noexcept { return current_; }

  bool ended(size_t c) const noexcept { return ch_[c].ended; }

private:
  struct channel {
    bool delivered = false;
    bool ended = false;
  };

  barrier_outcome finish_if_aligned(barrier_outcome out) {
    if (pending_channels() > 0) {
      out.state = barrier_outcome::status::blocked;
      return out;
    }
    out.state = barrier_outcome::status::aligned;
    out.id = *current_;
    reset();
    return out;
  }

  void reset() {
    current_.reset();
    for (auto& ch : ch_)
      ch.delivered = false;
  }

  std::vector<channel> ch_;
  std::optional<checkpoint_id> current_;  ///< Barrier being aligned.
  std::optional<checkpoint_id> last_;     ///< Newest barrier seen (aligned, aborted or current).
};

}  // namespace sluice::actors
