#include "sluice/actors/supervisor.hpp"

#include <caf/all.hpp>
#include <fmt/format.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <set>

#include "sluice/actors/checkpoint_coordinator.hpp"
#include "sluice/actors/deploy.hpp"
#include "sluice/actors/fault_injector.hpp"
#include "sluice/actors/messages.hpp"
#include "sluice/actors/restart_strategy.hpp"
#include "sluice/actors/snapshot_writer.hpp"
#include "sluice/actors/task.hpp"

namespace sluice::actors {
namespace {

using std::chrono::milliseconds;

/// Key in the state directory's metadata: the next checkpoint id, so that
/// ids are never reused, not even across process restarts.
constexpr const char* next_id_key = "next_checkpoint_id";

class node_supervisor : public caf::event_based_actor {
 public:
  node_supervisor(caf::actor_config& cfg, supervisor_args args)
      : caf::event_based_actor(cfg), args_(std::move(args)), cfg_(args_.cfg) {}

  ~node_supervisor() override {
    if (dead_file_) std::fclose(dead_file_);
  }

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
      auto next = args_.store->get_meta(next_id_key);
      if (next && next.value()) next_id_ = std::stoull(*next.value());
    }
    if (args_.restore) next_id_ = std::max(next_id_, args_.restore->id.value + 1);
    deploy(args_.restore);
    if (args_.store) {
      savepoint_due_ = cfg_.stop_with_savepoint_after.count() > 0 ? clock_.now() + cfg_.stop_with_savepoint_after
                                                                   : timestamp::max();
    }
    if (args_.store || args_.cluster) delayed_send(this, tick_interval(), tick_atom::value);
    return {
        [this](done_atom, uint32_t v, uint32_t i, std::vector<operator_metrics>& ms) {
          if (phase_ != phase::running) return;
          finished_.insert({v, i});
          for (auto& m : ms) metrics_.push_back(std::move(m));
          if (finished_.size() == total_) on_all_finished();
        },
        [this](failed_atom, uint32_t v, uint32_t i, task_failure& f) {
          if (phase_ == phase::restarting) return;
          failed_.insert({v, i});
          on_failure(f.describe());
        },
        [this](dead_atom, std::vector<dead_letter>& ds) { write_dead_letters(ds); },
        [this](stop_atom, std::string& why) { fail_job(why); },
        [this](ack_atom, uint64_t id, uint32_t v, uint32_t i, uint64_t bytes, int64_t sync_ms, int64_t async_ms) {
          on_ack(id, v, i, bytes, sync_ms, async_ms);
        },
        [this](decline_atom, uint64_t id, uint32_t v, uint32_t i, std::string& why) {
          if (!coordinator_) return;
          auto out = coordinator_->decline(checkpoint_id{id}, task_id{v, i}, why, clock_.now());
          if (auto* a = std::get_if<checkpoint_aborted>(&out)) note(a->message);
        },
        [this](committed_atom, uint64_t id, uint32_t v, uint32_t i) {
          // The job is recorded finished only once every task published the
          // final (or stop) checkpoint; a crash before that resumes from it.
          if (!ending_id_ || id != *ending_id_ || phase_ == phase::done) return;
          committed_.insert({v, i});
          if (committed_.size() == total_) finish_job();
        },
        [this](tick_atom) { on_tick(); },
        [this](restart_atom, uint32_t attempt) {
          if (attempt == attempt_ && phase_ == phase::restarting) redeploy();
        },
    };
  }

 private:
  enum class phase { running, finishing, restarting, waiting, done };

  bool checkpointing() const { return args_.store && cfg_.checkpoints.interval.count() > 0; }

  milliseconds tick_interval() const {
    auto iv = cfg_.checkpoints.interval.count() > 0 ? cfg_.checkpoints.interval : milliseconds{100};
    return std::clamp(iv / 4, milliseconds{5}, milliseconds{100});
  }

  // -- deployment ----------------------------------------------------------

