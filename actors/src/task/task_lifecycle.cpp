// The task actor's life apart from its input: start, polling a source,
// flush and timers on the job's clock, checkpoints, sending, end and failure.
// What happens to input is in ../task.cpp.
#include <fmt/format.h>

#include <algorithm>
#include <chrono>

#include "sluice/actors/fault_injector.hpp"
#include "sluice/actors/messages.hpp"
#include "task/task_actor.hpp"

namespace sluice::actors {

void task_actor::start() {
  const auto& g = *spec_.graph;
  const auto& vx = g.vertices()[spec_.vertex];
  const auto& head = g.logical().nodes[vx.chain[0]];
  setup_outputs();
  operator_chain::hooks hooks;
  dead_letter_epoch_ = spec_.restore ? spec_.restore->id.value : 0;
  hooks.dead_letters = [this](std::vector<dead_letter>&& ds) {
    send(spec_.supervisor, dead_atom::value, dead_letter_epoch_, std::move(ds));
  };
  hooks.timer = [this](timestamp t) {
    schedule_timer(t);
  };
  chain_ = std::make_unique<operator_chain>(g, spec_.vertex, spec_.instance, op_clock_, *outputs_,
                                            std::move(hooks));
  auto* source = chain_->source();
  stage_ = dynamic_cast<actor_stage_base*>(&chain_->head());
  if (source && !spec_.inputs.empty())
    throw std::logic_error("a source task cannot have inputs");
  chain_->open(spec_.store && spec_.cfg.checkpoints.interval.count() > 0,
               spec_.restore ? &*spec_.restore : nullptr, spec_.store.get());
  if (spec_.replaces) {
    begin_replay();
  } else if (spec_.recovery) {
    // The start of this instance's history (the checkpoint it restored).
    spec_.recovery->dets.mark(spec_.restore ? spec_.restore->id.value : 0, inputs_.gate());
    op_clock_.record_into(&spec_.recovery->dets);
  }
  if (stage_) {
    user_ = stage_->spawn_user(system());
    link_to(user_);
    if (stage_->has_restored_state()) {
      // The restored state reaches the actor before any batch: what
      // arrives meanwhile waits for its answer.
      stage_wait();
      const uint64_t from = spec_.restore->id.value;
      stage_->request_restore(
          this, user_, [this] { stage_reply([] {}); },
          [this, from](const caf::error& err) {
            chain_->blame_head();
            const bool timeout = err == caf::sec::request_timeout;
            fail(fmt::format("actor stage '{}' instance {} cannot be restored from checkpoint {}: "
                             "its actor did not take (restore_atom, state): {}",
                             stage_name(), spec_.instance, from,
                             timeout
                                 ? fmt::format("no reply within {} ms", stage_->timeout().count())
                                 : system().render(err)),
                 timeout ? errc::stage_timeout : errc::stage_refused);
          });
    }
  }
  if (source) {
    const double rate = head.rate_limit > 0 ? head.rate_limit / vx.parallelism : 0;
    driver_ = std::make_unique<source_driver>(
        *source, *chain_, *outputs_, rate, spec_.cfg.batch_size, clock_->now(),
        source_driver::pacing{head.replay_speedup, head.replay_origin}, spec_.restore.has_value());
    schedule_poll(duration{0});
  } else if (spec_.inputs.empty()) {
    throw std::logic_error("task without inputs that is not a source");
  }
  after_emit();
  // What arrived before the start (possible in a cluster, where starts go
  // through one proxy per task and upstream tasks may start first) is
  // processed now, in arrival order.
  for (auto& a : inputs_.start())
    on_arrival(std::move(a));
  if (replaying_)
    drive_replay();
}

// -- sources -----------------------------------------------------------------

void task_actor::poll() {
  poll_scheduled_ = false;
  if (input_ended_)
    return;
  const auto next = driver_->poll(clock_->now());
  if (next.k != source_driver::next::kind::ended)
    maybe_emit_latency_marker();
  switch (next.k) {
    case source_driver::next::kind::blocked:
      blocked_ = true;
      return;
    case source_driver::next::kind::ended:
      end_input();
      break;
    case source_driver::next::kind::poll_again:
      schedule_poll(clock_->recheck_after(next.delay));
      break;
  }
  after_emit();
}

void task_actor::schedule_poll(duration delay) {
  if (poll_scheduled_)
    return;
  poll_scheduled_ = true;
  if (delay.count() == 0)
    send(this, poll_atom::value);
  else
    delayed_send(this, delay, poll_atom::value);
}

// -- time ----------------------------------------------------------------------
// CAF's delayed messages run on real time; they only wake the task to ask the
// job's clock. With a test clock that did not move, the task looks again later.

/// The flush interval elapsed on the clock: cut every partial batch.
void task_actor::on_flush() {
  const timestamp now = clock_->now();
  if (now < flush_due_) {
    const auto wait = clock_->recheck_after(duration{flush_due_.ms - now.ms});
    delayed_send(this, std::max(wait, duration{1}), flush_atom::value);
    return;
  }
  flush_scheduled_ = false;
  outputs_->flush();
  after_emit();
}

void task_actor::schedule_timer(timestamp t) {
  if (timer_scheduled_ && *timer_scheduled_ <= t)
    return;
  timer_scheduled_ = t;
  const duration due_in{std::max<int64_t>(0, t.ms - clock_->now().ms)};
  delayed_send(this, clock_->recheck_after(due_in), timer_atom::value);
}

/// Fires the timers that are due; the chain asks again for those that are not.
void task_actor::on_timer() {
  timer_scheduled_.reset();
  if (closed_ || replaying_)
    return;  // a replacement fires timers where its predecessor did (finish_replay asks again)
  const timestamp now = clock_->now();
  adds_before_ = outputs_->adds();
  chain_->fire_timers(now);
  if (spec_.recovery && !failed_)
    spec_.recovery->dets.timer(now);
  after_emit();
}

// -- checkpoints ---------------------------------------------------------------

/// Source tasks snapshot on the coordinator's trigger; finished tasks too,
/// with their final state (their channels have ended, so no barrier).
void task_actor::on_trigger(uint64_t id) {
  if (!driver_ && !closed_)
    return;  // only sources and finished tasks are triggered
  snapshot_and_forward(id);
}

/// Snapshots the chain for checkpoint `id`, forwards the barrier, then runs
/// `then`. A stateful actor stage first asks its user actor for its state
/// (the rest waits for the answer); an actor that does not answer fails the
/// task: its checkpoints would silently miss its state.
void task_actor::snapshot_and_forward(uint64_t id, std::function<void()> then) {
  if (!stage_ || !stage_->stateful()) {
    write_snapshot(id);
    if (then)
      then();
    return;
  }
  stage_wait();
  stage_->request_snapshot(
      this, user_, id,
      [this, id, then] {
        stage_snapshotted_ = true;
        stage_reply([&] {
          write_snapshot(id);
          if (then)
            then();
        });
      },
      [this, id](const caf::error& err) {
        chain_->blame_head();
        // Refused when it never answered one: it would fail every attempt.
        const errc code = !stage_snapshotted_                ? errc::stage_refused
                          : err == caf::sec::request_timeout ? errc::stage_timeout
                                                             : errc::operator_failed;
        fail(fmt::format("actor stage '{}' instance {} is stateful but its actor did not answer "
                         "the snapshot request (snapshot_atom, {}) with its state: {}",
                         stage_name(), spec_.instance, id,
                         err == caf::sec::request_timeout
                             ? fmt::format("no reply within {} ms", stage_->timeout().count())
                             : system().render(err)),
             code);
      });
}

void task_actor::write_snapshot(uint64_t id) {
  // Dead letters from here on come from input this snapshot does not cover.
  dead_letter_epoch_ = id;
  auto t0 = std::chrono::steady_clock::now();
  // Alignment: from the first barrier of `id` to now (a task with one input,
  // or a source, does not wait: 0).
  const int64_t align_ms =
      spec_.inputs.size() > 1 && alignment_start_.time_since_epoch().count() != 0
          ? std::chrono::duration_cast<std::chrono::milliseconds>(t0 - alignment_start_).count()
          : 0;
  alignment_start_ = {};
  std::vector<state::snapshot_store::entry> entries;
  std::string declined;
  try {
    entries = chain_->snapshot(id);
  } catch (const std::exception& e) {
    declined = fmt::format("operator '{}' cannot snapshot: {}", chain_->current_name(), e.what());
  }
  auto sync_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0)
          .count();
  if (!closed_)
    outputs_->barrier(id);
  else
    outputs_->mark(id);  // no barrier after the end, but the logs note the position
  if (spec_.recovery)
    spec_.recovery->dets.mark(id, inputs_.gate(), chain_->metrics());
  if (!declined.empty())
    decline(id, declined);
  else if (spec_.writer)
    send(spec_.writer, write_atom::value, id, spec_.vertex, spec_.instance, std::move(entries),
         static_cast<int64_t>(sync_ms), align_ms);
  after_emit();
}

