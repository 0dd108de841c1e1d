// The job supervisor: its behaviour, the tick that drives time-based work,
// and the end of a run (see job_supervisor.hpp for the other roles).

#include "supervisor/job_supervisor.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "sluice/actors/snapshot_writer.hpp"

namespace sluice::actors {

using std::chrono::milliseconds;
namespace {

state::checkpoint_meta job_meta(const job_graph& g) {
  state::checkpoint_meta m;
  m.job_name = g.logical().job_name;
  for (auto& n : g.logical().nodes)
    m.operator_parallelism.emplace_back(uid_of(n), g.parallelism_of(n.id));
  return m;
}

}  // namespace

void job_supervisor::on_exit() {
  actors_.clear();
  writer_ = nullptr;
  args_.reply_to = nullptr;
}

caf::behavior job_supervisor::make_behavior() {
  set_down_handler([this](caf::down_msg& dm) { on_down(dm); });
  // Tasks are linked to the supervisor so that they never outlive it; their
  // own exits are handled through monitoring (down messages) instead.
  set_exit_handler([](caf::exit_msg&) {});
  restart_ = parse_restart_strategy(cfg_.restart);
  if (cfg_.recovery == "local" && !args_.cluster) {
    // Beyond the memory bound, in-flight logs spill to LMDB in the state
    // directory (never synced: only this process reads it).
    std::shared_ptr<state::spill_store> spill;
    if (args_.store) {
      auto s = state::spill_store::open(args_.store->dir() + "/inflight-spill");
      if (s)
        spill = std::move(s).value();
      else
        log(log_level::warn,
            "in-flight logs will not spill beyond --inflight-log-mb: " + s.error().message);
    }
    budget_ = std::make_shared<recovery_budget>(cfg_.inflight_log_bytes, std::move(spill));
  }
  {
    uint32_t tasks = 0;
    for (auto& v : args_.graph->vertices())
      tasks += v.parallelism;
    log(log_level::info,
        fmt::format("job '{}' starting: {} tasks{}", args_.graph->logical().job_name, tasks,
                    args_.restore ? fmt::format(", from checkpoint {}", args_.restore->id.value)
                                  : std::string{}));
  }
  for (auto& n : args_.notes)
    log(log_level::info, n);
  report_.notes = std::move(args_.notes);
  if (args_.store) {
    writer_ = spawn_snapshot_writer(system(), args_.store, caf::actor_cast<caf::actor>(this));
    link_to(writer_);
    checkpoints_.emplace(
        args_.store, cfg_, job_meta(*args_.graph),
        args_.restore ? std::optional<uint64_t>{args_.restore->id.value} : std::nullopt,
        clock_->now());
    // Checkpointed: dead letters are exactly-once output, staged per checkpoint.
    if (checkpoints_->periodic())
      dead_.stage_in(args_.store->dir() + "/dead-letters");
  }
  live_ = metrics_registry::process().add_job(args_.graph->logical().job_name,
                                              sluice::system_clock{}.now().ms);
  describe_graph();
  deploy(args_.restore);
  delayed_send(this, tick_interval(), tick_atom::value);
  return {
      [this](done_atom, uint32_t v, uint32_t i, std::vector<operator_metrics>& ms) {
        if (phase_ != phase::running || !finished_.insert({v, i}).second)
          return;
        for (auto& m : ms)
          metrics_.push_back(std::move(m));
        if (finished_.size() == total_)
          on_all_finished();
      },
      [this](failed_atom, uint32_t v, uint32_t i, task_failure& f) {
        if (phase_ == phase::restarting || failed_.count({v, i}))
          return;
        failed_.insert({v, i});
        // A refused stage fails again in every attempt: no restart.
        const bool retryable = f.code != errc::stage_refused;
        const instance_ref about{f.operator_name, f.instance};
        if (try_local(f.code, f.describe(), retryable, about, v, i, false))
          return;
        on_failure(f.code, f.describe(), retryable, about);
      },
      [this](caught_up_atom, uint32_t v, uint32_t i, uint64_t determinants) {
        on_caught_up(v, i, determinants);
      },
      [this](replayed_atom, uint32_t v, uint32_t i, uint64_t batches, bool ok) {
        on_replayed(v, i, batches, ok);
      },
      [this](dead_atom, uint64_t epoch, std::vector<dead_letter>& ds) {
        // A failed attempt's letters: its input is replayed from the
        // checkpoint the next attempt restores.
        if (phase_ == phase::restarting || phase_ == phase::done)
          return;
        if (auto r = dead_.append(epoch, ds); !r)
          fail_job(r.error().message);
      },
      [this](stop_atom, std::string& why) { fail_job(why); },
      [this](ack_atom, uint64_t id, uint32_t v, uint32_t i, uint64_t bytes, int64_t sync_ms,
             int64_t async_ms, int64_t align_ms) {
        on_ack(id, task_id{v, i},
               ack_stats{bytes, duration{sync_ms}, duration{async_ms}, duration{align_ms}});
      },
      [this](decline_atom, uint64_t id, uint32_t v, uint32_t i, std::string& why) {
        if (checkpoints_)
          checkpoints_->decline(id, task_id{v, i}, why, clock_->now(), pending_notes_);
        flush_notes();
        check_final_abort();
      },
      [this](committed_atom, uint64_t id, uint32_t v, uint32_t i) {
        // The job is recorded finished only once every task published the
        // final (or stop) checkpoint; a crash before that resumes from it.
        if (!ending_id_ || id != *ending_id_ || phase_ == phase::done)
          return;
        committed_.insert({v, i});
        if (committed_.size() == total_)
          finish_job();
      },
      [this](deployed_atom, uint32_t attempt) {
        if (attempt == attempt_ && phase_ == phase::deploying)
          spawn_local(deploying_restore_);
      },
      [this](deployed_atom, uint32_t attempt, error& e) {
        if (attempt != attempt_ || phase_ != phase::deploying)
          return;
        phase_ = phase::running;
        on_failure(e.code, fmt::format("cannot deploy attempt {} ({}): {}", attempt,
                                       to_string(e.code), e.detail));
      },
      [this](tick_atom) { on_tick(); },
  };
}

std::chrono::milliseconds job_supervisor::tick_interval() const {
  auto iv = cfg_.checkpoints.interval.count() > 0 ? cfg_.checkpoints.interval : milliseconds{100};
  return std::clamp(iv / 4, milliseconds{5}, milliseconds{100});
}

void job_supervisor::describe_graph() {
  const auto& g = *args_.graph;
  const auto& p = g.logical();
  std::lock_guard<std::mutex> guard{live_->mtx};
  for (auto& n : p.nodes) {
    graph_vertex v;
    v.id = n.id;
    v.name = n.name;
    v.uid = uid_of(n);
    v.parallelism = g.parallelism_of(n.id);
    const bool has_out = std::any_of(p.edges.begin(), p.edges.end(),
                                     [&](const plan_edge& e) { return e.from == n.id; });
    v.kind = n.is_source ? "source" : has_out ? "operator" : "sink";
    live_->vertices.push_back(std::move(v));
  }
  for (uint32_t e = 0; e < p.edges.size(); ++e)
    live_->edges.push_back({p.edges[e].from, p.edges[e].to, to_string(g.kind(e))});
  live_->parallelism.store(cfg_.parallelism, std::memory_order_relaxed);
  live_->can_savepoint.store(args_.store != nullptr);
}

void job_supervisor::publish_job_metrics() noexcept {
  constexpr auto relaxed = std::memory_order_relaxed;
  if (checkpoints_) {
    live_->checkpoints_completed.store(checkpoints_->completed(), relaxed);
    live_->checkpoints_aborted.store(checkpoints_->aborted(), relaxed);
    live_->last_checkpoint.store(checkpoints_->last_completed().value_or(0), relaxed);
    live_->last_savepoint.store(checkpoints_->savepoint().value_or(0), relaxed);
    if (checkpoints_->history_version() != published_history_) {
      published_history_ = checkpoints_->history_version();
      std::vector<checkpoint_info> h;
      h.reserve(checkpoints_->history().size());
      for (auto& r : checkpoints_->history()) {
        using st = checkpoint_driver::record::status;
        h.push_back({r.id, r.savepoint,
                     r.state == st::completed ? "completed"
                     : r.state == st::aborted ? "aborted"
                                              : "in_progress",
                     r.trigger_ms, r.duration_ms, r.size_bytes, r.max_sync_ms, r.max_alignment_ms,
                     r.failure});
      }
      std::lock_guard<std::mutex> guard{live_->mtx};
      live_->checkpoints = std::move(h);
    }
  }
  live_->restarts.store(report_.restarts, relaxed);
  live_->local_restarts.store(report_.local_restarts, relaxed);
  live_->failures.store(report_.failures.size(), relaxed);
  job_state st = job_state::running;
  if (phase_ == phase::restarting || phase_ == phase::waiting || phase_ == phase::deploying)
    st = job_state::restarting;
  if (phase_ == phase::done)
    st = cancelled_ ? job_state::cancelled : report_.ok ? job_state::finished : job_state::failed;
  live_->state.store(static_cast<int>(st), relaxed);
}

void job_supervisor::record_failure(errc code, const std::optional<instance_ref>& about,
                                    const std::string& why, bool restarted, bool local) {
  failure_info f;
  f.kind = std::string{to_string(code)};
  f.time_ms = sluice::system_clock{}.now().ms;
  if (about) {
    f.operator_name = about->operator_name;
    f.instance = about->instance;
  }
  f.cause = why;
  f.restarted = restarted;
  if (restarted)
    f.recovery = local ? "local" : "global";
  std::lock_guard<std::mutex> guard{live_->mtx};
  if (restarted) {
    auto& by = live_->restarts_by_cause;
    auto it = std::find_if(by.begin(), by.end(), [&](auto& p) { return p.first == f.kind; });
    if (it == by.end())
      by.emplace_back(f.kind, 1);
    else
      ++it->second;
  }
  if (live_->failure_log.size() >= 100)
    live_->failure_log.erase(live_->failure_log.begin());
  live_->failure_log.push_back(std::move(f));
}

int job_supervisor::take_requests() {
  int savepoint = take_savepoint_request();  // signals
  switch (live_->take_request()) {
    case job_request::savepoint:
      savepoint = std::max(savepoint, 1);
      break;
    case job_request::stop_with_savepoint:
      savepoint = 2;
      break;
    case job_request::cancel:
      cancel_job();
      return 0;
    case job_request::none:
      break;
  }
  if (savepoint != 0 && (!checkpoints_ || !checkpoints_->active())) {
    note("a savepoint was requested, but the job has no state directory (--state-dir)");
    live_->rescale_to.store(0);
    return 0;
  }
  return savepoint;
}

void job_supervisor::on_tick() {
  if (phase_ == phase::done)
    return;
  publish_job_metrics();
  // A request taken now is acted on now: savepoints only while running.
  const int savepoint_request = phase_ == phase::running ? take_requests() : 0;
  if (phase_ == phase::done)
    return;  // cancelled
  delayed_send(this, tick_interval(), tick_atom::value);
  const timestamp now = clock_->now();
  auto v = watch_.check(now);
  if (v.report)
    log(log_level::info, *v.report);
  if (v.stalled) {
    on_stall(*v.stalled);
    return;
  }
  if (phase_ == phase::waiting) {
    deploy(waiting_restore_);  // retries placing the job (e.g. a node came back)
    return;
  }
  if (phase_ == phase::restarting && restart_at_ && now >= *restart_at_) {
    restart_at_.reset();
    redeploy();
    return;
  }
  if (!checkpoints_ || !checkpoints_->active() ||
      (phase_ != phase::running && phase_ != phase::finishing))
    return;
  checkpoints_->expire(now, pending_notes_);
  if (phase_ == phase::running && !local_)  // none while an instance recovers alone
    if (auto t = checkpoints_->poll(now, savepoint_request, pending_notes_))
      trigger(t->id);
  flush_notes();
  check_final_abort();
}

void job_supervisor::fail_job(const std::string& why, const std::optional<instance_ref>& about) {
  if (phase_ == phase::done)
    return;
  log(log_level::error, "job failed: " + why, about);
  if (args_.cluster)
    args_.cluster->cancel(attempt_, why);
  if (checkpoints_)
    checkpoints_->abort_all("job failed", clock_->now());
  for (auto& vec : actors_)
    for (auto& a : vec)
      send_exit(a, caf::exit_reason::user_shutdown);
  report(false, why);
}

void job_supervisor::cancel_job() {
  if (phase_ == phase::done)
    return;
  cancelled_ = true;
  note("the job was cancelled on request");
  if (args_.cluster)
    args_.cluster->cancel(attempt_, "cancelled");
  if (checkpoints_)
    checkpoints_->abort_all("job cancelled", clock_->now());
  for (auto& vec : actors_)
    for (auto& a : vec)
      send_exit(a, caf::exit_reason::user_shutdown);
  report_.cancelled = true;
  report(false, "the job was cancelled on request");
}

void job_supervisor::finish_job() {
  if (phase_ == phase::done)
    return;
  if (args_.store) {
    const bool savepoint = checkpoints_ && checkpoints_->savepoint();
    if (auto r = args_.store->put_meta("job_finished", savepoint ? "savepoint" : "1"); !r)
      note("cannot record that the job finished: " + r.error().message);
  }
  for (auto& vec : actors_)
    for (auto& a : vec)
      send(a, stop_atom::value, std::string{"job finished"});
  log(log_level::info, fmt::format("job '{}' finished", args_.graph->logical().job_name));
  report(true, "");
}

void job_supervisor::report(bool ok, std::string error) {
  phase_ = phase::done;
  watch_.done();
  report_.ok = ok;
  report_.error = std::move(error);
  if (budget_) {
    report_.recovery_log_peak_bytes = budget_->peak();
    report_.recovery_log_refusals = budget_->refused();
    if (budget_->spill)
      report_.recovery_log_spill_peak_bytes = budget_->spill->peak_bytes();
  }
  report_.metrics = std::move(metrics_);
  report_.dead_letters = dead_.count();
  report_.dead_letter_path = dead_.finish();
  if (checkpoints_) {
    report_.checkpoints_completed = checkpoints_->completed();
    report_.checkpoints_aborted = checkpoints_->aborted();
    report_.last_checkpoint = checkpoints_->last_completed();
    report_.savepoint = checkpoints_->savepoint();
    report_.max_sync_ms = checkpoints_->max_sync_ms();
    // A rescale takes a stop-with-savepoint: run again from it at the new
    // parallelism (run_embedded / the cluster runtime do).
    if (ok && ending_id_ && report_.savepoint && *report_.savepoint == *ending_id_)
      if (auto n = live_->rescale_to.exchange(0); n > 0)
        report_.rescale_to = n;
  }
  publish_job_metrics();
  if (writer_) {
    send_exit(writer_, caf::exit_reason::user_shutdown);
    writer_ = nullptr;
  }
  send(args_.reply_to, job_done_atom::value, std::move(report_));
  quit();
}

void job_supervisor::note(std::string s) {
  log(log_level::info, s);
  report_.notes.push_back(std::move(s));
}

void job_supervisor::flush_notes() {
  for (auto& n : pending_notes_)
    note(std::move(n));
  pending_notes_.clear();
}

void job_supervisor::log(log_level level, const std::string& s,
                         const std::optional<instance_ref>& about) {
  if (args_.log) {
    if (level >= log_level::debug)
      args_.log(level >= log_level::warn, s);
    return;
  }
  if (about)
    actors::log(level, log_subject{about->operator_name, about->instance}, s);
  else
    actors::log(level, s);
}

caf::actor spawn_supervisor(caf::actor_system& sys, supervisor_args args) {
  // Before the supervisor's thread logs anything: never spdlog's own
  // default logger, which writes to standard output.
  ensure_logging(args.graph->logical().job_name);
  return sys.spawn<job_supervisor>(std::move(args));
}

}  // namespace sluice::actors
