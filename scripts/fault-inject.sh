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
#              Its sink (write_csv, at_end) publishes its staged file when the
#              job ends; a kill after its final checkpoint completed but before
#              the run recorded its end is recovered by the next run, which
#              publishes the staged file or keeps the published one.
#   tcp        the oracle's check over the TCP line source (examples/oracle:
#              oracle-tcp, fed by oracle-send, a client process started once
#              for the whole campaign): idempotent senders send the sequence
#              as id-tagged lines, with a malformed line after every 50th
#              record and 64 KiB of random bytes as lines, hang up at random
#              without reading acks (10% of chunks) or in mid-line (3%), and
#              reconnect while the job is killed and started again. The
#              output must pass oracle-check; every line of the dead-letter
#              file must be valid JSON (python3, else iconv and jq), every
#              malformed and garbage line must be in it exactly once. Lost or
#              duplicated dead letters count in lost/duplicated, invalid JSON
#              lines in mismatched. Not with --cluster.
#
#   instance   (--mode instance; --job oracle) failures inside single operator
#              instances of one running process with --recovery local:
#              --rounds N seeded failures of instances of the keyed stage
#              "track" (2 of 3 an exception at a seeded record, 1 of 3 the
#              task actor killed there: fault rules throw: and kill:), spread
#              over each instance's input; checkpoints every
#              50 ms; restart failure-rate allowing every failure. The output
#              must pass oracle-check; every failure must have been recovered
#              locally (the summary's `recovery:` lines): a global restart
#              fails the campaign. Embedded only (no --cluster yet).
#
#   scripts/fault-inject.sh [--job oracle|wordcount|tcp] [--mode process|instance]
#                           [--rounds N] [--seed S]
#                           [--max-seconds T] [--build-dir DIR] [--keep]
#                           [--parallelism P] [--count N] [--rate R] [--keys K]
#                           [--copies C] [--long] [--cluster]
#
# --cluster runs the job as a cluster of three node processes on 127.0.0.1
# (scripts/cluster.sh init: free ports, a fresh secret and state directories
# in the work directory; checkpoints every 500 ms, heartbeats every 200 ms,
# timeout 1500 ms, restart fixed-delay:attempts=<rounds*3>,delay=200ms;
# parallelism 2 and, for oracle, rate 10000/s unless given). The reference is
# a failure-free cluster run (oracle: its output must already pass the
# checker) or the local run (wordcount). Then, in the campaign run, each round
# waits a seeded random moment and either kills (-9) a random non-coordinator
# node and restarts it with the same command, or pauses it (-STOP) for a
# random 2-4 s (longer than the heartbeat timeout) and resumes it (-CONT);
# the next round starts once that node got its share of the recovered job.
# Pauses are counted in `kills`. A coordinator that does not finish, a node
# that does not rejoin or does not exit after the job, or a node that fails
# by itself fails the campaign (the node logs are printed and kept).
#
# Without --build-dir it builds build/ (RelWithDebInfo) as scripts/test.sh
# does. --long marks the long campaign: skipped (exit 77) unless
# SLUICE_LONG_TESTS=1. Every process it starts is killed by pid on exit; the
# work directory (a mktemp dir) is removed unless --keep or a failure.
#
# Last line: rounds=<n> kills=<n> lost=<n> duplicated=<n> mismatched=<n>
# (--mode instance adds local=<n> regional=<n> global=<n>: how its failures
# were recovered; kills there counts the failures that happened)
# (rounds: kill rounds started; kills: runs actually killed, a round whose run
# ended before its kill moment is no kill; with --cluster: nodes killed or
# paused). Exit 0 when the final output is
# exactly the reference, 1 on any loss, duplicate or mismatch or when a run
# fails, times out or cannot start, 2 on bad usage, 77 when skipped.
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

