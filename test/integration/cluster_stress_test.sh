#!/usr/bin/env bash
# Cluster recovery under CPU contention (issue: a paused node's recovery
# could hang silently under load). Busy loops occupy every core while the
# cluster tests that kill, pause and restart nodes, and a short cluster
# fault-injection campaign, run pinned to one core; repeated RUNS times in a
# row, every run must pass. Long: skipped (exit 77) unless SLUICE_LONG_TESTS=1.
#
#   test/integration/cluster_stress_test.sh BUILD_DIR SOURCE_DIR [RUNS]
#
# RUNS defaults to SLUICE_STRESS_RUNS or 20. Every process it starts (busy
# loops, test runs) is stopped by pid on exit; each busy loop also ends by
# itself after the time limit.
set -euo pipefail

build_dir="${1:?usage: cluster_stress_test.sh BUILD_DIR SOURCE_DIR [RUNS]}"
source_dir="${2:?usage: cluster_stress_test.sh BUILD_DIR SOURCE_DIR [RUNS]}"
runs="${3:-${SLUICE_STRESS_RUNS:-20}}"

if [[ "${SLUICE_LONG_TESTS:-0}" != 1 ]]; then
  echo "SKIP: long test (set SLUICE_LONG_TESTS=1)"
  exit 77
fi
if ! command -v taskset > /dev/null; then
  echo "SKIP: taskset (util-linux) is not installed"
  exit 77
fi

cluster_test="${build_dir}/test/integration/integration_cluster_test"
[[ -x "$cluster_test" ]] || { echo "error: $cluster_test not built" >&2; exit 1; }

busy_pids=()
stop_all() {
  for p in "${busy_pids[@]}"; do kill "$p" 2> /dev/null || true; done
  wait 2> /dev/null || true
}
trap stop_all EXIT

# One busy loop per core, each ending by itself after two hours at most.
for _ in $(seq "$(nproc)"); do
  timeout 7200 bash -c 'while :; do :; done' &
  busy_pids+=("$!")
done

cases="paused_node_is_declared_lost_and_the_job_recovers_exactly_once"
cases+=",killed_node_restarted_with_the_same_command_recovers_exactly_once"
cases+=",coordinator_restarted_from_its_state_directory_resumes_exactly_once"
cases+=",a_node_that_answers_its_deploy_late_stalls_nothing_else"

for run in $(seq "$runs"); do
  start=$(date +%s)
  if ! taskset -c 0 timeout 900 "$cluster_test" --run_test="$cases" --log_level=test_suite > "/tmp/sluice-stress-$$.log" 2>&1; then
    echo "run $run/$runs: cluster tests FAILED under contention:"
    cat "/tmp/sluice-stress-$$.log"
    rm -f "/tmp/sluice-stress-$$.log"
    exit 1
  fi
  if ! taskset -c 0 timeout 900 bash "${source_dir}/scripts/fault-inject.sh" --cluster --job oracle --rounds 2 \
      --seed "$run" --max-seconds 300 --build-dir "$build_dir" > "/tmp/sluice-stress-$$.log" 2>&1; then
    echo "run $run/$runs: cluster fault injection FAILED under contention:"
    cat "/tmp/sluice-stress-$$.log"
    rm -f "/tmp/sluice-stress-$$.log"
    exit 1
  fi
  echo "run $run/$runs passed in $(($(date +%s) - start)) s: $(tail -n 1 "/tmp/sluice-stress-$$.log")"
done
rm -f "/tmp/sluice-stress-$$.log"
echo "${runs} consecutive runs passed under CPU contention"