  void deploy(const std::optional<state::checkpoint_meta>& restore) {
    const auto& g = *args_.graph;
    const auto& vs = g.vertices();
    actors_.clear();
    finished_.clear();
    failed_.clear();
    metrics_.clear();
    total_ = 0;
    report_.restored_from = restore ? std::optional<uint64_t>{restore->id.value} : std::nullopt;
    deployment d;
    d.graph = args_.graph;
    d.cfg = cfg_;
    d.supervisor = caf::actor_cast<caf::actor>(this);
    d.writer = writer_;
    d.store = args_.store;
    d.restore = restore;
    if (auto& cl = args_.cluster) {
      // Cluster mode: place the instances, have the other nodes spawn
      // theirs, and stand for them with proxies here.
      std::string why_not;
      auto where = cl->place(g, why_not);
      if (!where) {
        if (phase_ != phase::waiting) note("waiting before deploying: " + why_not);
        phase_ = phase::waiting;
        waiting_restore_ = restore;
        return;
      }
      where_ = std::move(*where);
      try {
        cl->deploy(attempt_, where_, restore ? std::optional<uint64_t>{restore->id.value} : std::nullopt);
      } catch (const std::exception& e) {
        phase_ = phase::running;
        on_failure(fmt::format("cannot deploy attempt {}: {}", attempt_, e.what()));
        return;
      }
      d.where = &where_;
      d.local_node = cl->local_node();
      d.remote = [this, &cl](uint32_t v, uint32_t i) { return cl->proxy(attempt_, where_[v][i], v, i); };
    }
    actors_ = spawn_tasks(system(), d);
    std::vector<task_id> ids;
    for (auto& v : vs)
      for (uint32_t i = 0; i < v.parallelism; ++i) {
        auto& a = actors_[v.id][i];
        monitor(a);
        if (is_local(d, v.id, i)) {
          link_to(a);
          if (args_.cluster) args_.cluster->register_local(attempt_, v.id, i, a);
        }
        ids.push_back(task_id{v.id, i});
        ++total_;
      }
    if (args_.store) {
      checkpoint_settings s;
      s.interval = checkpointing() ? cfg_.checkpoints.interval : duration{0};
      s.timeout = cfg_.checkpoints.timeout;
      s.min_pause = cfg_.checkpoints.min_pause;
      s.retained = cfg_.checkpoints.retained;
      coordinator_.emplace(s, std::move(ids), checkpoint_id{next_id_}, clock_.now());
    }
    phase_ = phase::running;
    // Start downstream tasks first: a task's start message is then enqueued
    // before any data its upstream can send it.
    for (size_t vi = vs.size(); vi-- > 0;)
      for (auto& a : actors_[vi]) send(a, start_atom::value);
  }

  // -- checkpoints ---------------------------------------------------------

  void on_tick() {
    if (phase_ == phase::done) return;
    delayed_send(this, tick_interval(), tick_atom::value);
    if (phase_ == phase::waiting) {
      deploy(waiting_restore_);  // retries placing the job (e.g. a node came back)
      return;
    }
    if (!coordinator_ || phase_ == phase::restarting) return;
    const timestamp now = clock_.now();
    for (auto& a : coordinator_->expire(now)) note(a.message);
    if (phase_ != phase::running) return;
    const int request = take_savepoint_request();
    if ((now >= savepoint_due_ && !stop_id_) || request != 0) {
      const uint64_t id = coordinator_->trigger_savepoint(now).value;
      savepoints_.insert(id);
      if (now >= savepoint_due_ || request == 2) stop_id_ = id;
      savepoint_due_ = timestamp::max();
      note(fmt::format("savepoint {} triggered{}", id, stop_id_ == id ? " (the job stops when it completes)" : ""));
      trigger(id);
    } else if (auto id = coordinator_->poll(now)) {
      trigger(id->value);
    }
  }

  /// Sends the trigger to every source task and to every finished task.
  void trigger(uint64_t id) {
    next_id_ = std::max(next_id_, id + 1);
    if (auto r = args_.store->put_meta(next_id_key, std::to_string(next_id_)); !r)
      note("cannot record the next checkpoint id: " + r.error().message);
    const auto& g = *args_.graph;
    for (auto& v : g.vertices()) {
      const bool source = g.logical().nodes[v.chain.front()].is_source;
      for (uint32_t i = 0; i < actors_[v.id].size(); ++i)
        if (source || finished_.count({v.id, i})) send(actors_[v.id][i], checkpoint_atom::value, id);
    }
  }

  void on_ack(uint64_t id, uint32_t v, uint32_t i, uint64_t bytes, int64_t sync_ms, int64_t async_ms) {
    if (!coordinator_ || phase_ == phase::restarting || phase_ == phase::done) return;
    auto out = coordinator_->acknowledge(checkpoint_id{id}, task_id{v, i},
                                         ack_stats{bytes, duration{sync_ms}, duration{async_ms}}, clock_.now());
    report_.max_sync_ms = std::max(report_.max_sync_ms, sync_ms);
    if (auto* c = std::get_if<checkpoint_completed>(&out)) on_completed(*c);
  }