usage() { sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//' >&2; exit "${1:-2}"; }

fault_mode=process
job=oracle rounds=5 seed=1 max_seconds=120 build_dir="" keep=0 long=0 cluster=0
parallelism="" count="" rate="" keys=16 copies=""
checkpoint_ms=50
while [[ $# -gt 0 ]]; do
  case "$1" in
    --job) job="${2:?}"; shift 2 ;;
    --mode) fault_mode="${2:?}"; shift 2 ;;
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
    --cluster) cluster=1; shift ;;
    -h|--help) usage 0 ;;
    *) echo "fault-inject: unknown argument '$1'" >&2; usage ;;
  esac
done
# Cluster runs are slower to start and recover: fewer records per second, and
# two instances per operator so that every node gets a share.
[[ -n "$parallelism" ]] || parallelism=$(( cluster ? 2 : 1 ))
[[ -n "$rate" ]] || rate=$(( cluster ? 10000 : 25000 ))
for v in rounds seed max_seconds parallelism rate keys; do
  [[ "${!v}" =~ ^[0-9]+$ ]] || { echo "fault-inject: --${v//_/-} must be a non-negative integer" >&2; exit 2; }
done
[[ "$job" == oracle || "$job" == wordcount || "$job" == tcp ]] || { echo "fault-inject: --job must be oracle, wordcount or tcp" >&2; exit 2; }
[[ "$fault_mode" == process || "$fault_mode" == instance ]] || { echo "fault-inject: --mode must be process or instance" >&2; exit 2; }
[[ "$fault_mode" == process ]] || { [[ "$job" == oracle ]] && (( ! cluster )); } || { echo "fault-inject: --mode instance runs --job oracle in one process (local recovery is embedded only for now)" >&2; exit 2; }
(( ! cluster )) || [[ "$job" != tcp ]] || { echo "fault-inject: --job tcp runs in one process (no --cluster)" >&2; exit 2; }
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
tcp_bin="$build_dir/examples/oracle/oracle-tcp"
send_bin="$build_dir/examples/oracle/oracle-send"
case "$job" in
  oracle) need=("$oracle_bin" "$check_bin") ;;
  tcp) need=("$tcp_bin" "$send_bin" "$check_bin") ;;
  *) need=("$wordcount_bin") ;;
esac
cluster_sh="$root/scripts/cluster.sh"
(( ! cluster )) || [[ -r "$cluster_sh" ]] || { echo "fault-inject: $cluster_sh is missing" >&2; exit 1; }
for b in "${need[@]}"; do
  [[ -x "$b" ]] || { echo "fault-inject: $b is not built (cmake --build $build_dir --target $(basename "$b"))" >&2; exit 1; }
done

# -- work directory and cleanup ------------------------------------------------
work="$(mktemp -d "${TMPDIR:-/tmp}/sluice-fault-XXXXXX")" || exit 1
pid=""
spid=""   # --job tcp: the client process
failed=0
declare -A npid=()   # cluster mode: node name -> pid of its running process
cleanup() {
  local n
  if [[ -n "$spid" ]]; then
    kill -9 "$spid" 2>/dev/null || true
    { wait "$spid"; } 2>/dev/null || true
  fi
  if [[ -n "$pid" ]]; then
    kill -9 "$pid" 2>/dev/null || true
    { wait "$pid"; } 2>/dev/null || true
  fi
  for n in "${!npid[@]}"; do
    kill -CONT "${npid[$n]}" 2>/dev/null || true
    kill -9 "${npid[$n]}" 2>/dev/null || true
    { wait "${npid[$n]}"; } 2>/dev/null || true
  done
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
  rc=0
  { wait "$pid"; } 2>/dev/null || rc=$?
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
    kill -9 "$pid" 2>/dev/null || true
    killed=1
  fi
  reap
  if (( killed )) && (( rc != 137 )); then killed=0; fi  # it ended by itself just before the kill
}

log_tail() { echo "---- $1 (last lines) ----" >&2; tail -n 15 "$1" >&2 || true; echo "----" >&2; }

