// The supervisor's side of checkpoints: triggers to the sources, the
// acknowledgements, completion to every task, the final checkpoint.

#include <fmt/format.h>

#include <algorithm>

#include "sluice/actors/fault_injector.hpp"
#include "supervisor/job_supervisor.hpp"

namespace sluice::actors {

void job_supervisor::trigger(uint64_t id) {
  last_triggered_ = std::max(last_triggered_, id);
  const auto& g = *args_.graph;
  for (auto& v : g.vertices()) {
    const bool source = g.logical().nodes[v.chain.front()].is_source;
    for (uint32_t i = 0; i < actors_[v.id].size(); ++i)
      if (source || finished_.count({v.id, i}))
        send(actors_[v.id][i], checkpoint_atom::value, id);
  }
}

void job_supervisor::on_ack(uint64_t id, task_id t, ack_stats stats) {
  if (!checkpoints_ || phase_ == phase::restarting || phase_ == phase::done)
    return;
  {
    std::lock_guard<std::mutex> guard{live_->mtx};
    auto& sizes = live_->state_sizes;
    auto it = std::find_if(sizes.begin(), sizes.end(), [&](const task_state_size& s) {
      return s.task == args_.graph->vertices()[t.vertex].name && s.instance == t.instance;
    });
    if (it == sizes.end())
      it = sizes.insert(sizes.end(), {args_.graph->vertices()[t.vertex].name, t.instance, 0, 0});
    if (id >= it->checkpoint) {
      it->bytes = stats.bytes;
      it->checkpoint = id;
    }
  }
  // The dead letters of the epochs this ack may complete arrived before it:
  // durable before the checkpoint can be.
  if (auto s = dead_.sync(); !s) {
    fail_job(s.error().message);
    return;
  }
  auto r = checkpoints_->acknowledge(id, t, stats, clock_->now(), pending_notes_);
  flush_notes();
  if (!r) {
    on_failure(errc::checkpoint_failed, r.error().message);
    return;
  }
  auto& done = r.value();
  if (!done)
    return;
  log(log_level::debug,
      fmt::format("completed {} {}", done->savepoint ? "savepoint" : "checkpoint", done->id));
  faults().at(crash_point::before_sink_commit, done->id);
  completed_in_attempt_ = done->id;
  if (auto p = dead_.publish(done->id); !p) {
    fail_job(p.error().message);
    return;
  }
  for (auto& vec : actors_)
    for (auto& a : vec)
      send(a, complete_atom::value, done->id);
  if (done->ends_job) {
    ending_id_ = done->id;  // finish once every task confirmed (committed_atom)
    committed_.clear();
  }
}

void job_supervisor::on_all_finished() {
  if (!checkpoints_ || !checkpoints_->periodic()) {
    finish_job();
    return;
  }
  phase_ = phase::finishing;
  trigger(checkpoints_->trigger_final(clock_->now(), pending_notes_).id);
  flush_notes();
}

void job_supervisor::check_final_abort() {
  if (!checkpoints_)
    return;
  auto why = checkpoints_->take_final_abort();
  if (!why || phase_ != phase::finishing)
    return;
  on_failure(errc::checkpoint_failed,
             "the final checkpoint did not complete, so the output since the last completed "
             "checkpoint is not published: " +
                 *why);
}

}  // namespace sluice::actors
