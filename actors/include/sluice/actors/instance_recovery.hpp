#pragma once

#include <memory>
#include <string>

#include "sluice/actors/determinant_log.hpp"
#include "sluice/actors/in_flight_log.hpp"

namespace sluice::actors {

class output_side;

/// What outlives one operator instance's task actor so that the instance
/// can be recovered alone (`--recovery local`): its determinant log and its
/// output side (gates, buffers, credits and in-flight logs). The supervisor
/// holds it; the task that runs the instance uses it; a replacement adopts
/// it after restoring the last completed checkpoint and replaying the
/// determinants with its output muted, so that what the failed task already
/// sent is not sent again and what it had not sent yet is sent once.
///
/// Touched by one task at a time: the replacement is spawned only after the
/// failed task is down.
struct instance_recovery {
  explicit instance_recovery(std::shared_ptr<recovery_budget> b)
      : budget(std::move(b)), dets(budget) {}

  std::shared_ptr<recovery_budget> budget;
  determinant_log dets;
  /// Created by the first task of the instance; adopted by replacements.
  std::shared_ptr<output_side> outputs;
  /// False when the task failed after emitting part of the output of the
  /// operation that failed: a replacement would emit that part again, so
  /// the job restarts globally (`unclean` says why).
  bool outputs_clean = true;
  std::string unclean;
  /// The task's outputs were marked idle (a replacement starts so).
  bool idle = false;
};

}  // namespace sluice::actors
