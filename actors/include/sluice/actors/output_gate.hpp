#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

#include "sluice/actors/channel_element.hpp"
#include "sluice/actors/in_flight_log.hpp"
#include "sluice/partitioner.hpp"
#include "sluice/record.hpp"
#include "sluice/time.hpp"

namespace sluice::actors {

/// The sending side of one edge for one upstream instance: partitions records
/// into per-target buffers, cuts batches (`batch_size`), and sends them only
/// with credit. What cannot be sent waits in a per-target queue, and
/// watermarks, idleness and end-of-stream wait behind the data ahead of them.
///
/// Pure logic: `send` is how an element leaves (the task wraps a CAF send), so
/// credit accounting is testable without actors. Used by one task's thread.
class output_gate {
public:
  using send_fn = std::function<void(size_t target, channel_element&&)>;

  output_gate(std::unique_ptr<partitioner_base> part, uint32_t credits, uint32_t batch_size,
              send_fn send)
      : part_(std::move(part)),
        batch_size_(batch_size),
        send_(std::move(send)),
        out_(part_->targets()),
        initial_credits_(credits) {
    for (auto& o : out_)
      o.credits = credits;
  }

  /// Keeps an in-flight log per target (local recovery): what was handed to
  /// a channel since its receiver's last completed checkpoint.
  void keep_logs(const std::shared_ptr<recovery_budget>& budget, const batch_copier& copier) {
    logs_.clear();
    for (size_t t = 0; t < out_.size(); ++t)
      logs_.emplace_back(budget, copier);
  }
  bool has_logs() const noexcept { return !logs_.empty(); }

  /// A replacement of the failed task that owned this gate sends through
  /// `send` from now on.
  void set_send(send_fn send) { send_ = std::move(send); }

  // -- local recovery --------------------------------------------------------

  /// Checkpoint `id`'s position on every channel, without sending a barrier
  /// (a sender that ended snapshots without one).
  void mark(uint64_t id) {
    for (auto& l : logs_)
      l.barrier(id);
  }
  /// Checkpoint `id` completed: the logs drop what preceded its barrier.
  void truncate(uint64_t id) {
    for (auto& l : logs_)
      l.truncate(id);
  }
  bool can_replay(size_t t, uint64_t from) const {
    return t < logs_.size() && logs_[t].can_replay(from);
  }
  /// The receiver of target `t` was replaced by one restored from checkpoint
  /// `from`: everything logged after barrier `from` is sent again, first,
  /// with the full credits of a new channel. Returns the batches to resend,
  /// or nullopt when the log cannot serve (nothing changes then).
  std::optional<uint64_t> replay(size_t t, uint64_t from) {
    if (t >= logs_.size())
      return std::nullopt;
    auto elements = logs_[t].replay(from);
    if (!elements)
      return std::nullopt;
    auto& o = out_[t];
    o.queue.clear();
    o.queued_batches = 0;
    o.credits = initial_credits_;
    o.sent = 0;
    uint64_t batches = 0;
    for (auto& e : *elements) {
      if (e.k == channel_element::kind::batch)
        ++o.queued_batches, ++batches;
      o.queue.push_back(std::move(e));
    }
    pump(t);
    return batches;
  }
  /// A replacement adopted this gate: nothing goes out until each receiver
  /// told how many credits it returned (`sync_credits`).
  void hold_credits() {
    for (auto& o : out_)
      o.credits = 0;
  }
  /// The receiver of target `t` returned `returned` credits in all: the
  /// credits in hand are those of the batches it has not processed yet.
  void sync_credits(size_t t, uint64_t returned) {
    auto& o = out_[t];
    const uint64_t outstanding = o.sent > returned ? o.sent - returned : 0;
    o.credits =
        outstanding >= initial_credits_ ? 0 : initial_credits_ - static_cast<uint32_t>(outstanding);
    pump(t);
  }
  /// Bytes and batches the logs hold.
  uint64_t log_bytes() const noexcept {
    uint64_t n = 0;
    for (auto& l : logs_)
      n += l.bytes();
    return n;
  }

  size_t targets() const noexcept { return out_.size(); }

  /// Partitions the records of `b`; full buffers are cut into batches.
  void add(batch_base& b, bool consume) {
    part_->add(b, consume);
    for (size_t t = 0; t < out_.size(); ++t)
      if (part_->buffered(t) >= batch_size_)
        cut(t);
  }

  /// Sends every non-empty buffer as a batch (flush interval elapsed).
  void flush() {
    for (size_t t = 0; t < out_.size(); ++t)
      if (part_->buffered(t) > 0)
        cut(t);
  }

  bool has_buffered() const noexcept {
    for (size_t t = 0; t < out_.size(); ++t)
      if (part_->buffered(t) > 0)
        return true;
    return false;
  }

  /// Event time advanced to `wm`: goes out after the data buffered so far.
  void watermark(timestamp wm) {
    for (size_t t = 0; t < out_.size(); ++t) {
      if (part_->buffered(t) > 0)
        out_[t].pending_wm = wm;
      else
        enqueue(t, {channel_element::kind::watermark, nullptr, wm, 0});
    }
  }

