#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "sluice/actors/job_graph.hpp"
#include "sluice/actors/metrics_registry.hpp"
#include "sluice/actors/operator_metrics.hpp"
#include "sluice/dead_letter.hpp"
#include "sluice/operator.hpp"
#include "sluice/state/snapshot_store.hpp"
#include "task/output_side.hpp"

namespace sluice::actors {

/// The operators of one task instance (a vertex's chain, head first) and
/// their ports: drives every call into the operators and moves what they
/// emit — port 0 of a chained operator straight into the next one, other
/// ports into the task's `output_side`, unconsumed dead letters to a hook.
/// Also takes and restores the chain's snapshots.
///
/// Lifecycle: built when the task starts, `open` (with restore) once, then
/// `feed` / `advance_watermark` / `fire_timers` / `snapshot` as the task
/// decides, `end_input` once. No actors: the host calls it from its own
/// thread, and tests drive it directly. An operator exception propagates to
/// the caller; `current_name()` tells which operator threw.
class operator_chain {
public:
  /// What leaves the chain other than through its gates.
  struct hooks {
    /// Dead letters no edge consumes (the supervisor writes them to a file).
    std::function<void(std::vector<dead_letter>&&)> dead_letters;
    /// Some operator wants a processing-time timer at this time.
    std::function<void(timestamp)> timer;
  };

  /// Creates the operators of instance `instance` of `vertex`; `clk` is their
  /// processing time, `out` receives what they emit on network edges.
  operator_chain(const job_graph& g, uint32_t vertex, uint32_t instance, const sluice::clock& clk,
                 output_side& out, hooks h);

  /// Opens every operator, restoring it from `restore` (read from `store`)
  /// first when given; `checkpointing` tells sinks that checkpoints publish.
  void open(bool checkpointing, const state::checkpoint_meta* restore,
            state::snapshot_store* store);

  size_t size() const noexcept { return ops_.size(); }
  operator_base& head() noexcept { return *ops_[0].op; }
  /// The head as a source, or null when the task has inputs.
  source_base* source() noexcept { return dynamic_cast<source_base*>(ops_[0].op.get()); }
  /// True when the chain ends in a sink (no output port).
  bool ends_in_sink() const { return ops_.back().op->num_ports() == 0; }

  /// Runs a batch of input `input` through the chain.
  void feed(size_t input, batch_base& b) { feed(0, input, b); }
  /// Moves what the head emitted outside `feed` (a source's poll, an actor
  /// stage's reply) down the chain.
  void drain_head() { drain(0); }
  /// Event time reached `wm` at operator `from` (1 for a source's chain:
  /// the source itself declared it); then it goes out on every gate.
  void advance_watermark(timestamp wm, size_t from);
  /// Fires the processing-time timers due at `now`.
  void fire_timers(timestamp now);
  /// All input ended: `end_input` and `close` every operator, then the
  /// gates send end-of-stream.
  void end_input();
  void notify_checkpoint_complete(uint64_t id);

  /// Muted (a replacement replaying what its failed predecessor did): what
  /// the operators emit on network edges and as unconsumed dead letters is
  /// dropped — the predecessor sent it already — while chained operators
  /// still get their input. Watermarks and end of stream are not sent either.
  void mute(bool on) noexcept { muted_ = on; }
  bool muted() const noexcept { return muted_; }
  /// Sets every operator's watermark without calling it (a replacement
  /// starts from the event time its predecessor had at the checkpoint).
  void restore_watermark(timestamp wm);
  /// Sets each operator's counters (head first) to `counts`: a replacement
  /// counts on from its predecessor's figures at the checkpoint.
  void set_counts(const std::vector<operator_metrics>& counts);
  /// The earliest processing-time timer an operator asked for.
  std::optional<timestamp> pending_timer() const;

  /// Serialises every operator's state for checkpoint `id`.
  std::vector<state::snapshot_store::entry> snapshot(uint64_t id);

  /// The operator the chain called last (the one that threw, after an exception).
  const std::string& current_name() const noexcept { return ops_[current_].m.name; }
  /// Names the head as the operator at fault (an actor stage whose user
  /// actor failed, outside any call into the chain).
  void blame_head() noexcept { current_ = 0; }
  operator_metrics& head_metrics() noexcept { return ops_[0].m; }
  std::vector<operator_metrics> metrics() const;
  /// Copies every operator's counters and watermark into its entry of the
  /// process's metrics_registry (relaxed stores; once per batch).
  void publish_metrics() noexcept;

  /// A latency marker reached the sink that ends the chain `us` after its
  /// source emitted it (see live_operator::latency).
  void record_latency(int64_t us) { ops_.back().live->latency.record(us); }

  /// Figures of the task running the chain (see live_operator).
  struct task_figures {
    uint64_t batches_in = 0, batches_out = 0, input_held = 0, input_withheld = 0,
             credits_in_use = 0, output_waiting = 0, backpressured_ms = 0;
    int64_t backpressured_since_ms = 0;  ///< wall clock; 0: not backpressured
  };
  /// Publishes them on every operator of the chain (relaxed stores).
  void publish_task(const task_figures& f) noexcept;

private:
  struct link {
    uint32_t node = 0;
    std::string uid;
    std::unique_ptr<operator_base> op;
    std::unique_ptr<operator_context> ctx;
    /// Per port (the last one is the dead-letter port): gates it feeds.
    std::vector<std::vector<uint32_t>> port_gates;
    bool port0_chained = false;
    operator_metrics m;
    std::shared_ptr<live_operator> live;
  };

  void feed(size_t k, size_t input, batch_base& b);
  void drain(size_t k);
  void restore(size_t k, const state::checkpoint_meta& meta, state::snapshot_store& store);

  const job_graph& graph_;
  uint32_t instance_;
  output_side& out_;
  hooks hooks_;
  std::vector<link> ops_;
  size_t current_ = 0;
  bool muted_ = false;
};

}  // namespace sluice::actors
