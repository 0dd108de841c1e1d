#include "sluice/actors/task.hpp"

#include <caf/all.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <deque>
#include <exception>

#include "sluice/actors/actor_stage.hpp"
#include "sluice/actors/barrier_aligner.hpp"
#include "sluice/actors/fault_injector.hpp"
#include "sluice/actors/input_gate.hpp"
#include "sluice/actors/messages.hpp"
#include "sluice/actors/output_gate.hpp"

namespace sluice::actors {
namespace {

using std::chrono::milliseconds;

/// One operator of the task's chain with its context and routing.
struct chained_op {
  uint32_t node = 0;
  std::unique_ptr<operator_base> op;
  std::unique_ptr<operator_context> ctx;
  /// Per port (the last one is the dead-letter port): gates it feeds.
  std::vector<std::vector<uint32_t>> port_gates;
  bool port0_chained = false;
  operator_metrics m;
};

/// The actor hosting one instance of a vertex: a chain of operators, its
/// input channels and its output gates. See task.hpp for the lifecycle.
class task_actor : public caf::event_based_actor {
 public:
  task_actor(caf::actor_config& cfg, task_spec spec)
      : caf::event_based_actor(cfg), spec_(std::move(spec)), inputs_(spec_.inputs.size()) {}

  /// Drops strong references to other actors: reference cycles would keep
  /// terminated actors (and the detached snapshot writer) alive.
  void on_exit() override {
    spec_.writer = nullptr;
    spec_.supervisor = nullptr;
    for (auto& g : spec_.gates) g.dest.clear();
    for (auto& in : inputs_) in.upstream = nullptr;
    user_ = nullptr;
  }

  caf::behavior make_behavior() override {
    set_exception_handler([this](caf::scheduled_actor*, std::exception_ptr& ep) -> caf::error {
      try {
        std::rethrow_exception(ep);
      } catch (const std::exception& e) {
        report_failure(e.what());
      } catch (...) {
        report_failure("unknown exception");
      }
      return caf::sec::runtime_error;
    });
    return {
        [this](start_atom) { guarded([&] { start(); }); },
        [this](data_atom, uint32_t ch, batch_ptr& b) {
          // Credits go back to whoever sent the data (the upstream task, or
          // its proxy in a cluster): noted now, as the batch may be processed
          // later (held back by an alignment, or arriving before the start).
          if (ch < inputs_.size() && !inputs_[ch].upstream)
            inputs_[ch].upstream = caf::actor_cast<caf::actor>(current_sender());
          guarded([&] { dispatch(stashed{stashed::kind::data, ch, std::move(b), 0, false, 0}); });
        },
        [this](watermark_atom, uint32_t ch, int64_t ms, bool idle) {
          guarded([&] { dispatch(stashed{stashed::kind::watermark, ch, nullptr, ms, idle, 0}); });
        },
        [this](eos_atom, uint32_t ch) { guarded([&] { dispatch(stashed{stashed::kind::eos, ch, nullptr, 0, false, 0}); }); },
        [this](barrier_atom, uint32_t ch, uint64_t id) {
          guarded([&] { dispatch(stashed{stashed::kind::barrier, ch, nullptr, 0, false, id}); });
        },
        [this](checkpoint_atom, uint64_t id) { guarded([&] { on_trigger(id); }); },
        [this](complete_atom, uint64_t id) {
          guarded([&] {
            for (size_t k = 0; k < ops_.size(); ++k) {
              current_ = k;
              ops_[k].op->notify_checkpoint_complete(id);
            }
            if (ops_.back().op->num_ports() == 0) faults().at(crash_point::after_sink_commit, id);
            send(spec_.supervisor, committed_atom::value, id, spec_.vertex, spec_.instance);
          });
        },
        [this](stop_atom, std::string&) {
          if (user_) send_exit(user_, caf::exit_reason::user_shutdown);
          quit();
        },
        [this](credit_atom, uint32_t gate, uint32_t target, uint32_t n) {
          guarded([&] { on_credit(gate, target, n); });
        },
        [this](poll_atom) { guarded([&] { poll(); }); },
        [this](flush_atom) {
          guarded([&] {
            flush_scheduled_ = false;
            for (auto& g : gates_) g.flush();
            after_emit();
          });
        },
        [this](timer_atom) { guarded([&] { on_timer(); }); },
    };
  }

