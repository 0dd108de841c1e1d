#include <fmt/format.h>
#include <toml++/toml.h>

#include <algorithm>
#include <stdexcept>

#include "config_keys.hpp"
#include "job.hpp"

namespace churn {
namespace {

template <class T>
void take(const toml::table& t, const std::filesystem::path& file, std::string_view section,
          std::string_view key, T& into) {
  const auto* s = t[section].as_table();
  if (!s)
    return;
  const auto* node = s->get(key);
  if (!node)
    return;
  std::optional<T> v;
  if constexpr (std::is_same_v<T, std::string>)
    v = node->value<std::string>();
  else if constexpr (std::is_same_v<T, bool>)
    v = node->value<bool>();
  else if constexpr (std::is_floating_point_v<T>)
    v = node->value<double>();
  else
    v = node->value<int64_t>();
  if (!v)
    throw std::runtime_error(fmt::format("{}: [{}] {}: wrong type", file.string(), section, key));
  if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>)
    if (*v < 0)
      throw std::runtime_error(
          fmt::format("{}: [{}] {}: must not be negative", file.string(), section, key));
  into = static_cast<T>(*v);
}

void check_keys(const toml::table& t, const std::filesystem::path& file) {
  auto known = [](std::string_view section, std::string_view key) {
    return std::any_of(std::begin(config_keys), std::end(config_keys), [&](const config_key& k) {
      return k.section == section && (key.empty() || k.key == key);
    });
  };
  for (auto& [section, node] : t) {
    if (!known(section.str(), {}) || !node.is_table())
      throw std::runtime_error(
          fmt::format("{}: unknown section [{}]", file.string(), section.str()));
    for (auto& [key, v] : *node.as_table()) {
      (void)v;
      if (!known(section.str(), key.str()))
        throw std::runtime_error(
            fmt::format("{}: [{}] unknown key '{}'", file.string(), section.str(), key.str()));
    }
  }
}

}  // namespace

sluice::compression parse_compression(const std::string& name, const std::string& where) {
  if (name == "none")
    return sluice::compression::none;
  if (name == "zstd")
    return sluice::compression::zstd;
  throw std::runtime_error(fmt::format("{}: '{}' is not a codec (none or zstd)", where, name));
}

void load_config_file(const std::filesystem::path& path, job_config& cfg,
                      sluice::runtime_config& rt) {
  toml::table t;
  try {
    t = toml::parse_file(path.string());
  } catch (const toml::parse_error& e) {
    throw std::runtime_error(fmt::format("{}:{}:{}: {}", path.string(), e.source().begin.line,
                                         e.source().begin.column, e.description()));
  }
  check_keys(t, path);
  std::string mode_text = cfg.mode == mode::continuous ? "continuous" : "micro-batch";
  take(t, path, "job", "mode", mode_text);
  if (mode_text == "continuous")
    cfg.mode = mode::continuous;
  else if (mode_text == "micro-batch")
    cfg.mode = mode::micro_batch;
  else
    throw std::runtime_error(fmt::format(
        "{}: [job] mode: '{}' is neither continuous nor micro-batch", path.string(), mode_text));
  take(t, path, "job", "interval_ms", cfg.interval_ms);
  take(t, path, "job", "replay_speedup", cfg.replay_speedup);
  if (cfg.replay_speedup < 0)
    throw std::runtime_error(
        fmt::format("{}: [job] replay_speedup: must not be negative", path.string()));
  take(t, path, "job", "alerts_to", cfg.alerts_to);

  double delay_days = static_cast<double>(cfg.label_delay_ms) / 86400000.0;
  take(t, path, "model", "label_delay_days", delay_days);
  cfg.label_delay_ms = static_cast<int64_t>(delay_days * 86400000.0);
  take(t, path, "model", "retrain_every", cfg.retrain_every);
  take(t, path, "model", "holdout_seed", cfg.holdout_seed);
  take(t, path, "model", "alert_threshold", cfg.alert_threshold);
  take(t, path, "model", "rounds", cfg.model.rounds);
  take(t, path, "model", "max_leaves", cfg.model.max_leaves);
  take(t, path, "model", "max_depth", cfg.model.max_depth);
  if (cfg.model.max_leaves == 0 && cfg.model.max_depth == 0)
    throw std::runtime_error(
        fmt::format("{}: [model] max_leaves and max_depth are both 0: one must bound the trees",
                    path.string()));
  take(t, path, "model", "eta", cfg.model.eta);

  take(t, path, "rules", "inactivity_days", cfg.inactivity_days);
  take(t, path, "rules", "loan_asset_share", cfg.initial_rules.loan_asset_share);
  take(t, path, "rules", "offer_min_score", cfg.initial_rules.offer_min_score);
  take(t, path, "rules", "offer_validity_days", cfg.initial_rules.offer_validity_days);
  take(t, path, "rules", "offer_cooldown_days", cfg.initial_rules.offer_cooldown_days);
  take(t, path, "rules", "outflow_ratio", cfg.initial_rules.outflow_ratio);

  take(t, path, "capacity", "parallelism", rt.parallelism);
  take(t, path, "capacity", "batch_size", rt.batch_size);
  int64_t flush = rt.flush_interval.count();
  take(t, path, "capacity", "flush_ms", flush);
  rt.flush_interval = std::chrono::milliseconds{flush};
  take(t, path, "capacity", "credits", rt.credits);
  take(t, path, "capacity", "source_rate", cfg.source_rate);
  std::string codec = cfg.compression == sluice::compression::zstd ? "zstd" : "none";
  take(t, path, "capacity", "compression", codec);
  cfg.compression = parse_compression(codec, path.string() + ": [capacity] compression");
  take(t, path, "capacity", "compression_level", cfg.compression_level);
  if (cfg.compression_level < 1 || cfg.compression_level > 19)
    throw std::runtime_error(
        fmt::format("{}: [capacity] compression_level: {} is not a zstd level (1..19)",
                    path.string(), cfg.compression_level));
  int64_t cp = rt.checkpoints.interval.count();
  take(t, path, "capacity", "checkpoint_ms", cp);
  rt.checkpoints.interval = std::chrono::milliseconds{cp};
  if (rt.parallelism == 0 || rt.batch_size == 0 || rt.credits == 0)
    throw std::runtime_error(fmt::format(
        "{}: [capacity] parallelism, batch_size and credits must be at least 1", path.string()));
}

}  // namespace churn