  /// Marks all channels idle (or active again: then the element repeats the
  /// channel's last watermark, which is how a receiver learns it, as any
  /// watermark re-activates its channel).
  void idle(bool is_idle) {
    flush();
    for (size_t t = 0; t < out_.size(); ++t)
      enqueue(t, {is_idle ? channel_element::kind::idle : channel_element::kind::active, nullptr,
                  is_idle ? timestamp{} : out_[t].last_wm, 0});
  }

  /// Checkpoint barrier: flushes, then the barrier follows the data on every
  /// channel (barriers need no credit).
  void barrier(uint64_t checkpoint) {
    flush();
    for (size_t t = 0; t < out_.size(); ++t) {
      channel_element e{channel_element::kind::barrier, nullptr, {}, checkpoint};
      enqueue(t, std::move(e));
    }
  }

  /// Latency marker (Flink's latency tracking): goes to one target, the next
  /// in turn, behind the records buffered for it — like a watermark it
  /// waits for them to be cut, so it sees the delay they see. A newer marker
  /// replaces one still waiting. Needs no credit.
  void latency_marker(int64_t marked_us) {
    if (out_.empty())
      return;
    const size_t t = next_marker_target_++ % out_.size();
    if (part_->buffered(t) > 0)
      out_[t].pending_marker_us = marked_us;
    else
      enqueue(t, {channel_element::kind::latency, nullptr, {}, 0, marked_us});
  }

  /// End of stream: flushes and sends end-of-stream on every channel.
  void end() {
    flush();
    for (size_t t = 0; t < out_.size(); ++t)
      enqueue(t, {channel_element::kind::eos, nullptr, {}, 0});
  }

  /// The receiver of target `t` processed `n` batches.
  void credit(size_t t, uint32_t n) {
    out_[t].credits += n;
    pump(t);
  }

  /// True when some target has `limit` or more batches waiting for credit:
  /// the task should stop taking new input.
  bool backpressured(uint32_t limit = 2) const noexcept {
    for (auto& o : out_)
      if (o.queued_batches >= limit)
        return true;
    return false;
  }

  /// True when everything was handed to `send`.
  bool drained() const noexcept {
    for (auto& o : out_)
      if (!o.queue.empty())
        return false;
    return !has_buffered();
  }

  uint32_t credits(size_t t) const noexcept { return out_[t].credits; }
  /// Batches sent so far (over every target).
  uint64_t batches_sent() const noexcept { return batches_sent_; }
  /// Batches sent whose receivers have not processed them yet (credits in
  /// use), over every target.
  uint64_t in_flight() const noexcept {
    uint64_t n = 0;
    for (auto& o : out_)
      n += initial_credits_ > o.credits ? initial_credits_ - o.credits : 0;
    return n;
  }
  /// Batches waiting here for credit, over every target.
  uint64_t waiting() const noexcept {
    uint64_t n = 0;
    for (auto& o : out_)
      n += o.queued_batches;
    return n;
  }
  size_t queued_batches(size_t t) const noexcept { return out_[t].queued_batches; }

private:
  struct target_state {
    uint32_t credits = 0;
    size_t queued_batches = 0;
    std::deque<channel_element> queue;
    std::optional<timestamp> pending_wm;
    int64_t pending_marker_us = 0;         ///< A latency marker waiting for the next cut; 0: none.
    timestamp last_wm = timestamp::min();  ///< Newest watermark handed to the channel.
    /// Batches sent to the current receiver (credit accounting when a
    /// replacement task adopts the gate).
    uint64_t sent = 0;
  };

  void cut(size_t t) {
    enqueue(t, {channel_element::kind::batch, part_->take(t), {}, 0});
    if (auto wm = std::exchange(out_[t].pending_wm, std::nullopt))
      enqueue(t, {channel_element::kind::watermark, nullptr, *wm, 0});
    if (const int64_t us = std::exchange(out_[t].pending_marker_us, 0); us != 0)
      enqueue(t, {channel_element::kind::latency, nullptr, {}, 0, us});
  }

  void enqueue(size_t t, channel_element&& e) {
    auto& o = out_[t];
    if (e.k == channel_element::kind::watermark)
      o.last_wm = e.wm;
    if (!logs_.empty())
      logs_[t].append(e);
    if (o.queue.empty() && (e.k != channel_element::kind::batch || o.credits > 0)) {
      if (e.k == channel_element::kind::batch) {
        --o.credits;
        ++o.sent;
        ++batches_sent_;
      }
      send_(t, std::move(e));
      return;
    }
    if (e.k == channel_element::kind::batch)
      ++o.queued_batches;
    o.queue.push_back(std::move(e));
  }

  void pump(size_t t) {
    auto& o = out_[t];
    while (!o.queue.empty()) {
      auto& e = o.queue.front();
      if (e.k == channel_element::kind::batch) {
        if (o.credits == 0)
          return;
        --o.credits;
        --o.queued_batches;
        ++o.sent;
        ++batches_sent_;
      }
      send_(t, std::move(e));
      o.queue.pop_front();
    }
  }

  std::unique_ptr<partitioner_base> part_;
  uint32_t batch_size_;
  send_fn send_;
  std::vector<target_state> out_;
  uint32_t initial_credits_ = 0;
  uint64_t batches_sent_ = 0;
  size_t next_marker_target_ = 0;
  std::vector<in_flight_log> logs_;  ///< Per target, when local recovery is on.
};

}  // namespace sluice::actors
