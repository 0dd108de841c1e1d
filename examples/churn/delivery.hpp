#pragma once
// Alerts leave the job as JSON lines in `alerts/` (exactly-once files) and,
// when asked, also on standard output or to a TCP endpoint: each part file
// of alerts is handed over when its checkpoint completes, just before it is
// published (part_file_options::before_publish).

#include <functional>
#include <string>

namespace churn {

/// The hook that sends a staged part file's lines to `target`: "stdout" or
/// "tcp://HOST:PORT" (one connection per process, opened at the first part,
/// opened again once if it breaks). Throws std::invalid_argument for any
/// other target. Nothing is sent before the checkpoint that produced it
/// completes, so what a receiver gets is never retracted; a crash between
/// the hand-over and the publication sends that part again after the
/// restart, so a receiver that needs each alert once keeps the ids it has
/// seen (every alert has a deterministic `id`).
std::function<void(const std::string& staged_path)> alert_delivery(const std::string& target);

}  // namespace churn
