// The task actor: its messages, and what happens to everything that arrives
// on an input channel. Start, sources, timers, checkpoints, end and failure
// are in task/task_lifecycle.cpp.
#include "sluice/actors/task.hpp"

#include <fmt/format.h>

#include "sluice/actors/clock.hpp"
#include "sluice/actors/messages.hpp"
#include "task/task_actor.hpp"

namespace sluice::actors {

task_actor::task_actor(caf::actor_config& cfg, task_spec spec)
    : caf::event_based_actor(cfg),
      spec_(std::move(spec)),
      clock_(clock_or_wall(spec_.cfg.clock)),
      upstream_(spec_.inputs.size()),
      inputs_(spec_.inputs.size()),
      op_clock_(*clock_),
      returned_(spec_.inputs.size(), 0) {}

/// Drops strong references to other actors: reference cycles would keep
/// terminated actors (and the detached snapshot writer) alive.
void task_actor::on_exit() {
  spec_.writer = nullptr;
  spec_.supervisor = nullptr;
  for (auto& g : spec_.gates)
    g.dest.clear();
  for (auto& u : upstream_)
    u = nullptr;
  user_ = nullptr;
  // The operators go now, before the supervisor hears that this task is
  // down: a replacement (local recovery) may open the same files at once.
  stage_ = nullptr;
  driver_.reset();
  chain_.reset();
  replay_pending_.clear();
}

caf::behavior task_actor::make_behavior() {
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
      [this](data_atom, uint32_t ch, batch_ptr& b) {
        // Credits go back to whoever sent the data (the upstream task, or
        // its proxy in a cluster): noted now, as the batch may be processed
        // later (held back by an alignment, or arriving before the start).
        if (ch < upstream_.size() && !upstream_[ch])
          upstream_[ch] = caf::actor_cast<caf::actor>(current_sender());
        guarded([&] { on_arrival(arrival{ch, data_arrival{std::move(b)}}); });
      },
      // On the wire a watermark message either declares the sender idle or
      // carries its watermark (which also makes an idle channel active).
      [this](watermark_atom, uint32_t ch, int64_t ms, bool idle) {
        guarded([&] {
          if (idle)
            on_arrival(arrival{ch, status_arrival{channel_status::idle}});
          else
            on_arrival(arrival{ch, watermark_arrival{timestamp::of(ms)}});
        });
      },
      [this](eos_atom, uint32_t ch) { guarded([&] {
                                        on_arrival(arrival{ch, end_arrival{}});
                                      }); },
      [this](barrier_atom, uint32_t ch, uint64_t id) {
        guarded([&] { on_arrival(arrival{ch, barrier_arrival{checkpoint_id{id}}}); });
      },
      [this](latency_atom, uint32_t ch, int64_t marked_us) {
        guarded([&] { on_arrival(arrival{ch, latency_arrival{marked_us}}); });
      },
      [this](credit_atom, uint32_t gate, uint32_t target, uint32_t n) {
        guarded([&] { on_credit(gate, target, n); });
      },
      [this](credit_sync_atom, uint32_t gate, uint32_t target, uint64_t returned) {
        guarded([&] {
          if (!outputs_)
            return;  // cannot happen: the supervisor starts a replacement first
          (*outputs_)[gate].sync_credits(target, returned);
          on_credit(gate, target, 0);
        });
      },
      [this](replay_atom, uint32_t gate, uint32_t target, caf::actor& to, uint64_t from) {
        guarded([&] { on_replay_request(gate, target, to, from); });
      },
      [this](upstream_atom, uint32_t ch, caf::actor& from) {
        guarded([&] { on_new_upstream(ch, from); });
      },
      [this](abort_atom, uint64_t through) { guarded([&] { on_abort_through(through); }); },
      [this](start_atom) { guarded([&] { start(); }); },
      [this](poll_atom) { guarded([&] { poll(); }); },
      [this](flush_atom) { guarded([&] { on_flush(); }); },
      [this](timer_atom) { guarded([&] { on_timer(); }); },
      [this](checkpoint_atom, uint64_t id) { guarded([&] { on_trigger(id); }); },
      [this](complete_atom, uint64_t id) { guarded([&] { on_complete(id); }); },
      [this](stop_atom, std::string&) {
        if (user_)
          send_exit(user_, caf::exit_reason::user_shutdown);
        quit();
      },
  };
}

