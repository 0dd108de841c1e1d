#pragma once

#include <caf/all.hpp>

#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sluice/actors/actor_stage.hpp"
#include "sluice/actors/fault_injector.hpp"
#include "sluice/actors/task.hpp"
#include "task/input_channels.hpp"
#include "task/operator_chain.hpp"
#include "task/output_side.hpp"
#include "task/recorded_clock.hpp"
#include "task/source_driver.hpp"

namespace sluice::actors {

/// The actor hosting one instance of a vertex (see task.hpp for its
/// lifecycle and protocol). A thin CAF host over the task's parts:
/// `input_channels` (what arrives, credits, alignment), `operator_chain`
/// (the operators), `output_side` (gates, credits to send), `source_driver`
/// (polling a source). It turns messages into calls on them and their
/// decisions into messages and self-scheduled wake-ups.
///
/// Its member functions live in two files: task.cpp (the messages, and what
/// happens to everything arriving on an input channel) and
/// task/task_lifecycle.cpp (start, sources, flush and timers, checkpoints,
/// end and failure).
class task_actor : public caf::event_based_actor {
public:
  task_actor(caf::actor_config& cfg, task_spec spec);

  void on_exit() override;
  caf::behavior make_behavior() override;

private:
  // -- input (task.cpp) ----------------------------------------------------
  /// Everything that arrives on a channel comes here: processed now, or
  /// kept while a replacement replays (see drive_replay).
  void on_arrival(arrival&& a);
  void dispatch(arrival&& a);
  void on_data(uint32_t ch, batch_ptr& b);
  void on_stage_data(uint32_t ch, batch_ptr& b);
  void on_watermark(uint32_t ch, timestamp wm);
  void on_status(uint32_t ch, channel_status s);
  void on_end(uint32_t ch);
  void on_barrier(uint32_t ch, checkpoint_id id);
  void on_latency_marker(int64_t marked_us);
  void maybe_emit_latency_marker();
  static int64_t wall_clock_us();
  void release_held();
  void release_credit(uint32_t ch);
  void send_credit(uint32_t ch);
  void on_credit(uint32_t gate, uint32_t target, uint32_t n);
  void update_idleness();
  std::string upstream_name(uint32_t ch) const;

  // -- lifecycle (task/task_lifecycle.cpp) ---------------------------------
  void start();
  void poll();
  void schedule_poll(duration delay);
  void on_flush();
  void schedule_timer(timestamp t);
  void on_timer();
  void on_trigger(uint64_t id);
  void on_complete(uint64_t id);
  void snapshot_and_forward(uint64_t id, std::function<void()> then = {});
  void write_snapshot(uint64_t id);
  void decline(uint64_t id, std::string reason);
  void end_input();
  void transmit(size_t gate, size_t target, channel_element&& e);
  void after_emit();
  void try_finish();

  template <class F>
  void guarded(F&& f) {
    if (failed_)
      return;
    try {
      if (outputs_)
        adds_before_ = outputs_->adds();
      f();
    } catch (const injected_kill&) {
      killed();
    } catch (const std::exception& e) {
      fail(e.what());
    }
  }
  // -- actor stages --------------------------------------------------------
  void stage_wait();
  void stage_reply(const std::function<void()>& continuation);
  void in_stage_order(std::function<void()> f);
  void stage_failed(const caf::error& err);
  const std::string& stage_name() const;

  // -- local recovery (task/task_recovery.cpp) ------------------------------
  /// Builds the output gates, or adopts those of the failed predecessor.
  void setup_outputs();
  /// A replacement: restores the input side and starts replaying.
  void begin_replay();
  /// Processes what the determinants say comes next, as far as it arrived.
  void drive_replay();
  void finish_replay();
  /// Records that the operation on channel `ch` completed.
  void record_arrival(uint32_t ch);
  void on_replay_request(uint32_t gate, uint32_t target, caf::actor& to, uint64_t from);
  void on_new_upstream(uint32_t ch, caf::actor& from);
  void on_abort_through(uint64_t id);

  void fail(std::string cause, errc code = errc::operator_failed);
  void abandon_operation(const char* how);
  /// An injected kill (`kill:` fault rule): the actor quits as if killed
  /// from outside, reporting nothing.
  void killed();
  void report_failure(std::string cause, errc code = errc::operator_failed);

  task_spec spec_;
  std::shared_ptr<const actors::clock> clock_;  ///< The job's processing time.
  /// Per input channel: who sent its data (credits go back there).
  std::vector<caf::actor> upstream_;
  input_channels inputs_;
  std::shared_ptr<output_side> outputs_;
  /// The operators' processing time (recorded / replayed with local recovery).
  recorded_clock op_clock_;
  /// Credits returned per input channel (local recovery: a replacement of
  /// the sender learns from it how many it holds).
  std::vector<uint64_t> returned_;
  /// Replaying the failed predecessor's determinants (a replacement).
  bool replaying_ = false;
  std::deque<arrival> replay_pending_;
  std::vector<determinant_log::entry> replay_;
  size_t replay_pos_ = 0;
  /// `outputs_->adds()` when the current operation began.
  uint64_t adds_before_ = 0;
  std::unique_ptr<operator_chain> chain_;
  std::unique_ptr<source_driver> driver_;
  actor_stage_base* stage_ = nullptr;
  caf::actor user_;
  /// An actor stage awaits one reply of its user actor at a time (a batch,
  /// a snapshot, the restore); what the task would do meanwhile waits here
  /// and runs after the reply, in order.
  bool stage_busy_ = false;
  /// The stage's actor answered a snapshot request of this attempt: from
  /// then on a failed one is an ordinary failure, not a refusal.
  bool stage_snapshotted_ = false;
  std::deque<std::function<void()>> stage_waiting_;
  std::string position_;  ///< What the chain is processing (for failure reports).
  std::optional<timestamp> timer_scheduled_;
  timestamp flush_due_;
  bool poll_scheduled_ = false;
  bool flush_scheduled_ = false;
  bool blocked_ = false;  ///< A source poll found the output backpressured.
  uint64_t batches_in_ = 0;
  int64_t next_marker_us_ = 0;
  /// When the first barrier of the checkpoint being aligned arrived.
  std::chrono::steady_clock::time_point
      alignment_start_;  ///< A source's next latency marker is due (wall clock, µs).
  /// Since when the output is backpressured (none: it is not), and the time
  /// it was before (live metrics).
  int64_t backpressured_since_ms_ = 0;  ///< wall clock; 0: not backpressured
  int64_t backpressured_ms_ = 0;        ///< before the current backpressure
  /// Publishes the task's figures (after every batch and credit).
  void publish_task_metrics();
  bool idle_ = false;  ///< The outputs were marked idle because every input is.
  /// The checkpoint this task last snapshotted (or was restored from): the
  /// epoch its dead letters are staged under until a checkpoint publishes them.
  uint64_t dead_letter_epoch_ = 0;
  bool input_ended_ = false;
  bool closed_ = false;
  bool finished_ = false;
  bool failed_ = false;
};

}  // namespace sluice::actors