  void on_completed(const checkpoint_completed& c) {
    for (auto& a : c.subsumed) note(a.message);
    const auto& p = args_.graph->logical();
    state::checkpoint_meta meta;
    meta.id = c.id;
    meta.savepoint = savepoints_.count(c.id.value) > 0;
    meta.completed_at_ms = system_clock{}.now().ms;
    meta.job_name = p.job_name;
    for (auto& n : p.nodes) meta.operator_parallelism.emplace_back(uid_of(n), args_.graph->parallelism_of(n.id));
    if (auto r = args_.store->commit(meta); !r) {
      on_failure(fmt::format("cannot commit checkpoint {}: {}", c.id.value, r.error().message));
      return;
    }
    ++report_.checkpoints_completed;
    report_.last_checkpoint = c.id.value;
    if (auto r = args_.store->retain(cfg_.checkpoints.retained); !r) note("cannot delete old checkpoints: " + r.error().message);
    faults().at(crash_point::before_sink_commit, c.id.value);
    for (auto& vec : actors_)
      for (auto& a : vec) send(a, complete_atom::value, c.id.value);
    if (meta.savepoint) report_.savepoint = c.id.value;
    if ((stop_id_ && *stop_id_ == c.id.value) || (final_id_ && *final_id_ == c.id.value)) {
      ending_id_ = c.id.value;  // finish once every task confirmed (committed_atom)
      committed_.clear();
    }
  }

  /// Every task finished. With checkpoints, one last checkpoint of the final
  /// state makes sinks commit what they staged since the previous one.
  void on_all_finished() {
    if (!checkpointing()) {
      finish_job();
      return;
    }
    phase_ = phase::finishing;
    final_id_ = coordinator_->trigger_savepoint(clock_.now()).value;
    trigger(*final_id_);
  }

  // -- failures and restarts ----------------------------------------------

  void on_down(const caf::down_msg& dm) {
    if (phase_ == phase::restarting) {
      if (old_tasks_.erase(dm.source) > 0 && old_tasks_.empty() && restart_due_) restart_due_ = false, redeploy_later();
      return;
    }
    for (uint32_t v = 0; v < actors_.size(); ++v)
      for (uint32_t i = 0; i < actors_[v].size(); ++i)
        if (actors_[v][i].address() == dm.source) {
          if (phase_ == phase::done || failed_.count({v, i})) return;
          failed_.insert({v, i});
          std::string why = system().render(dm.reason);
          if (args_.cluster && !where_.empty() && where_[v][i] != args_.cluster->local_node()) {
            const uint16_t n = where_[v][i];
            why = fmt::format("node {} lost: {}", args_.cluster->node_name(n),
                              args_.cluster->lost(n).value_or(why));
          }
          on_failure(fmt::format("task {}#{} stopped unexpectedly: {}", args_.graph->vertices()[v].name, i, why));
          // It is down already: the restart must not wait for its down message.
          if (phase_ == phase::restarting && old_tasks_.erase(dm.source) > 0 && old_tasks_.empty() && restart_due_)
            restart_due_ = false, redeploy_later();
          return;
        }
  }

  /// A task failed: restart from the latest completed checkpoint if the
  /// restart strategy allows, else fail the job with the cause.
  void on_failure(const std::string& why) {
    if (phase_ == phase::done || phase_ == phase::restarting || phase_ == phase::waiting) return;
    report_.failures.push_back(why);
    if (args_.cluster) args_.cluster->cancel(attempt_, why);
    if (coordinator_) coordinator_->abort_all("job failed: " + why, clock_.now());
    auto decision = restart_->on_failure(clock_.now());
    if (!decision.restart) {
      fail_job(report_.restarts == 0 ? why : fmt::format("{} (after {} restarts: {})", why, report_.restarts, decision.reason));
      return;
    }
    phase_ = phase::restarting;
    ++attempt_;
    ++report_.restarts;
    restart_delay_ = decision.delay;
    old_tasks_.clear();
    for (auto& vec : actors_)
      for (auto& a : vec) {
        old_tasks_.insert(a.address());
        unlink_from(a);
        send_exit(a, caf::exit_reason::kill);
      }
    restart_due_ = true;
    for (auto& f : failed_) (void)f;  // tasks that already died are not in old_tasks_ anymore once their down arrives
  }