/// Routes an input element: held back before the start and while its
/// channel is blocked by an alignment, processed otherwise.
void task_actor::dispatch(arrival&& a) {
  if (stage_busy_) {
    auto later = std::make_shared<arrival>(std::move(a));
    stage_waiting_.push_back([this, later] { dispatch(std::move(*later)); });
    return;
  }
  if (inputs_.hold(a))
    return;
  const uint32_t ch = a.channel;
  adds_before_ = outputs_->adds();
  auto& w = a.what;
  // Operations are recorded once they completed (an actor stage's batch
  // when its reply was emitted): the order a replacement replays them in.
  if (auto* d = std::get_if<data_arrival>(&w)) {
    on_data(ch, d->batch);
    if (!stage_)
      record_arrival(ch);
  } else if (auto* wm = std::get_if<watermark_arrival>(&w)) {
    on_watermark(ch, wm->wm);
    record_arrival(ch);
  } else if (auto* st = std::get_if<status_arrival>(&w)) {
    on_status(ch, st->status);
    record_arrival(ch);
  } else if (std::holds_alternative<end_arrival>(w)) {
    on_end(ch);
    record_arrival(ch);
  } else if (auto* l = std::get_if<latency_arrival>(&w))
    on_latency_marker(l->marked_us);
  else
    on_barrier(ch, std::get<barrier_arrival>(w).id);
}

/// A latency marker reached this task: a chain ending in a sink records its
/// delay since the source; the marker goes on along every output gate.
void task_actor::on_latency_marker(int64_t marked_us) {
  if (chain_->ends_in_sink())
    chain_->record_latency(wall_clock_us() - marked_us);
  outputs_->latency_marker(marked_us);
}

/// A source task emits a latency marker every `latency_interval` of wall
/// time (when it polls), behind the records it emitted so far.
void task_actor::maybe_emit_latency_marker() {
  if (spec_.cfg.latency_interval.count() <= 0)
    return;
  const int64_t now = wall_clock_us();
  if (now < next_marker_us_)
    return;
  next_marker_us_ = now + spec_.cfg.latency_interval.count() * 1000;
  on_latency_marker(now);
}

