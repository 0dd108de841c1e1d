#!/usr/bin/env bash
# The TCP line source end to end with real processes (docs/tcp-ingestion.md):
# oracle-tcp (the oracle's check over read_tcp_lines, checkpointed,
# exactly-once output) and oracle-send (idempotent senders that drop acks on
# purpose) on 127.0.0.1 with a free port.
#   1. 1 MiB of random bytes sent as lines, and a malformed line after every
#      10 records: the job finishes, oracle-check passes, and every line of
#      the dead-letter file parses as JSON (python3, strict UTF-8; else
#      iconv and jq), each malformed and garbage line exactly once.
#   2. The same command again: it says the job already finished, exits 0 at
#      once and leaves the output, the dead letters and the log alone.
#   3. --fresh with the same output directory is refused (names it).
#   4. --fresh with new output: the job runs again from the beginning of the
#      log and writes the same output.
# usage: tcp_ingest_test.sh ORACLE_TCP_BIN ORACLE_SEND_BIN ORACLE_CHECK_BIN
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# invalid_json_lines, shared with scripts/fault-inject.sh.
source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/common.sh"

job_bin="$1" send_bin="$2" check_bin="$3"
if ! command -v python3 > /dev/null && ! command -v jq > /dev/null; then
  echo "SKIP: neither python3 nor jq is installed (scripts/setup.sh --test installs jq)"
  exit 77
fi
tmp="$(mktemp -d "${TMPDIR:-/tmp}/sluice-tcp-ingest.XXXXXX")"
job_pid="" send_pid=""
cleanup() {
  stop "$send_pid"
  stop "$job_pid"
  [[ -n "${SLUICE_KEEP_TMP:-}" ]] || rm -rf "$tmp"
}
trap cleanup EXIT
fail() {
  echo "FAIL: $*" >&2
  for f in "$tmp"/*.log; do
    [[ -f "$f" ]] && { echo "---- $f" >&2; tail -n 20 "$f" >&2; }
  done
  exit 1
}

port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])' 2> /dev/null ||
  echo $((20000 + RANDOM % 30000)))"
count=20000 keys=8
job=("$job_bin" --log "$tmp/log" --port "$port" --state-dir "$tmp/state" --checkpoint-ms 50
  --workers 2 --parallelism 2 --timeout-s 100)

# wait_for PID SECONDS: true when the process ended in time (sets rc).
wait_for() {
  local i
  for ((i = 0; i < $2 * 20; i++)); do
    kill -0 "$1" 2> /dev/null || break
    sleep 0.05
  done
  kill -0 "$1" 2> /dev/null && return 1
  rc=0
  wait "$1" || rc=$?
}

# 1. A run with random bytes and malformed lines.
"${job[@]}" --output "$tmp/out" --dead-letters "$tmp/dead.jsonl" > "$tmp/run1.log" 2>&1 &
job_pid=$!
"$send_bin" --port "$port" --count "$count" --keys "$keys" --senders 2 --bad-every 10 \
  --garbage-bytes 1048576 --drop-ack 10 --disconnect 3 --timeout-s 90 > "$tmp/send.log" 2>&1 &
send_pid=$!
wait_for "$send_pid" 100 || fail "the sender did not finish within 100 s"
send_pid=""
((rc == 0)) || fail "the sender failed (exit $rc)"
wait_for "$job_pid" 30 || fail "the job did not finish after the end marker"
job_pid=""
((rc == 0)) || fail "the job failed (exit $rc)"
sent="$(tail -n 1 "$tmp/send.log")"
[[ "$sent" =~ bad=([0-9]+)\ garbage=([0-9]+) ]] || fail "sender summary: $sent"
want_bad=${BASH_REMATCH[1]} want_garbage=${BASH_REMATCH[2]}
"$check_bin" --count "$count" --keys "$keys" --output "$tmp/out" > "$tmp/check.log" 2>&1 ||
  fail "oracle-check: $(tail -n 1 "$tmp/check.log")"
lines=$(wc -l < "$tmp/dead.jsonl")
invalid=$(invalid_json_lines "$tmp/dead.jsonl")
((invalid == 0)) || fail "$invalid of $lines dead letters are not valid JSON"
if command -v jq > /dev/null; then
  got_bad=$(jq -r '.raw' "$tmp/dead.jsonl" | grep -ac '^bad ' || true)
  distinct_bad=$(jq -r '.raw' "$tmp/dead.jsonl" | grep -a '^bad ' | sort -u | wc -l)
  got_garbage=$(jq -r '.raw' "$tmp/dead.jsonl" | grep -ac '^~' || true)
  ((got_bad == want_bad && distinct_bad == want_bad)) ||
    fail "malformed lines in the dead letters: $got_bad ($distinct_bad distinct), sent $want_bad"
  ((got_garbage == want_garbage)) || fail "garbage lines in the dead letters: $got_garbage, sent $want_garbage"
fi
((lines == want_bad + want_garbage)) || fail "$lines dead letters for $want_bad + $want_garbage bad lines"
echo "run 1: $sent; $lines dead letters, all valid JSON; $(tail -n 1 "$tmp/check.log")"

# 2. Again: already finished, nothing touched.
snapshot() { (cd "$tmp" && find out log dead.jsonl -type f -print0 | sort -z | xargs -0 sha256sum); }
before="$(snapshot)"
"${job[@]}" --output "$tmp/out" --dead-letters "$tmp/dead.jsonl" > "$tmp/run2.log" 2>&1 &
job_pid=$!
wait_for "$job_pid" 20 || fail "the second run of a finished job did not exit"
job_pid=""
((rc == 0)) || fail "the second run exited with $rc"
grep -q "already finished" "$tmp/run2.log" || fail "the second run did not say that the job already finished"
[[ "$(snapshot)" == "$before" ]] || fail "the second run changed the output, the dead letters or the log"
echo "run 2: $(head -n 1 "$tmp/run2.log")"

# 3. --fresh into the same output: refused.
rc=0
"${job[@]}" --fresh --output "$tmp/out" --dead-letters "$tmp/dead2.jsonl" > "$tmp/run3.log" 2>&1 || rc=$?
((rc != 0)) || fail "--fresh into a non-empty exactly-once output directory was not refused"
grep -q "$tmp/out' of operator 'write' is not empty" "$tmp/run3.log" ||
  fail "the refusal does not name the directory: $(cat "$tmp/run3.log")"
[[ "$(snapshot)" == "$before" ]] || fail "the refused fresh run changed something"
echo "run 3: $(grep -o 'error: .*' "$tmp/run3.log" | head -n 1)"

# 4. --fresh into new output: the whole log again, the same result.
"${job[@]}" --fresh --output "$tmp/out4" --dead-letters "$tmp/dead4.jsonl" > "$tmp/run4.log" 2>&1 &
job_pid=$!
wait_for "$job_pid" 60 || fail "the fresh run did not finish"
job_pid=""
((rc == 0)) || fail "the fresh run failed (exit $rc)"
"$check_bin" --count "$count" --keys "$keys" --output "$tmp/out4" > "$tmp/check4.log" 2>&1 ||
  fail "oracle-check of the fresh run: $(tail -n 1 "$tmp/check4.log")"
(($(wc -l < "$tmp/dead4.jsonl") == lines)) || fail "the fresh run wrote $(wc -l < "$tmp/dead4.jsonl") dead letters, not $lines"
echo "run 4 (--fresh): $(tail -n 1 "$tmp/check4.log")"
echo "PASS"