  void redeploy_later() { delayed_send(this, restart_delay_, restart_atom::value, attempt_); }

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
      if (args_.restore && (!restore || restore->id < args_.restore->id)) restore = args_.restore;
    }
    note(restore ? fmt::format("restart {}: restoring checkpoint {}", report_.restarts, restore->id.value)
                 : fmt::format("restart {}: no checkpoint yet, starting from the beginning", report_.restarts));
    deploy(restore);
  }

  void fail_job(const std::string& why) {
    if (phase_ == phase::done) return;
    if (args_.cluster) args_.cluster->cancel(attempt_, why);
    if (coordinator_) coordinator_->abort_all("job failed", clock_.now());
    for (auto& vec : actors_)
      for (auto& a : vec) send_exit(a, caf::exit_reason::user_shutdown);
    report(false, why);
  }

  void finish_job() {
    if (phase_ == phase::done) return;
    if (args_.store) {
      if (auto r = args_.store->put_meta("job_finished", report_.savepoint ? "savepoint" : "1"); !r)
        note("cannot record that the job finished: " + r.error().message);
    }
    for (auto& vec : actors_)
      for (auto& a : vec) send(a, stop_atom::value, std::string{"job finished"});
    report(true, "");
  }

  void report(bool ok, std::string error) {
    phase_ = phase::done;
    report_.ok = ok;
    report_.error = std::move(error);
    report_.metrics = std::move(metrics_);
    report_.dead_letters = dead_count_;
    if (coordinator_) report_.checkpoints_aborted = coordinator_->counters().aborted;
    if (dead_file_) {
      std::fflush(dead_file_);
      report_.dead_letter_path = cfg_.dead_letter_path;
    }
    if (writer_) {
      send_exit(writer_, caf::exit_reason::user_shutdown);
      writer_ = nullptr;
    }
    send(args_.reply_to, job_done_atom::value, std::move(report_));
    quit();
  }

  void note(std::string s) { report_.notes.push_back(std::move(s)); }

  void write_dead_letters(const std::vector<dead_letter>& ds) {
    if (!dead_file_) {
      dead_file_ = std::fopen(cfg_.dead_letter_path.c_str(), "ab");
      if (!dead_file_) {
        fail_job(fmt::format("cannot open dead-letter file '{}': {}", cfg_.dead_letter_path, std::strerror(errno)));
        return;
      }
    }
    for (auto& d : ds) {
      auto line = to_json_line(d);
      line += '\n';
      std::fwrite(line.data(), 1, line.size(), dead_file_);
    }
    dead_count_ += ds.size();
  }

  supervisor_args args_;
  const runtime_config& cfg_;
  system_clock clock_;
  std::unique_ptr<restart_strategy> restart_;
  std::optional<checkpoint_coordinator> coordinator_;
  caf::actor writer_;
  std::vector<std::vector<caf::actor>> actors_;
  placement where_;  ///< Cluster mode: node of every instance of the current attempt.
  std::optional<state::checkpoint_meta> waiting_restore_;  ///< What a waiting deployment restores.
  std::set<std::pair<uint32_t, uint32_t>> finished_;
  std::set<std::pair<uint32_t, uint32_t>> failed_;
  std::set<caf::actor_addr> old_tasks_;
  std::vector<operator_metrics> metrics_;
  job_report report_;
  size_t total_ = 0;
  phase phase_ = phase::running;
  uint32_t attempt_ = 0;
  bool restart_due_ = false;
  duration restart_delay_{0};
  uint64_t next_id_ = 1;
  std::optional<uint64_t> final_id_;
  std::optional<uint64_t> ending_id_;
  std::set<std::pair<uint32_t, uint32_t>> committed_;
  std::set<uint64_t> savepoints_;   ///< User-triggered: kept by retain().
  std::optional<uint64_t> stop_id_;  ///< The savepoint after which the job stops.
  timestamp savepoint_due_ = timestamp::max();
  std::FILE* dead_file_ = nullptr;
  uint64_t dead_count_ = 0;
};

}  // namespace

caf::actor spawn_supervisor(caf::actor_system& sys, supervisor_args args) {
  return sys.spawn<node_supervisor>(std::move(args));
}

}  // namespace sluice::actors
