#include "sluice/actors/recovery_watch.hpp"

#include <fmt/format.h>

namespace sluice::actors {

void recovery_watch::waiting_for(std::string what, timestamp now) {
  if (what_ && *what_ == what)
    return;
  if (!what_)
    since_ = now;
  what_ = std::move(what);
  last_progress_ = now;
  last_report_ = now;
}

void recovery_watch::progress(timestamp now) {
  if (what_)
    last_progress_ = now;
}

recovery_watch::verdict recovery_watch::check(timestamp now) {
  verdict v;
  if (!what_)
    return v;
  if (limit_.count() > 0 && now.ms - last_progress_.ms >= limit_.count()) {
    v.stalled =
        fmt::format("recovery made no progress for {} ms (limit {} ms) while waiting for {}",
                    now.ms - last_progress_.ms, limit_.count(), *what_);
    what_.reset();
    return v;
  }
  if (report_every_.count() > 0 && now.ms - last_report_.ms >= report_every_.count()) {
    v.report = fmt::format("still waiting after {} ms for {}", now.ms - since_.ms, *what_);
    last_report_ = now;
  }
  return v;
}

}  // namespace sluice::actors