# -- --mode instance: failures inside operator instances, local recovery ------
if [[ "$fault_mode" == instance ]]; then
  out="$work/out"
  # Every instance fails at records spread over the part of the input it
  # surely gets (keys are not spread evenly), a few thousand records apart;
  # instances fail independently, so sometimes while another one recovers
  # (it then recovers alone after it).
  [[ -n "$count" ]] || count=$(( rounds * 5000 + 20000 ))
  usable=$(( count * 7 / (10 * parallelism) ))
  per=$(( (rounds + parallelism - 1) / parallelism ))  # failures per instance
  step=$(( usable / (per + 1) ))
  (( step >= 200 )) || { echo "fault-inject: --count $count is too small for $rounds failures" >&2; exit 2; }
  rules=""
  RANDOM=$seed
  for (( f = 0; f < rounds; f++ )); do
    inst=$(( f % parallelism ))
    nth=$(( f / parallelism ))
    rec=$(( (nth + 1) * step - step / 4 + RANDOM % (step / 2) ))
    kind=throw
    (( RANDOM % 3 == 0 )) && kind=kill
    rules+="${rules:+;}$kind:operator=track,instance=$inst,record=$rec"
  done
  job_cmd=("$oracle_bin" --count "$count" --keys "$keys" --rate "$rate" --output "$out"
           --parallelism "$parallelism" --workers 2 --state-dir "$work/state" --checkpoint-ms 50
           --recovery local --restart "failure-rate:max=$(( rounds + 10 )),interval=60m,delay=1ms"
           --faults "$rules")
  echo "fault-inject: job oracle, --mode instance: $rounds failures in instances of 'track' (parallelism $parallelism), $count records at $rate/s, seed $seed"
  start "$work/run.log" "${job_cmd[@]}"
  until=$(( $(now_ms) + max_seconds * 1000 ))
  while running "$pid" && (( $(now_ms) < until )); do sleep 0.05; done
  if running "$pid"; then
    fail "the job did not finish within $max_seconds s"
    kill -9 "$pid" 2>/dev/null || true
  fi
  reap
  (( rc == 0 )) || { fail "the job failed (exit $rc)"; log_tail "$work/run.log"; }
  happened=$(grep -c '^  failure: ' "$work/run.log" || true)
  local_n=$(grep -c '^  recovery: .* recovered locally' "$work/run.log" || true)
  global_n=$(grep -c '^  recovery: .* restarted globally' "$work/run.log" || true)
  grep '^  recovery: .* restarted globally' "$work/run.log" >&2 || true
  lost=0 duplicated=0 mismatched=0
  crc=0
  report="$("$check_bin" --count "$count" --keys "$keys" --output "$out" 2>&1)" || crc=$?
  last="$(tail -n1 <<<"$report")"
  if [[ "$last" =~ ^lost=([0-9]+)\ duplicated=([0-9]+)\ mismatched=([0-9]+)$ ]]; then
    lost=${BASH_REMATCH[1]} duplicated=${BASH_REMATCH[2]} mismatched=${BASH_REMATCH[3]}
  else
    fail "oracle-check failed: $report"
  fi
  (( crc == 0 )) || { failed=1; echo "$report" >&2; }
  (( lost + duplicated + mismatched == 0 )) || failed=1
  (( global_n == 0 )) || fail "$global_n failures were recovered by a global restart"
  (( happened >= rounds * 3 / 4 )) || fail "only $happened of $rounds failures happened (the run ended first)"
  (( local_n + global_n == happened )) || fail "$happened failures but $local_n local and $global_n global recoveries"
  echo "rounds=$rounds kills=$happened lost=$lost duplicated=$duplicated mismatched=$mismatched local=$local_n regional=0 global=$global_n"
  exit $(( failed ? 1 : 0 ))
fi

# -- cluster mode: nodes as processes ------------------------------------------
# A cluster lives in a directory made by `cluster.sh init`: cluster.toml,
# secret.txt, state/<node>, and here logs/<node>.log (appended over restarts).
nodes=(n1 n2 n3)
coord=n1
others=(n2 n3)

# cluster_init <dir>: a fresh cluster file with free ports.
cluster_init() {
  local attempts=$(( rounds * 3 ))
  (( attempts >= 1 )) || attempts=1
  bash "$cluster_sh" init --nodes 3 --checkpoint-ms 500 --heartbeat-ms 200 --heartbeat-timeout-ms 1500 \
    --restart "fixed-delay:attempts=$attempts,delay=200ms" "$1" >/dev/null
  mkdir -p "$1/logs"
}

