#!/usr/bin/env bash
# A multi-host cluster in network namespaces made by this test.
#
#   test/integration/cluster_netns_test.sh BUILD_DIR SOURCE_DIR
#
# Topology (nothing in the root namespace is touched): a "switch" namespace
# holding a bridge, and one namespace per node (sluice-<pid>-n1..n3), each
# linked to the bridge by a veth pair; the nodes get 10.231.<r>.1-3/24 (the
# subnet is chosen so that it appears in no route or address of the root
# namespace) and their loopback is up. Only addresses inside these
# namespaces are ever used.
#
# Scenario 1 (wordcount): a three-node cluster file (each node its own
# address, the same port), n2 and n3 started in their namespaces, then the
# coordinator n1; the coordinator must exit 0 within 120 s, its output
# (sorted) must equal a local run of the same job, and the node logs must show
# every node connected to every other one from that node's own address
# (`peer nX connected from <addr>:<port>`).
#
# Scenario 2 (oracle, link cut; SLUICE_NETNS_LINK_CUT=0 disables it): the
# oracle job with checkpoints every 500 ms, fixed-delay restarts and a 1.5 s
# heartbeat timeout; once running, n3's link is set down inside its namespace
# for longer than the heartbeat timeout, then brought back. The job must
# finish and oracle-check must report lost=0 duplicated=0 mismatched=0.
#
# Exit 0 on success, 1 on failure, 77 (SKIP: <reason>) when the machine does
# not allow network namespaces (not root, no `ip`, `ip netns add`, veth or
# bridge refused). Every process, namespace and temp dir it made is removed
# on every exit path; SLUICE_NETNS_KEEP=1 keeps the temp dir (logs).
set -euo pipefail

build_dir="${1:?usage: cluster_netns_test.sh BUILD_DIR SOURCE_DIR}"
source_dir="${2:?usage: cluster_netns_test.sh BUILD_DIR SOURCE_DIR}"
wordcount_bin="$build_dir/examples/wordcount/wordcount"
oracle_bin="$build_dir/examples/oracle/oracle"
check_bin="$build_dir/examples/oracle/oracle-check"
input="$source_dir/examples/data/churn_modelling/Churn_Modelling.csv"
port=7101
coordinator_timeout_s=120

t0=$SECONDS
log() { printf '[netns-test +%3ds] %s\n' "$((SECONDS - t0))" "$*"; }
fail() { log "FAIL: $*" >&2; exit 1; }
skip() { echo "SKIP: $*"; exit 77; }

# --- state cleaned up by the trap ---------------------------------------------
pids=()        # every process started, by pid
namespaces=()  # every namespace created (deleting one deletes its veth ends)
work=""