int64_t task_actor::wall_clock_us() {
  using namespace std::chrono;
  return duration_cast<microseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

/// A batch arrived (and is not held back): the chain processes it, then its
/// credit goes back upstream unless our own output is backpressured.
void task_actor::on_data(uint32_t ch, batch_ptr& b) {
  inputs_.on_data(ch);
  ++batches_in_;
  if (stage_)
    return on_stage_data(ch, b);
  const uint64_t first = chain_->head_metrics().records_in;
  position_ = fmt::format("batch of {} records from {} (records {}..{} of this instance's input)",
                          b->size(), upstream_name(ch), first + 1, first + b->size());
  chain_->feed(spec_.inputs[ch].input, *b);
  position_.clear();
  release_credit(ch);
  after_emit();
}

/// A custom actor stage: the batch goes to the user's actor as a request;
/// the reply is emitted and the credit returned when it comes back (the
/// stage awaits one request at a time, so order is kept).
void task_actor::on_stage_data(uint32_t ch, batch_ptr& b) {
  auto& m = chain_->head_metrics();
  position_ = fmt::format("batch of {} records from {} (records {}..{} of this instance's input)",
                          b->size(), upstream_name(ch), m.records_in + 1, m.records_in + b->size());
  m.records_in += b->size();
  stage_wait();
  stage_->request(
      this, user_, *b,
      [this, ch] {
        stage_reply([this, ch] {
          position_.clear();
          chain_->drain_head();
          record_arrival(ch);
          release_credit(ch);
          after_emit();
        });
      },
      [this](const caf::error& err) { stage_failed(err); });
}

// -- actor stages --------------------------------------------------------------
// The task awaits each reply of its user actor (CAF suspends its mailbox
// meanwhile), but one handler can dispatch several arrivals (releasing held
// ones); those after the one that made a request wait in `stage_waiting_`.

void task_actor::stage_wait() {
  stage_busy_ = true;
}

/// The user actor replied: `continuation` finishes what made the request;
/// what it dispatches goes before what waited already (it arrived earlier on
/// its channel), then the waiting work runs until the next request.
void task_actor::stage_reply(const std::function<void()>& continuation) {
  guarded([&] {
    auto waited = std::move(stage_waiting_);
    stage_waiting_.clear();
    stage_busy_ = false;
    continuation();
    for (auto& f : waited)
      stage_waiting_.push_back(std::move(f));
    while (!stage_busy_ && !failed_ && !stage_waiting_.empty()) {
      auto f = std::move(stage_waiting_.front());
      stage_waiting_.pop_front();
      f();
    }
    if (replaying_)
      drive_replay();
  });
}

/// Runs `f` now, or after the pending reply and what waits for it.
void task_actor::in_stage_order(std::function<void()> f) {
  if (stage_busy_)
    stage_waiting_.push_back(std::move(f));
  else
    f();
}

void task_actor::stage_failed(const caf::error& err) {
  chain_->blame_head();
  if (err == caf::sec::request_timeout)
    fail(fmt::format("actor stage '{}' instance {} did not reply within {} ms", stage_name(),
                     spec_.instance, stage_->timeout().count()),
         errc::stage_timeout);
  else
    fail(fmt::format("actor stage '{}' instance {} failed: {}", stage_name(), spec_.instance,
                     system().render(err)));
}

const std::string& task_actor::stage_name() const {
  return spec_.graph->logical().nodes[spec_.graph->vertices()[spec_.vertex].chain[0]].name;
}

void task_actor::on_watermark(uint32_t ch, timestamp wm) {
  if (auto advanced = inputs_.on_watermark(ch, wm))
    chain_->advance_watermark(*advanced, 0);
  update_idleness();
  after_emit();
}

void task_actor::on_status(uint32_t ch, channel_status s) {
  if (auto advanced = inputs_.on_status(ch, s))
    chain_->advance_watermark(*advanced, 0);
  update_idleness();
  after_emit();
}

void task_actor::on_end(uint32_t ch) {
  auto out = inputs_.on_end(ch);
  auto rest = [this, wm = out.wm, all_ended = out.all_ended] {
    if (wm)
      chain_->advance_watermark(*wm, 0);
    if (all_ended)
      end_input();
    else
      update_idleness();
    after_emit();
  };
  if (out.alignment.is_aligned()) {
    snapshot_and_forward(out.alignment.id.value, [this, rest] {
      release_held();
      in_stage_order(rest);  // after the replies to what was held (an actor stage)
    });
  } else {
    rest();
  }
}

/// Barrier alignment: the channel is held back until every channel
/// delivered the barrier; then the chain is snapshotted, the barrier goes
/// downstream and what was held is processed.
void task_actor::on_barrier(uint32_t ch, checkpoint_id id) {
  if (inputs_.aligning() != id)
    alignment_start_ = std::chrono::steady_clock::now();  // the first barrier of `id`
  auto out = inputs_.on_barrier(ch, id);
  if (out.aborted)
    decline(out.aborted->value, "alignment aborted by a newer barrier");
  if (out.is_aligned()) {
    snapshot_and_forward(out.id.value, [this] { release_held(); });
  } else if (out.aborted) {
    release_held();
  }
}

void task_actor::release_held() {
  for (auto& a : inputs_.release())
    dispatch(std::move(a));
}

void task_actor::release_credit(uint32_t ch) {
  if (inputs_.processed(ch, outputs_->backpressured()))
    send_credit(ch);
  else
    ++chain_->head_metrics().backpressure_events;
}

void task_actor::send_credit(uint32_t ch) {
  auto& in = spec_.inputs[ch];
  ++returned_[ch];  // also when the sender is gone: its replacement is told the total
  if (upstream_[ch])
    send(upstream_[ch], credit_atom::value, in.upstream_gate, in.upstream_target, 1u);
}

/// A downstream task processed `n` batches of ours: send what waited for
/// credit, and once no longer backpressured, return the credits withheld
/// and wake a blocked source.
void task_actor::on_credit(uint32_t gate, uint32_t target, uint32_t n) {
  if (n > 0)
    (*outputs_)[gate].credit(target, n);
  if (backpressured_since_ms_ != 0)
    publish_task_metrics();  // a backpressure may end here (else after_emit publishes)
  if (!outputs_->backpressured()) {
    inputs_.return_withheld([this](uint32_t ch) { send_credit(ch); });
    if (driver_ && blocked_) {
      blocked_ = false;
      schedule_poll(duration{0});
    }
  }
  try_finish();
}

/// When every open input is idle, so are our outputs (and active again with
/// the first input that is).
void task_actor::update_idleness() {
  // A replacement replaying ends where its predecessor was: idle or not as
  // its outputs were marked then.
  if (replaying_)
    return;
  const bool idle = inputs_.all_idle();
  if (idle == idle_)
    return;
  idle_ = idle;
  outputs_->idle(idle);
  if (spec_.recovery)
    spec_.recovery->idle = idle;
}

std::string task_actor::upstream_name(uint32_t ch) const {
  const auto& in = spec_.inputs[ch];
  return fmt::format("{}#{}", spec_.graph->vertices()[in.from_vertex].name, in.from_instance);
}

void task_actor::publish_task_metrics() {
  if (!chain_)
    return;
  // The clock is read only when the output turns backpressured or free;
  // readers add the time since the start of the current backpressure.
  const bool bp = outputs_->backpressured();
  if (bp != (backpressured_since_ms_ != 0)) {
    const int64_t now = sluice::system_clock{}.now().ms;
    if (bp) {
      backpressured_since_ms_ = now;
    } else {
      backpressured_ms_ += std::max<int64_t>(0, now - backpressured_since_ms_);
      backpressured_since_ms_ = 0;
    }
  }
  operator_chain::task_figures f;
  f.batches_in = batches_in_;
  f.batches_out = outputs_->batches_sent();
  f.input_held = inputs_.held();
  f.input_withheld = inputs_.withheld_total();
  f.credits_in_use = outputs_->in_flight();
  f.output_waiting = outputs_->waiting();
  f.backpressured_ms = static_cast<uint64_t>(backpressured_ms_);
  f.backpressured_since_ms = backpressured_since_ms_;
  chain_->publish_task(f);
}

caf::actor spawn_task(caf::actor_system& sys, task_spec spec) {
  return sys.spawn<task_actor>(std::move(spec));
}

}  // namespace sluice::actors
