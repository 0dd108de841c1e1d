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

namespace churn {

enum class mode { continuous, micro_batch };

struct job_config {
  std::filesystem::path data;        ///< examples/data (churn_modelling/ and berka/)
  std::filesystem::path output;      ///< where every output goes
  std::filesystem::path rules_file;  ///< timestamped rule changes (CSV name,value,date)

  churn::mode mode = mode::continuous;
  int64_t interval_ms = 1000;  ///< micro-batch interval

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
  double source_rate = 0;            ///< records/s per source over all instances (0 = unlimited)
  std::string compression = "none";  ///< persisted CSV output (only none so far)
};

/// Reads `path` (TOML) into `cfg` and the runtime settings it names
/// ([capacity]); throws std::runtime_error naming the file, the key and the
/// problem.
void load_config_file(const std::filesystem::path& path, job_config& cfg,
                      sluice::runtime_config& rt);

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