cleanup() {
  local rc=$?
  set +e
  trap - EXIT INT TERM
  local p
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null; done
  for p in "${pids[@]}"; do
    for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$p" 2>/dev/null
    wait "$p" 2>/dev/null
  done
  local ns
  for ns in "${namespaces[@]}"; do ip netns del "$ns" 2>/dev/null; done
  if [[ -n "$work" && -d "$work" ]]; then
    if [[ "${SLUICE_NETNS_KEEP:-0}" == 1 ]]; then
      log "kept $work"
    else
      rm -rf "$work"
    fi
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- can this machine do it? ----------------------------------------------------
[[ "$(id -u)" == 0 ]] || skip "network namespaces need root (running as uid $(id -u))"
command -v ip >/dev/null || skip "the 'ip' command (iproute2) is not installed"
for b in "$wordcount_bin" "$oracle_bin" "$check_bin"; do
  [[ -x "$b" ]] || fail "binary not built: $b"
done
[[ -r "$input" ]] || fail "input data not found: $input"

prefix="sluice-$$"
ns_sw="$prefix-sw"
nodes=(n1 n2 n3)
declare -A ns addr
for n in "${nodes[@]}"; do ns[$n]="$prefix-$n"; done

if ! err=$(ip netns add "$ns_sw" 2>&1); then
  skip "cannot create a network namespace: 'ip netns add $ns_sw' failed: $err"
fi
namespaces+=("$ns_sw")
if ! err=$(ip -n "$ns_sw" link add br0 type bridge 2>&1); then
  skip "cannot create a bridge in a network namespace: $err"
fi

# A /24 in 10.231.0.0/16 that no route or address of the root namespace mentions.
subnet=""
root_net="$(ip -4 route show table all 2>/dev/null; ip -4 addr show 2>/dev/null)"
for _ in $(seq 50); do
  cand="10.231.$((RANDOM % 250 + 1))"
  if [[ "$root_net" != *"$cand."* ]]; then
    subnet="$cand"
    break
  fi
done
[[ -n "$subnet" ]] || fail "no free 10.231.x.0/24 subnet found"

ip -n "$ns_sw" link set lo up
ip -n "$ns_sw" link set br0 up
i=0
for n in "${nodes[@]}"; do
  i=$((i + 1))
  addr[$n]="$subnet.$i"
  if ! err=$(ip netns add "${ns[$n]}" 2>&1); then
    skip "cannot create a second network namespace: $err"
  fi
  namespaces+=("${ns[$n]}")
  # The switch end (p<i>) lives in the switch namespace, the node end (eth0)
  # in the node's namespace: the root namespace gets no interface at all.
  if ! err=$(ip -n "$ns_sw" link add "p$i" type veth peer name eth0 netns "${ns[$n]}" 2>&1); then
    skip "cannot create a veth pair between network namespaces: $err"
  fi
  ip -n "$ns_sw" link set "p$i" master br0
  ip -n "$ns_sw" link set "p$i" up
  ip -n "${ns[$n]}" link set lo up
  ip -n "${ns[$n]}" addr add "${addr[$n]}/24" dev eth0
  ip -n "${ns[$n]}" link set eth0 up
done
log "namespaces ${namespaces[*]}; nodes n1=${addr[n1]} n2=${addr[n2]} n3=${addr[n3]} (port $port)"

# Connectivity between the namespaces (and only them) before any job runs.
if command -v ping >/dev/null; then
  for from in "${nodes[@]}"; do
    for to in "${nodes[@]}"; do
      [[ "$from" == "$to" ]] && continue
      ok=0
      for _ in $(seq 20); do
        if ip netns exec "${ns[$from]}" ping -c 1 -W 1 "${addr[$to]}" >/dev/null 2>&1; then ok=1; break; fi
        sleep 0.2
      done
      [[ $ok == 1 ]] || fail "$from (${addr[$from]}) cannot reach $to (${addr[$to]})"
    done
  done
  log "every node namespace reaches the other two"
fi

work="$(mktemp -d "${TMPDIR:-/tmp}/sluice-netns-$$.XXXXXX")"
# Every node must run the same binary: snapshot them, so a relink of the
# build tree during the test cannot give nodes different (or half-written) ones.
mkdir "$work/bin"
cp "$wordcount_bin" "$oracle_bin" "$check_bin" "$work/bin/"
wordcount_bin="$work/bin/wordcount" oracle_bin="$work/bin/oracle" check_bin="$work/bin/oracle-check"
# The test cluster's own secret, private to its owner (nodes refuse others).
bash "$source_dir/scripts/cluster.sh" init --secret-only "$work" >/dev/null || fail "cannot write a secret in $work"

# write_config FILE NAME [extra top-level lines...]
write_config() {
  local file="$1" name="$2"
  shift 2
  {
    echo "name = \"$name\""
    echo 'coordinator = "n1"'
    echo 'secret_file = "secret.txt"'
    local line
    for line in "$@"; do echo "$line"; done
    for n in "${nodes[@]}"; do
      echo
      echo '[[nodes]]'
      echo "name = \"$n\""
      echo "host = \"${addr[$n]}\""
      echo "port = $port"
      echo 'workers = 2'
      echo "state_dir = \"$work/$name-state/$n\""
    done
  } >"$file"
}

# start_node LOG NODE CMD... : starts CMD in NODE's namespace in the background;
# sets started_pid. `ip netns exec` execs the command, so the pid is the job's.
started_pid=""
start_node() {
  local logf="$1" node="$2"
  shift 2
  ip netns exec "${ns[$node]}" "$@" >"$logf" 2>&1 &
  started_pid=$!
  pids+=("$started_pid")
}

# wait_pid PID SECONDS : the exit code of PID, or 124 if it still runs after SECONDS.
wait_pid() {
  local p="$1" deadline=$((SECONDS + $2))
  while kill -0 "$p" 2>/dev/null; do
    if ((SECONDS >= deadline)); then return 124; fi
    sleep 0.1
  done
  local rc=0
  wait "$p" || rc=$?
  return "$rc"
}

dump_logs() {
  local f
  for f in "$@"; do
    echo "----- $f (last 40 lines) -----" >&2
    tail -n 40 "$f" >&2 || true
  done
}

# run_cluster TAG CONFIG CMD... : n2 and n3, then the coordinator n1; waits for
# all of them. Logs in $work/TAG-<node>.log.
run_cluster() {
  local tag="$1" cfg="$2"
  shift 2
  local -A pid
  for n in n2 n3; do
    start_node "$work/$tag-$n.log" "$n" "$@" --cluster "$cfg" --node "$n"
    pid[$n]=$started_pid
  done
  start_node "$work/$tag-n1.log" n1 "$@" --cluster "$cfg" --node n1
  pid[n1]=$started_pid
  local rc=0
  wait_pid "${pid[n1]}" "$coordinator_timeout_s" || rc=$?
  if [[ $rc == 124 ]]; then
    dump_logs "$work/$tag-n1.log" "$work/$tag-n2.log" "$work/$tag-n3.log"
    fail "$tag: the coordinator n1 did not finish within ${coordinator_timeout_s} s"
  fi
  if [[ $rc != 0 ]]; then
    dump_logs "$work/$tag-n1.log" "$work/$tag-n2.log" "$work/$tag-n3.log"
    fail "$tag: the coordinator n1 exited with $rc"
  fi
  for n in n2 n3; do
    rc=0
    wait_pid "${pid[$n]}" 30 || rc=$?
    if [[ $rc != 0 ]]; then
      dump_logs "$work/$tag-$n.log"
      fail "$tag: node $n exited with $rc (124: still running 30 s after the coordinator)"
    fi
  done
}

# check_connections TAG : every node's log shows every other node connected,
# and every connection comes from the connecting node's own address.
check_connections() {
  local tag="$1" n line peer from host seen
  for n in "${nodes[@]}"; do
    local f="$work/$tag-$n.log"
    seen=" "
    while IFS= read -r line; do
      [[ "$line" =~ node\ $n:\ peer\ ([A-Za-z0-9_-]+)\ connected\ from\ ([0-9.]+):([0-9]+) ]] || continue
      peer="${BASH_REMATCH[1]}" host="${BASH_REMATCH[2]}"
      [[ -n "${addr[$peer]:-}" ]] || fail "$tag: $n logged a connection from unknown node '$peer': $line"
      [[ "$host" == "${addr[$peer]}" ]] ||
        fail "$tag: $n saw $peer connect from $host, not from its own address ${addr[$peer]}: $line"
      seen+="$peer "
    done <"$f"
    for from in "${nodes[@]}"; do
      [[ "$from" == "$n" ]] && continue
      [[ "$seen" == *" $from "* ]] || { dump_logs "$f"; fail "$tag: $n never logged 'peer $from connected from ${addr[$from]}:<port>'"; }
    done
    log "$tag: $n saw peers:$seen(each from its own address)"
  done
}

# --- scenario 1: wordcount across three namespaces ---------------------------------
s1=$SECONDS
write_config "$work/wordcount.toml" sluice-netns-wc
log "wordcount: local reference run"
"$wordcount_bin" --input "$input" --output "$work/local.csv" --parallelism 3 --quiet >"$work/local.log" 2>&1 ||
  { dump_logs "$work/local.log"; fail "the local wordcount run failed"; }
log "wordcount: cluster run (n2, n3, then coordinator n1)"
run_cluster wordcount "$work/wordcount.toml" \
  "$wordcount_bin" --input "$input" --output "$work/cluster.csv" --parallelism 3
[[ -s "$work/cluster.csv" ]] || fail "wordcount: the cluster run wrote no output ($work/cluster.csv)"
grep -q "job 'wordcount' finished" "$work/wordcount-n1.log" ||
  { dump_logs "$work/wordcount-n1.log"; fail "wordcount: the coordinator printed no job summary"; }
if ! diff <(LC_ALL=C sort "$work/local.csv") <(LC_ALL=C sort "$work/cluster.csv") >"$work/wordcount.diff"; then
  head -n 20 "$work/wordcount.diff" >&2
  fail "wordcount: the cluster output differs from the local run ($(wc -l <"$work/wordcount.diff") diff lines)"
fi
log "wordcount: output equal to the local run ($(wc -l <"$work/cluster.csv") rows)"
check_connections wordcount
log "scenario 1 (wordcount) passed in $((SECONDS - s1)) s"

# --- scenario 2: oracle job, n3's link cut for longer than the heartbeat timeout ---
if [[ "${SLUICE_NETNS_LINK_CUT:-1}" == 0 ]]; then
  log "scenario 2 (link cut) disabled by SLUICE_NETNS_LINK_CUT=0"
  log "PASS in $((SECONDS - t0)) s"
  exit 0
fi
s2=$SECONDS
count=${SLUICE_NETNS_ORACLE_COUNT:-30000}
rate=${SLUICE_NETNS_ORACLE_RATE:-6000}
keys=16
cut_s=${SLUICE_NETNS_CUT_SECONDS:-4}
write_config "$work/oracle.toml" sluice-netns-oracle \
  'heartbeat_interval_ms = 200' \
  'heartbeat_timeout_ms = 1500' \
  'restart = "fixed-delay:attempts=5,delay=500ms"' \
  '' '[checkpoint]' 'interval_ms = 500'
oracle_cmd=("$oracle_bin" --count "$count" --keys "$keys" --rate "$rate" --output "$work/oracle-out" --parallelism 3)
log "oracle: cluster run ($count records at $rate/s), n3's link down for ${cut_s} s once deployed"
declare -A opid
for n in n2 n3; do
  start_node "$work/oracle-$n.log" "$n" "${oracle_cmd[@]}" --cluster "$work/oracle.toml" --node "$n"
  opid[$n]=$started_pid
done
start_node "$work/oracle-n1.log" n1 "${oracle_cmd[@]}" --cluster "$work/oracle.toml" --node n1
opid[n1]=$started_pid

# Cut once n3 runs tasks and a checkpoint had time to complete.
deadline=$((SECONDS + 60))
until grep -q "tasks deployed here" "$work/oracle-n3.log" 2>/dev/null; do
  kill -0 "${opid[n1]}" 2>/dev/null || { dump_logs "$work/oracle-n1.log"; fail "oracle: the coordinator ended before n3 was deployed"; }
  ((SECONDS < deadline)) || { dump_logs "$work/oracle-n1.log" "$work/oracle-n3.log"; fail "oracle: n3 got no tasks within 60 s"; }
  sleep 0.1
done
sleep 1.5
kill -0 "${opid[n1]}" 2>/dev/null || fail "oracle: the job ended before the link cut (raise SLUICE_NETNS_ORACLE_COUNT)"
log "oracle: link of n3 down (ip link set eth0 down in ${ns[n3]})"
ip netns exec "${ns[n3]}" ip link set eth0 down
sleep "$cut_s"
ip netns exec "${ns[n3]}" ip link set eth0 up
log "oracle: link of n3 up again"

rc=0
wait_pid "${opid[n1]}" "$coordinator_timeout_s" || rc=$?
if [[ $rc != 0 ]]; then
  dump_logs "$work/oracle-n1.log" "$work/oracle-n2.log" "$work/oracle-n3.log"
  [[ $rc == 124 ]] && fail "oracle: the coordinator did not finish within ${coordinator_timeout_s} s after the link cut"
  fail "oracle: the coordinator exited with $rc after the link cut"
fi
for n in n2 n3; do
  rc=0
  wait_pid "${opid[$n]}" 30 || rc=$?
  if [[ $rc != 0 ]]; then
    dump_logs "$work/oracle-$n.log"
    fail "oracle: node $n exited with $rc (124: still running 30 s after the coordinator)"
  fi
done
if grep -q "node n3 lost" "$work/oracle-n1.log"; then
  log "oracle: the coordinator noticed: $(grep -m1 -o 'node n3 lost.*' "$work/oracle-n1.log")"
else
  log "oracle: note: the coordinator's log shows no loss of n3 (the cut went unnoticed)"
fi
summary=$(grep -m1 -E '^ *checkpoints:' "$work/oracle-n1.log" || true)
[[ -n "$summary" ]] && log "oracle: ${summary# *}"
report=$("$check_bin" --count "$count" --keys "$keys" --output "$work/oracle-out" 2>&1) || true
last=$(printf '%s\n' "$report" | tail -n 1)
[[ "$last" == "lost=0 duplicated=0 mismatched=0" ]] || { printf '%s\n' "$report" | tail -n 20 >&2; fail "oracle: oracle-check: $last"; }
log "oracle: $last"
log "scenario 2 (link cut) passed in $((SECONDS - s2)) s"
log "PASS in $((SECONDS - t0)) s"