void task_actor::decline(uint64_t id, std::string reason) {
  send(spec_.supervisor, decline_atom::value, id, spec_.vertex, spec_.instance, std::move(reason));
}

void task_actor::on_complete(uint64_t id) {
  if (spec_.recovery) {
    outputs_->truncate(id);
    spec_.recovery->dets.truncate(id);
  }
  chain_->notify_checkpoint_complete(id);
  if (chain_->ends_in_sink())
    faults().at(crash_point::after_sink_commit, id);
  send(spec_.supervisor, committed_atom::value, id, spec_.vertex, spec_.instance);
}

// -- output and end ------------------------------------------------------------

void task_actor::transmit(size_t gate, size_t target, channel_element&& e) {
  const auto& gs = spec_.gates[gate];
  const auto& dest = gs.dest[target];
  const uint32_t ch = gs.dest_channel[target];
  using k = channel_element::kind;
  switch (e.k) {
    case k::batch:
      send(dest, data_atom::value, ch, std::move(e.batch));
      break;
    case k::watermark:
      send(dest, watermark_atom::value, ch, e.wm.ms, false);
      break;
    case k::idle:
      send(dest, watermark_atom::value, ch, int64_t{0}, true);
      break;
    case k::active:
      send(dest, watermark_atom::value, ch, e.wm.ms, false);
      break;  // a watermark re-activates
    case k::eos:
      send(dest, eos_atom::value, ch);
      break;
    case k::barrier:
      send(dest, barrier_atom::value, ch, e.checkpoint);
      break;
    case k::latency:
      send(dest, latency_atom::value, ch, e.marked_us);
      break;
  }
}

