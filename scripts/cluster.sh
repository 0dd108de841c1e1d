#!/usr/bin/env bash
# Runs the nodes of a Sluice cluster file as processes on this machine (every
# node's host must be 127.0.0.1 or localhost; the script refuses others).
#
#   scripts/cluster.sh up [--log-dir DIR] [--wait] [--timeout-s T] <config.toml> <job-binary> [job args...]
#   scripts/cluster.sh down [--log-dir DIR] [--timeout-s T] <config.toml>
#   scripts/cluster.sh status [--log-dir DIR] <config.toml>
#   scripts/cluster.sh init [--nodes N] [--checkpoint-ms N] [--restart S]
#                           [--heartbeat-ms I] [--heartbeat-timeout-ms T] <dir>
#   scripts/cluster.sh init --secret-only <dir>
#
# up      starts every node as `<job> [job args...] --cluster <config> --node <name>`,
#         the other nodes first, then the coordinator; each appends to its own
#         log, <log-dir>/<node>.log (default log dir: <dir of config>/logs).
#         Pids go to <log-dir>/cluster.pids; prints node, role, pid and port,
#         once every node listens on its port (bounded wait). Refuses to start
#         while nodes of an earlier `up` still run. The nodes ignore SIGHUP and
#         outlive the script, unless --wait: then it waits for the coordinator
#         to exit (at most --timeout-s, default 600), gives the other nodes 30 s
#         to end, and exits with the coordinator's exit code (124 and every
#         node stopped when the coordinator is still running at the timeout;
#         every node stopped on Ctrl-C).
# down    stops the nodes recorded in the pid file (SIGTERM, then SIGKILL after
#         --timeout-s, default 10; a recorded pid is only signalled while it is
#         still the process `up` started), then removes the pid file. Logs stay.
# status  one line per node: alive (pid, port listening or not), paused
#         (SIGSTOP), dead (with its exit code when `up --wait` saw it) or not
#         started. Exit 0 only when every node is alive and not paused.
# init    writes <dir>/cluster.toml for N (default 3) nodes n1..nN on 127.0.0.1
#         with free ports, a fresh secret in <dir>/secret.txt and state
#         directories under <dir>/state; prints the config path. Defaults:
#         checkpoints every 500 ms, restart fixed-delay:attempts=10,delay=200ms,
#         heartbeats every 200 ms, timeout 1500 ms. With --secret-only it
#         writes only a fresh <dir>/secret.txt (e.g. for net/config/cluster-3.toml)
#         and prints its path. The secret file is private (mode 0600): a node
#         refuses a secret file that group or others can read or write.
#
# Exit codes: 0 ok, 1 failure (a node did not start, a node is down), 2 bad
# usage or config; `up --wait`: the coordinator's exit code, or 124.
set -euo pipefail

