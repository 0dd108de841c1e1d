#pragma once
// The churn job: its settings (churn.toml and the command line) and the
// streaming pipeline. README.md in this directory walks through the stages.

#include <cstdint>
#include <filesystem>
#include <string>

#include "model.hpp"
#include "parse.hpp"
#include "records.hpp"
#include "sluice/pipeline.hpp"
#include "sluice/run.hpp"
#include "sluice/sink/part_file.hpp"

namespace churn {

enum class mode { continuous, micro_batch };

struct job_config {
  std::filesystem::path data;        ///< examples/data (churn_modelling/ and berka/)
  std::filesystem::path output;      ///< where every output goes
  std::filesystem::path rules_file;  ///< timestamped rule changes (CSV name,value,date)

  churn::mode mode = mode::continuous;
  int64_t interval_ms = 1000;  ///< micro-batch interval
  /// Event-time sources replay this many times faster than real time
  /// (86400: a day per second); 0 = as fast as possible.
  double replay_speedup = 0;
  /// Alerts also go to "stdout" or "tcp://HOST:PORT" (see delivery.hpp); "" = only alerts/.
  std::string alerts_to;

  // The churn model (Churn_Modelling).
  int64_t label_delay_ms = 7 * 86'400'000LL;  ///< labels arrive this much after features
  uint64_t retrain_every = 1000;              ///< new training labels between retrainings
  uint32_t holdout_seed = 0;                  ///< which fifth of each class is held out (0..4)
  double alert_threshold = 0.7;               ///< scores at or above this raise an alert
  model_params model;

  // Behaviour and rules (Berka).
  int64_t inactivity_days = 60;
  rules initial_rules;

  // Capacity controls.
  double source_rate = 0;  ///< records/s per source over all instances (0 = unlimited)
  /// Persisted part files (predictions, aggregates, offers, alerts, AUC, dead letters).
  sluice::compression compression = sluice::compression::none;
  int compression_level = 3;  ///< zstd level, 1..19
};

/// Reads `path` (TOML) into `cfg` and the runtime settings it names
/// ([capacity]); throws std::runtime_error naming the file, the key and the
/// problem.
void load_config_file(const std::filesystem::path& path, job_config& cfg,
                      sluice::runtime_config& rt);

/// "none" or "zstd"; throws std::runtime_error starting with `where` otherwise.
sluice::compression parse_compression(const std::string& name, const std::string& where);

/// The output directories and files under `cfg.output`.
struct output_paths {
  std::filesystem::path predictions, predictions_table, alerts, offers, auc, aggregates,
      dead_letters, report_html;
};
output_paths outputs_of(const std::filesystem::path& output);

/// Builds the streaming job (both flows, persistence, alerts) into `p`.
void build_job(sluice::pipeline& p, const job_config& cfg);

/// Latency from a record's arrival to its alert, measured in this process by
/// the alert stage (milliseconds, one entry per alert).
std::vector<int64_t> alert_latencies();

}  // namespace churn
