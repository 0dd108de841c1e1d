#pragma once

#include <optional>
#include <string>

#include "sluice/time.hpp"

namespace sluice::actors {

/// Keeps a recovery from waiting silently or forever. While the supervisor
/// waits for something (old tasks to stop, a node to come back, the other
/// nodes to answer a deployment) it says what with `waiting_for`; every
/// tick, `check` returns a line to log every `report_every`, and a stall once
/// no progress was made for `limit`, after which the supervisor fails the
/// attempt and goes on by the restart strategy.
///
/// Progress is a change of what is awaited (`waiting_for` with another text)
/// or an explicit `progress` (one of several tasks went down). CAF-free and
/// clock-free: the supervisor passes its injected clock's time.
class recovery_watch {
public:
  recovery_watch(duration report_every, duration limit)
      : report_every_(report_every), limit_(limit) {}

  /// What the recovery waits for now (replaces the previous wait).
  void waiting_for(std::string what, timestamp now);
  /// The wait made progress without changing its description.
  void progress(timestamp now);
  /// The recovery is over (the attempt runs, or the job ended).
  void done() { what_.reset(); }
  bool waiting() const noexcept { return what_.has_value(); }
  const std::string& what() const noexcept { return *what_; }

  struct verdict {
    std::optional<std::string> report;  ///< Log this: still waiting, for how long, for what.
    std::optional<std::string>
        stalled;  ///< No progress within the limit: the attempt fails with this.
  };
  verdict check(timestamp now);

private:
  duration report_every_;
  duration limit_;
  std::optional<std::string> what_;
  timestamp since_;          ///< Start of the current wait.
  timestamp last_progress_;  ///< Latest progress.
  timestamp last_report_;
};

}  // namespace sluice::actors