# start_node <dir> <node> <command...>: starts one node of the job; sets npid[node].
start_node() {
  local dir="$1" node="$2"
  shift 2
  "$@" --cluster "$dir/cluster.toml" --node "$node" >>"$dir/logs/$node.log" 2>&1 &
  npid[$node]=$!
}

# start_cluster <dir> <command...>: the other nodes first, then the coordinator.
start_cluster() {
  local dir="$1" n
  shift
  for n in "${others[@]}" "$coord"; do start_node "$dir" "$n" "$@"; done
}

# reap_node <node>: waits for it (it must have ended or been killed); sets rc.
reap_node() {
  rc=0
  { wait "${npid[$1]}"; } 2>/dev/null || rc=$?
  unset "npid[$1]"
}

# node_states: pid and process state of every node (a node that runs but
# logs nothing is stuck: `gdb -p <pid> -batch -ex "thread apply all bt"`).
node_states() {
  local n st
  for n in "${nodes[@]}"; do
    if [[ -z "${npid[$n]:-}" ]]; then st="not running"
    else st="pid ${npid[$n]}, state $(awk '{ sub(/.*\) /, ""); print substr($0, 1, 1) }' "/proc/${npid[$n]}/stat" 2>/dev/null || echo gone)"; fi
    echo "fault-inject: node $n: $st" >&2
  done
}

node_logs() {
  local n
  for n in "${nodes[@]}"; do log_tail "$1/logs/$n.log"; done
}

