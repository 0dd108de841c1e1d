#include "sluice/actors/logging.hpp"

#include <fmt/format.h>
#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>

#include <array>
#include <ctime>
#include <mutex>
#include <tuple>

#include "sluice/format.hpp"

namespace sluice::actors {

namespace {

constexpr std::array<std::string_view, 6> level_names = {"trace", "debug", "info",
                                                         "warn",  "error", "off"};

/// The subject of the line being logged on this thread (see `log`): spdlog's
/// default logger is synchronous, so its formatter runs on the caller's thread.
thread_local const log_subject* current_subject = nullptr;

spdlog::level::level_enum to_spdlog(log_level l) noexcept {
  switch (l) {
    case log_level::trace:
      return spdlog::level::trace;
    case log_level::debug:
      return spdlog::level::debug;
    case log_level::info:
      return spdlog::level::info;
    case log_level::warn:
      return spdlog::level::warn;
    case log_level::error:
      return spdlog::level::err;
    case log_level::off:
      return spdlog::level::off;
  }
  return spdlog::level::info;
}

log_level from_spdlog(spdlog::level::level_enum l) noexcept {
  switch (l) {
    case spdlog::level::trace:
      return log_level::trace;
    case spdlog::level::debug:
      return log_level::debug;
    case spdlog::level::info:
      return log_level::info;
    case spdlog::level::warn:
      return log_level::warn;
    default:
      return log_level::error;  // err and critical
  }
}

void append_field(std::string& out, std::string_view name, std::string_view value) {
  out += ",\"";
  out += name;
  out += "\":";
  format::append_json_string(out, value);  // valid JSON whatever the bytes
}

/// The json format: one object per line.
class json_formatter final : public spdlog::formatter {
public:
  explicit json_formatter(log_identity who) : who_(std::move(who)) {}

  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    line_ = json_log_line(msg.time, from_spdlog(msg.level), who_, current_subject,
                          std::string_view{msg.payload.data(), msg.payload.size()});
    line_ += '\n';
    dest.append(line_.data(), line_.data() + line_.size());
  }

  std::unique_ptr<spdlog::formatter> clone() const override {
    return std::make_unique<json_formatter>(who_);
  }

private:
  log_identity who_;
  std::string line_;  ///< Reused: the sink calls format under its lock.
};

/// `%&` in the text pattern: " [operator#instance]" when the line is about one.
class subject_flag final : public spdlog::custom_flag_formatter {
public:
  void format(const spdlog::details::log_msg&, const std::tm&,
              spdlog::memory_buf_t& dest) override {
    const log_subject* s = current_subject;
    if (!s || s->operator_name.empty())
      return;
    auto text = s->instance ? fmt::format(" [{}#{}]", s->operator_name, *s->instance)
                            : fmt::format(" [{}]", s->operator_name);
    dest.append(text.data(), text.data() + text.size());
  }

  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<subject_flag>();
  }
};

/// `s` inside a spdlog pattern: its own '%' must not start a flag.
std::string pattern_literal(std::string_view s) {
  std::string out;
  for (char c : s) {
    out += c;
    if (c == '%')
      out += '%';
  }
  return out;
}

std::mutex configure_mutex;
bool configured = false;
/// The settings in force: configuring the same again keeps the logger, so
/// that `sluice::run` and `run_embedded` may both configure without
/// replacing the logger while another thread might be using it.
std::tuple<log_level, log_format, std::string, std::string> current;

}  // namespace

std::optional<log_level> parse_log_level(std::string_view name) noexcept {
  for (size_t i = 0; i < level_names.size(); ++i)
    if (level_names[i] == name)
      return static_cast<log_level>(i);
  return std::nullopt;
}

std::optional<log_format> parse_log_format(std::string_view name) noexcept {
  if (name == "text")
    return log_format::text;
  if (name == "json")
    return log_format::json;
  return std::nullopt;
}

std::string_view to_string(log_level l) noexcept {
  return level_names.at(static_cast<size_t>(l));
}

