// The job supervisor: lifecycle of a job run and restart decisions. The
// parts with no CAF in them live beside it: checkpoints in checkpoint_driver,
// the watch over recoveries in recovery_watch, dead letters in
// dead_letter_file; the spawning of tasks in deploy.cpp; remote nodes behind
// the cluster port. Nothing here blocks the actor's thread: a remote
// deployment is a request whose answer arrives as a message.

#include "sluice/actors/supervisor.hpp"

#include <fmt/format.h>
#include <caf/all.hpp>

#include <chrono>
#include <set>
#include <variant>

#include "sluice/actors/checkpoint_driver.hpp"
#include "sluice/actors/clock.hpp"
#include "sluice/actors/deploy.hpp"
#include "sluice/actors/fault_injector.hpp"
#include "sluice/actors/messages.hpp"
#include "sluice/actors/recovery_watch.hpp"
#include "sluice/actors/restart_strategy.hpp"
#include "sluice/actors/snapshot_writer.hpp"
#include "supervisor/dead_letter_file.hpp"

namespace sluice::actors {
namespace {

using std::chrono::milliseconds;

state::checkpoint_meta job_meta(const job_graph& g) {
  state::checkpoint_meta m;
  m.job_name = g.logical().job_name;
  for (auto& n : g.logical().nodes)
    m.operator_parallelism.emplace_back(uid_of(n), g.parallelism_of(n.id));
  return m;
}

class job_supervisor : public caf::event_based_actor {
public:
  job_supervisor(caf::actor_config& cfg, supervisor_args args)
      : caf::event_based_actor(cfg),
        args_(std::move(args)),
        cfg_(args_.cfg),
        clock_(clock_or_wall(args_.cfg.clock)),
        watch_(duration{cfg_.recovery_report_interval.count()},
               duration{cfg_.recovery_timeout.count()}),
        dead_(cfg_.dead_letter_path) {}

  /// Drops strong references to tasks and the writer (see task on_exit).
  void on_exit() override {
    actors_.clear();
    writer_ = nullptr;
    args_.reply_to = nullptr;
  }

  caf::behavior make_behavior() override {
    set_down_handler([this](caf::down_msg& dm) { on_down(dm); });
    // Tasks are linked to the supervisor so that they never outlive it; their
    // own exits are handled through monitoring (down messages) instead.
    set_exit_handler([](caf::exit_msg&) {});
    restart_ = parse_restart_strategy(cfg_.restart);
    report_.notes = std::move(args_.notes);
    if (args_.store) {
      writer_ = spawn_snapshot_writer(system(), args_.store, caf::actor_cast<caf::actor>(this));
      link_to(writer_);
      checkpoints_.emplace(
          args_.store, cfg_, job_meta(*args_.graph),
          args_.restore ? std::optional<uint64_t>{args_.restore->id.value} : std::nullopt,
          clock_->now());
    }
    deploy(args_.restore);
    delayed_send(this, tick_interval(), tick_atom::value);
    return {
        [this](done_atom, uint32_t v, uint32_t i, std::vector<operator_metrics>& ms) {
          if (phase_ != phase::running)
            return;
          finished_.insert({v, i});
          for (auto& m : ms)
            metrics_.push_back(std::move(m));
          if (finished_.size() == total_)
            on_all_finished();
        },
        [this](failed_atom, uint32_t v, uint32_t i, task_failure& f) {
          if (phase_ == phase::restarting)
            return;
          failed_.insert({v, i});
          on_failure(f.describe());
        },
        [this](dead_atom, std::vector<dead_letter>& ds) {
          if (auto r = dead_.append(ds); !r)
            fail_job(r.error().message);
        },
        [this](stop_atom, std::string& why) { fail_job(why); },
        [this](ack_atom, uint64_t id, uint32_t v, uint32_t i, uint64_t bytes, int64_t sync_ms,
               int64_t async_ms) {
          on_ack(id, task_id{v, i}, ack_stats{bytes, duration{sync_ms}, duration{async_ms}});
        },
        [this](decline_atom, uint64_t id, uint32_t v, uint32_t i, std::string& why) {
          if (checkpoints_)
            checkpoints_->decline(id, task_id{v, i}, why, clock_->now(), pending_notes_);
          flush_notes();
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
          on_failure(fmt::format("cannot deploy attempt {} ({}): {}", attempt, to_string(e.code),
                                 e.detail));
        },
        [this](tick_atom) { on_tick(); },
    };
  }

private:
  /// running: tasks run. finishing: all finished, the final checkpoint is
  /// in flight. restarting: old tasks are stopping. waiting: the job cannot
  /// be placed yet. deploying: the other nodes are spawning their tasks.
  enum class phase { running, finishing, restarting, waiting, deploying, done };

