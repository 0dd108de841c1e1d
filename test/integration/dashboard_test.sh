#!/usr/bin/env bash
# The dashboard (GET /, net/cluster/web/) in headless Chromium against a running job (issue 11).
#   test/integration/dashboard_test.sh ORACLE_BIN OUTDIR
# Starts the oracle job (--http-port 0, a state directory, a checkpoint every 500 ms; about
# 60 s of input, stopped once the checks are done, typically after 15 s) and opens http://127.0.0.1:PORT/ in Debian's
# headless Chromium twice, a few seconds apart. Each look dumps the DOM (OUTDIR/dashboard-N.html)
# and takes a screenshot (OUTDIR/dashboard-N.png, 1400x1000; kept). Checks on each look: no
# script error in #errors, at least two polls done, the job panel shows the oracle job, every
# operator of the job (sequence, track, write) has a box with its records in / out and rates (the
# sink write also its latency p99),
# and every other panel either shows its figures or a visible message saying its endpoint is
# not served. Between the two looks every operator's records in must have grown.
# Exit 0: passed; 1: failed (with the step, the DOM and the logs); 2: bad usage; 77: skipped
# (chromium, libjs-d3 or libjs-chart.js not installed; Debian: scripts/setup.sh --test).
# Every process it starts is stopped by its pid (Chromium: by its process group) on exit; its
# temporary directory is removed.
set -euo pipefail

