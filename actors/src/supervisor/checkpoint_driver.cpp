#include "sluice/actors/checkpoint_driver.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <string>
#include <utility>
#include <variant>

namespace sluice::actors {
namespace {

/// Key in the state directory's metadata: the next checkpoint id, so that
/// ids are never reused, not even across process restarts.
constexpr const char* next_id_key = "next_checkpoint_id";

}  // namespace

checkpoint_driver::checkpoint_driver(std::shared_ptr<state::snapshot_store> store,
                                     const runtime_config& cfg, state::checkpoint_meta job,
                                     std::optional<uint64_t> restored, timestamp now)
    : store_(std::move(store)), job_(std::move(job)) {
  periodic_ = store_ && cfg.checkpoints.interval.count() > 0;
  settings_.interval = periodic_ ? duration{cfg.checkpoints.interval.count()} : duration{0};
  settings_.timeout = duration{cfg.checkpoints.timeout.count()};
  settings_.min_pause = duration{cfg.checkpoints.min_pause.count()};
  settings_.retained = cfg.checkpoints.retained;
  if (store_) {
    auto next = store_->get_meta(next_id_key);
    if (next && next.value())
      next_id_ = std::stoull(*next.value());
    if (cfg.stop_with_savepoint_after.count() > 0)
      savepoint_due_ = now + duration{cfg.stop_with_savepoint_after.count()};
  }
  if (restored)
    next_id_ = std::max(next_id_, *restored + 1);
}

void checkpoint_driver::begin_attempt(std::vector<task_id> tasks, timestamp now) {
  if (!store_ || tasks.empty())
    return;
  if (coordinator_)
    aborted_ += coordinator_->counters().aborted;
  coordinator_.emplace(settings_, std::move(tasks), checkpoint_id{next_id_}, now);
}

uint64_t checkpoint_driver::start(uint64_t id, std::vector<std::string>& notes) {
  next_id_ = std::max(next_id_, id + 1);
  if (auto r = store_->put_meta(next_id_key, std::to_string(next_id_)); !r)
    notes.push_back("cannot record the next checkpoint id: " + r.error().message);
  return id;
}

std::optional<checkpoint_driver::trigger> checkpoint_driver::poll(timestamp now,
                                                                  int savepoint_request,
                                                                  std::vector<std::string>& notes) {
  if (!coordinator_)
    return std::nullopt;
  if ((now >= savepoint_due_ && !stop_id_) || savepoint_request != 0) {
    trigger t;
    t.id = start(coordinator_->trigger_savepoint(now).value, notes);
    t.savepoint = true;
    begin_record(t.id, true, now);
    savepoints_.insert(t.id);
    if (now >= savepoint_due_ || savepoint_request == 2)
      stop_id_ = t.id;
    t.stop = stop_id_ == t.id;
    savepoint_due_ = timestamp::max();
    notes.push_back(fmt::format("savepoint {} triggered{}", t.id,
                                t.stop ? " (the job stops when it completes)" : ""));
    return t;
  }
  if (auto id = coordinator_->poll(now)) {
    begin_record(id->value, false, now);
    return trigger{start(id->value, notes), false, false};
  }
  return std::nullopt;
}

checkpoint_driver::trigger checkpoint_driver::trigger_final(timestamp now,
                                                            std::vector<std::string>& notes) {
  final_id_ = start(coordinator_->trigger_final(now).value, notes);
  begin_record(*final_id_, false, now);
  return trigger{*final_id_, false, false};
}

void checkpoint_driver::expire(timestamp now, std::vector<std::string>& notes) {
  if (!coordinator_)
    return;
  for (auto& a : coordinator_->expire(now)) {
    end_record(a.id.value, record::status::aborted, now, a.message);
    aborted(a, notes);
  }
}

result<std::optional<checkpoint_driver::completion>> checkpoint_driver::acknowledge(
    uint64_t id, task_id task, ack_stats stats, timestamp now, std::vector<std::string>& notes) {
  if (!coordinator_)
    return std::optional<completion>{};
  max_sync_ms_ = std::max<int64_t>(max_sync_ms_, stats.sync_ms.count());
  auto out = coordinator_->acknowledge(checkpoint_id{id}, task, stats, now);
  if (std::holds_alternative<checkpoint_ignored>(out))
    return std::optional<completion>{};
  if (auto* r = find(id)) {
    r->size_bytes += stats.bytes;
    r->max_sync_ms = std::max<int64_t>(r->max_sync_ms, stats.sync_ms.count());
    r->max_alignment_ms = std::max<int64_t>(r->max_alignment_ms, stats.align_ms.count());
    ++history_version_;
  }
  auto* c = std::get_if<checkpoint_completed>(&out);
  if (!c)
    return std::optional<completion>{};
  for (auto& a : c->subsumed) {
    end_record(a.id.value, record::status::aborted, now, a.message);
    notes.push_back(a.message);
  }
  state::checkpoint_meta meta = job_;
  meta.id = c->id;
  meta.savepoint = savepoints_.count(id) > 0;
  meta.completed_at_ms = now.ms;
  if (auto r = store_->commit(meta); !r) {
    auto why = fmt::format("cannot commit checkpoint {}: {}", id, r.error().message);
    end_record(id, record::status::aborted, now, why);
    return error{r.error().code, std::move(why)};
  }
  end_record(id, record::status::completed, now, {});
  ++completed_;
  last_ = id;
  if (auto r = store_->retain(settings_.retained); !r)
    notes.push_back("cannot delete old checkpoints: " + r.error().message);
  if (meta.savepoint)
    savepoint_ = id;
  completion done{id, meta.savepoint, stop_id_ == id || final_id_ == id};
  return std::optional<completion>{done};
}

void checkpoint_driver::decline(uint64_t id, task_id task, const std::string& why, timestamp now,
                                std::vector<std::string>& notes) {
  if (!coordinator_)
    return;
  auto out = coordinator_->decline(checkpoint_id{id}, task, why, now);
  if (auto* a = std::get_if<checkpoint_aborted>(&out)) {
    end_record(a->id.value, record::status::aborted, now, a->message);
    aborted(*a, notes);
  }
}

void checkpoint_driver::aborted(const checkpoint_aborted& a, std::vector<std::string>& notes) {
  notes.push_back(a.message);
  if (final_id_ && a.id.value == *final_id_) {
    final_abort_ = a.message;
    final_id_.reset();
  }
  if (stop_id_ && a.id.value == *stop_id_) {
    notes.push_back(fmt::format("stop-with-savepoint {} failed; the job goes on", a.id.value));
    stop_id_.reset();
  }
}

std::optional<std::string> checkpoint_driver::take_final_abort() {
  return std::exchange(final_abort_, std::nullopt);
}

void checkpoint_driver::abort_all(const std::string& why, timestamp now) {
  if (!coordinator_)
    return;
  for (auto& a : coordinator_->abort_all(why, now))
    end_record(a.id.value, record::status::aborted, now, a.message);
}

checkpoint_driver::record* checkpoint_driver::find(uint64_t id) {
  for (auto it = history_.rbegin(); it != history_.rend(); ++it)
    if (it->id == id)
      return &*it;
  return nullptr;
}

void checkpoint_driver::begin_record(uint64_t id, bool savepoint, timestamp now) {
  if (history_.size() == history_size)
    history_.pop_front();
  record r;
  r.id = id;
  r.savepoint = savepoint;
  r.trigger_ms = now.ms;
  history_.push_back(std::move(r));
  ++history_version_;
}

void checkpoint_driver::end_record(uint64_t id, record::status st, timestamp now,
                                   std::string failure) {
  auto* r = find(id);
  if (!r || r->state != record::status::in_progress)
    return;
  r->state = st;
  r->duration_ms = now.ms - r->trigger_ms;
  if (st == record::status::aborted) {
    r->failure = std::move(failure);
    last_failure_ = r->failure;
  }
  ++history_version_;
}

}  // namespace sluice::actors
