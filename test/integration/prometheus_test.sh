#!/usr/bin/env bash
# A real Prometheus scrapes a running Sluice job (issue 11).
#   test/integration/prometheus_test.sh ORACLE_BIN ORACLE_CHECK_BIN
# Starts the oracle job with --http-port 0 (about 18 s of running job) and Debian's
# `prometheus` on a free 127.0.0.1 port with docs/prometheus.yml (target and scrape interval
# replaced), then asks Prometheus (promtool query instant) for: a sample of
# sluice_records_out_total{operator="sequence"}, the same counter again later and moved
# (two values and increase() > 0), up{job="sluice"} == 1, Sluice's own labels kept as
# job_name / subtask (beside the target labels job and instance), the p99 source-to-sink
# latency that histogram_quantile() computes from the sink's sluice_sink_latency_seconds
# histogram, and every query of docs/grafana-dashboard.json (valid PromQL; the records in / out
# and latency panels have data). Then the job must finish normally and
# oracle-check must pass on its output.
# Exit 0: passed; 1: failed (with the step and the logs); 2: bad usage; 77: skipped
# (prometheus or promtool not installed; Debian: scripts/setup.sh --test).
# Every process it starts is stopped by its pid on exit; its temporary directory is removed.
set -euo pipefail

if [[ $# -ne 2 ]]; then
  sed -n '3s/^# */usage: /p' "${BASH_SOURCE[0]}" >&2
  exit 2
fi
oracle="$1" oracle_check="$2"
docs="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../docs" && pwd -P)"

for tool in prometheus promtool; do
  if ! command -v "$tool" > /dev/null 2>&1; then
    echo "SKIP: $tool is not installed (Debian: apt-get install prometheus, or scripts/setup.sh --test)"
    exit 77
  fi
done
for bin in "$oracle" "$oracle_check"; do
  if [[ ! -x "$bin" ]]; then
    echo "prometheus_test: not an executable: $bin" >&2
    exit 2
  fi
done

count=270000 keys=100 rate=15000 # about 18 s of running job
tmp="$(mktemp -d "${TMPDIR:-/tmp}/sluice-prometheus.XXXXXX")"
job_pid="" prom_pid="" prom_port=""

# stop PID (SIGTERM, then SIGKILL after 5 s)
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cleanup() {
  stop "$prom_pid"
  stop "$job_pid"
  rm -rf "$tmp"
}
trap cleanup EXIT

fail() {
  echo "FAIL: $*" >&2
  if [[ -f "$tmp/job.log" ]]; then
    echo "---- job log (last 30 lines) ----" >&2
    tail -n 30 "$tmp/job.log" >&2
  fi
  if [[ -f "$tmp/prometheus.log" ]]; then
    echo "---- prometheus log (last 30 lines) ----" >&2
    tail -n 30 "$tmp/prometheus.log" >&2
  fi
  exit 1
}

# query EXPR: prints promtool's answer (one `labels => value @[time]` line per series); fails
# when the query does (bad expression, Prometheus unreachable) or takes over 10 s.
query() {
  timeout 10 promtool query instant "http://127.0.0.1:$prom_port" "$1" 2> "$tmp/promtool.err"
}
# value EXPR: the value of the single series EXPR returns, nothing when it returns none.
value() {
  local out
  out="$(query "$1")" || return 1
  [[ -z "$out" ]] && return 0
  [[ "$(wc -l <<< "$out")" -eq 1 ]] || {
    echo "expected one series for $1, got: $out" >&2
    return 1
  }
  sed -n 's/^.* => \([^ ]*\) @\[.*$/\1/p' <<< "$out"
}
# greater A B: whether the number A > B.
greater() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a + 0 > b + 0) }'; }

# 1. The shipped files are valid.
promtool check config "$docs/prometheus.yml" > "$tmp/check.log" 2>&1 ||
  fail "docs/prometheus.yml: promtool check config: $(cat "$tmp/check.log")"
if command -v jq > /dev/null 2>&1; then
  jq -e . "$docs/grafana-dashboard.json" > /dev/null || fail "docs/grafana-dashboard.json is not valid JSON (jq)"
elif command -v python3 > /dev/null 2>&1; then
  python3 -m json.tool "$docs/grafana-dashboard.json" > /dev/null ||
    fail "docs/grafana-dashboard.json is not valid JSON (python3 -m json.tool)"
