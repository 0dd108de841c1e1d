#!/usr/bin/env bash
# Opens a churn HTML report (examples/churn/report.hpp) in headless Chromium and
# checks that its scripts ran: the DOM after loading must have
# data-status="rendered" and data-charts >= 5 on <body> and an empty #errors.
# Also takes a screenshot of the page.
#   scripts/check-report.sh REPORT.html OUTDIR
# Writes OUTDIR/dom.html (the DOM Chromium dumped), OUTDIR/report.png (1400x3000)
# and OUTDIR/chromium-*.log. Exit 0 when the page rendered, 1 (with the reason)
# when not, 2 on bad usage, 77 (skip) when Chromium is not installed.
# CHROMIUM overrides the browser (default: chromium on the PATH). Each Chromium
# run is limited to 60 s and runs in its own process group, which is killed
# when the run ends, so no browser process outlives the script.
set -euo pipefail

usage() { sed -n '6s/^# */usage: /p' "${BASH_SOURCE[0]}" >&2; }
if [[ $# -ne 2 ]]; then
  usage
  exit 2
fi
report="$1" outdir="$2"
min_charts=5

browser="${CHROMIUM:-chromium}"
if ! command -v "$browser" > /dev/null 2>&1; then
  echo "SKIP: $browser is not installed (Debian: apt-get install chromium)"
  exit 77
fi
if [[ ! -f "$report" ]]; then
  echo "check-report: no such file: $report" >&2
  exit 1
fi
mkdir -p "$outdir"
report="$(cd "$(dirname "$report")" && pwd -P)/$(basename "$report")"
outdir="$(cd "$outdir" && pwd -P)"

# file_url <absolute path>: percent-encodes every byte but unreserved ones and '/'.
file_url() {
  local LC_ALL=C path="$1" url="file://" c hex i
  for ((i = 0; i < ${#path}; i++)); do
    c="${path:i:1}"
    case "$c" in
      [A-Za-z0-9/._~-]) url+="$c" ;;
      *) printf -v hex '%%%02X' "'$c" && url+="$hex" ;;
    esac
  done
  echo "$url"
}
url="$(file_url "$report")"

profile="$(mktemp -d "$outdir/chromium-profile.XXXXXX")"
group=""  # process group of the running Chromium, if any

# Pids of processes still running with our profile in their command line (any
# that left the group). The pattern comes from a file, so grep does not find
# its own command line.
stray_pids() {
  grep -lsFf <(printf '%s/\n' "$profile") /proc/[0-9]*/cmdline 2> /dev/null | cut -d/ -f3 || true
}

cleanup() {
  if [[ -n "$group" ]]; then
    kill -KILL -- "-$group" 2> /dev/null || true
  fi
  local pids
  mapfile -t pids < <(stray_pids)
  if [[ ${#pids[@]} -gt 0 ]]; then
    echo "check-report: killing leftover chromium processes: ${pids[*]}" >&2
    kill -KILL "${pids[@]}" 2> /dev/null || true
  fi
  rm -rf "$profile"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# chromium <name> <args...>: runs Chromium on the report in a new process group
# (setsid; not a group leader here, so it does not fork) with a 60 s limit;
# stdout to OUTDIR/<name>.out, stderr to OUTDIR/chromium-<name>.log. Returns its status.
# HOME is in the profile too, so the crash reporter's handler (a session of its
# own; it exits with the browser) has the profile in its command line.
chromium() {
  local name="$1" status=0
  shift
  HOME="$profile/home" setsid timeout -k 5 60 "$browser" --headless --disable-gpu --no-sandbox \
    --user-data-dir="$profile/data" --no-first-run --no-default-browser-check \
    --disable-extensions --disable-background-networking --disable-sync \
    --hide-scrollbars --window-size=1400,3000 --virtual-time-budget=10000 \
    "$@" "$url" > "$outdir/$name.out" 2> "$outdir/chromium-$name.log" &
  group=$!
  wait "$group" || status=$?
  # Whatever Chromium left behind (zygote, renderers) is in the group.
  kill -KILL -- "-$group" 2> /dev/null || true
  group=""
  if [[ $status -eq 124 || $status -eq 137 ]]; then
    echo "check-report: chromium ($name) did not finish within 60 s; log: $outdir/chromium-$name.log" >&2
  fi
  return $status
}

fail() {
  echo "check-report: FAIL: $*" >&2
  exit 1
}

# The end of a Chromium log without the D-Bus noise of a machine without D-Bus.
log_tail() {
  grep -v 'dbus/' "$1" | tail -n 20 >&2 || true
}

if ! chromium dom --dump-dom; then
  log_tail "$outdir/chromium-dom.log"
  fail "chromium --dump-dom failed on $report"
fi
mv "$outdir/dom.out" "$outdir/dom.html"
dom="$outdir/dom.html"

# After </head> (Chart.js is inlined in the head) the first "<body" and
# '<pre id="errors"' are the page's own: the serialized DOM escapes '<' in text
# and attribute values, and the page's JSON holds '<' as \u003c. Prints
# "<status>\t<charts>\t<errors, one line>"; "-" for what is missing.
read_dom() {
  awk '
    { dom = dom $0 "\n" }
    function attr(tag, name) {
      if (!match(tag, " " name "=\"[^\"]*\"")) return "-"
      return substr(tag, RSTART + length(name) + 3, RLENGTH - length(name) - 4)
    }
    END {
      h = index(dom, "</head>")
      if (h == 0) { print "-\t-\tno </head> in the DOM"; exit }
      rest = substr(dom, h + 7)
      b = index(rest, "<body")
      body = b ? substr(rest, b) : ""
      body = substr(body, 1, index(body, ">"))
      e = index(rest, "<pre id=\"errors\"")
      if (e == 0) { errors = "no #errors element in the DOM" } else {
        errors = substr(rest, e)
        errors = substr(errors, index(errors, ">") + 1)
        errors = substr(errors, 1, index(errors, "</pre>") - 1)
        gsub(/[\t\n]+/, " | ", errors)
        gsub(/&lt;/, "<", errors); gsub(/&gt;/, ">", errors); gsub(/&amp;/, "\\&", errors)
      }
      printf "%s\t%s\t%s\n", attr(body, "data-status"), attr(body, "data-charts"), errors
    }' "$1"
}
IFS=$'\t' read -r status charts errors < <(read_dom "$dom") || true

if [[ "$status" != rendered || -n "$errors" ]]; then
  fail "the page did not render: data-status=\"$status\", errors: ${errors:-none} (DOM: $dom)"
fi
if [[ ! "$charts" =~ ^[0-9]+$ || "$charts" -lt $min_charts ]]; then
  fail "the page built ${charts:-no} charts, expected at least $min_charts (DOM: $dom)"
fi

rm -f "$outdir/report.png"
if ! chromium screenshot --run-all-compositor-stages-before-draw \
  --screenshot="$outdir/report.png"; then
  log_tail "$outdir/chromium-screenshot.log"
  fail "chromium --screenshot failed on $report"
fi
rm -f "$outdir/screenshot.out"
if [[ "$(head -c 4 "$outdir/report.png" 2> /dev/null | tail -c 3)" != PNG ]]; then
  fail "no screenshot written to $outdir/report.png"
fi

echo "check-report: OK: $report rendered $charts charts; screenshot $outdir/report.png"
