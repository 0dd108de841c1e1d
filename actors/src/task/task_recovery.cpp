// The task actor's part in local recovery (`--recovery local`,
// docs/architecture.md "Local recovery"): the output side that outlives the
// actor, a replacement's replay of its predecessor's determinants, and what
// the other tasks do when an instance next to them is replaced.
#include <fmt/format.h>

#include <algorithm>

#include "sluice/actors/messages.hpp"
#include "task/task_actor.hpp"

namespace sluice::actors {

namespace {

/// Arrivals that are operations (recorded as determinants); barriers and
/// latency markers are not.
bool is_operation(const arrival& a) {
  return std::holds_alternative<data_arrival>(a.what) ||
         std::holds_alternative<watermark_arrival>(a.what) ||
         std::holds_alternative<status_arrival>(a.what) ||
         std::holds_alternative<end_arrival>(a.what);
}

}  // namespace

void task_actor::setup_outputs() {
  auto& rec = spec_.recovery;
  const auto send_on = [this](size_t gate) {
    return [this, gate](size_t t, channel_element&& e) {
      transmit(gate, t, std::move(e));
    };
  };
  if (spec_.replaces && rec && rec->outputs) {
    // The predecessor's gates: what it buffered and queued goes out from
    // here, once each receiver said how many credits it returned.
    outputs_ = rec->outputs;
    for (size_t i = 0; i < outputs_->size(); ++i)
      (*outputs_)[i].set_send(send_on(i));
    outputs_->hold_credits();
    idle_ = rec->idle;
    return;
  }
  outputs_ = std::make_shared<output_side>();
  const auto& edges = spec_.graph->logical().edges;
  for (size_t i = 0; i < spec_.gates.size(); ++i) {
    auto& gs = spec_.gates[i];
    output_gate g{std::move(gs.partitioner), spec_.cfg.credits, spec_.cfg.batch_size, send_on(i)};
    if (rec) {
      const auto& codec = edges[gs.edge].codec;
      batch_copier copier{codec.clone, codec.bytes, codec.encode, codec.decode};
      if (copier)  // a type that cannot be copied keeps no log: its receivers recover globally
        g.keep_logs(rec->budget, copier);
    }
    outputs_->add_gate(std::move(g));
  }
  if (rec) {
    outputs_->mark(spec_.restore ? spec_.restore->id.value : 0);
    rec->outputs = outputs_;
  }
}

void task_actor::record_arrival(uint32_t ch) {
  if (spec_.recovery && !replaying_ && !failed_)
    spec_.recovery->dets.arrival(ch);
}

void task_actor::on_arrival(arrival&& a) {
  if (!replaying_) {
    dispatch(std::move(a));
    return;
  }
  replay_pending_.push_back(std::move(a));
  drive_replay();
}

void task_actor::begin_replay() {
  const uint64_t from = spec_.restore ? spec_.restore->id.value : 0;
  auto plan = spec_.recovery->dets.replay(from);
  if (!plan) {
    fail(fmt::format("cannot replay instance {} of '{}' from checkpoint {}: its determinants are "
                     "incomplete",
                     spec_.instance, spec_.graph->vertices()[spec_.vertex].name, from),
         errc::recovery_stalled);
    return;
  }
  inputs_.restore(plan->gate);
  chain_->restore_watermark(plan->gate.watermark());
  chain_->set_counts(plan->counts);
  replay_ = std::move(plan->entries);
  replay_pos_ = 0;
  replaying_ = true;
  chain_->mute(true);
  op_clock_.record_into(nullptr);
}

void task_actor::drive_replay() {
  using k = determinant_log::kind;
  while (replaying_ && !stage_busy_ && !failed_) {
    if (replay_pos_ == replay_.size()) {
      finish_replay();
      return;
    }
    const auto e = replay_[replay_pos_];
    if (e.k == k::clock) {
      op_clock_.replay(timestamp::of(e.t));
      ++replay_pos_;
      continue;
    }
    if (e.k == k::timer) {
      ++replay_pos_;
      chain_->fire_timers(timestamp::of(e.t));
      after_emit();
      continue;
    }
    auto it = std::find_if(replay_pending_.begin(), replay_pending_.end(), [&](const arrival& a) {
      return a.channel == e.channel && is_operation(a);
    });
    if (it == replay_pending_.end())
      return;  // not resent yet
    arrival a = std::move(*it);
    replay_pending_.erase(it);
    ++replay_pos_;
    dispatch(std::move(a));
  }
}

void task_actor::finish_replay() {
  replaying_ = false;
  chain_->mute(false);
  op_clock_.clear_replay();
  op_clock_.record_into(&spec_.recovery->dets);
  send(spec_.supervisor, caught_up_atom::value, spec_.vertex, spec_.instance,
       static_cast<uint64_t>(replay_.size()));
  replay_.clear();
  replay_.shrink_to_fit();
  if (auto t = chain_->pending_timer())
    schedule_timer(*t);
  // What arrived beyond the predecessor's history is processed live now,
  // in arrival order.
  auto rest = std::move(replay_pending_);
  replay_pending_.clear();
  for (auto& a : rest)
    dispatch(std::move(a));
  update_idleness();
  after_emit();
}

/// The receiver of (gate, target) was replaced by `to`, restored from
/// checkpoint `from`: resend what the channel's log holds after that
/// checkpoint's barrier.
void task_actor::on_replay_request(uint32_t gate, uint32_t target, caf::actor& to, uint64_t from) {
  spec_.gates[gate].dest[target] = to;
  auto batches = (*outputs_)[gate].replay(target, from);
  send(spec_.supervisor, replayed_atom::value, spec_.vertex, spec_.instance, batches.value_or(0),
       batches.has_value());
  publish_task_metrics();
}

/// The sender of channel `ch` was replaced by `from`: credits go there now,
/// and it learns how many this task returned in all.
void task_actor::on_new_upstream(uint32_t ch, caf::actor& from) {
  upstream_[ch] = from;
  const auto& in = spec_.inputs[ch];
  send(from, credit_sync_atom::value, in.upstream_gate, in.upstream_target, returned_[ch]);
}

/// Checkpoints up to `id` were aborted for a local recovery: an alignment of
/// one of them would wait for a barrier the replaced instance never sends.
void task_actor::on_abort_through(uint64_t id) {
  if (inputs_.abort_through(checkpoint_id{id})) {
    alignment_start_ = {};
    release_held();
    after_emit();
  }
}

}  // namespace sluice::actors
