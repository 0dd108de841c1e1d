#include "sluice/actors/checkpoint_coordinator.hpp"

namespace sluice::actors {

checkpoint_coordinator::checkpoint_coordinator(checkpoint_settings s, std::vector<task_id> tasks,
                                               checkpoint_id first, timestamp start)
    : settings_(s), tasks_(tasks.begin(), tasks.end()), first_(first), next_(first) {
  if (tasks_.empty())
    throw std::invalid_argument("checkpoint coordinator: no tasks");
  if (s.max_concurrent == 0)
    throw std::invalid_argument("checkpoint coordinator: max_concurrent must be at least 1");
  if (s.timeout.count() <= 0)
    throw std::invalid_argument("checkpoint coordinator: timeout must be positive");
  if (s.interval.count() < 0 || s.min_pause.count() < 0)
    throw std::invalid_argument(
        "checkpoint coordinator: interval and min_pause must not be negative");
  next_due_ = periodic() ? start + s.interval : timestamp::max();
}

std::optional<checkpoint_id> checkpoint_coordinator::poll(timestamp now) {
  if (!periodic() || pending_.size() >= settings_.max_concurrent || now < next_due_)
    return std::nullopt;
  return start(now, false);
}

ack_outcome checkpoint_coordinator::acknowledge(checkpoint_id id, task_id task, ack_stats stats,
                                                timestamp now) {
  if (!tasks_.contains(task))
    return checkpoint_ignored{id, task, ignore_reason::unknown_task};
  auto it = pending_.find(id);
  if (it == pending_.end())
    return checkpoint_ignored{id, task, not_pending(id)};
  auto& p = it->second;
  if (p.waiting.erase(task) == 0)
    return checkpoint_ignored{id, task, ignore_reason::duplicate};
  p.bytes += stats.bytes;
  p.max_sync = std::max(p.max_sync, stats.sync_ms);
  counters_.max_sync = std::max(counters_.max_sync, stats.sync_ms);
  if (!p.waiting.empty())
    return checkpoint_pending{id, p.waiting.size()};
  return complete(it, now);
}

decline_outcome checkpoint_coordinator::decline(checkpoint_id id, task_id task,
                                                std::string_view reason, timestamp now) {
  if (!tasks_.contains(task))
    return checkpoint_ignored{id, task, ignore_reason::unknown_task};
  auto it = pending_.find(id);
  if (it == pending_.end())
    return checkpoint_ignored{id, task, not_pending(id)};
  std::string msg = kind(it->second) + " " + std::to_string(id.value) + " declined by task " +
                    to_string(task) + ": " + std::string(reason);
  return abort(it, abort_reason::declined, std::move(msg), now);
}

std::vector<checkpoint_aborted> checkpoint_coordinator::expire(timestamp now) {
  std::vector<checkpoint_aborted> out;
  for (auto it = pending_.begin(); it != pending_.end();) {
    auto& p = it->second;
    const duration age = elapsed(p.triggered, now);
    if (age < settings_.timeout) {
      ++it;
      continue;
    }
    std::string msg = kind(p) + " " + std::to_string(it->first.value) + " expired after " +
                      std::to_string(age.count()) + " ms; waiting for " + waiting_list(p);
    auto next = std::next(it);
    out.push_back(abort(it, abort_reason::expired, std::move(msg), now));
    it = next;
  }
  return out;
}

std::vector<checkpoint_aborted> checkpoint_coordinator::abort_all(std::string_view reason,
                                                                  timestamp now) {
  std::vector<checkpoint_aborted> out;
  while (!pending_.empty()) {
    auto it = pending_.begin();
    std::string msg = kind(it->second) + " " + std::to_string(it->first.value) +
                      " aborted: " + std::string(reason);
    out.push_back(abort(it, abort_reason::failure, std::move(msg), now));
  }
  return out;
}

std::optional<timestamp> checkpoint_coordinator::next_expiry() const {
  std::optional<timestamp> t;
  for (auto& [id, p] : pending_) {
    const timestamp d = p.triggered + settings_.timeout;
    if (!t || d < *t)
      t = d;
  }
  return t;
}

std::vector<task_id> checkpoint_coordinator::waiting_for(checkpoint_id id) const {
  auto it = pending_.find(id);
  if (it == pending_.end())
    return {};
  return {it->second.waiting.begin(), it->second.waiting.end()};
}

checkpoint_id checkpoint_coordinator::start(timestamp now, bool savepoint, bool final) {
  const checkpoint_id id = next_;
  next_ = checkpoint_id{next_.value + 1};
  pending_.emplace(id, pending_checkpoint{savepoint, final, now, tasks_, 0, duration{0}});
  ++counters_.triggered;
  if (periodic())
    next_due_ = now + settings_.interval;
  return id;
}

void checkpoint_coordinator::ended(checkpoint_id id, finish f, timestamp now) {
  finished_[id] = f;
  while (finished_.size() > history_limit)
    finished_.erase(finished_.begin());
  if (periodic())
    next_due_ = std::max(next_due_, now + settings_.min_pause);
}

checkpoint_aborted checkpoint_coordinator::abort(pending_map::iterator it, abort_reason r,
                                                 std::string msg, timestamp now) {
  checkpoint_aborted a{it->first, it->second.savepoint, r, std::move(msg)};
  pending_.erase(it);
  ++counters_.aborted;
  ended(a.id, finish::aborted, now);
  return a;
}

checkpoint_completed checkpoint_coordinator::complete(pending_map::iterator it, timestamp now) {
  const auto& p = it->second;
  checkpoint_completed c{it->first, p.savepoint, p.final, elapsed(p.triggered, now),
                         p.bytes,   p.max_sync,  {}};
  pending_.erase(it);
  ++counters_.completed;
  counters_.last_completed = c.id;
  counters_.last_duration = c.elapsed;
  counters_.last_bytes = c.bytes;
  ended(c.id, finish::completed, now);
  // Completed ids stay strictly increasing: older pending ones can no longer complete.
  while (!pending_.empty() && pending_.begin()->first < c.id) {
    auto old = pending_.begin();
    std::string msg = kind(old->second) + " " + std::to_string(old->first.value) +
                      " subsumed by completed " + kind_of(c) + " " + std::to_string(c.id.value);
    c.subsumed.push_back(abort(old, abort_reason::subsumed, std::move(msg), now));
  }
  return c;
}

ignore_reason checkpoint_coordinator::not_pending(checkpoint_id id) const {
  if (id < first_ || id >= next_)
    return ignore_reason::unknown_checkpoint;
  auto it = finished_.find(id);
  if (it == finished_.end())
    return ignore_reason::unknown_checkpoint;
  return it->second == finish::completed ? ignore_reason::completed : ignore_reason::aborted;
}

std::string checkpoint_coordinator::waiting_list(const pending_checkpoint& p) {
  std::string s = p.waiting.size() == 1 ? "task " : "tasks ";
  size_t n = 0;
  for (auto& t : p.waiting) {
    if (n == listed_tasks) {
      s += " and " + std::to_string(p.waiting.size() - n) + " more";
      break;
    }
    if (n++ > 0)
      s += ", ";
    s += to_string(t);
  }
  return s;
}

}  // namespace sluice::actors