prog=cluster.sh
usage() { sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//' >&2; exit "${1:-2}"; }
die() { echo "$prog: $*" >&2; exit 2; }
is_uint() { [[ "$1" =~ ^[0-9]+$ ]]; }

# -- processes -----------------------------------------------------------------

# Start time of process $1 in clock ticks since boot (field 22 of
# /proc/PID/stat), or nothing. With the pid it identifies the process: a pid
# that was reused by another program has another start time.
proc_start() {
  local s
  { read -r s <"/proc/$1/stat"; } 2>/dev/null || return 1
  s="${s##*) }"
  local -a f
  read -r -a f <<<"$s"
  echo "${f[19]}"
}

# State letter of process $1 (R, S, T for stopped, Z for zombie...).
proc_state() {
  local s
  { read -r s <"/proc/$1/stat"; } 2>/dev/null || return 1
  s="${s##*) }"
  echo "${s:0:1}"
}

# alive <pid> <start>: true while the process we started runs (zombies and
# reused pids are not it).
alive() {
  local st
  st="$(proc_state "$1")" || return 1
  [[ "$st" != Z ]] || return 1
  [[ "$(proc_start "$1" 2>/dev/null)" == "$2" ]]
}

now_ms() { local t="${EPOCHREALTIME//[.,]/}"; echo $((10#$t / 1000)); }

# Inodes of the sockets listening on TCP port $1 (IPv4 and IPv6).
listen_inodes() {
  local hex
  hex="$(printf '%04X' "$1")"
  awk -v p=":$hex" '$4 == "0A" && substr($2, length($2) - 4) == p { print $10 }' \
    /proc/net/tcp /proc/net/tcp6 2>/dev/null || true
}

# port_state <port> <pid>: "listening" (by that process), "taken" (listening,
# by another process) or "not listening".
port_state() {
  local port="$1" pid="$2" inodes ino
  inodes="$(listen_inodes "$port")"
  [[ -n "$inodes" ]] || { echo "not listening"; return; }
  if [[ -n "$pid" ]]; then
    for ino in $inodes; do
      if find "/proc/$pid/fd" -maxdepth 1 -lname "socket:\[$ino\]" 2>/dev/null | grep -q .; then
        echo listening
        return
      fi
    done
  fi
  echo taken
}

# -- the cluster file ------------------------------------------------------------

# parse_config <file>: sets coordinator, names[], hosts[], ports[]. Reads only
# the root key `coordinator` and name/host/port of the [[nodes]] tables; the
# job binary validates the rest.
parse_config() {
  local file="$1" out
  [[ -r "$file" ]] || die "cannot read the cluster file '$file'"
  out="$(awk '
    function trim(s) { sub(/^[ \t\r]+/, "", s); sub(/[ \t\r]+$/, "", s); return s }
    # Drops a comment: a # outside a quoted string.
    function strip(s,   i, c, q) {
      q = ""
      for (i = 1; i <= length(s); i++) {
        c = substr(s, i, 1)
        if (q == "") { if (c == "#") return substr(s, 1, i - 1); if (c == "\"" || c == "\047") q = c }
        else if (c == q && (q == "\047" || substr(s, i - 1, 1) != "\\")) q = ""
      }
      return s
    }
    function unquote(v) {
      if (length(v) >= 2 && (v ~ /^".*"$/ || v ~ /^\047.*\047$/)) return substr(v, 2, length(v) - 2)
      return v
    }
    BEGIN { section = ""; n = 0 }
    {
      line = trim(strip($0))
      if (line == "") next
      if (line ~ /^\[\[[ \t]*nodes[ \t]*\]\]$/) { section = "nodes"; n++; next }
      if (line ~ /^\[/) { section = "other"; next }
      eq = index(line, "=")
      if (eq == 0) next   # the continuation of a multi-line array
      key = unquote(trim(substr(line, 1, eq - 1)))
      val = unquote(trim(substr(line, eq + 1)))
      if (section == "" && key == "coordinator") coord = val
      else if (section == "nodes" && (key == "name" || key == "host" || key == "port")) {
        if ((n, key) in node) { printf "%s:%d: nodes[%d].%s given twice\n", FILENAME, FNR, n - 1, key > "/dev/stderr"; bad = 1 }
        node[n, key] = val
      }
    }
    END {
      if (coord == "") { printf "%s: no coordinator key\n", FILENAME > "/dev/stderr"; bad = 1 }
      if (n == 0) { printf "%s: no [[nodes]]\n", FILENAME > "/dev/stderr"; bad = 1 }
      for (i = 1; i <= n; i++) {
        if (node[i, "name"] !~ /^[A-Za-z0-9_.-]+$/) { printf "%s: nodes[%d].name: missing or not a plain name\n", FILENAME, i - 1 > "/dev/stderr"; bad = 1 }
        if (node[i, "host"] == "") { printf "%s: nodes[%d].host: missing\n", FILENAME, i - 1 > "/dev/stderr"; bad = 1 }
        if (node[i, "port"] !~ /^[0-9]+$/ || node[i, "port"] + 0 < 1 || node[i, "port"] + 0 > 65535) {
          printf "%s: nodes[%d].port: expected an integer in 1..65535\n", FILENAME, i - 1 > "/dev/stderr"; bad = 1 }
        if (node[i, "name"] in seen) { printf "%s: node name %s used twice\n", FILENAME, node[i, "name"] > "/dev/stderr"; bad = 1 }
        seen[node[i, "name"]] = 1
      }
      if (coord != "" && !(coord in seen)) { printf "%s: coordinator %s is not one of the nodes\n", FILENAME, coord > "/dev/stderr"; bad = 1 }
      if (bad) exit 1
      print "coordinator", coord
      for (i = 1; i <= n; i++) print "node", node[i, "name"], node[i, "host"], node[i, "port"] + 0
    }' "$file")" || die "bad cluster file '$file'"
  coordinator="" names=() hosts=() ports=()
  local kind a b c
  while read -r kind a b c; do
    case "$kind" in
      coordinator) coordinator="$a" ;;
      node) names+=("$a"); hosts+=("$b"); ports+=("$c") ;;
    esac
  done <<<"$out"
}

require_local_hosts() {
  local i bad=0
  for i in "${!names[@]}"; do
    case "${hosts[$i]}" in
      127.0.0.1|localhost) ;;
      *) echo "$prog: node ${names[$i]} has host '${hosts[$i]}': this script only starts nodes on 127.0.0.1 or localhost (start remote nodes on their own machines)" >&2; bad=1 ;;
    esac
  done
  (( ! bad )) || exit 2
}

# Nodes in start order: every node but the coordinator, then the coordinator.
start_order() {
  local i
  for i in "${!names[@]}"; do [[ "${names[$i]}" == "$coordinator" ]] || echo "$i"; done
  for i in "${!names[@]}"; do [[ "${names[$i]}" != "$coordinator" ]] || echo "$i"; done
}

# -- the pid file ------------------------------------------------------------------
# One line per started node: <name> <pid> <start time> <port>.

declare -A rec_pid=() rec_start=()
read_pids() {
  rec_pid=() rec_start=()
  [[ -f "$pid_file" ]] || return 0
  local name pid start port
  while read -r name pid start port; do
    [[ -n "$name" && "$name" != \#* ]] || continue
    is_uint "$pid" && is_uint "$start" || continue
    rec_pid[$name]=$pid rec_start[$name]=$start
  done <"$pid_file"
}

role() { [[ "$1" == "$coordinator" ]] && echo coordinator || echo node; }

# stop_nodes <timeout-s>: SIGTERM (and SIGCONT, for paused nodes) to every
# recorded node still alive, SIGKILL to those left after the timeout.
stop_nodes() {
  local timeout_s="$1" name left until
  read_pids
  for name in "${!rec_pid[@]}"; do
    if alive "${rec_pid[$name]}" "${rec_start[$name]}"; then
      kill -TERM "${rec_pid[$name]}" 2>/dev/null || true
      kill -CONT "${rec_pid[$name]}" 2>/dev/null || true
    fi
  done
  until=$(( $(now_ms) + timeout_s * 1000 ))
  while :; do
    left=()
    for name in "${!rec_pid[@]}"; do
      alive "${rec_pid[$name]}" "${rec_start[$name]}" && left+=("$name")
    done
    (( ${#left[@]} > 0 && $(now_ms) < until )) || break
    sleep 0.1
  done
  for name in "${left[@]}"; do
    echo "$prog: $name (pid ${rec_pid[$name]}) did not stop within ${timeout_s} s: SIGKILL" >&2
    kill -KILL "${rec_pid[$name]}" 2>/dev/null || true
  done
  until=$(( $(now_ms) + 3000 ))
  for name in "${left[@]}"; do
    while alive "${rec_pid[$name]}" "${rec_start[$name]}" && (( $(now_ms) < until )); do sleep 0.05; done
  done
  # Children of this shell (up --wait) are reaped here; others by their parent.
  for name in "${!rec_pid[@]}"; do
    if [[ -n "${child[$name]:-}" ]]; then { wait "${rec_pid[$name]}"; } 2>/dev/null || true; fi
  done
  return 0
}

# -- subcommands ---------------------------------------------------------------------

cmd=""
log_dir="" wait_exit=0 timeout_s="" n_nodes=3 checkpoint_ms=500
restart="fixed-delay:attempts=10,delay=200ms" hb_ms=200 hb_timeout_ms=1500 secret_only=0
declare -A child=()

[[ $# -gt 0 ]] || usage
case "$1" in
  up|down|status|init) cmd="$1"; shift ;;
  -h|--help) usage 0 ;;
  *) echo "$prog: unknown command '$1'" >&2; usage ;;
esac
while [[ $# -gt 0 ]]; do
  case "$1" in
    --log-dir) log_dir="${2:?--log-dir needs a value}"; shift 2 ;;
    --wait) wait_exit=1; shift ;;
    --timeout-s) timeout_s="${2:?--timeout-s needs a value}"; shift 2 ;;
    --nodes) n_nodes="${2:?}"; shift 2 ;;
    --checkpoint-ms) checkpoint_ms="${2:?}"; shift 2 ;;
    --restart) restart="${2:?}"; shift 2 ;;
    --heartbeat-ms) hb_ms="${2:?}"; shift 2 ;;
    --heartbeat-timeout-ms) hb_timeout_ms="${2:?}"; shift 2 ;;
    --secret-only) secret_only=1; shift ;;
    -h|--help) usage 0 ;;
    --) shift; break ;;
    -*) echo "$prog: unknown option '$1'" >&2; usage ;;
    *) break ;;
  esac