  milliseconds tick_interval() const {
    auto iv = cfg_.checkpoints.interval.count() > 0 ? cfg_.checkpoints.interval : milliseconds{100};
    return std::clamp(iv / 4, milliseconds{5}, milliseconds{100});
  }

  // -- deployment ----------------------------------------------------------

  void deploy(const std::optional<state::checkpoint_meta>& restore) {
    actors_.clear();
    alive_.clear();
    finished_.clear();
    failed_.clear();
    metrics_.clear();
    total_ = 0;
    report_.restored_from = restore ? std::optional<uint64_t>{restore->id.value} : std::nullopt;
    auto& cl = args_.cluster;
    if (!cl) {
      spawn_local(restore);
      return;
    }
    // Cluster mode: place the instances and have the other nodes spawn
    // theirs; the answer comes as a deployed_atom message.
    auto placed = cl->place(*args_.graph);
    if (auto* e = std::get_if<error>(&placed)) {
      if (phase_ != phase::waiting)
        note("waiting before deploying: " + e->detail);
      phase_ = phase::waiting;
      waiting_restore_ = restore;
      watch_.waiting_for(e->detail, clock_->now());
      return;
    }
    where_ = std::move(std::get<placement>(placed));
    phase_ = phase::deploying;
    deploying_restore_ = restore;
    watch_.waiting_for(fmt::format("the other nodes to deploy attempt {}", attempt_),
                       clock_->now());
    cl->deploy(attempt_, where_,
               restore ? std::optional<uint64_t>{restore->id.value} : std::nullopt,
               caf::actor_cast<caf::actor>(this));
  }

  /// Spawns this node's tasks (and proxies of the remote ones) and starts them.
  void spawn_local(const std::optional<state::checkpoint_meta>& restore) {
    const auto& vs = args_.graph->vertices();
    deployment d;
    d.graph = args_.graph;
    d.cfg = cfg_;
    d.supervisor = caf::actor_cast<caf::actor>(this);
    d.writer = writer_;
    d.store = args_.store;
    d.restore = restore;
    auto& cl = args_.cluster;
    if (cl) {
      d.where = &where_;
      d.local_node = cl->local_node();
      d.remote = [this, &cl](uint32_t v, uint32_t i) {
        return cl->proxy(attempt_, where_[v][i], v, i);
      };
    }
    actors_ = spawn_tasks(system(), d);
    std::vector<task_id> ids;
    for (auto& v : vs)
      for (uint32_t i = 0; i < v.parallelism; ++i) {
        auto& a = actors_[v.id][i];
        monitor(a);
        alive_.insert(a.address());
        if (is_local(d, v.id, i)) {
          link_to(a);
          if (cl)
            cl->register_local(attempt_, v.id, i, a);
        }
        ids.push_back(task_id{v.id, i});
        ++total_;
      }
    if (checkpoints_)
      checkpoints_->begin_attempt(std::move(ids), clock_->now());
    phase_ = phase::running;
    watch_.done();
    // Start downstream tasks first: a task's start message is then enqueued
    // before any data its upstream can send it.
    for (size_t vi = vs.size(); vi-- > 0;)
      for (auto& a : actors_[vi])
        send(a, start_atom::value);
    // A node lost while the others deployed has proxies that will never
    // hear of it: recover now.
    if (cl)
      for (uint32_t v = 0; v < where_.size(); ++v)
        for (uint16_t n : where_[v])
          if (auto why = cl->lost(n)) {
            on_failure(fmt::format("node {} lost while attempt {} deployed: {}", cl->node_name(n),
                                   attempt_, *why));
            return;
          }
  }

  // -- checkpoints ---------------------------------------------------------

  void on_tick() {
    if (phase_ == phase::done)
      return;
    delayed_send(this, tick_interval(), tick_atom::value);
    const timestamp now = clock_->now();
    auto v = watch_.check(now);
    if (v.report)
      log(false, *v.report);
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
    if (phase_ == phase::running)
      if (auto t = checkpoints_->poll(now, take_savepoint_request(), pending_notes_))
        trigger(t->id);
    flush_notes();
  }

  /// Sends the trigger to every source task and to every finished task.
  void trigger(uint64_t id) {
    const auto& g = *args_.graph;
    for (auto& v : g.vertices()) {
      const bool source = g.logical().nodes[v.chain.front()].is_source;
      for (uint32_t i = 0; i < actors_[v.id].size(); ++i)
        if (source || finished_.count({v.id, i}))
          send(actors_[v.id][i], checkpoint_atom::value, id);
    }
  }