# port_clash <dir>: true when a node could not listen on its port (taken
# between choosing it and binding it): the run is retried on other ports.
port_clash() { grep -qs 'cannot listen on' "$1"/logs/*.log; }

# finish_cluster <dir>: waits for the coordinator (until the deadline), then
# for the other nodes (30 s more). Sets coord_rc; fails on a hang, on a node
# that does not end after the job or ends with an error.
finish_cluster() {
  local dir="$1" n until
  while running "${npid[$coord]}" && (( SECONDS < deadline )); do sleep 0.05; done
  if running "${npid[$coord]}"; then
    fail "the coordinator did not finish within the time budget (--max-seconds $max_seconds): the job hangs"
    node_states
    node_logs "$dir"
    coord_rc=124
    return 0
  fi
  reap_node "$coord"
  coord_rc=$rc
  until=$((SECONDS + 30))
  for n in "${others[@]}"; do
    [[ -n "${npid[$n]:-}" ]] || continue
    while running "${npid[$n]}" && (( SECONDS < until )); do sleep 0.05; done
    if running "${npid[$n]}"; then
      fail "node $n still runs 30 s after the coordinator ended the job"
      log_tail "$dir/logs/$n.log"
      kill -9 "${npid[$n]}" 2>/dev/null || true
      reap_node "$n"
    else
      reap_node "$n"
      if (( rc != 0 && coord_rc == 0 )); then
        fail "node $n exited with code $rc after the job ended"
        log_tail "$dir/logs/$n.log"
      fi
    fi
  done
}

# deployed <dir> <node>: how many deployments the node's log shows so far.
deployed() {
  local c
  c="$(grep -cs 'tasks deployed here' "$1/logs/$2.log")" || true
  echo "${c:-0}"
}

# wait_deployed <dir> <node> <count> <seconds>: until the node's log shows
# more than <count> deployments; false on timeout; true when the job ended.
wait_deployed() {
  local until=$((SECONDS + $4))
  while (( $(deployed "$1" "$2") <= $3 )); do
    running "${npid[$coord]}" || return 0
    (( SECONDS < until && SECONDS < deadline )) || return 1
    sleep 0.05
  done
}

# sleep_ms_while_running <ms>: sleeps, but stops early when the coordinator
# ends; false then.
sleep_ms_while_running() {
  local until=$(( $(now_ms) + $1 ))
  while (( $(now_ms) < until && SECONDS < deadline )); do
    running "${npid[$coord]}" || return 1
    sleep 0.02
  done
  running "${npid[$coord]}"
}

# watch_others <dir> [<node to skip>]: a non-coordinator node that ended by
# itself while the job runs is reported (code 0: the job ended).
watch_others() {
  local n
  for n in "${others[@]}"; do
    [[ "$n" != "${2:-}" && -n "${npid[$n]:-}" ]] || continue
    if ! running "${npid[$n]}"; then
      reap_node "$n"
      if (( rc != 0 )); then
        fail "node $n exited by itself with code $rc while the job ran"
        log_tail "$1/logs/$n.log"
        return 1
      fi
    fi
  done
}

# clean_cluster_run <dir> <command...>: a run without faults to the end;
# retried on fresh ports (at most 3 times) when a port was taken. Sets
# coord_rc and run_ms.
clean_cluster_run() {
  local dir="$1" try t0
  shift
  for try in 1 2 3; do
    rm -rf "$dir"
    cluster_init "$dir"
    t0=$(now_ms)
    start_cluster "$dir" "$@"
    finish_cluster "$dir"
    run_ms=$(( $(now_ms) - t0 ))
    (( coord_rc != 0 )) && port_clash "$dir" && (( try < 3 )) || return 0
    echo "fault-inject: a port of $dir was taken; retrying on other ports"
  done
}

# -- the job -----------------------------------------------------------------
if (( cluster )); then
  runtime_args=(--parallelism "$parallelism")   # workers, checkpoints, restarts: the cluster file
  fault_args=()
  # A round: a moment of up to ~2.5 s, a pause of 2-4 s or a kill, recovery.
  planned_ms=$(( (4 + rounds * 5) * 1000 ))
  mode="a cluster of 3 nodes (n1 coordinates), checkpoints every 500 ms"
else
  runtime_args=(--parallelism "$parallelism" --workers 2)
  fault_args=(--state-dir "$work/state" --checkpoint-ms "$checkpoint_ms")
  # Planned duration of the uninterrupted job, in ms; kill moments are drawn
  # so that the rounds usually fit in it.
  planned_ms=$(( (3 + rounds / 2) * 1000 ))
  mode="checkpoints every $checkpoint_ms ms"
fi

# free_port: a port of 127.0.0.1 that nobody listens on now.
free_port() {
  if command -v python3 >/dev/null 2>&1; then
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
  else
    echo $(( 20000 + RANDOM % 30000 ))
  fi
}

# dead_letter_counts <file>: prints "<lines> <invalid> <bad distinct> <bad
# duplicated> <garbage>": lines that are not valid JSON (strict UTF-8), and
# the raw texts of malformed ("bad ...") and garbage ("~...") lines.
dead_letter_counts() {
  local f="$1" invalid
  [[ -s "$f" ]] || { echo "0 0 0 0 0"; return; }
  invalid=$(invalid_json_lines "$f")
  jq -r '.raw' "$f" 2>/dev/null | awk -v lines="$(wc -l <"$f")" -v invalid="$invalid" '
    /^bad / { n[$0]++ }
    /^~/ { garbage++ }
    END { for (r in n) { distinct++; if (n[r] > 1) dup += n[r] - 1 }
          printf "%d %d %d %d %d\n", lines, invalid, distinct, dup, garbage }'
}

if [[ "$job" == tcp ]]; then
  senders=$(( keys < 4 ? keys : 4 ))
  [[ -n "$count" ]] || count=$(( rate * planned_ms / 1000 ))
  [[ "$count" =~ ^[0-9]+$ ]] || { echo "fault-inject: --count must be a number" >&2; exit 2; }
  planned_ms=$(( count * 1000 / rate ))
  out="$work/out"
  dead="$work/dead-letters.jsonl"
  port="$(free_port)"
  job_cmd=("$tcp_bin" --log "$work/log" --port "$port" --output "$out" --dead-letters "$dead" "${runtime_args[@]}")
  send_cmd=("$send_bin" --port "$port" --count "$count" --keys "$keys" --senders "$senders"
            --bad-every 50 --garbage-bytes 65536 --drop-ack 10 --disconnect 3
            --rate $(( rate / senders )) --seed "$seed" --timeout-s "$max_seconds")
  check_args=(--count "$count" --keys "$keys" --output "$out")
  echo "fault-inject: tcp, $count records over $keys keys from $senders idempotent senders at $rate/s (~$((planned_ms / 1000)) s) on port $port, a malformed line every 50 records and 64 KiB of random bytes, acks dropped, parallelism $parallelism, $mode, $rounds rounds, seed $seed"
  "${send_cmd[@]}" >"$work/sender.log" 2>&1 &
  spid=$!
elif [[ "$job" == oracle ]]; then
  [[ -n "$count" ]] || count=$(( rate * planned_ms / 1000 ))
  [[ "$count" =~ ^[0-9]+$ ]] || { echo "fault-inject: --count must be a number" >&2; exit 2; }
  planned_ms=$(( count * 1000 / rate ))
  out="$work/out"
  job_cmd=("$oracle_bin" --count "$count" --keys "$keys" --rate "$rate" --output "$out" "${runtime_args[@]}")
  check_args=(--count "$count" --keys "$keys" --output "$out")
  (( keys % parallelism != 0 )) || check_args+=(--strict-order)
  echo "fault-inject: oracle, $count records over $keys keys at $rate/s (~$((planned_ms / 1000)) s), parallelism $parallelism, $mode, $rounds rounds, seed $seed"
  if (( cluster )); then
    # The reference: the same job on a cluster without faults must already
    # be exactly-once, else the faults are not to blame.
    ref_out="$work/reference-out"
    ref_cmd=("$oracle_bin" --count "$count" --keys "$keys" --rate "$rate" --output "$ref_out" "${runtime_args[@]}")
    clean_cluster_run "$work/reference" "${ref_cmd[@]}"
    ref_report="$("$check_bin" --count "$count" --keys "$keys" --output "$ref_out" 2>&1)" && crc=0 || crc=$?
    if (( failed || coord_rc != 0 || crc != 0 )); then
      fail "the failure-free cluster run failed (coordinator exit $coord_rc; check: $(tail -n1 <<<"$ref_report"))"
      node_logs "$work/reference"
      exit 1
    fi
    planned_ms=$run_ms
    echo "fault-inject: reference cluster run without faults: $(tail -n1 <<<"$ref_report") in $run_ms ms"
  fi
else
  input_src="$root/examples/data/churn_modelling/Churn_Modelling.csv"
  [[ -r "$input_src" ]] || { echo "fault-inject: $input_src is missing" >&2; failed=1; exit 1; }
  [[ -n "$copies" ]] || copies=$(( planned_ms * 22 / 1000 ))
  (( copies <= 150 )) || copies=150
  for ((i = 0; i < copies; i++)); do cat "$input_src"; done >"$work/input.txt"
  out="$work/out.csv"
  job_cmd=("$wordcount_bin" --input "$work/input.txt" --output "$out" "${runtime_args[@]}")
  ref_cmd=("$wordcount_bin" --input "$work/input.txt" --output "$work/reference.csv" --parallelism "$parallelism" --workers 2)
  echo "fault-inject: wordcount on the churn CSV x$copies, parallelism $parallelism, $mode, $rounds rounds, seed $seed"
  t0=$(now_ms)
  start "$work/reference.log" "${ref_cmd[@]}"
  while running "$pid" && (( SECONDS < deadline )); do sleep 0.05; done
  ! running "$pid" || kill -9 "$pid" 2>/dev/null || true
  reap
  ref_ms=$(( $(now_ms) - t0 ))
  (( cluster )) || planned_ms=$ref_ms
  if (( rc != 0 )); then fail "the reference run failed (exit $rc)"; log_tail "$work/reference.log"; exit 1; fi
  echo "fault-inject: reference run (local): $(wc -l <"$work/reference.csv") words in $ref_ms ms"
fi

RANDOM=$seed
round=0 kills=0 completed=0
if (( cluster )); then
  # -- the cluster campaign ----------------------------------------------------
  # Fault moments: uniform in [lo, hi] ms after the job (re)started.
  lo=300
  hi=$(( planned_ms / (rounds + 1) ))
  (( hi <= 2500 )) || hi=2500
  (( hi >= lo + 500 )) || hi=$((lo + 500))
  cdir="$work/cluster"
  for try in 1 2 3; do
    rm -rf "$cdir" "$out"
    cluster_init "$cdir"
    start_cluster "$cdir" "${job_cmd[@]}"
    # Every node gets its share before the first fault (the coordinator
    # logs the placement rather than a deployment).
    ok=1
    for n in "${others[@]}"; do wait_deployed "$cdir" "$n" 0 30 || ok=0; done
    running "${npid[$coord]}" || ok=0
    (( ! ok )) && port_clash "$cdir" && (( try < 3 )) || break
    echo "fault-inject: a port of $cdir was taken; retrying on other ports"
    for n in "${!npid[@]}"; do kill -9 "${npid[$n]}" 2>/dev/null || true; reap_node "$n"; done
  done
  if (( ! ok )) && running "${npid[$coord]}"; then
    fail "the nodes did not all get their share of the job within 30 s"
    node_logs "$cdir"
  fi
  while (( ! failed && round < rounds )) && (( SECONDS + planned_ms / 1000 + 15 < deadline )); do
    round=$((round + 1))
    delay=$(( lo + RANDOM % (hi - lo + 1) ))
    target="${others[RANDOM % ${#others[@]}]}"
    action=$(( RANDOM % 2 ))
    gap=$(( action ? 2000 + RANDOM % 2001 : 200 + RANDOM % 501 ))
    if ! sleep_ms_while_running "$delay" || ! watch_others "$cdir"; then
      (( failed )) || { echo "round $round: the job ended before its fault moment ($delay ms)"; completed=1; }
      break
    fi
    if [[ -z "${npid[$target]:-}" ]]; then
      fail "round $round: node $target is not running"
      break
    fi
    before=$(deployed "$cdir" "$target")
    if (( action == 0 )); then
      kill -9 "${npid[$target]}" 2>/dev/null || true
      reap_node "$target"
      sleep "$(printf '%d.%03d' $((gap / 1000)) $((gap % 1000)))"
      start_node "$cdir" "$target" "${job_cmd[@]}"
      line="round $round: killed $target after $delay ms, restarted it $gap ms later"
    else
      kill -STOP "${npid[$target]}" 2>/dev/null || true
      sleep "$(printf '%d.%03d' $((gap / 1000)) $((gap % 1000)))"
      kill -CONT "${npid[$target]}" 2>/dev/null || true
      line="round $round: paused $target for $gap ms after $delay ms"
    fi
    kills=$((kills + 1))
    if [[ "$job" == oracle ]]; then
      mrc=0
      mid="$("$check_bin" "${check_args[@]}" --partial 2>&1)" || mrc=$?
      line+="; published so far: $(tail -n1 <<<"$mid")"
      if (( mrc != 0 )); then
        fail "round $round: the published output is already wrong after this fault:"
        echo "$mid" >&2
      fi
    fi
    echo "$line"
    # The next round starts once the node has its share of the recovered job.
    if ! wait_deployed "$cdir" "$target" "$before" 30; then
      fail "round $round: $target did not get a share of the recovered job within 30 s (it did not rejoin, or the job did not restart)"
      node_states
      node_logs "$cdir"
      break
    fi
  done
  if (( ! failed )); then
    finish_cluster "$cdir"
    if (( coord_rc == 0 )); then
      echo "cluster run: finished ($(grep -cs 'attempt [0-9]* (restoring checkpoint' "$cdir/logs/$coord.log" || true) restarts from a checkpoint)"
    elif (( coord_rc != 124 )); then
      fail "the coordinator reported that the job failed (exit $coord_rc)"
      node_logs "$cdir"
    fi
  fi
else
  # -- the local campaign ------------------------------------------------------
  # Kill moments: uniform in [lo, hi] ms after a start, seeded.
  lo=100
  hi=$(( planned_ms * 16 / 10 / (rounds + 1) ))
  (( hi >= lo + 100 )) || hi=$((lo + 100))
  final_budget_s=$(( planned_ms / 1000 + 10 ))
  while (( round < rounds )) && (( SECONDS + final_budget_s < deadline )); do
    round=$((round + 1))
    delay=$(( lo + RANDOM % (hi - lo + 1) ))
    log="$work/run-$round.log"
    start "$log" "${job_cmd[@]}" "${fault_args[@]}"
    run_for "$delay"
    resumed="$(grep -o 'resuming from checkpoint [0-9]*' "$log" | head -n1 || true)"
    if (( killed )); then
      kills=$((kills + 1))
      line="round $round: killed after $delay ms${resumed:+ ($resumed)}"
      if [[ "$job" == tcp ]]; then
        read -r _ _ _ ddup _ < <(dead_letter_counts "$dead")
        if (( ddup > 0 )); then
          fail "round $round: the published dead letters already hold $ddup duplicates"
        fi
      fi
      if [[ "$job" == oracle || "$job" == tcp ]]; then
        mrc=0
        mid="$("$check_bin" "${check_args[@]}" --partial 2>&1)" || mrc=$?
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
      kill -9 "$pid" 2>/dev/null || true
      reap
      fail "the final run did not end within the time budget (--max-seconds $max_seconds)"
    else
      reap
      resumed="$(grep -o 'resuming from checkpoint [0-9]*' "$log" | head -n1 || true)"
      if (( rc == 0 )); then
        already="$(grep -o 'already finished' "$log" | head -n1 || true)"
        echo "final run: finished${resumed:+ ($resumed)}${already:+ (the previous run had finished: nothing to do)}"
      else
        fail "the final run failed (exit $rc)"
        log_tail "$log"
      fi
    fi
  fi
fi

# -- compare with the reference ----------------------------------------------
lost=0 duplicated=0 mismatched=0 sent=""
if [[ "$job" == tcp && -n "$spid" ]]; then
  while running "$spid" && (( SECONDS < deadline )); do sleep 0.05; done
  running "$spid" && kill -9 "$spid" 2>/dev/null
  src=0
  { wait "$spid"; } 2>/dev/null || src=$?
  spid=""
  sent="$(tail -n1 "$work/sender.log")"
  echo "sender: $sent"
  if (( src != 0 )); then
    fail "the sender failed (exit $src)"
    log_tail "$work/sender.log"
  fi
fi
if [[ "$job" == oracle || "$job" == tcp ]]; then
  crc=0
  report="$("$check_bin" "${check_args[@]}" 2>&1)" || crc=$?
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
  if [[ "$job" == tcp ]]; then
    want_bad=0 want_garbage=0
    [[ "$sent" =~ bad=([0-9]+)\ garbage=([0-9]+) ]] && want_bad=${BASH_REMATCH[1]} want_garbage=${BASH_REMATCH[2]}
    read -r dlines dinvalid dbad ddup dgarbage < <(dead_letter_counts "$dead")
    echo "dead letters: $dlines lines, $dinvalid not valid JSON; malformed lines $dbad of $want_bad (+$ddup duplicated), garbage lines $dgarbage of $want_garbage"
    (( want_bad > 0 && want_garbage > 0 )) || fail "the sender did not say what it sent: $sent"
    lost=$(( lost + (want_bad > dbad ? want_bad - dbad : 0) + (want_garbage > dgarbage ? want_garbage - dgarbage : 0) ))
    duplicated=$(( duplicated + ddup + (dgarbage > want_garbage ? dgarbage - want_garbage : 0) ))
    mismatched=$(( mismatched + dinvalid + (dlines != dbad + ddup + dgarbage ? 1 : 0) ))
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
    diff <(LC_ALL=C sort "$work/reference.csv") <(LC_ALL=C sort "$out") | head -n 10 >&2 || true
  else
    echo "check: output equals the reference ($(wc -l <"$out") words)"
  fi
fi
(( lost + duplicated + mismatched == 0 )) || failed=1

echo "rounds=$round kills=$kills lost=$lost duplicated=$duplicated mismatched=$mismatched"
exit $(( failed ? 1 : 0 ))
