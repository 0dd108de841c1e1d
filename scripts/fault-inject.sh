#!/usr/bin/env bash
# Fault-injection campaign: runs a job with checkpoints, kills it with
# `kill -9` at seeded random moments, starts it again with the same command
# and state directory (it resumes from its latest completed checkpoint), and
# finally lets it run to completion; then compares the output with the
# reference:
#   oracle     the sequence job (examples/oracle); its checker is the reference:
#              every (key, seq) record exactly once. Published output is also
#              checked after every kill: no duplicates, ever.
#   wordcount  examples/wordcount on the churn CSV repeated --copies times;
#              the reference is a run without failures (sorted CSVs equal).
#              Its sink (write_csv, at_end) is not transactional: a kill after
#              its final checkpoint completed but before the run recorded its
#              end loses the whole output (the next run restores the final
#              state, emits nothing, truncates the file). Random kills rarely
#              land in that window.
#
#   scripts/fault-inject.sh [--job oracle|wordcount] [--rounds N] [--seed S]
#                           [--max-seconds T] [--build-dir DIR] [--keep]
#                           [--parallelism P] [--count N] [--rate R] [--keys K]
#                           [--copies C] [--long]
#
# Without --build-dir it builds build/ (RelWithDebInfo) as scripts/test.sh
# does. --long marks the long campaign: skipped (exit 77) unless
# SLUICE_LONG_TESTS=1. Every process it starts is killed by pid on exit; the
# work directory (a mktemp dir) is removed unless --keep or a failure.
#
# Last line: rounds=<n> kills=<n> lost=<n> duplicated=<n> mismatched=<n>
# (rounds: kill rounds started; kills: runs actually killed, a round whose run
# ended before its kill moment is no kill). Exit 0 when the final output is
# exactly the reference, 1 on any loss, duplicate or mismatch or when a run
# fails, times out or cannot start, 2 on bad usage, 77 when skipped.
set -uo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

usage() { sed -n '2,/^set -uo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//' >&2; exit "${1:-2}"; }

job=oracle rounds=5 seed=1 max_seconds=120 build_dir="" keep=0 long=0
parallelism=1 count="" rate=25000 keys=16 copies=""
checkpoint_ms=50
while [[ $# -gt 0 ]]; do
  case "$1" in
    --job) job="${2:?}"; shift 2 ;;
    --rounds) rounds="${2:?}"; shift 2 ;;
    --seed) seed="${2:?}"; shift 2 ;;
    --max-seconds) max_seconds="${2:?}"; shift 2 ;;
    --build-dir) build_dir="${2:?}"; shift 2 ;;
    --parallelism) parallelism="${2:?}"; shift 2 ;;
    --count) count="${2:?}"; shift 2 ;;
    --rate) rate="${2:?}"; shift 2 ;;
    --keys) keys="${2:?}"; shift 2 ;;
    --copies) copies="${2:?}"; shift 2 ;;
    --keep) keep=1; shift ;;
    --long) long=1; shift ;;
    -h|--help) usage 0 ;;
    *) echo "fault-inject: unknown argument '$1'" >&2; usage ;;
  esac
done
for v in rounds seed max_seconds parallelism rate keys; do
  [[ "${!v}" =~ ^[0-9]+$ ]] || { echo "fault-inject: --${v//_/-} must be a non-negative integer" >&2; exit 2; }
done
[[ "$job" == oracle || "$job" == wordcount ]] || { echo "fault-inject: --job must be oracle or wordcount" >&2; exit 2; }
(( rate > 0 && keys > 0 && parallelism > 0 && rounds <= 1000 )) || { echo "fault-inject: bad --rate/--keys/--parallelism/--rounds" >&2; exit 2; }

if (( long )) && [[ "${SLUICE_LONG_TESTS:-}" != 1 ]]; then
  echo "fault-inject: long campaign skipped; set SLUICE_LONG_TESTS=1 to run it"
  exit 77
fi

deadline=$((SECONDS + max_seconds))
root="$(sluice_root)"

# -- binaries ----------------------------------------------------------------
if [[ -z "$build_dir" ]]; then
  configure_and_build build RelWithDebInfo || exit 1
  build_dir="$root/build"
fi
build_dir="$(cd "$build_dir" 2>/dev/null && pwd -P)" || { echo "fault-inject: no build directory" >&2; exit 1; }
oracle_bin="$build_dir/examples/oracle/oracle"
check_bin="$build_dir/examples/oracle/oracle-check"
wordcount_bin="$build_dir/examples/wordcount/wordcount"
if [[ "$job" == oracle ]]; then need=("$oracle_bin" "$check_bin"); else need=("$wordcount_bin"); fi
for b in "${need[@]}"; do
  [[ -x "$b" ]] || { echo "fault-inject: $b is not built (cmake --build $build_dir --target $(basename "$b"))" >&2; exit 1; }
