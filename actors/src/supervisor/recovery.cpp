// Failures and restarts: a task down or failed, a stalled recovery, the
// restart strategy's decision and the redeployment from the latest valid
// checkpoint.

#include <fmt/format.h>

#include "supervisor/job_supervisor.hpp"

namespace sluice::actors {

void job_supervisor::on_down(const caf::down_msg& dm) {
  const bool was_alive = alive_.erase(dm.source) > 0;
  if (local_ && !local_->down && actors_[local_->v][local_->i].address() == dm.source) {
    local_->down = true;
    replace_instance();
    return;
  }
  for (auto& q : queued_)
    if (!q.down && actors_[q.v][q.i].address() == dm.source) {
      q.down = true;  // recovered alone once the instance before it caught up
      return;
    }
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
        const bool remote =
            args_.cluster && !where_.empty() && where_[v][i] != args_.cluster->local_node();
        errc code = errc::task_stopped;
        if (remote) {
          const uint16_t n = where_[v][i];
          const auto lost = args_.cluster->lost(n);
          why = fmt::format("node {} lost: {}", args_.cluster->node_name(n),
                            lost ? lost->detail : why);
          if (lost)
            code = errc::node_lost;
        }
        const std::string what = fmt::format("task {}#{} stopped unexpectedly: {}",
                                             args_.graph->vertices()[v].name, i, why);
        const instance_ref about{args_.graph->vertices()[v].name, i};
        if (!remote && try_local(code, what, true, about, v, i, true))
          return;
        on_failure(code, what, true, about);
        return;
      }
}

void job_supervisor::on_failure(errc code, const std::string& why, bool retryable,
                                const std::optional<instance_ref>& about) {
  if (phase_ == phase::done || phase_ == phase::restarting || phase_ == phase::waiting)
    return;
  if (!restart_after(code, why, retryable, about))
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
  watch_.waiting_for(fmt::format("{} tasks of attempt {} to stop", old_tasks_.size(), attempt_ - 1),
                     clock_->now());
}

void job_supervisor::on_stall(const std::string& why) {
  const auto was = phase_;
  if (was == phase::done)
    return;
  log(log_level::warn, why);
  phase_ = phase::running;  // let restart_after decide afresh
  if (!restart_after(errc::recovery_stalled, why))
    return;
  for (auto& vec : actors_)
    for (auto& a : vec)
      send_exit(a, caf::exit_reason::kill);
  old_tasks_.clear();
  restart_due_ = false;
  redeploy_later();
}

bool job_supervisor::restart_after(errc code, const std::string& why, bool retryable,
                                   const std::optional<instance_ref>& about) {
  report_.failures.push_back(why);
  if (args_.cluster)
    args_.cluster->cancel(attempt_, why);
  if (checkpoints_)
    checkpoints_->abort_all("job failed: " + why, clock_->now());
  if (!retryable) {
    record_failure(code, about, why, false);
    fail_job(why, about);
    return false;
  }
  auto decision = restart_->on_failure(clock_->now());
  record_failure(code, about, why, decision.restart);
  if (decision.restart) {
    recovery_record rec;
    rec.instance = about ? fmt::format("{}#{}", about->operator_name, about->instance)
                         : std::string{"the job"};
    rec.mode = "global";
    rec.reason = std::exchange(global_reason_, {});
    if (rec.reason.empty() && cfg_.recovery == "local")
      rec.reason =
          about ? fmt::format("a failure of kind {} is not recovered locally", to_string(code))
                : fmt::format("the failure ({}) concerns the whole job", to_string(code));
    report_.recoveries.push_back(std::move(rec));
    local_.reset();
  }
  if (!decision.restart) {
    give_up(why, decision.reason, about);
    return false;
  }
  // A failure recovered from is a warning; one that ends the job is logged
  // by fail_job, as an error.
  log(log_level::warn, why, about);
  phase_ = phase::restarting;
  ++attempt_;
  ++report_.restarts;
  restart_delay_ = decision.delay;
  return true;
}

void job_supervisor::give_up(const std::string& why, const std::string& strategy_reason,
                             const std::optional<instance_ref>& about) {
  fail_job(report_.restarts == 0
               ? why
               : fmt::format("{} (after {} restarts: {})", why, report_.restarts, strategy_reason),
           about);
}

void job_supervisor::redeploy_later() {
  if (restart_delay_.count() <= 0) {
    redeploy();
    return;
  }
  restart_at_ = clock_->now() + restart_delay_;
  watch_.done();  // a configured wait, not a stall
}

void job_supervisor::redeploy() {
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
  if (!report_.recoveries.empty() && report_.recoveries.back().mode == "global" && restore)
    report_.recoveries.back().restored_from = restore->id.value;
  note(restore
           ? fmt::format("restart {}: restoring checkpoint {}", report_.restarts, restore->id.value)
           : fmt::format("restart {}: no checkpoint yet, starting from the beginning",
                         report_.restarts));
  deploy(restore);
}

}  // namespace sluice::actors