if [[ $# -ne 2 ]]; then
  sed -n '3s/^# */usage: /p' "${BASH_SOURCE[0]}" >&2
  exit 2
fi
oracle="$1" outdir="$2"
operators=(sequence track write) # the oracle job's operators (examples/oracle/oracle.cpp)

browser="${CHROMIUM:-chromium}"
if ! command -v "$browser" > /dev/null 2>&1; then
  echo "SKIP: $browser is not installed (Debian: apt-get install chromium, or scripts/setup.sh --test)"
  exit 77
fi
for lib in /usr/share/javascript/d3/d3.min.js:libjs-d3 \
  /usr/share/javascript/chart.js/chart.min.js:libjs-chart.js; do
  if [[ ! -f "${lib%%:*}" ]]; then
    echo "SKIP: ${lib%%:*} is missing (Debian: apt-get install ${lib##*:}, or scripts/setup.sh)"
    exit 77
  fi
done
if [[ ! -x "$oracle" ]]; then
  echo "dashboard_test: not an executable: $oracle" >&2
  exit 2
fi
mkdir -p "$outdir"
outdir="$(cd "$outdir" && pwd -P)"
rm -f "$outdir"/dashboard-*.png "$outdir"/dashboard-*.html

count=600000 keys=100 rate=10000 # 60 s of input at most; stopped after the checks (~15 s)
tmp="$(mktemp -d "${TMPDIR:-/tmp}/sluice-dashboard.XXXXXX")"
job_pid="" group="" port=""

# Pids of processes still running with our temporary directory in their command line
# (Chromium helpers that left the group). The pattern comes from a file, so grep does not find
# its own command line.
stray_pids() {
  grep -lsFf <(printf '%s/\n' "$tmp") /proc/[0-9]*/cmdline 2> /dev/null | cut -d/ -f3 || true
}

# stop PID (SIGTERM, then SIGKILL after 5 s)
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cleanup() {
  if [[ -n "$group" ]]; then
    kill -KILL -- "-$group" 2> /dev/null || true
  fi
  stop "$job_pid"
  local pids
  mapfile -t pids < <(stray_pids)
  if [[ ${#pids[@]} -gt 0 ]]; then
    echo "dashboard_test: killing leftover processes: ${pids[*]}" >&2
    kill -KILL "${pids[@]}" 2> /dev/null || true
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

fail() {
  echo "FAIL: $*" >&2
  if [[ -f "$tmp/job.log" ]]; then
    echo "---- job log (last 20 lines) ----" >&2
    tail -n 20 "$tmp/job.log" >&2
  fi
  local log
  for log in "$tmp"/chromium-*.log; do
    [[ -f "$log" ]] || continue
    echo "---- $(basename "$log") (last 10 lines, without D-Bus noise) ----" >&2
    grep -v 'dbus/' "$log" | tail -n 10 >&2 || true
  done
  exit 1
}

# browser NAME ARGS...: headless Chromium on the dashboard, in a process group of its own
# (setsid), at most 30 s; stdout to $tmp/NAME.out, stderr to $tmp/chromium-NAME.log. Virtual
# time runs 5 s (the page polls about 5 times; virtual time stands still while a request is
# under way). Whatever Chromium leaves behind is killed with the group.
browser() {
  local name="$1" status=0
  shift
  HOME="$tmp/home" setsid timeout -k 5 30 "$browser" --headless=new --no-sandbox --disable-gpu \
    --user-data-dir="$tmp/profile-$name" --no-first-run --no-default-browser-check \
    --disable-extensions --disable-background-networking --disable-sync --hide-scrollbars \
    --window-size=1400,1000 --virtual-time-budget=5000 \
    "$@" "http://127.0.0.1:$port/" > "$tmp/$name.out" 2> "$tmp/chromium-$name.log" &
  group=$!
  wait "$group" || status=$?
  kill -KILL -- "-$group" 2> /dev/null || true
  group=""
  if [[ $status -eq 124 || $status -eq 137 ]]; then
    echo "dashboard_test: chromium ($name) did not finish within 30 s" >&2
  fi
  return $status
}

# read_dom FILE: what the checks need from a DOM dump, one "key<TAB>value" line each:
#   errors   the text of #errors (empty: none)
#   polls    <body data-polls>
#   job      data-job of the job panel's summary
#   panel    "ID<TAB>data-state<TAB>message shown in the panel (empty: none)"
#   op       "NAME<TAB>records-in<TAB>records-out<TAB>rate-in<TAB>rate-out" per operator box
# The serialized DOM escapes '<' in text and attribute values (not in <script> elements: all is
# looked for after </head>), so tags are found by '<'.
read_dom() {
  awk '
    { dom = dom $0 "\n" }
    function attr(tag, name) {
      if (!match(tag, " " name "=\"[^\"]*\"")) return ""
      return substr(tag, RSTART + length(name) + 3, RLENGTH - length(name) - 4)
    }
    function has(tag, name) { return match(tag, " " name "[ =>]") > 0 }
    function tag_at(s, start) { s = substr(s, start); return substr(s, 1, index(s, ">")) }
    function text_of(s, start, end_tag) {
      s = substr(s, start); s = substr(s, index(s, ">") + 1)
      s = substr(s, 1, index(s, end_tag) - 1)
      gsub(/[\t\n]+/, " | ", s)
      gsub(/&lt;/, "<", s); gsub(/&gt;/, ">", s); gsub(/&quot;/, "\"", s); gsub(/&amp;/, "\\&", s)
      return s
    }
    END {
      # The scripts in <head> are not escaped: everything looked for is after it.
      h = index(dom, "</head>")
      if (h == 0) { print "errors\tno </head> in the DOM"; exit }
      dom = substr(dom, h)
      e = index(dom, "<pre id=\"errors\"")
      printf "errors\t%s\n", e ? text_of(dom, e, "</pre>") : "no #errors element in the DOM"
      b = index(dom, "<body")
      printf "polls\t%s\n", b ? attr(tag_at(dom, b), "data-polls") : ""
      j = index(dom, "<div class=\"summary\"")
      printf "job\t%s\n", j ? attr(tag_at(dom, j), "data-job") : ""
      split("jobs graph checkpoints failures nodes", ids, " ")
      for (k = 1; k <= 5; k++) {
        s = index(dom, "<section id=\"" ids[k] "\"")
        if (!s) { printf "panel\t%s\tno such panel\t\n", ids[k]; continue }
        state = attr(tag_at(dom, s), "data-state")
        rest = substr(dom, s)
        m = index(rest, "<p class=\"msg")
        msg = ""
        if (m && !has(tag_at(rest, m), "hidden")) msg = text_of(rest, m, "</p>")
        printf "panel\t%s\t%s\t%s\n", ids[k], state, msg
      }
      rest = dom
      edges = 0
      while ((g = index(rest, "class=\"edge\"")) > 0) { edges++; rest = substr(rest, g + 12) }
      printf "edges\t%d\n", edges
      rest = dom
      while ((g = index(rest, "<g class=\"op ")) > 0) {
        t = tag_at(rest, g)
        printf "op\t%s\t%s\t%s\t%s\t%s\t%s\n", attr(t, "data-operator"), attr(t, "data-records-in"),
          attr(t, "data-records-out"), attr(t, "data-rate-in"), attr(t, "data-rate-out"),
          attr(t, "data-latency-p99-ms")
        rest = substr(rest, g + length(t))
      }
    }' "$1"
}

# look N: one Chromium run dumps the DOM into $outdir/dashboard-N.html and takes the screenshot
# $outdir/dashboard-N.png; checks the DOM (prints what is wrong and returns 1 when a check
# fails); records-in per operator in look_in[NAME].
declare -A look_in
look() {
  local n="$1" dom="$outdir/dashboard-$1.html" key a b c d e f errors="" polls="" job="" problems=()
  local -A seen=()
  rm -f "$outdir/dashboard-$n.png"
  browser "look-$n" --dump-dom --screenshot="$outdir/dashboard-$n.png" || {
    echo "chromium failed (exit status $?)"
    return 1
  }
  mv "$tmp/look-$n.out" "$dom"
  [[ "$(head -c 4 "$outdir/dashboard-$n.png" 2> /dev/null | tail -c 3)" == PNG ]] ||
    problems+=("no screenshot written to $outdir/dashboard-$n.png")
  look_in=()
  while IFS=$'\t' read -r key a b c d e f; do
    case "$key" in
      errors) errors="$a" ;;
      polls) polls="$a" ;;
      job) job="$a" ;;
      edges) ((a >= 2)) || problems+=("the job graph has $a edges drawn, expected 2 (sequence -> track -> write)") ;;
      panel)
        # Every endpoint the page polls is served (docs/http-api.md): each panel has data.
        if [[ "$b" != ok ]]; then
          problems+=("panel #$a: data-state '$b' (${c:-no message})")
        fi
        ;;
      op)
        seen[$a]=1
        if [[ ! "$b" =~ ^[0-9]+$ || ! "$c" =~ ^[0-9]+$ || ! "$d" =~ ^[0-9.]+$ || ! "$e" =~ ^[0-9.]+$ ]]; then
          problems+=("operator $a: figures missing (records in '$b', out '$c', rate in '$d', out '$e')")
        else
          look_in[$a]="$b"
          echo "  operator $a: records in $b, out $c; $d/s in, $e/s out${f:+; latency p99 $f ms}"
        fi
        # The sink shows the p99 of its latency markers.
        if [[ "$a" == write && ! "$f" =~ ^[0-9.]+$ ]]; then
          problems+=("sink write: no latency p99 (data-latency-p99-ms '$f')")
        fi
        ;;
    esac
  done < <(read_dom "$dom")
  [[ -z "$errors" ]] || problems+=("script errors in #errors: $errors")
  [[ "$polls" =~ ^[0-9]+$ && "$polls" -ge 2 ]] || problems+=("data-polls is '$polls', expected >= 2")
  [[ "$job" == oracle ]] || problems+=("the job panel shows job '$job', expected 'oracle'")
  for key in "${operators[@]}"; do
    [[ -n "${seen[$key]:-}" ]] || problems+=("no box for operator $key")
  done
  if [[ ${#problems[@]} -gt 0 ]]; then
    printf '  %s\n' "${problems[@]}"
    echo "  (DOM: $dom, screenshot: $outdir/dashboard-$n.png)"
    return 1
  fi
  echo "  polls $polls, no script error; screenshot $outdir/dashboard-$n.png"
}

# 1. The job, and the port it prints.
"$oracle" --count "$count" --keys "$keys" --rate "$rate" --output "$tmp/out" \
  --state-dir "$tmp/state" --checkpoint-ms 500 --http-port 0 --parallelism 2 \
  --latency-interval-ms 200 > "$tmp/job.log" 2>&1 &
job_pid=$!
for ((i = 0; i < 150; i++)); do # 15 s
  port="$(sed -n 's|^http: serving on http://127\.0\.0\.1:\([0-9]*\).*$|\1|p' "$tmp/job.log" | head -n 1)"
  [[ -n "$port" ]] && break
  kill -0 "$job_pid" 2> /dev/null || fail "the job ended before printing its HTTP port"
  sleep 0.1
done
[[ -n "$port" ]] || fail "the job printed no 'http: serving on' line within 15 s"
echo "ok: job (pid $job_pid) serves http://127.0.0.1:$port/"

# 2. The first look; its operators may take a moment to be deployed, so up to 2 tries.
ok=""
for ((try = 1; try <= 2; try++)); do
  echo "look 1 (try $try):"
  if look 1; then
    ok=yes
    break
  fi
  kill -0 "$job_pid" 2> /dev/null || fail "the job ended during the first look"
  sleep 1
done
[[ -n "$ok" ]] || fail "the first look at the dashboard failed twice (see above)"
declare -A first_in
for key in "${!look_in[@]}"; do first_in[$key]="${look_in[$key]}"; done

# 3. The second look, a few seconds later: every operator has taken in more records.
sleep 3
kill -0 "$job_pid" 2> /dev/null || fail "the job ended before the second look (machine too slow?)"
echo "look 2:"
look 2 || fail "the second look at the dashboard failed (see above)"
for key in "${operators[@]}"; do
  if ((look_in[$key] <= first_in[$key])); then
    fail "operator $key: records in did not grow between the looks: ${first_in[$key]} -> ${look_in[$key]}"
  fi
  echo "ok: $key records in ${first_in[$key]} -> ${look_in[$key]}"
done
kill -0 "$job_pid" 2> /dev/null || fail "the job ended during the second look (machine too slow?)"

echo "PASS (screenshots and DOMs in $outdir)"