 private:
  // -- setup ---------------------------------------------------------------

  void start() {
    const auto& g = *spec_.graph;
    const auto& vx = g.vertices()[spec_.vertex];
    const auto& p = g.logical();
    name_ = fmt::format("{}#{}", vx.name, spec_.instance);

    for (size_t i = 0; i < spec_.gates.size(); ++i) {
      auto& gs = spec_.gates[i];
      gates_.emplace_back(std::move(gs.partitioner), spec_.cfg.credits, spec_.cfg.batch_size,
                          [this, i](size_t t, channel_element&& e) { transmit(i, t, std::move(e)); });
    }
    for (size_t k = 0; k < vx.chain.size(); ++k) {
      const auto& node = p.nodes[vx.chain[k]];
      chained_op c;
      c.node = node.id;
      c.op = node.make();
      c.ctx = std::make_unique<operator_context>(node.name, spec_.instance, vx.parallelism, p.max_parallelism,
                                                 clock_);
      c.ctx->set_checkpointing(spec_.store && spec_.cfg.checkpoints.interval.count() > 0);
      if (spec_.restore) c.ctx->set_restored_checkpoint(spec_.restore->id.value);
      c.port_gates.resize(node.num_ports + 1);
      c.m.name = node.name;
      c.m.node = node.id;
      c.m.instance = spec_.instance;
      ops_.push_back(std::move(c));
    }
    const auto& gate_edges = g.gates_of(spec_.vertex);
    for (uint32_t gi = 0; gi < gate_edges.size(); ++gi) {
      const auto& ed = p.edges[gate_edges[gi]];
      for (auto& c : ops_)
        if (c.node == ed.from) c.port_gates[ed.from_port].push_back(gi);
    }
    for (size_t k = 0; k + 1 < ops_.size(); ++k) ops_[k].port0_chained = true;

    source_ = dynamic_cast<source_base*>(ops_[0].op.get());
    stage_ = dynamic_cast<actor_stage_base*>(ops_[0].op.get());
    if (source_ && !spec_.inputs.empty()) throw std::logic_error("a source task cannot have inputs");
    for (size_t k = 0; k < ops_.size(); ++k) {
      current_ = k;
      ops_[k].op->open(*ops_[k].ctx);
      if (spec_.restore) restore(k);
      drain(k);
    }
    if (stage_) {
      user_ = stage_->spawn_user(system());
      link_to(user_);
    }
    if (source_) {
      const auto& node = p.nodes[vx.chain[0]];
      if (node.rate_limit > 0) rate_ = node.rate_limit / vx.parallelism;
      last_refill_ = std::chrono::steady_clock::now();
      schedule_poll(milliseconds{0});
    } else if (spec_.inputs.empty()) {
      throw std::logic_error("task without inputs that is not a source");
    }
    after_emit();
    // What arrived before the start (possible in a cluster, where starts go
    // through one proxy per task and upstream tasks may start first) is
    // processed now, in arrival order.
    started_ = true;
    auto early = std::move(before_start_);
    for (auto& e : early) dispatch(std::move(e));
  }

  // -- checkpoints ---------------------------------------------------------

  /// One element from an input channel, kept while its channel is held back
  /// by a barrier alignment.
  struct stashed {
    enum class kind { data, watermark, eos, barrier };
    kind k;
    uint32_t ch;
    batch_ptr batch;
    int64_t ms;
    bool idle;
    uint64_t id;
  };

  /// Routes an input element: held back while its channel is blocked by an
  /// alignment, processed otherwise.
  void dispatch(stashed&& e) {
    if (!started_) {
      before_start_.push_back(std::move(e));
      return;
    }
    if (aligner_.blocked(e.ch)) {
      stash_.push_back(std::move(e));
      return;
    }
    switch (e.k) {
      case stashed::kind::data: on_data(e.ch, e.batch); break;
      case stashed::kind::watermark: on_watermark(e.ch, e.ms, e.idle); break;
      case stashed::kind::eos: on_eos(e.ch); break;
      case stashed::kind::barrier: on_barrier(e.ch, e.id); break;
    }
  }

