#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <variant>
#include <vector>

#include "sluice/actors/barrier_aligner.hpp"
#include "sluice/actors/input_gate.hpp"
#include "sluice/record.hpp"

namespace sluice::actors {

/// Whether a sender currently produces data (idle senders do not hold back
/// event time).
enum class channel_status {
  active,  ///< Sends data and watermarks.
  idle,    ///< Sends nothing for now; any watermark or data makes it active.
};

/// Records on a channel.
struct data_arrival {
  batch_ptr batch;
};
/// The sender's event time advanced (this also makes an idle channel active).
struct watermark_arrival {
  timestamp wm;
};
/// The sender went idle or active.
struct status_arrival {
  channel_status status;
};
/// The sender ended its stream.
struct end_arrival {};
/// Checkpoint barrier.
struct barrier_arrival {
  checkpoint_id id;
};

/// A latency marker, emitted by a source at wall-clock `marked_us`.
struct latency_arrival {
  int64_t marked_us = 0;
};

/// One element that arrived on input channel `channel`, in channel order.
struct arrival {
  uint32_t channel = 0;
  std::variant<data_arrival, watermark_arrival, status_arrival, end_arrival, barrier_arrival,
               latency_arrival>
      what;
};

/// The input side of a task: per channel, what is held back (before the
/// task started, or while a barrier alignment blocks the channel), the
/// credits withheld while the task's output is backpressured, event time
/// (`input_gate`) and barrier alignment (`barrier_aligner`).
///
/// Pure logic: the host feeds it what arrives, asks what to do, and does the
/// sending. Used by one task's thread.
class input_channels {
public:
  explicit input_channels(size_t channels)
      : gate_(channels), aligner_(channels), withheld_(channels, 0) {}

  size_t size() const noexcept { return withheld_.size(); }

  // -- holding back --------------------------------------------------------

  /// Keeps `a` for later when it cannot be processed now: the task has not
  /// started, or its channel is held back by an alignment. True when kept.
  bool hold(arrival& a) {
    if (!started_) {
      before_start_.push_back(std::move(a));
      return true;
    }
    if (aligner_.blocked(a.channel)) {
      stash_.push_back(std::move(a));
      return true;
    }
    return false;
  }

  /// The task started: returns what arrived before, in arrival order.
  std::vector<arrival> start() {
    started_ = true;
    return std::move(before_start_);
  }

  /// What an alignment held back, in arrival order (after it completed or
  /// was aborted). Elements of channels that a new alignment blocks again
  /// are held again when re-admitted.
  std::deque<arrival> release() { return std::exchange(stash_, {}); }

  // -- event time ----------------------------------------------------------

  /// Data arrived on `c`: the channel is active.
  void on_data(uint32_t c) { gate_.on_data(c); }
  /// A watermark arrived on `c`. Returns the task's watermark if it advanced.
  std::optional<timestamp> on_watermark(uint32_t c, timestamp wm) {
    return gate_.on_watermark(c, wm);
  }
  /// Channel `c` went idle or active. Returns the task's watermark if it advanced.
  std::optional<timestamp> on_status(uint32_t c, channel_status s) {
    return gate_.on_idle(c, s == channel_status::idle);
  }
  /// Every open channel is idle: the task is idle too.
  bool all_idle() const noexcept { return gate_.all_idle(); }

  // -- barriers and end ----------------------------------------------------

  barrier_outcome on_barrier(uint32_t c, checkpoint_id id) { return aligner_.on_barrier(c, id); }

  /// What follows the end of one channel.
  struct end_outcome {
    /// `aligned` when the channel was the last one an alignment waited for.
    barrier_outcome alignment;
    /// The task's watermark, if it advanced.
    std::optional<timestamp> wm;
    /// Every channel ended: the task's input ended.
    bool all_ended = false;
  };
  end_outcome on_end(uint32_t c) {
    end_outcome out;
    out.alignment = aligner_.on_end(c);
    out.wm = gate_.on_end(c);
    out.all_ended = gate_.all_ended();
    return out;
  }

  /// Checkpoints up to `id` were aborted (local recovery of another
  /// instance): true when an alignment was given up (release what it held).
  bool abort_through(checkpoint_id id) { return aligner_.abort_through(id); }

  /// A replacement of a failed instance starts from the event-time state
  /// its predecessor had at the checkpoint it is restored from.
  void restore(const input_gate& g) {
    gate_ = g;
    for (uint32_t c = 0; c < g.size(); ++c)
      if (g.ended(c))
        aligner_.on_end(c);
  }
  const input_gate& gate() const noexcept { return gate_; }

  /// The checkpoint being aligned, if any.
  std::optional<checkpoint_id> aligning() const noexcept { return aligner_.aligning(); }

  // -- credits -------------------------------------------------------------

  /// A batch of channel `c` was processed. Its credit goes back now (true)
  /// unless the task's output is backpressured: then it is withheld (false)
  /// until `return_withheld`.
  bool processed(uint32_t c, bool backpressured) {
    if (!backpressured)
      return true;
    ++withheld_[c];
    return false;
  }

  /// Backpressure ended: calls `give(c)` once per credit withheld on channel
  /// `c`, channel by channel.
  template <class Give>
  void return_withheld(Give&& give) {
    for (uint32_t c = 0; c < withheld_.size(); ++c)
      for (; withheld_[c] > 0; --withheld_[c])
        give(c);
  }
  uint32_t withheld(uint32_t c) const noexcept { return withheld_[c]; }
  /// Credits withheld over every channel.
  uint64_t withheld_total() const noexcept {
    uint64_t n = 0;
    for (auto w : withheld_)
      n += w;
    return n;
  }
  /// Elements held back (before the start, during an alignment).
  size_t held() const noexcept { return stash_.size() + before_start_.size(); }

private:
  input_gate gate_;
  barrier_aligner aligner_;
  std::vector<uint32_t> withheld_;
  bool started_ = false;
  std::vector<arrival> before_start_;
  std::deque<arrival> stash_;
};

}  // namespace sluice::actors
