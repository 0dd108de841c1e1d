#pragma once
// The keys of churn.toml: what load_config_file accepts (an unknown section
// or key is an error) and what docs/options.md lists (sluice-options-doc
// prints this table), so the two cannot drift apart. Header-only, so the
// documentation generator needs none of the job's libraries.

#include <string_view>

namespace churn {

struct config_key {
  std::string_view section;  ///< [job], [model], [rules] or [capacity], without brackets.
  std::string_view key;
  std::string_view type;
  std::string_view meaning;  ///< Markdown.
};

inline constexpr config_key config_keys[] = {
    {"job", "mode", "string",
     "`continuous`, or `micro-batch`: alerts leave once per interval (`--mode`)"},
    {"job", "interval_ms", "integer", "micro-batch interval (`--interval-ms`)"},
    {"job", "replay_speedup", "number",
     "event time this many times faster than real time (86400: a day per second); 0 = as fast "
     "as possible (`--speedup`)"},
    {"job", "alerts_to", "string",
     "also send alerts to `stdout` or `tcp://HOST:PORT`, each once its checkpoint completes "
     "(`--alerts-to`)"},
    {"model", "label_delay_days", "number", "labels (Exited) arrive this long after the features"},
    {"model", "retrain_every", "integer", "new training labels between two retrainings"},
    {"model", "holdout_seed", "integer", "which fifth of each class is held out (0..4)"},
    {"model", "alert_threshold", "number", "scores at or above this are high risk: alert"},
    {"model", "rounds", "integer", "gradient-boosted trees"},
    {"model", "max_leaves", "integer", "leaves per tree; 0 = no limit (then `max_depth` is set)"},
    {"model", "max_depth", "integer", "depth limit of a tree; 0 = no limit"},
    {"model", "eta", "number", "learning rate"},
    {"rules", "inactivity_days", "integer", "no transaction this long: inactivity signal"},
    {"rules", "loan_asset_share", "number",
     "flag a loan when the balance is below this share of it (initial value; rules.csv changes "
     "it in event time, as the other rules)"},
    {"rules", "offer_min_score", "number", "signals this strong earn a retention offer"},
    {"rules", "offer_validity_days", "number", "an offer stays open this long unless taken up"},
    {"rules", "offer_cooldown_days", "number", "no new offer this long after the last one ended"},
    {"rules", "outflow_ratio", "number", "90-day debits over credits that signal risk"},
    {"capacity", "parallelism", "integer",
     "partitions: instances of each operator (`--parallelism`)"},
    {"capacity", "batch_size", "integer", "records per batch between operators (`--batch-size`)"},
    {"capacity", "flush_ms", "integer",
     "a batch leaves after this long even when not full (`--flush-ms`)"},
    {"capacity", "credits", "integer", "batches in flight per channel (`--credits`)"},
    {"capacity", "source_rate", "number", "records/s per source, 0 = as fast as possible"},
    {"capacity", "compression", "string",
     "persisted part files: `none` or `zstd` (`part-*.zst`, read by `zstd -d`; "
     "`--compression`)"},
    {"capacity", "compression_level", "integer", "zstd level, 1..19"},
    {"capacity", "checkpoint_ms", "integer",
     "exactly-once outputs are published at checkpoints (`--checkpoint-ms`)"},
};

}  // namespace churn