done
[[ -z "$timeout_s" ]] || is_uint "$timeout_s" || die "--timeout-s must be a non-negative integer"

# write_secret <file>: a fresh random secret (48 hex digits), mode 0600. Written
# to a temporary file and renamed, so that an existing file's mode (a secret
# once made readable by others) is not kept.
write_secret() {
  local file="$1" tmp
  tmp="$(umask 077 && mktemp "$file.XXXXXX")" || die "cannot write in $(dirname "$file")"
  if ! { od -An -tx1 -N24 /dev/urandom | tr -d ' \n' && echo; } >"$tmp" || ! chmod 600 "$tmp" || ! mv -f "$tmp" "$file"; then
    rm -f "$tmp"
    die "cannot write the secret file $file"
  fi
}

if [[ "$cmd" == init ]]; then
  [[ $# -eq 1 ]] || usage
  if (( secret_only )); then
    [[ -d "$1" ]] || die "no directory '$1'"
    write_secret "$(cd "$1" && pwd -P)/secret.txt"
    echo "$(cd "$1" && pwd -P)/secret.txt"
    exit 0
  fi
  for v in n_nodes checkpoint_ms hb_ms hb_timeout_ms; do is_uint "${!v}" || die "--${v//_/-} must be an integer"; done
  (( n_nodes >= 1 && n_nodes <= 64 )) || die "--nodes must be in 1..64"
  (( hb_timeout_ms > hb_ms )) || die "the heartbeat timeout must be greater than the interval"
  [[ "$restart" =~ ^[A-Za-z0-9:=,.-]+$ ]] || die "--restart '$restart' has unexpected characters"
  dir="$1"
  mkdir -p "$dir/state"
  dir="$(cd "$dir" && pwd -P)"
  # Free ports: bound together with port 0 (so they differ), then released.
  if command -v python3 >/dev/null 2>&1; then
    read -r -a free <<<"$(python3 -c '
import socket, sys
s = [socket.socket() for _ in range(int(sys.argv[1]))]
for x in s: x.bind(("127.0.0.1", 0))
print(" ".join(str(x.getsockname()[1]) for x in s))' "$n_nodes")"
  else
    # No python3: random ports of the ephemeral range that nobody listens on.
    free=()
    for ((tries = 0; ${#free[@]} < n_nodes && tries < 1000; tries++)); do
      p=$(( 32768 + (RANDOM * 32768 + RANDOM) % 28232 ))
      [[ " ${free[*]} " != *" $p "* && -z "$(listen_inodes "$p")" ]] && free+=("$p")
    done
  fi
  (( ${#free[@]} == n_nodes )) || { echo "$prog: cannot find $n_nodes free ports" >&2; exit 1; }
  umask 077
  write_secret "$dir/secret.txt"
  {
    echo "# Generated by scripts/cluster.sh init; keys: net/README.md"
    echo "name = \"local-$(basename "$dir" | tr -c 'A-Za-z0-9\n' '-')\""
    echo "coordinator = \"n1\""
    echo "secret_file = \"secret.txt\""
    echo "heartbeat_interval_ms = $hb_ms"
    echo "heartbeat_timeout_ms = $hb_timeout_ms"
    echo "restart = \"$restart\""
    echo
    echo "[checkpoint]"
    echo "interval_ms = $checkpoint_ms"
    echo "retained = 3"
    for ((i = 0; i < n_nodes; i++)); do
      echo
      echo "[[nodes]]"
      echo "name = \"n$((i + 1))\""
      echo "host = \"127.0.0.1\""
      echo "port = ${free[$i]}"
      echo "workers = 2"
      echo "state_dir = \"$dir/state/n$((i + 1))\""
    done
  } >"$dir/cluster.toml"
  echo "$dir/cluster.toml"
  exit 0
fi

[[ $# -ge 1 ]] || usage
config="$1"
shift
[[ -f "$config" ]] || die "no cluster file '$config'"
config="$(cd "$(dirname "$config")" && pwd -P)/$(basename "$config")"
parse_config "$config"
[[ -n "$log_dir" ]] || log_dir="$(dirname "$config")/logs"
pid_file="$log_dir/cluster.pids"

case "$cmd" in
status)
  [[ $# -eq 0 ]] || usage
  read_pids
  down=0
  for i in "${!names[@]}"; do
    name="${names[$i]}" port="${ports[$i]}"
    line="$(printf '%-12s %-11s %s:%-5s' "$name" "$(role "$name")" "${hosts[$i]}" "$port")"
    pid="${rec_pid[$name]:-}"
    if [[ -z "$pid" ]]; then
      echo "$line  not started (port $(port_state "$port" ""))"
      down=1
    elif alive "$pid" "${rec_start[$name]}"; then
      st="$(proc_state "$pid" || true)"
      if [[ "$st" == T ]]; then
        echo "$line  paused  pid $pid (stopped by a signal; port $(port_state "$port" "$pid"))"
        down=1
      else
        echo "$line  alive   pid $pid, port $(port_state "$port" "$pid")"
      fi
    else
      code=""
      [[ -f "$log_dir/$name.exit" ]] && code="$(<"$log_dir/$name.exit")"
      echo "$line  dead    pid $pid${code:+ (exit code $code)}; log: $log_dir/$name.log"
      down=1
    fi
  done
  exit "$down"
  ;;
down)
  [[ $# -eq 0 ]] || usage
  if [[ ! -f "$pid_file" ]]; then
    echo "$prog: no pid file $pid_file: nothing to stop"
    exit 0
  fi
  stop_nodes "${timeout_s:-10}"
  rm -f "$pid_file"
  echo "$prog: stopped ${#rec_pid[@]} nodes (logs in $log_dir)"
  exit 0
  ;;
esac

# -- up ------------------------------------------------------------------------------
[[ $# -ge 1 ]] || usage
job="$1"
shift
job_args=("$@")
require_local_hosts
if [[ "$job" == */* ]]; then
  [[ -x "$job" && -f "$job" ]] || die "the job binary '$job' is not an executable file"
  job="$(cd "$(dirname "$job")" && pwd -P)/$(basename "$job")"
else
  command -v "$job" >/dev/null || die "the job binary '$job' is not on PATH"
fi
mkdir -p "$log_dir"
read_pids
for name in "${!rec_pid[@]}"; do
  if alive "${rec_pid[$name]}" "${rec_start[$name]}"; then
    echo "$prog: node $name (pid ${rec_pid[$name]}) of an earlier 'up' still runs; run '$0 down $config' first" >&2
    exit 1
  fi
done
rm -f "$pid_file"
for i in "${!names[@]}"; do
  if [[ -n "$(listen_inodes "${ports[$i]}")" ]]; then
    echo "$prog: port ${ports[$i]} of node ${names[$i]} is already in use by another process" >&2
    exit 1
  fi
  rm -f "$log_dir/${names[$i]}.exit"
done

started=0
on_exit() {
  local rc=$?
  # A failed or interrupted `up` leaves nothing running; `up --wait` never does.
  if (( started )) && { (( rc != 0 )) || (( wait_exit )); }; then
    stop_nodes 5
    (( wait_exit )) || rm -f "$pid_file"
  fi
  return "$rc"
}
trap on_exit EXIT
trap 'echo "$prog: interrupted: stopping the nodes" >&2; exit 130' INT TERM HUP

echo "# scripts/cluster.sh up $config $job; started $(date '+%F %T')" >"$pid_file"
for i in $(start_order); do
  name="${names[$i]}"
  log="$log_dir/$name.log"
  echo "==== $(date '+%F %T') cluster.sh up: $job ${job_args[*]} --cluster $config --node $name" >>"$log"
  # The node ignores SIGHUP so it outlives a closed terminal; stdin is not
  # the terminal's.
  ( trap '' HUP; exec "$job" "${job_args[@]}" --cluster "$config" --node "$name" ) </dev/null >>"$log" 2>&1 &
  pid=$!
  child[$name]=1
  started=1
  start="$(proc_start "$pid" || echo 0)"
  echo "$name $pid $start ${ports[$i]}" >>"$pid_file"
  rec_pid[$name]=$pid rec_start[$name]=$start
done

# Every node listening on its port (or gone: a short job may already be done).
until=$(( $(now_ms) + 15000 ))
while (( $(now_ms) < until )); do
  pending=0
  for i in "${!names[@]}"; do
    name="${names[$i]}"
    if alive "${rec_pid[$name]}" "${rec_start[$name]}" && [[ "$(port_state "${ports[$i]}" "${rec_pid[$name]}")" != listening ]]; then
      pending=1
    fi
  done
  (( pending )) || break
  sleep 0.1
done
failed_start=0
for i in $(start_order); do
  name="${names[$i]}" pid="${rec_pid[$name]}"
  if alive "$pid" "${rec_start[$name]}"; then
    printf '%-12s %-11s pid %-7s %s:%s (%s)  log %s\n' "$name" "$(role "$name")" "$pid" "${hosts[$i]}" \
      "${ports[$i]}" "$(port_state "${ports[$i]}" "$pid")" "$log_dir/$name.log"
  else
    { wait "$pid"; } 2>/dev/null && code=0 || code=$?
    echo "$code" >"$log_dir/$name.exit"
    printf '%-12s %-11s pid %-7s exited with code %s  log %s\n' "$name" "$(role "$name")" "$pid" "$code" "$log_dir/$name.log"
    if (( ! wait_exit )) || (( code != 0 )); then
      failed_start=1
      echo "---- $log_dir/$name.log (last lines) ----" >&2
      tail -n 10 "$log_dir/$name.log" >&2
    fi
  fi
done
if (( failed_start )); then
  echo "$prog: not every node started; stopping the others" >&2
  exit 1
fi
if (( ! wait_exit )); then
  echo "$prog: pids in $pid_file; stop with: $0 down $config"
  exit 0
fi

# -- up --wait -------------------------------------------------------------------------
timeout_s="${timeout_s:-600}"
coord_pid="${rec_pid[$coordinator]}"
until=$(( $(now_ms) + timeout_s * 1000 ))
while alive "$coord_pid" "${rec_start[$coordinator]}" && (( $(now_ms) < until )); do sleep 0.1; done
if alive "$coord_pid" "${rec_start[$coordinator]}"; then
  echo "$prog: the coordinator $coordinator (pid $coord_pid) still runs after $timeout_s s: stopping the cluster" >&2
  exit 124
fi
code=0
[[ -f "$log_dir/$coordinator.exit" ]] && code="$(<"$log_dir/$coordinator.exit")" || {
  { wait "$coord_pid"; } 2>/dev/null || code=$?
  echo "$code" >"$log_dir/$coordinator.exit"
}
echo "$prog: coordinator $coordinator exited with code $code"
# The other nodes end when the coordinator tells them the job ended.
until=$(( $(now_ms) + 30000 ))
for i in $(start_order); do
  name="${names[$i]}" pid="${rec_pid[$name]}"
  [[ "$name" != "$coordinator" && ! -f "$log_dir/$name.exit" ]] || continue
  while alive "$pid" "${rec_start[$name]}" && (( $(now_ms) < until )); do sleep 0.1; done
  if alive "$pid" "${rec_start[$name]}"; then
    echo "$prog: node $name (pid $pid) still runs 30 s after the coordinator ended: stopping it" >&2
  else
    { wait "$pid"; } 2>/dev/null && c=0 || c=$?
    echo "$c" >"$log_dir/$name.exit"
    echo "$prog: node $name exited with code $c"
  fi
done
exit "$code"