  void on_barrier(uint32_t ch, uint64_t id) {
    auto out = aligner_.on_barrier(ch, checkpoint_id{id});
    if (out.aborted) decline(out.aborted->value, "alignment aborted by a newer barrier");
    if (out.is_aligned()) {
      snapshot_and_forward(out.id.value);
      release_stash();
    } else if (out.aborted) {
      release_stash();
    }
  }

  /// Replays what was held back, in arrival order; elements of channels that
  /// a new alignment blocks again are held again.
  void release_stash() {
    auto held = std::move(stash_);
    stash_.clear();
    for (auto& e : held) dispatch(std::move(e));
  }

  /// Source tasks snapshot on the coordinator's trigger; finished tasks too,
  /// with their final state (their channels have ended, so no barrier).
  void on_trigger(uint64_t id) {
    if (!source_ && !closed_) return;  // only sources and finished tasks are triggered
    snapshot_and_forward(id);
  }

  void snapshot_and_forward(uint64_t id) {
    auto t0 = std::chrono::steady_clock::now();
    std::vector<state::snapshot_store::entry> entries;
    std::string declined;
    try {
      const auto& p = spec_.graph->logical();
      for (size_t k = 0; k < ops_.size(); ++k) {
        current_ = k;
        state::snapshot_writer w{p.max_parallelism, id};
        ops_[k].op->snapshot(w);
        const std::string uid = uid_of(p.nodes[ops_[k].node]);
        if (w.has_operator_state())
          entries.push_back({state::snapshot_key{uid, instance_index{spec_.instance}, state::snapshot_key::operator_state},
                             std::move(w.operator_bytes())});
        for (auto& [kg, bytes] : w.keyed_bytes())
          entries.push_back({state::snapshot_key{uid, instance_index{spec_.instance}, key_group{kg}}, std::move(bytes)});
      }
    } catch (const std::exception& e) {
      declined = fmt::format("operator '{}' cannot snapshot: {}", ops_[current_].m.name, e.what());
    }
    auto sync_ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count();
    if (!closed_)
      for (auto& g : gates_) g.barrier(id);
    if (!declined.empty())
      decline(id, declined);
    else if (spec_.writer)
      send(spec_.writer, write_atom::value, id, spec_.vertex, spec_.instance, std::move(entries),
           static_cast<int64_t>(sync_ms));
    after_emit();
  }

  void decline(uint64_t id, std::string reason) {
    send(spec_.supervisor, decline_atom::value, id, spec_.vertex, spec_.instance, std::move(reason));
  }

  /// Restores operator k from the checkpoint: its own operator state when the
  /// parallelism is unchanged, and the keyed state of the key groups it owns.
  void restore(size_t k) {
    const auto& p = spec_.graph->logical();
    const auto& node = p.nodes[ops_[k].node];
    const std::string uid = uid_of(node);
    const auto& meta = *spec_.restore;
    faults().at(crash_point::during_recovery, meta.id.value);
    auto read = spec_.store->read(meta.id, uid);
    if (!read) throw std::runtime_error("cannot restore from checkpoint " + std::to_string(meta.id.value) + ": " + read.error().message);
    auto& entries = read.value();
    if (entries.empty()) return;  // operator added since the checkpoint: starts empty
    uint32_t old_par = 0;
    for (auto& [u, par] : meta.operator_parallelism)
      if (u == uid) old_par = par;
    const uint32_t par = ops_[k].ctx->parallelism();
    const uint32_t lo = first_key_group(instance_index{spec_.instance}, par, p.max_parallelism).value;
    const uint32_t hi = first_key_group(instance_index{spec_.instance + 1}, par, p.max_parallelism).value;
    std::optional<std::string> op_state;
    std::vector<std::string> keyed;
    bool any_op_state = false;
    for (auto& [key, bytes] : entries) {
      if (key.is_operator_state()) {
        any_op_state = true;
        if (old_par == par && key.instance.value == spec_.instance) op_state = std::move(bytes);
      } else if (key.group.value >= lo && key.group.value < hi) {
        keyed.push_back(std::move(bytes));
      }
    }
    if (any_op_state && old_par != par)
      throw std::runtime_error(fmt::format(
          "cannot restore operator '{}' with parallelism {}: it has per-instance state from parallelism {} "
          "(only keyed state can be redistributed)",
          node.name, par, old_par));
    ops_[k].op->restore(state::snapshot_reader{std::move(op_state), std::move(keyed)});
  }

  // -- input ---------------------------------------------------------------