namespace {

void configure_locked(log_level level, log_format format, log_identity who) {
  auto wanted = std::tuple{level, format, who.node, who.job};
  if (configured && wanted == current)
    return;
  current = std::move(wanted);
  // Standard error: standard output carries job output (print(), alerts).
  auto logger =
      std::make_shared<spdlog::logger>("sluice", std::make_shared<spdlog::sinks::stderr_sink_mt>());
  if (format == log_format::json) {
    logger->set_formatter(std::make_unique<json_formatter>(std::move(who)));
  } else {
    auto f = std::make_unique<spdlog::pattern_formatter>();
    f->add_flag<subject_flag>('&');
    std::string pattern = "[%H:%M:%S.%e] [" + pattern_literal(who.node) + "] [%l]";
    if (!who.job.empty())
      pattern += " [" + pattern_literal(who.job) + "]";
    f->set_pattern(pattern + "%& %v");
    logger->set_formatter(std::move(f));
  }
  logger->set_level(to_spdlog(level));
  // A process killed or hung must still show what it did last.
  logger->flush_on(spdlog::level::warn);
  spdlog::set_default_logger(std::move(logger));
  configured = true;
}

}  // namespace

void configure_logging(log_level level, log_format format, log_identity who) {
  std::lock_guard guard{configure_mutex};
  configure_locked(level, format, std::move(who));
}

std::string configure_logging(const runtime_config& cfg, std::string job) {
  const auto level = parse_log_level(cfg.log_level.empty() ? "info" : cfg.log_level);
  if (!level)
    return fmt::format("invalid --log-level '{}' (trace|debug|info|warn|error|off)", cfg.log_level);
  const auto format = parse_log_format(cfg.log_format.empty() ? "text" : cfg.log_format);
  if (!format)
    return fmt::format("invalid --log-format '{}' (text|json)", cfg.log_format);
  configure_logging(*level, *format, {cfg.node.empty() ? "local" : cfg.node, std::move(job)});
  return {};
}

void ensure_logging(std::string_view job) {
  std::lock_guard guard{configure_mutex};
  if (!configured)
    configure_locked(log_level::info, log_format::text, {"local", std::string{job}});
}

void log(log_level level, std::string_view message) {
  spdlog::default_logger_raw()->log(to_spdlog(level), spdlog::string_view_t{message});
}

void log(log_level level, const log_subject& subject, std::string_view message) {
  struct scope {
    const log_subject* saved = current_subject;
    ~scope() { current_subject = saved; }
  } restore;
  current_subject = &subject;
  log(level, message);
}

std::string json_log_line(std::chrono::system_clock::time_point time, log_level level,
                          const log_identity& who, const log_subject* subject,
                          std::string_view message) {
  using namespace std::chrono;
  const auto ms = duration_cast<milliseconds>(time.time_since_epoch()).count();
  const std::time_t secs = static_cast<std::time_t>(ms >= 0 ? ms / 1000 : (ms - 999) / 1000);
  std::tm utc{};
  ::gmtime_r(&secs, &utc);
  std::string out =
      fmt::format("{{\"time\":\"{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z\",\"level\":\"{}\"",
                  utc.tm_year + 1900, utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min,
                  utc.tm_sec, ((ms % 1000) + 1000) % 1000, to_string(level));
  append_field(out, "node", who.node);
  append_field(out, "job", who.job);
  if (subject && !subject->operator_name.empty()) {
    append_field(out, "operator", subject->operator_name);
    if (subject->instance)
      fmt::format_to(std::back_inserter(out), ",\"instance\":{}", *subject->instance);
  }
  append_field(out, "message", message);
  out += '}';
  return out;
}

void add_logging_options(CLI::App& app, runtime_config& cfg) {
  std::vector<std::string> levels{level_names.begin(), level_names.end()};
  app.add_option("--log-level", cfg.log_level,
                 "least level of the log lines on standard error: trace, debug, info, warn, "
                 "error or off (wins over the cluster file's log_level)")
      ->check(CLI::IsMember(levels))
      ->default_str("info");
  app.add_option("--log-format", cfg.log_format,
                 "log lines as text, or json: one JSON object per line (time, level, node, job, "
                 "message; operator and instance when about one) (wins over the cluster file's "
                 "log_format)")
      ->check(CLI::IsMember({"text", "json"}))
      ->default_str("text");
}

}  // namespace sluice::actors
