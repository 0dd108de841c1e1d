#!/usr/bin/env bash
# Build Sluice (build/, RelWithDebInfo) and run the main demo job on the data sets that ship in
# examples/data.
# Runs examples/churn if it has been built, otherwise examples/wordcount.
# Extra arguments are passed to the job.
set -euo pipefail

script_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)"
# shellcheck source=scripts/common.sh
source "${script_dir}/common.sh"
root="$(sluice_root)"

data_dir="${root}/examples/data"
if [[ ! -d "$data_dir" ]]; then
  echo "demo: data directory not found: ${data_dir}" >&2
  echo "demo: the demo needs the data sets of examples/data (part of the repository)" >&2
  exit 1
fi
data_dir="$(cd "$data_dir" && pwd -P)"

"${script_dir}/setup.sh"
configure_and_build build RelWithDebInfo

demo_dir="${root}/build/demo"
mkdir -p "$demo_dir"

churn="${root}/build/examples/churn/churn"
wordcount="${root}/build/examples/wordcount/wordcount"

# Quiet on success: the summary, not the log lines about the job starting and
# finishing (warnings and errors still show); --log-level LEVEL overrides.
log_args=(--log-level warn)
for arg in "$@"; do
  [[ $arg == --log-level* ]] && log_args=()
done

if [[ -x "$churn" ]]; then
  output="${demo_dir}/churn"
  "$churn" --data "$data_dir" --output "$output" "${log_args[@]}" "$@"
elif [[ -x "$wordcount" ]]; then
  input="${data_dir}/churn_modelling/Churn_Modelling.csv"
  if [[ ! -f "$input" ]]; then
    echo "demo: input file not found: ${input}" >&2
    exit 1
  fi
  output="${demo_dir}/wordcount.csv"
  "$wordcount" --input "$input" --output "$output" "${log_args[@]}" "$@"
else
  echo "demo: no demo program was built (looked for ${churn} and ${wordcount})" >&2
  exit 1
fi

echo "demo: output in ${output#"${root}/"}"
