#pragma once
// The runtime's log lines: spdlog's default logger, set up once per process
// with a level and a format (text, or one JSON object per line for log
// shippers); every line carries the node and the job, and the operator and
// instance when it is about one (a failure, a restart of a task).

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "sluice/actors/config.hpp"

namespace CLI {
class App;
}

namespace sluice::actors {

enum class log_level : uint8_t { trace, debug, info, warn, error, off };
enum class log_format : uint8_t { text, json };

/// "trace", "debug", "info", "warn", "error", "off"; nullopt for anything else.
std::optional<log_level> parse_log_level(std::string_view name) noexcept;
/// "text", "json"; nullopt for anything else.
std::optional<log_format> parse_log_format(std::string_view name) noexcept;
std::string_view to_string(log_level l) noexcept;

/// What every line of this process says it comes from.
struct log_identity {
  std::string node;  ///< The cluster node's name; "local" for an embedded run.
  std::string job;   ///< The job's name.
};

/// What one line is about, when it is about an operator instance.
struct log_subject {
  std::string_view operator_name;
  std::optional<uint32_t> instance;
};

/// Makes spdlog's default logger write to standard error with `level`
/// and `format` and `who` in every line. Text lines read
/// `[12:00:00.123] [n1] [info] [wordcount] message`, with
/// ` [operator#instance]` before the message when it is about one; JSON lines
/// are `{"time":"2026-01-02T12:00:00.123Z","level":"info","node":"n1",
/// "job":"wordcount","message":"...","operator":"count","instance":1}`.
/// Warnings and errors are flushed at once. Replacing the logger is not
/// safe while other threads log: call it before the job starts (the same
/// settings again change nothing).
void configure_logging(log_level level, log_format format, log_identity who);

/// `configure_logging` from `cfg.log_level` / `cfg.log_format` (empty: info,
/// text) for an embedded run of `job` (node: `cfg.node`, else "local").
/// Returns an error message naming the bad value, or empty.
std::string configure_logging(const runtime_config& cfg, std::string job);

/// The default setup (info, text, node "local", `job`) unless logging was
/// configured already: spdlog's own default logger writes to standard
/// output, where job output goes. The supervisor calls it at the start.
void ensure_logging(std::string_view job);

/// Logs `message` through the default logger, about `subject` when given.
void log(log_level level, std::string_view message);
void log(log_level level, const log_subject& subject, std::string_view message);

/// One JSON log line as the json format writes it (without the newline):
/// valid JSON for any message (quotes, control characters and invalid UTF-8
/// are escaped or replaced). `subject` null: no operator and instance.
std::string json_log_line(std::chrono::system_clock::time_point time, log_level level,
                          const log_identity& who, const log_subject* subject,
                          std::string_view message);

/// Adds `--log-level` and `--log-format` to `app` (part of
/// `add_runtime_options`); an unknown value is a usage error naming the
/// option.
void add_logging_options(CLI::App& app, runtime_config& cfg);

}  // namespace sluice::actors
