#!/usr/bin/env bash
# scripts/cluster.sh end to end, as a user runs it: `init` a three-node
# cluster file on free ports of 127.0.0.1, `up --wait` the wordcount job on a
# small generated input (its output must equal the one-process run), then
# `status` must report every node down (dead, exit code 0) and exit non-zero,
# `down` must remove the pid file, the nodes must refuse the secret once it is
# readable by others, and `up` must refuse a non-local host.
#
#   test/integration/cluster_script_test.sh --build-dir DIR
#
# Exit 0 on success, 1 on a failed check (the work directory is kept then).
set -euo pipefail

build_dir=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --build-dir) build_dir="${2:?}"; shift 2 ;;
    *) echo "cluster_script_test: unknown argument '$1'" >&2; exit 2 ;;
  esac
done
[[ -n "$build_dir" ]] || { echo "cluster_script_test: --build-dir is required" >&2; exit 2; }
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)"
cluster_sh="$root/scripts/cluster.sh"
wordcount="$(cd "$build_dir" && pwd -P)/examples/wordcount/wordcount"
[[ -x "$wordcount" ]] || { echo "cluster_script_test: $wordcount is not built" >&2; exit 1; }

work="$(mktemp -d "${TMPDIR:-/tmp}/sluice-cluster-script-XXXXXX")"
cfg=""
ok=0
cleanup() {
  # Whatever `up` left running is stopped by its recorded pids.
  [[ -z "$cfg" || ! -f "$work/c/logs/cluster.pids" ]] || bash "$cluster_sh" down --timeout-s 5 "$cfg" >/dev/null 2>&1 || true
  if (( ok )); then rm -rf "$work"; else echo "cluster_script_test: work directory kept: $work" >&2; fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

fail() {
  echo "cluster_script_test: FAILED: $*" >&2
  local f
  for f in "$work"/c/logs/*.log; do
    [[ -f "$f" ]] || continue
    echo "---- $f (last lines) ----" >&2
    tail -n 15 "$f" >&2 || true
  done
  exit 1
}

# A small deterministic input: 3000 lines of words from a 50-word vocabulary.
awk 'BEGIN { for (i = 0; i < 3000; i++) { l = ""; for (j = 0; j < 8; j++) l = l " w" ((i * 7 + j * 13) % 50); print substr(l, 2) } }' \
  >"$work/input.txt"
job_args=(--input "$work/input.txt" --parallelism 2)

t0=$SECONDS
"$wordcount" "${job_args[@]}" --output "$work/local.csv" >"$work/local.log" 2>&1 || fail "the local run failed: $(tail -n 5 "$work/local.log")"
[[ -s "$work/local.csv" ]] || fail "the local run wrote no output"

# up --wait; a port taken between `init` and `up` is retried on fresh ports.
for try in 1 2 3; do
  rm -rf "$work/c"
  # A generous heartbeat timeout: this test is about the script, and a busy
  # machine must not make a node look lost (fault-inject.sh --cluster is the
  # test of losses).
  cfg="$(bash "$cluster_sh" init --nodes 3 --heartbeat-ms 500 --heartbeat-timeout-ms 5000 "$work/c")"
  rc=0
  bash "$cluster_sh" up --wait --timeout-s 90 "$cfg" "$wordcount" "${job_args[@]}" --output "$work/cluster.csv" \
    >"$work/up.out" 2>&1 || rc=$?
  cat "$work/up.out"
  if (( rc != 0 )) && grep -qs 'cannot listen on\|already in use' "$work"/c/logs/*.log "$work/up.out" && (( try < 3 )); then
    echo "cluster_script_test: a port was taken; retrying with other ports"
    bash "$cluster_sh" down "$cfg" >/dev/null 2>&1 || true
    continue
  fi
  break
done
(( rc == 0 )) || fail "cluster.sh up --wait exited with $rc"
grep -q 'coordinator n1 exited with code 0' "$work/up.out" || fail "up --wait did not report the coordinator's exit"
for n in n2 n3; do
  grep -q 'tasks deployed here' "$work/c/logs/$n.log" || fail "node $n got no share of the job"
done
cmp -s <(LC_ALL=C sort "$work/local.csv") <(LC_ALL=C sort "$work/cluster.csv") ||
  fail "the cluster output differs from the local run: $(diff <(LC_ALL=C sort "$work/local.csv") <(LC_ALL=C sort "$work/cluster.csv") | head -n 5 || true)"
echo "cluster_script_test: cluster output equals the local run ($(wc -l <"$work/local.csv") words)"

# After the job every node is down: status says so and exits non-zero.
rc=0
bash "$cluster_sh" status "$cfg" >"$work/status.out" 2>&1 || rc=$?
cat "$work/status.out"
(( rc != 0 )) || fail "status exited 0 after the job ended"
(( $(grep -c 'dead .*(exit code 0)' "$work/status.out") == 3 )) || fail "status does not report 3 nodes dead with exit code 0"

bash "$cluster_sh" down "$cfg" || fail "down failed"
[[ ! -f "$work/c/logs/cluster.pids" ]] || fail "down left the pid file"
rc=0
bash "$cluster_sh" status "$cfg" >"$work/status.out" 2>&1 || rc=$?
(( rc != 0 )) && (( $(grep -c 'not started' "$work/status.out") == 3 )) || fail "status after down: $(cat "$work/status.out")"

# init wrote the cluster's own secret, private to its owner; a node refuses it
# once group or others can read it, and says how to fix that.
[[ "$(stat -c %a "$work/c/secret.txt")" == 600 ]] || fail "init wrote secret.txt with mode $(stat -c %a "$work/c/secret.txt")"
chmod 644 "$work/c/secret.txt"
rc=0
bash "$cluster_sh" up --log-dir "$work/c/logs-open" "$cfg" "$wordcount" "${job_args[@]}" --output "$work/open.csv" \
  >"$work/open.out" 2>&1 || rc=$?
secret="$(dirname "$cfg")/secret.txt"
(( rc == 1 )) && grep -qF "secret file $secret is readable by group/others (mode 0644); run: chmod 600 $secret" \
  "$work/c/logs-open/n1.log" || fail "a node accepted a secret others can read (exit $rc): $(cat "$work/open.out")"
chmod 600 "$work/c/secret.txt"

# Only local hosts are started.
sed '0,/host = "127.0.0.1"/s//host = "192.0.2.1"/' "$cfg" >"$work/c/remote.toml"
rc=0
bash "$cluster_sh" up "$work/c/remote.toml" "$wordcount" "${job_args[@]}" --output "$work/remote.csv" >"$work/remote.out" 2>&1 || rc=$?
(( rc == 2 )) && grep -q 'only starts nodes on 127.0.0.1' "$work/remote.out" ||
  fail "up did not refuse a non-local host (exit $rc): $(cat "$work/remote.out")"
[[ ! -f "$work/c/logs/cluster.pids" ]] || fail "a refused up wrote a pid file"

ok=1
echo "cluster_script_test: passed in $((SECONDS - t0)) s"