/// After the chain emitted: a flush is due `flush_interval` after records
/// were first left in a partial batch.
void task_actor::after_emit() {
  chain_->publish_metrics();
  publish_task_metrics();
  if (!flush_scheduled_ && outputs_->has_buffered()) {
    flush_scheduled_ = true;
    flush_due_ = clock_->now() + spec_.cfg.flush_interval;
    delayed_send(this, clock_->recheck_after(spec_.cfg.flush_interval), flush_atom::value);
  }
  try_finish();
}

/// All input ended: end and close the operators, then end the channels.
void task_actor::end_input() {
  if (input_ended_)
    return;
  input_ended_ = true;
  chain_->end_input();
  closed_ = true;
}

void task_actor::try_finish() {
  if (!closed_ || finished_ || !outputs_->drained())
    return;
  finished_ = true;
  send(spec_.supervisor, done_atom::value, spec_.vertex, spec_.instance, chain_->metrics());
  // Stay until the supervisor's stop: a finished task still takes part in
  // checkpoints (with its final state) until the whole job ended.
}

// -- failures ------------------------------------------------------------------

/// The operation in progress will not complete: its determinants are not
/// kept, and if part of its output is in the gates already a replacement
/// would emit that again, so the instance cannot recover alone.
void task_actor::abandon_operation(const char* how) {
  if (!spec_.recovery || failed_)
    return;
  spec_.recovery->dets.abandon();
  if (outputs_ && outputs_->adds() != adds_before_ && spec_.recovery->outputs_clean) {
    spec_.recovery->outputs_clean = false;
    spec_.recovery->unclean =
        fmt::format("it {} after emitting part of an operation's output", how);
  }
}

void task_actor::fail(std::string cause, errc code) {
  abandon_operation("failed");
  report_failure(std::move(cause), code);
  quit(caf::sec::runtime_error);
}

void task_actor::killed() {
  abandon_operation("was killed");
  if (failed_)
    return;
  failed_ = true;
  if (user_)
    send_exit(user_, caf::exit_reason::user_shutdown);
  // Not exit_reason::kill: the supervisor is linked to its tasks, and a kill
  // cannot be trapped. An actor that died of an unhandled exception is what a
  // supervisor sees of a crash.
  quit(caf::exit_reason::unhandled_exception);
}

void task_actor::report_failure(std::string cause, errc code) {
  if (failed_)
    return;
  failed_ = true;
  task_failure f;
  f.operator_name = chain_ ? chain_->current_name() : spec_.graph->vertices()[spec_.vertex].name;
  f.instance = spec_.instance;
  f.position = position_;
  if (auto a = inputs_.aligning())
    f.position +=
        fmt::format("{}while aligning checkpoint {}", f.position.empty() ? "" : ", ", a->value);
  f.cause = std::move(cause);
  f.code = code;
  send(spec_.supervisor, failed_atom::value, spec_.vertex, spec_.instance, std::move(f));
  if (user_)
    send_exit(user_, caf::exit_reason::user_shutdown);
}

}  // namespace sluice::actors