else
  echo "note: neither jq nor python3 installed; dashboard JSON syntax not checked"
fi
echo "ok: docs/prometheus.yml and docs/grafana-dashboard.json are valid"

# 2. The job, and the port it prints.
: > "$tmp/job.log"
"$oracle" --count "$count" --keys "$keys" --rate "$rate" --output "$tmp/out" \
  --http-port 0 --parallelism 2 --latency-interval-ms 100 > "$tmp/job.log" 2>&1 &
job_pid=$!
job_port=""
for ((i = 0; i < 100; i++)); do
  job_port="$(sed -n 's|^http: serving on http://127\.0\.0\.1:\([0-9]*\).*$|\1|p' "$tmp/job.log" | head -n 1)"
  [[ -n "$job_port" ]] && break
  kill -0 "$job_pid" 2> /dev/null || fail "the job ended before printing its HTTP port"
  sleep 0.1
done
[[ -n "$job_port" ]] || fail "the job printed no 'http: serving on' line within 10 s"
echo "ok: job (pid $job_pid) serves http://127.0.0.1:$job_port/metrics"

# 3. The Prometheus config: docs/prometheus.yml with this job as target, scraped every second.
sed -e "s|- 127\.0\.0\.1:9400$|- 127.0.0.1:$job_port|" -e 's|scrape_interval: 5s|scrape_interval: 1s|' \
  "$docs/prometheus.yml" > "$tmp/prometheus.yml"
grep -q "^ *- 127\.0\.0\.1:$job_port\$" "$tmp/prometheus.yml" ||
  fail "docs/prometheus.yml has no target line '- 127.0.0.1:9400' to replace"
grep -q "^ *scrape_interval: 1s\$" "$tmp/prometheus.yml" ||
  fail "docs/prometheus.yml has no 'scrape_interval: 5s' to replace"
promtool check config "$tmp/prometheus.yml" > "$tmp/check.log" 2>&1 ||
  fail "the test's config: promtool check config: $(cat "$tmp/check.log")"

# 4. Prometheus on a free port: a random port in 20000-59999 nobody answers on; if Prometheus
#    still loses a race for it (address already in use), another one, up to 5 times.
ready=""
for ((attempt = 1; attempt <= 5; attempt++)); do
  prom_port=$((20000 + (RANDOM * 32768 + RANDOM) % 40000))
  if (exec 3<> "/dev/tcp/127.0.0.1/$prom_port") 2> /dev/null; then
    continue # taken
  fi
  rm -rf "$tmp/tsdb"
  : > "$tmp/prometheus.log"
  prometheus --config.file="$tmp/prometheus.yml" --storage.tsdb.path="$tmp/tsdb" \
    --web.listen-address="127.0.0.1:$prom_port" > "$tmp/prometheus.log" 2>&1 &
  prom_pid=$!
  for ((i = 0; i < 300; i++)); do # 30 s
    if ! kill -0 "$prom_pid" 2> /dev/null; then
      wait "$prom_pid" 2> /dev/null || true
      prom_pid=""
      grep -q "address already in use" "$tmp/prometheus.log" && break
      fail "prometheus exited at start"
    fi
    if query 'vector(1)' > /dev/null 2>&1; then
      ready=yes
      break
    fi
    sleep 0.1
  done
  [[ -n "$ready" || -z "$prom_pid" ]] || fail "prometheus not answering on 127.0.0.1:$prom_port after 30 s"
  [[ -n "$ready" ]] && break
done
[[ -n "$ready" ]] || fail "found no free port for prometheus in 5 attempts"
echo "ok: prometheus (pid $prom_pid) on 127.0.0.1:$prom_port"

# 5. The first scrape reaches Prometheus.
seq_out='sum(sluice_records_out_total{job="sluice",operator="sequence"})'
first=""
for ((i = 0; i < 60; i++)); do # 30 s
  first="$(value "$seq_out")" || fail "query $seq_out: $(cat "$tmp/promtool.err")"
  [[ -n "$first" ]] && break
  kill -0 "$job_pid" 2> /dev/null || fail "the job ended before Prometheus had a sample"
  sleep 0.5
done
[[ -n "$first" ]] ||
  fail "no sample of $seq_out in Prometheus after 30 s (up{job=\"sluice\"}: $(value 'up{job="sluice"}' || true))"