done

# -- work directory and cleanup ------------------------------------------------
work="$(mktemp -d "${TMPDIR:-/tmp}/sluice-fault-XXXXXX")" || exit 1
pid=""
failed=0
cleanup() {
  if [[ -n "$pid" ]]; then
    kill -9 "$pid" 2>/dev/null
    { wait "$pid"; } 2>/dev/null
  fi
  if (( keep || failed )); then
    echo "fault-inject: work directory kept: $work" >&2
  else
    rm -rf "$work"
  fi
}
trap cleanup EXIT
trap 'echo "fault-inject: interrupted" >&2; exit 1' INT TERM HUP
cd "$work" || exit 1

now_ms() { local t="${EPOCHREALTIME//[.,]/}"; echo $((10#$t / 1000)); }

# True while process $1 runs (a zombie, exited but not yet waited for, is not running).
running() {
  local s
  { read -r s <"/proc/$1/stat"; } 2>/dev/null || return 1
  s="${s##*) }"
  [[ "${s:0:1}" != Z ]]
}

fail() {
  failed=1
  echo "fault-inject: $*" >&2
}

# start <log> <command...>: starts the job in the background; sets pid.
start() {
  local log="$1"
  shift
  "$@" >"$log" 2>&1 &
  pid=$!
}

# reap: waits for the job started last; sets rc; clears pid.
reap() {
  { wait "$pid"; } 2>/dev/null
  rc=$?
  pid=""
}

# run_for <ms>: lets the job run at most <ms> ms (and never past the
# deadline), then kills it with SIGKILL if it still runs. Sets rc (137 when
# killed) and killed=1/0.
run_for() {
  local until=$(( $(now_ms) + $1 ))
  while running "$pid" && (( $(now_ms) < until && SECONDS < deadline )); do sleep 0.01; done
  killed=0
  if running "$pid"; then
    kill -9 "$pid"
    killed=1
  fi
  reap
  if (( killed )) && (( rc != 137 )); then killed=0; fi  # it ended by itself just before the kill
}

log_tail() { echo "---- $1 (last lines) ----" >&2; tail -n 15 "$1" >&2; echo "----" >&2; }

# -- the job -----------------------------------------------------------------
runtime_args=(--parallelism "$parallelism" --workers 2)
fault_args=(--state-dir "$work/state" --checkpoint-ms "$checkpoint_ms")
# Planned duration of the uninterrupted job, in ms; kill moments are drawn
# so that the rounds usually fit in it.
planned_ms=$(( (3 + rounds / 2) * 1000 ))

if [[ "$job" == oracle ]]; then
  [[ -n "$count" ]] || count=$(( rate * planned_ms / 1000 ))
  [[ "$count" =~ ^[0-9]+$ ]] || { echo "fault-inject: --count must be a number" >&2; exit 2; }
  planned_ms=$(( count * 1000 / rate ))
  out="$work/out"
  job_cmd=("$oracle_bin" --count "$count" --keys "$keys" --rate "$rate" --output "$out" "${runtime_args[@]}")
  check_args=(--count "$count" --keys "$keys" --output "$out")
  (( keys % parallelism == 0 )) && check_args+=(--strict-order)
  echo "fault-inject: oracle, $count records over $keys keys at $rate/s (~$((planned_ms / 1000)) s), parallelism $parallelism, checkpoints every $checkpoint_ms ms, $rounds rounds, seed $seed"
else
  input_src="$root/../shared/data/churn_modelling/Churn_Modelling.csv"
  [[ -r "$input_src" ]] || { echo "fault-inject: $input_src is missing" >&2; failed=1; exit 1; }
  [[ -n "$copies" ]] || copies=$(( planned_ms * 22 / 1000 ))
  (( copies > 150 )) && copies=150
  for ((i = 0; i < copies; i++)); do cat "$input_src"; done >"$work/input.txt"
  out="$work/out.csv"
  job_cmd=("$wordcount_bin" --input "$work/input.txt" --output "$out" "${runtime_args[@]}")
  ref_cmd=("$wordcount_bin" --input "$work/input.txt" --output "$work/reference.csv" "${runtime_args[@]}")
  echo "fault-inject: wordcount on the churn CSV x$copies, parallelism $parallelism, checkpoints every $checkpoint_ms ms, $rounds rounds, seed $seed"
  t0=$(now_ms)
  start "$work/reference.log" "${ref_cmd[@]}"
  while running "$pid" && (( SECONDS < deadline )); do sleep 0.05; done
  running "$pid" && kill -9 "$pid"
  reap
  planned_ms=$(( $(now_ms) - t0 ))
  if (( rc != 0 )); then fail "the reference run failed (exit $rc)"; log_tail "$work/reference.log"; exit 1; fi
  echo "fault-inject: reference run: $(wc -l <"$work/reference.csv") words in $planned_ms ms"
fi

# Kill moments: uniform in [lo, hi] ms after a start, seeded.
RANDOM=$seed
lo=100
hi=$(( planned_ms * 16 / 10 / (rounds + 1) ))
(( hi < lo + 100 )) && hi=$((lo + 100))

# -- the campaign ------------------------------------------------------------
round=0 kills=0 completed=0
final_budget_s=$(( planned_ms / 1000 + 10 ))
while (( round < rounds )) && (( SECONDS + final_budget_s < deadline )); do
  round=$((round + 1))
  delay=$(( lo + RANDOM % (hi - lo + 1) ))
  log="$work/run-$round.log"
  start "$log" "${job_cmd[@]}" "${fault_args[@]}"
  run_for "$delay"
  resumed="$(grep -o 'resuming from checkpoint [0-9]*' "$log" | head -n1)"
  if (( killed )); then
    kills=$((kills + 1))
    line="round $round: killed after $delay ms${resumed:+ ($resumed)}"
    if [[ "$job" == oracle ]]; then
      mid="$("$check_bin" "${check_args[@]}" --partial 2>&1)"
      mrc=$?
      line+="; published so far: $(tail -n1 <<<"$mid")"
      if (( mrc != 0 )); then
        fail "round $round: the published output is already wrong after this kill:"
        echo "$mid" >&2
      fi
    fi
    echo "$line"
  elif (( rc == 0 )); then
    echo "round $round: the run finished before its kill moment ($delay ms)${resumed:+ ($resumed)}"
    completed=1
    break
  else
    fail "round $round: the run failed by itself (exit $rc)"
    log_tail "$log"
    break
  fi
done

if (( ! completed && ! failed )); then
  log="$work/run-final.log"
  start "$log" "${job_cmd[@]}" "${fault_args[@]}"
  while running "$pid" && (( SECONDS < deadline )); do sleep 0.05; done
  if running "$pid"; then
    kill -9 "$pid"
    reap
    fail "the final run did not end within the time budget (--max-seconds $max_seconds)"
  else
    reap
    resumed="$(grep -o 'resuming from checkpoint [0-9]*' "$log" | head -n1)"
    if (( rc == 0 )); then
      echo "final run: finished${resumed:+ ($resumed)}"
    else
      fail "the final run failed (exit $rc)"
      log_tail "$log"
    fi
  fi
fi

# -- compare with the reference ----------------------------------------------
lost=0 duplicated=0 mismatched=0
if [[ "$job" == oracle ]]; then
  report="$("$check_bin" "${check_args[@]}" 2>&1)"
  crc=$?
  last="$(tail -n1 <<<"$report")"
  if [[ "$last" =~ ^lost=([0-9]+)\ duplicated=([0-9]+)\ mismatched=([0-9]+)$ ]]; then
    lost=${BASH_REMATCH[1]} duplicated=${BASH_REMATCH[2]} mismatched=${BASH_REMATCH[3]}
  else
    fail "oracle-check failed: $report"
  fi
  if (( crc != 0 )); then
    failed=1
    echo "$report" >&2
  else
    echo "check: $(head -n1 <<<"$report")"
  fi
else
  [[ -f "$out" ]] || : >"$out"
  read -r lost duplicated mismatched < <(awk '
    function split_row(line) { n = split(line, f, ","); c = f[n]; w = substr(line, 1, length(line) - length(c) - 1) }
    FNR == NR { split_row($0); ref[w] += c; next }
    { split_row($0); got[w] += c; rows[w]++ }
    END {
      for (w in ref) { g = (w in got) ? got[w] : 0; if (g < ref[w]) lost += ref[w] - g; else if (g > ref[w]) dup += g - ref[w]; if (g != ref[w] || rows[w] > 1) bad++ }
      for (w in got) if (!(w in ref)) { dup += got[w]; bad++ }
      printf "%d %d %d\n", lost, dup, bad
    }' "$work/reference.csv" "$out")
  if ! cmp -s <(LC_ALL=C sort "$work/reference.csv") <(LC_ALL=C sort "$out"); then
    (( lost + duplicated + mismatched > 0 )) || mismatched=1
    fail "the output differs from the reference run: $(wc -l <"$out") rows vs $(wc -l <"$work/reference.csv")"
    diff <(LC_ALL=C sort "$work/reference.csv") <(LC_ALL=C sort "$out") | head -n 10 >&2
  else
    echo "check: output equals the reference ($(wc -l <"$out") words)"
  fi
fi
(( lost + duplicated + mismatched > 0 )) && failed=1

echo "rounds=$round kills=$kills lost=$lost duplicated=$duplicated mismatched=$mismatched"
exit $(( failed ? 1 : 0 ))