  void on_data(uint32_t ch, batch_ptr& b) {
    gate_.on_data(ch);
    const uint64_t first = ops_[0].m.records_in;
    position_ = fmt::format("batch of {} records from {} (records {}..{} of this instance's input)", b->size(),
                            upstream_name(ch), first + 1, first + b->size());
    if (stage_) {
      ops_[0].m.records_in += b->size();
      current_ = 0;
      stage_->request(
          this, user_, *b,
          [this, ch] {
            guarded([&] {
              drain(0);
              release_credit(ch);
              after_emit();
            });
          },
          [this](const caf::error& err) { fail(fmt::format("actor stage failed: {}", system().render(err))); });
      return;
    }
    feed(0, spec_.inputs[ch].input, *b);
    position_.clear();
    release_credit(ch);
    after_emit();
  }

  void on_watermark(uint32_t ch, int64_t ms, bool idle) {
    std::optional<timestamp> wm;
    if (idle)
      wm = gate_.on_idle(ch, true);
    else if (ms == INT64_MIN)
      wm = gate_.on_idle(ch, false);
    else
      wm = gate_.on_watermark(ch, timestamp::of(ms));
    if (wm) advance_watermark(*wm, 0);
    update_idleness();
    after_emit();
  }

  void on_eos(uint32_t ch) {
    auto aligned = aligner_.on_end(ch);
    if (aligned.is_aligned()) {
      snapshot_and_forward(aligned.id.value);
      release_stash();
    }
    if (auto wm = gate_.on_end(ch)) advance_watermark(*wm, 0);
    if (gate_.all_ended())
      end_input();
    else
      update_idleness();
    after_emit();
  }

  void on_credit(uint32_t gate, uint32_t target, uint32_t n) {
    gates_[gate].credit(target, n);
    if (!backpressured()) {
      for (uint32_t ch = 0; ch < inputs_.size(); ++ch)
        while (inputs_[ch].owed > 0) {
          --inputs_[ch].owed;
          send_credit(ch);
        }
      if (source_ && blocked_) {
        blocked_ = false;
        schedule_poll(milliseconds{0});
      }
    }
    try_finish();
  }

  void release_credit(uint32_t ch) {
    if (backpressured()) {
      ++inputs_[ch].owed;
      ++ops_[0].m.backpressure_events;
    } else {
      send_credit(ch);
    }
  }

  void send_credit(uint32_t ch) {
    auto& in = spec_.inputs[ch];
    if (inputs_[ch].upstream) send(inputs_[ch].upstream, credit_atom::value, in.upstream_gate, in.upstream_target, 1u);
  }

  // -- sources -------------------------------------------------------------

  void poll() {
    poll_scheduled_ = false;
    if (input_ended_) return;
    if (backpressured()) {
      blocked_ = true;
      ++ops_[0].m.backpressure_events;
      return;
    }
    size_t budget = spec_.cfg.batch_size;
    if (rate_ > 0) {
      auto now = std::chrono::steady_clock::now();
      tokens_ = std::min(tokens_ + rate_ * std::chrono::duration<double>(now - last_refill_).count(),
                         std::max<double>(spec_.cfg.batch_size, rate_ / 10));
      last_refill_ = now;
      if (tokens_ < 1) {
        schedule_poll(milliseconds{std::max<int64_t>(1, static_cast<int64_t>((1 - tokens_) / rate_ * 1000))});
        return;
      }
      budget = std::min<size_t>(budget, static_cast<size_t>(tokens_));
    }
    current_ = 0;
    const uint64_t before = ops_[0].m.records_out;
    poll_status st = source_->poll(budget);
    drain(0);
    const uint64_t produced = ops_[0].m.records_out - before;
    ops_[0].m.records_in += produced;
    tokens_ -= static_cast<double>(produced);
    if (timestamp wm = source_->watermark(); wm > source_wm_) {
      source_wm_ = wm;
      advance_watermark(wm, 1);
    }
    if (st == poll_status::end) {
      advance_watermark(timestamp::max(), 1);
      end_input();
    } else if (st == poll_status::idle && produced == 0) {
      auto now = std::chrono::steady_clock::now();
      if (!idle_since_) idle_since_ = now;
      if (auto to = source_->idle_timeout(); to && !idle_ && now - *idle_since_ >= *to) {
        idle_ = true;
        for (auto& g : gates_) g.idle(true);
      }
      schedule_poll(milliseconds{5});
    } else {
      idle_since_.reset();
      if (idle_) {
        idle_ = false;
        for (auto& g : gates_) g.idle(false);
      }
      schedule_poll(milliseconds{0});
    }
    after_emit();
  }