  void on_ack(uint64_t id, task_id t, ack_stats stats) {
    if (!checkpoints_ || phase_ == phase::restarting || phase_ == phase::done)
      return;
    auto r = checkpoints_->acknowledge(id, t, stats, clock_->now(), pending_notes_);
    flush_notes();
    if (!r) {
      on_failure(r.error().message);
      return;
    }
    auto& done = r.value();
    if (!done)
      return;
    log(false,
        fmt::format("completed {} {}", done->savepoint ? "savepoint" : "checkpoint", done->id));
    faults().at(crash_point::before_sink_commit, done->id);
    for (auto& vec : actors_)
      for (auto& a : vec)
        send(a, complete_atom::value, done->id);
    if (done->ends_job) {
      ending_id_ = done->id;  // finish once every task confirmed (committed_atom)
      committed_.clear();
    }
  }

  /// Every task finished. With checkpoints, one last checkpoint of the final
  /// state makes sinks commit what they staged since the previous one.
  void on_all_finished() {
    if (!checkpoints_ || !checkpoints_->periodic()) {
      finish_job();
      return;
    }
    phase_ = phase::finishing;
    trigger(checkpoints_->trigger_final(clock_->now(), pending_notes_).id);
    flush_notes();
  }

  // -- failures and restarts ----------------------------------------------

  void on_down(const caf::down_msg& dm) {
    const bool was_alive = alive_.erase(dm.source) > 0;
    if (phase_ == phase::restarting) {
      if (old_tasks_.erase(dm.source) > 0) {
        watch_.progress(clock_->now());
        if (old_tasks_.empty() && restart_due_)
          restart_due_ = false, redeploy_later();
      }
      return;
    }
    if (!was_alive || phase_ == phase::done)
      return;
    for (uint32_t v = 0; v < actors_.size(); ++v)
      for (uint32_t i = 0; i < actors_[v].size(); ++i)
        if (actors_[v][i].address() == dm.source) {
          if (failed_.count({v, i}))
            return;
          failed_.insert({v, i});
          std::string why = system().render(dm.reason);
          if (args_.cluster && !where_.empty() && where_[v][i] != args_.cluster->local_node()) {
            const uint16_t n = where_[v][i];
            why = fmt::format("node {} lost: {}", args_.cluster->node_name(n),
                              args_.cluster->lost(n).value_or(why));
          }
          on_failure(fmt::format("task {}#{} stopped unexpectedly: {}",
                                 args_.graph->vertices()[v].name, i, why));
          return;
        }
  }

  /// A task failed: restart from the latest completed checkpoint if the
  /// restart strategy allows, else fail the job with the cause.
  void on_failure(const std::string& why) {
    if (phase_ == phase::done || phase_ == phase::restarting || phase_ == phase::waiting)
      return;
    if (!restart_after(why))
      return;
    // Wait until every task of the old attempt is down before the new one
    // starts (a task's state directory, ports and sinks are then free).
    old_tasks_ = alive_;
    for (auto& vec : actors_)
      for (auto& a : vec) {
        unlink_from(a);
        send_exit(a, caf::exit_reason::kill);
      }
    if (old_tasks_.empty()) {
      redeploy_later();  // nothing to wait for (e.g. the deployment itself failed)
      return;
    }
    restart_due_ = true;
    watch_.waiting_for(
        fmt::format("{} tasks of attempt {} to stop", old_tasks_.size(), attempt_ - 1),
        clock_->now());
  }

  /// A recovery made no progress within the limit: the attempt failed; go
  /// on by the restart strategy without waiting for what never came.
  void on_stall(const std::string& why) {
    const auto was = phase_;
    if (was == phase::done)
      return;
    log(true, why);
    phase_ = phase::running;  // let restart_after decide afresh
    if (!restart_after(why))
      return;
    for (auto& vec : actors_)
      for (auto& a : vec)
        send_exit(a, caf::exit_reason::kill);
    old_tasks_.clear();
    restart_due_ = false;
    redeploy_later();
  }

  /// Records a failure and asks the restart strategy. False when the job
  /// failed for good (it has been reported); true when a new attempt is due.
  bool restart_after(const std::string& why) {
    report_.failures.push_back(why);
    log(true, why);
    if (args_.cluster)
      args_.cluster->cancel(attempt_, why);
    if (checkpoints_)
      checkpoints_->abort_all("job failed: " + why, clock_->now());
    auto decision = restart_->on_failure(clock_->now());
    if (!decision.restart) {
      fail_job(report_.restarts == 0 ? why
                                     : fmt::format("{} (after {} restarts: {})", why,
                                                   report_.restarts, decision.reason));
      return false;
    }
    phase_ = phase::restarting;
    ++attempt_;
    ++report_.restarts;
    restart_delay_ = decision.delay;
    return true;
  }

