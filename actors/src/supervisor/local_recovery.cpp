// Local recovery (`--recovery local`): a failed operator instance restarts
// alone from the last completed checkpoint while the rest of the job keeps
// running. Its replacement adopts the failed task's output side and replays
// its determinants with its output muted; its upstream instances resend from
// their in-flight logs; its downstream instances return their credits to it.
// Whatever cannot be done exactly falls back to the global restart of
// recovery.cpp, with the reason in the log and the job report.

#include <fmt/format.h>

#include <set>

#include "sluice/actors/deploy.hpp"
#include "sluice/actors/task.hpp"
#include "supervisor/job_supervisor.hpp"

namespace sluice::actors {

uint64_t job_supervisor::records_of_others(uint32_t v, uint32_t i) const {
  const auto& g = *args_.graph;
  std::set<std::string> failed;  // uids of the failed vertex's operators
  for (uint32_t n : g.vertices()[v].chain)
    failed.insert(uid_of(g.logical().nodes[n]));
  uint64_t sum = 0;
  for (auto& e : metrics_registry::process().entries_of(g.logical().job_name))
    if (!(e->instance == i && failed.count(e->uid)))
      sum += e->records_in.load(std::memory_order_relaxed);
  return sum;
}

uint64_t job_supervisor::local_restore_id() const {
  if (completed_in_attempt_)
    return *completed_in_attempt_;
  return attempt_restore_ ? attempt_restore_->id.value : 0;
}

std::string job_supervisor::local_refusal(uint32_t v, uint32_t i) const {
  const auto& g = *args_.graph;
  if (cfg_.recovery != "local")
    return "global recovery is configured";
  if (args_.cluster || !budget_)
    return "local recovery is not available in a cluster yet";
  if (phase_ != phase::running)
    return "the job is not running (finishing, or already recovering globally)";
  if (local_)
    return fmt::format("instance {}#{} is still recovering alone", g.vertices()[local_->v].name,
                       local_->i);
  if (v >= recovery_.size() || i >= recovery_[v].size() || !recovery_[v][i])
    return "the instance keeps no recovery state";
  if (g.logical().nodes[g.vertices()[v].chain.front()].is_source)
    return "source instances recover globally (their replay is not logged)";
  const auto& rec = *recovery_[v][i];
  if (!rec.outputs)
    return "the instance had not started";
  if (!rec.outputs_clean)
    return rec.unclean;
  const uint64_t from = local_restore_id();
  if (!rec.dets.can_replay(from))
    return fmt::format(
        "its determinant log cannot replay from checkpoint {} (it ran out of the memory for "
        "logs, --inflight-log-mb, since)",
        from);
  if (from > 0 && !args_.store)
    return "there is no state directory to restore from";
  return {};
}

bool job_supervisor::try_local(errc code, const std::string& why, bool retryable,
                               const std::optional<instance_ref>& about, uint32_t v, uint32_t i,
                               bool down) {
  if (cfg_.recovery != "local" || !retryable)
    return false;
  // Another instance is recovering alone: this one waits for it, unless it
  // is that instance (its replacement failed) or one of its inputs (whose
  // resend it waits for: they would wait for each other).
  if (local_ && budget_ && phase_ == phase::running && !(local_->v == v && local_->i == i)) {
    bool feeds = false;
    for (auto& in : args_.graph->inputs(local_->v, local_->i))
      feeds = feeds || (in.from_vertex == v && in.from_instance == i);
    if (!feeds) {
      queued_.push_back({v, i, code, why, about, down});
      log(log_level::info,
          fmt::format("{}#{} failed while {}#{} recovers alone: it recovers alone after it",
                      args_.graph->vertices()[v].name, i, args_.graph->vertices()[local_->v].name,
                      local_->i));
      return true;
    }
  }
  if (auto refusal = local_refusal(v, i); !refusal.empty()) {
    global_reason_ = std::move(refusal);
    log(log_level::info,
        fmt::format("{}#{} cannot be recovered alone, so the job restarts globally: {}",
                    args_.graph->vertices()[v].name, i, global_reason_));
    return false;
  }
  const timestamp now = clock_->now();
  report_.failures.push_back(why);
  if (checkpoints_)
    checkpoints_->abort_all(
        fmt::format("instance {}#{} failed and recovers alone", args_.graph->vertices()[v].name, i),
        now);
  flush_notes();
  auto decision = restart_->on_failure(now);
  record_failure(code, about, why, decision.restart, true);
  if (!decision.restart) {
    give_up(why, decision.reason, about);
    return true;
  }
  log(log_level::warn, why, about);
  ++report_.restarts;
  ++report_.local_restarts;
  const uint64_t from = local_restore_id();
  recovery_record rec;
  rec.instance = fmt::format("{}#{}", args_.graph->vertices()[v].name, i);
  rec.mode = "local";
  rec.restored_from = from;
  report_.recoveries.push_back(std::move(rec));
  local_ =
      local_recovery{v, i, now, down, report_.recoveries.size() - 1, from, records_of_others(v, i)};
  // Alignments of the aborted checkpoints would wait for barriers the
  // replacement never sends.
  for (auto& vec : actors_)
    for (auto& a : vec)
      if (a && !(a == actors_[v][i]))
        send(a, abort_atom::value, last_triggered_);
  if (down)
    replace_instance();
  else
    watch_.waiting_for(fmt::format("{} to stop", report_.recoveries.back().instance), now);
  return true;
}

void job_supervisor::replace_instance() {
  const auto& g = *args_.graph;
  const uint32_t v = local_->v, i = local_->i;
  const uint64_t from = local_->from;
  std::optional<state::checkpoint_meta> restore;
  if (from > 0) {
    if (attempt_restore_ && attempt_restore_->id.value == from) {
      restore = attempt_restore_;
    } else {
      auto all = args_.store->completed();
      if (all)
        for (auto& m : all.value())
          if (m.id.value == from)
            restore = m;
    }
    if (!restore) {
      const std::string why =
          fmt::format("checkpoint {} to restore {}#{} from is not in the state directory", from,
                      g.vertices()[v].name, i);
      local_.reset();
      global_reason_ = why;
      on_failure(errc::recovery_stalled, why);
      return;
    }
  }
  task_spec spec = task_spec_for(local_deployment(restore), v, i, actors_);
  spec.recovery = recovery_[v][i];
  spec.replaces = true;
  std::vector<std::pair<caf::actor, uint32_t>> downstream;  // (task, its channel from us)
  for (auto& gs : spec.gates)
    for (size_t t = 0; t < gs.dest.size(); ++t)
      downstream.emplace_back(gs.dest[t], gs.dest_channel[t]);
  auto a = spawn_task(system(), std::move(spec));
  actors_[v][i] = a;
  monitor(a);
  link_to(a);
  alive_.insert(a.address());
  // A predecessor that had finished keeps its place in finished_ (and its
  // figures): the replacement replays to the same end.
  failed_.erase({v, i});
  // The start first: the replacement must have set up its adopted output
  // side before a downstream task's credit count (csync) can reach it.
  send(a, start_atom::value);
  for (auto& in : g.inputs(v, i))
    send(actors_[in.from_vertex][in.from_instance], replay_atom::value, in.upstream_gate,
         in.upstream_target, a, from);
  for (auto& [task, ch] : downstream)
    send(task, upstream_atom::value, ch, a);
  watch_.waiting_for(fmt::format("{}#{} to catch up", g.vertices()[v].name, i), clock_->now());
}

void job_supervisor::on_caught_up(uint32_t v, uint32_t i, uint64_t determinants) {
  if (!local_ || local_->v != v || local_->i != i)
    return;
  auto& rec = report_.recoveries[local_->record];
  rec.determinants_replayed = determinants;
  rec.duration_ms = clock_->now().ms - local_->started.ms;
  const uint64_t others = records_of_others(v, i);
  rec.others_records = others > local_->others_before ? others - local_->others_before : 0;
  log(log_level::info, rec.describe());
  local_.reset();
  watch_.done();
  next_queued();
}

void job_supervisor::next_queued() {
  while (!queued_.empty() && !local_ && phase_ == phase::running) {
    auto q = std::move(queued_.front());
    queued_.erase(queued_.begin());
    if (!try_local(q.code, q.why, true, q.about, q.v, q.i, q.down)) {
      on_failure(q.code, q.why, true, q.about);  // globally, with the reason noted
      return;
    }
  }
}

void job_supervisor::on_replayed(uint32_t v, uint32_t i, uint64_t batches, bool ok) {
  if (report_.recoveries.empty() || report_.recoveries.back().mode != "local")
    return;
  if (ok) {
    report_.recoveries.back().batches_replayed += batches;
    return;
  }
  if (!local_)
    return;
  const auto& g = *args_.graph;
  const std::string why = fmt::format(
      "{}#{} cannot resend to {}#{} what it sent after checkpoint {}: its in-flight log ran out "
      "of memory (--inflight-log-mb) or its records cannot be copied",
      g.vertices()[v].name, i, g.vertices()[local_->v].name, local_->i, local_->from);
  global_reason_ = why;
  local_.reset();
  on_failure(errc::recovery_stalled, why);
}

}  // namespace sluice::actors