  void schedule_poll(milliseconds delay) {
    if (poll_scheduled_) return;
    poll_scheduled_ = true;
    if (delay.count() == 0)
      send(this, poll_atom::value);
    else
      delayed_send(this, delay, poll_atom::value);
  }

  // -- the operator chain --------------------------------------------------

  /// Runs a batch through operator k and everything chained after it.
  void feed(size_t k, size_t input, batch_base& b) {
    current_ = k;
    faults().on_records(ops_[k].m.name, spec_.instance, ops_[k].m.records_in + 1, b.size());
    ops_[k].m.records_in += b.size();
    ops_[k].op->process(input, b);
    drain(k);
  }

  /// Moves what operator k emitted to the next operator or to its gates.
  void drain(size_t k) {
    auto& c = ops_[k];
    const size_t ports = c.port_gates.size();
    for (size_t p = 0; p < ports; ++p) {
      const bool dlq = p + 1 == ports;
      output_port_base& port = dlq ? static_cast<output_port_base&>(c.ctx->dead_letters()) : c.op->out(p);
      if (port.size() == 0) continue;
      batch_ptr b = port.take();
      if (dlq)
        c.m.dead_letters += b->size();
      else
        c.m.records_out += b->size();
      auto& gs = c.port_gates[p];
      if (p == 0 && c.port0_chained) {
        feed(k + 1, 0, *b);
        current_ = k;
      } else if (!gs.empty()) {
        for (size_t i = 0; i < gs.size(); ++i) gates_[gs[i]].add(*b, i + 1 == gs.size());
      } else if (dlq) {
        std::vector<dead_letter> ds;
        for (auto& r : batch_cast<dead_letter>(*b).records) ds.push_back(std::move(r.value));
        send(spec_.supervisor, dead_atom::value, std::move(ds));
      } else {
        c.m.unconsumed += b->size();
      }
    }
    if (auto t = c.ctx->pending_timer()) schedule_timer(*t);
  }

  /// Event time reached `wm` at operator `from` (1 for a source's chain).
  void advance_watermark(timestamp wm, size_t from) {
    for (size_t k = from; k < ops_.size(); ++k) {
      current_ = k;
      ops_[k].ctx->set_watermark(wm);
      ops_[k].op->on_watermark(wm);
      drain(k);
    }
    for (auto& g : gates_) g.watermark(wm);
  }

  /// All input ended: end and close the operators, then end the channels.
  void end_input() {
    if (input_ended_) return;
    input_ended_ = true;
    for (size_t k = 0; k < ops_.size(); ++k) {
      current_ = k;
      ops_[k].op->end_input();
      drain(k);
    }
    for (size_t k = 0; k < ops_.size(); ++k) {
      current_ = k;
      ops_[k].op->close();
      drain(k);
    }
    closed_ = true;
    for (auto& g : gates_) g.end();
  }

  void schedule_timer(timestamp t) {
    if (timer_scheduled_ && *timer_scheduled_ <= t) return;
    timer_scheduled_ = t;
    auto delay = std::max<int64_t>(0, t.ms - clock_.now().ms);
    delayed_send(this, milliseconds{delay}, timer_atom::value);
  }

  void on_timer() {
    timer_scheduled_.reset();
    if (closed_) return;
    const timestamp now = clock_.now();
    for (size_t k = 0; k < ops_.size(); ++k) {
      auto t = ops_[k].ctx->pending_timer();
      if (t && *t <= now) {
        ops_[k].ctx->take_timer();
        current_ = k;
        ops_[k].op->on_timer(now);
      }
      drain(k);
    }
    after_emit();
  }

  // -- output --------------------------------------------------------------