echo "ok: Prometheus has $seq_out = $first"

up="$(value 'up{job="sluice"}')" || fail "query up: $(cat "$tmp/promtool.err")"
[[ "$up" == 1 ]] || fail "up{job=\"sluice\"} is '$up', expected 1"
echo "ok: up{job=\"sluice\"} = 1"

# Sluice's labels job_name and subtask sit beside the target labels job and instance
# (docs/prometheus.yml, the dashboard relies on them).
labelled="$(query 'sluice_records_out_total{job="sluice",job_name="oracle",operator="sequence",subtask="0"}')" ||
  fail "query the job_name/subtask labels: $(cat "$tmp/promtool.err")"
[[ -n "$labelled" ]] || fail "no series with job_name=\"oracle\", subtask=\"0\": $(query 'sluice_records_out_total' || true)"
echo "ok: labels: $labelled"

# 6. The counter moves between scrapes.
second=""
for ((i = 0; i < 20; i++)); do # 10 s
  sleep 0.5
  second="$(value "$seq_out")" || fail "query $seq_out: $(cat "$tmp/promtool.err")"
  [[ -n "$second" ]] && greater "$second" "$first" && break
done
if [[ -z "$second" ]] || ! greater "$second" "$first"; then
  fail "$seq_out did not move in 10 s: $first, then '$second'"
fi
echo "ok: $seq_out moved: $first -> $second"
increase="$(value 'sum(increase(sluice_records_out_total{job="sluice",operator="sequence"}[10s]))')" ||
  fail "query increase: $(cat "$tmp/promtool.err")"
if [[ -z "$increase" ]] || ! greater "$increase" 0; then
  fail "increase(...[10s]) is '$increase', expected > 0"
fi
echo "ok: increase over 10 s = $increase"
# The sink's latency histogram, as Prometheus reads it: a finite p99 above 0.
p99_expr='histogram_quantile(0.99, sum by (le) (rate(sluice_sink_latency_seconds_bucket{job="sluice",operator="write"}[10s])))'
p99="$(value "$p99_expr")" || fail "query $p99_expr: $(cat "$tmp/promtool.err")"
if [[ -z "$p99" || "$p99" == NaN ]] || ! greater "$p99" 0 || greater "$p99" 10; then
  fail "p99 source-to-sink latency is '$p99', expected a number in (0, 10] s"
fi
echo "ok: p99 source-to-sink latency (histogram_quantile) = $p99 s"

# 7. Every query of the dashboard runs ($job: the oracle job); records in / out have data.
mapfile -t exprs < <(sed -n 's/^ *"expr": "\(.*\)",\{0,1\}$/\1/p' "$docs/grafana-dashboard.json" |
  sed -e 's/\\"/"/g' -e 's/\\\\/\\/g')
[[ ${#exprs[@]} -ge 5 ]] || fail "found ${#exprs[@]} queries in docs/grafana-dashboard.json, expected at least 5"
for expr in "${exprs[@]}"; do
  expr="${expr//\$job/oracle}"
  out="$(query "$expr")" || fail "dashboard query $expr: $(cat "$tmp/promtool.err")"
  if [[ "$expr" == *sluice_records_out_total* || "$expr" == *sluice_records_in_total* ||
    "$expr" == *sluice_sink_latency_seconds* ]]; then
    [[ -n "$out" ]] || fail "dashboard query $expr returned nothing"
  fi
done
echo "ok: the ${#exprs[@]} dashboard queries run"

# 8. Prometheus goes; the job finishes normally and its output is exact.
stop "$prom_pid"
prom_pid=""
for ((i = 0; i < 600; i++)); do # 60 s
  kill -0 "$job_pid" 2> /dev/null || break
  sleep 0.1
done
kill -0 "$job_pid" 2> /dev/null && fail "the job still runs 60 s after the checks"
job_rc=0
wait "$job_pid" || job_rc=$?
job_pid=""
[[ $job_rc -eq 0 ]] || fail "the job exited with $job_rc"
"$oracle_check" --count "$count" --keys "$keys" --output "$tmp/out" > "$tmp/check.log" 2>&1 ||
  fail "oracle-check: $(cat "$tmp/check.log")"
echo "ok: job finished, oracle-check: $(head -n 1 "$tmp/check.log")"
echo "PASS"