  /// The new attempt starts once the restart delay has passed on the
  /// injected clock (checked every tick; at once without a delay).
  void redeploy_later() {
    if (restart_delay_.count() <= 0) {
      redeploy();
      return;
    }
    restart_at_ = clock_->now() + restart_delay_;
    watch_.done();  // a configured wait, not a stall
  }

  void redeploy() {
    std::optional<state::checkpoint_meta> restore;
    if (args_.store) {
      auto rp = args_.store->latest_valid();
      if (!rp) {
        fail_job("cannot find a checkpoint to recover from: " + rp.error().message);
        return;
      }
      for (auto& s : rp.value().skipped)
        note(fmt::format("skipped damaged checkpoint {}: {}", s.id.value, s.reason.message));
      restore = rp.value().checkpoint;
      if (!restore && !rp.value().skipped.empty()) {
        fail_job("every completed checkpoint is damaged; refusing to restart from the beginning");
        return;
      }
      if (args_.restore && (!restore || restore->id < args_.restore->id))
        restore = args_.restore;
    }
    note(restore ? fmt::format("restart {}: restoring checkpoint {}", report_.restarts,
                               restore->id.value)
                 : fmt::format("restart {}: no checkpoint yet, starting from the beginning",
                               report_.restarts));
    deploy(restore);
  }

  void fail_job(const std::string& why) {
    if (phase_ == phase::done)
      return;
    if (args_.cluster)
      args_.cluster->cancel(attempt_, why);
    if (checkpoints_)
      checkpoints_->abort_all("job failed", clock_->now());
    for (auto& vec : actors_)
      for (auto& a : vec)
        send_exit(a, caf::exit_reason::user_shutdown);
    report(false, why);
  }

  void finish_job() {
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
    report(true, "");
  }

  void report(bool ok, std::string error) {
    phase_ = phase::done;
    watch_.done();
    report_.ok = ok;
    report_.error = std::move(error);
    report_.metrics = std::move(metrics_);
    report_.dead_letters = dead_.count();
    report_.dead_letter_path = dead_.finish();
    if (checkpoints_) {
      report_.checkpoints_completed = checkpoints_->completed();
      report_.checkpoints_aborted = checkpoints_->aborted();
      report_.last_checkpoint = checkpoints_->last_completed();
      report_.savepoint = checkpoints_->savepoint();
      report_.max_sync_ms = checkpoints_->max_sync_ms();
    }
    if (writer_) {
      send_exit(writer_, caf::exit_reason::user_shutdown);
      writer_ = nullptr;
    }
    send(args_.reply_to, job_done_atom::value, std::move(report_));
    quit();
  }

  void note(std::string s) {
    log(false, s);
    report_.notes.push_back(std::move(s));
  }

  void flush_notes() {
    for (auto& n : pending_notes_)
      note(std::move(n));
    pending_notes_.clear();
  }

  void log(bool warning, const std::string& s) {
    if (args_.log)
      args_.log(warning, s);
  }

  supervisor_args args_;
  const runtime_config& cfg_;
  std::shared_ptr<const sluice::clock> clock_;
  recovery_watch watch_;
  dead_letter_file dead_;
  std::unique_ptr<restart_strategy> restart_;
  std::optional<checkpoint_driver> checkpoints_;
  std::vector<std::string> pending_notes_;  ///< From the checkpoint driver, not yet noted.
  caf::actor writer_;
  std::vector<std::vector<caf::actor>>
      actors_;                       ///< Every instance of the current attempt (task or proxy).
  std::set<caf::actor_addr> alive_;  ///< Those not seen down yet.
  placement where_;  ///< Cluster mode: node of every instance of the current attempt.
  std::optional<state::checkpoint_meta> waiting_restore_;  ///< What a waiting deployment restores.
  std::optional<state::checkpoint_meta>
      deploying_restore_;  ///< What the deployment in flight restores.
  std::set<std::pair<uint32_t, uint32_t>> finished_;
  std::set<std::pair<uint32_t, uint32_t>> failed_;
  std::set<caf::actor_addr> old_tasks_;  ///< Of the replaced attempt, until they are down.
  std::vector<operator_metrics> metrics_;
  job_report report_;
  size_t total_ = 0;
  phase phase_ = phase::running;
  uint32_t attempt_ = 0;
  bool restart_due_ = false;
  duration restart_delay_{0};
  std::optional<timestamp>
      restart_at_;  ///< When the next attempt may start (restarting, old tasks down).
  std::optional<uint64_t> ending_id_;
  std::set<std::pair<uint32_t, uint32_t>> committed_;
};

}  // namespace

caf::actor spawn_supervisor(caf::actor_system& sys, supervisor_args args) {
  return sys.spawn<job_supervisor>(std::move(args));
}

}  // namespace sluice::actors