  void transmit(size_t gate, size_t target, channel_element&& e) {
    const auto& gs = spec_.gates[gate];
    const auto& dest = gs.dest[target];
    const uint32_t ch = gs.dest_channel[target];
    switch (e.k) {
      case channel_element::kind::batch: send(dest, data_atom::value, ch, std::move(e.batch)); break;
      case channel_element::kind::watermark: send(dest, watermark_atom::value, ch, e.wm.ms, false); break;
      case channel_element::kind::idle: send(dest, watermark_atom::value, ch, int64_t{0}, true); break;
      case channel_element::kind::active: send(dest, watermark_atom::value, ch, INT64_MIN, false); break;
      case channel_element::kind::eos: send(dest, eos_atom::value, ch); break;
      case channel_element::kind::barrier: send(dest, barrier_atom::value, ch, e.checkpoint); break;
    }
  }

  void after_emit() {
    bool buffered = false;
    for (auto& g : gates_) buffered = buffered || g.has_buffered();
    if (buffered && !flush_scheduled_) {
      flush_scheduled_ = true;
      delayed_send(this, spec_.cfg.flush_interval, flush_atom::value);
    }
    try_finish();
  }

  bool backpressured() const {
    for (auto& g : gates_)
      if (g.backpressured()) return true;
    return false;
  }

  void update_idleness() {
    bool idle = gate_.all_idle();
    if (idle == idle_) return;
    idle_ = idle;
    for (auto& g : gates_) g.idle(idle);
  }

  void try_finish() {
    if (!closed_ || finished_) return;
    for (auto& g : gates_)
      if (!g.drained()) return;
    finished_ = true;
    std::vector<operator_metrics> ms;
    for (auto& c : ops_) ms.push_back(c.m);
    send(spec_.supervisor, done_atom::value, spec_.vertex, spec_.instance, std::move(ms));
    // Stay until the supervisor's stop: a finished task still takes part in
    // checkpoints (with its final state) until the whole job ended.
  }

  // -- failures ------------------------------------------------------------

  template <class F>
  void guarded(F&& f) {
    if (failed_) return;
    try {
      f();
    } catch (const std::exception& e) {
      fail(e.what());
    }
  }

  void fail(std::string cause) {
    report_failure(std::move(cause));
    quit(caf::sec::runtime_error);
  }

  void report_failure(std::string cause) {
    if (failed_) return;
    failed_ = true;
    task_failure f;
    f.operator_name = ops_.empty() ? spec_.graph->vertices()[spec_.vertex].name : ops_[current_].m.name;
    f.instance = spec_.instance;
    f.position = position_;
    if (auto a = aligner_.aligning())
      f.position += fmt::format("{}while aligning checkpoint {}", f.position.empty() ? "" : ", ", a->value);
    f.cause = std::move(cause);
    send(spec_.supervisor, failed_atom::value, spec_.vertex, spec_.instance, std::move(f));
    if (user_) send_exit(user_, caf::exit_reason::user_shutdown);
  }

  std::string upstream_name(uint32_t ch) const {
    const auto& in = spec_.inputs[ch];
    return fmt::format("{}#{}", spec_.graph->vertices()[in.from_vertex].name, in.from_instance);
  }

  struct input_state {
    caf::actor upstream;
    uint32_t owed = 0;
  };

  task_spec spec_;
  std::vector<input_state> inputs_;
  bool started_ = false;
  std::vector<stashed> before_start_;  ///< Input that arrived before `start_atom`.
  input_gate gate_{spec_.inputs.size()};
  barrier_aligner aligner_{spec_.inputs.size()};
  std::deque<stashed> stash_;
  std::vector<output_gate> gates_;
  std::vector<chained_op> ops_;
  system_clock clock_;
  std::string name_;
  std::string position_;
  size_t current_ = 0;
  source_base* source_ = nullptr;
  actor_stage_base* stage_ = nullptr;
  caf::actor user_;
  timestamp source_wm_ = timestamp::min();
  double rate_ = 0;
  double tokens_ = 0;
  std::chrono::steady_clock::time_point last_refill_;
  std::optional<std::chrono::steady_clock::time_point> idle_since_;
  std::optional<timestamp> timer_scheduled_;
  bool poll_scheduled_ = false;
  bool flush_scheduled_ = false;
  bool blocked_ = false;
  bool idle_ = false;
  bool input_ended_ = false;
  bool closed_ = false;
  bool finished_ = false;
  bool failed_ = false;
};

}  // namespace

caf::actor spawn_task(caf::actor_system& sys, task_spec spec) {
  return sys.spawn<task_actor>(std::move(spec));
}

}  // namespace sluice::actors
