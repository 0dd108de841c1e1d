#!/usr/bin/env bash
# Log lines (docs/operations.md#logs), with a real job (wordcount), embedded
# and as a one-node cluster:
#   - --log-format json --log-level debug: every line on standard error is one
#     JSON object (checked by jq, a real parser) with time (ISO 8601 UTC),
#     level, node, job and message; a failure's line names the operator and
#     instance, and stays valid JSON when the message holds quotes, control
#     characters and bytes that are not UTF-8;
#   - --log-level warn: no info lines (the default level shows them);
#   - an unknown level is a usage error naming the option;
#   - the cluster file's log_level / log_format keys do the same for a node.
# usage: logging_test.sh WORDCOUNT_BIN
set -euo pipefail

wordcount="$1"
if ! command -v jq > /dev/null; then
  echo "SKIP: jq is not installed (scripts/setup.sh --test installs it)"
  exit 77
fi
tmp="$(mktemp -d "${TMPDIR:-/tmp}/sluice-logging.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
fail() {
  echo "FAIL: $*" >&2
  exit 1
}
printf 'the quick brown fox\njumps over the lazy dog\nthe end\n' > "$tmp/in.txt"

# A JSON log line: the fields every line has, of the right shapes.
is_log_line='type == "object"
  and (.time | type == "string" and test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z$"))
  and (.level | IN("trace", "debug", "info", "warn", "error"))
  and (.node | type == "string") and (.job == "wordcount") and (.message | type == "string")
  and ((has("instance") | not) or (has("operator") and (.instance | type == "number")))'

# every_line_json FILE NODE: each line of FILE is a log line from NODE.
every_line_json() {
  local n=0 line
  while IFS= read -r line; do
    jq -e --arg node "$2" "($is_log_line) and .node == \$node" <<< "$line" > /dev/null ||
      fail "not a JSON log line of node $2: $line"
    n=$((n + 1))
  done < "$1"
  ((n > 0)) || fail "no log lines in $1"
  echo "$n"
}

# 1. Embedded, JSON, debug, with checkpoints: nothing but log lines on stderr.
"$wordcount" --input "$tmp/in.txt" --output "$tmp/out.csv" --quiet --log-format json \
  --log-level debug --state-dir "$tmp/state" --checkpoint-ms 20 \
  > "$tmp/json.out" 2> "$tmp/json.err" || fail "json run failed: $(cat "$tmp/json.err")"
n="$(every_line_json "$tmp/json.err" local)"
jq -e -s 'any(.level == "debug") and any(.level == "info")' "$tmp/json.err" > /dev/null ||
  fail "no debug or no info line at --log-level debug: $(cat "$tmp/json.err")"
echo "embedded json: $n log lines, all valid"

# 2. A failure about an operator instance, with a message JSON must escape:
# the input's name holds a quote, a tab, a backslash and a byte that is not UTF-8.
bad="$tmp/no\"such"$'\t'"file\\"$'\xff'
rc=0
"$wordcount" --input "$bad" --output "$tmp/o.csv" --log-format json \
  > /dev/null 2> "$tmp/fail.err" || rc=$?
((rc == 1)) || fail "a missing input exited with $rc, not 1"
grep '^{' "$tmp/fail.err" > "$tmp/fail.json" || fail "no JSON line: $(cat "$tmp/fail.err")"
every_line_json "$tmp/fail.json" local > /dev/null
jq -e -s 'any(.level == "error" and .operator == "read" and .instance == 0
                and (.message | contains("no\"such\tfile\\\u00ff")))' "$tmp/fail.json" > /dev/null ||
  fail "no error line about read#0 with the escaped file name: $(cat "$tmp/fail.json")"
echo "failure: operator and instance named, message escaped"

# 3. Levels: info lines at the default level, none at warn.
"$wordcount" --input "$tmp/in.txt" --output "$tmp/out.csv" --quiet 2> "$tmp/info.err" ||
  fail "default run failed"
grep -q '\] \[info\] \[wordcount\] ' "$tmp/info.err" || fail "no info line by default: $(cat "$tmp/info.err")"
"$wordcount" --input "$tmp/in.txt" --output "$tmp/out.csv" --quiet --log-level warn \
  2> "$tmp/warn.err" || fail "warn run failed"
! grep -q '\[info\]' "$tmp/warn.err" || fail "info lines at --log-level warn: $(cat "$tmp/warn.err")"
echo "levels: --log-level warn leaves out the info lines"

# 4. An unknown level or format is a usage error naming the option.
rc=0
"$wordcount" --input "$tmp/in.txt" --log-level verbose > "$tmp/usage.out" 2>&1 || rc=$?
((rc != 0)) || fail "--log-level verbose was accepted"
grep -q -- '--log-level' "$tmp/usage.out" || fail "the error does not name --log-level: $(cat "$tmp/usage.out")"
rc=0
"$wordcount" --input "$tmp/in.txt" --log-format xml > "$tmp/usage.out" 2>&1 || rc=$?
((rc != 0)) && grep -q -- '--log-format' "$tmp/usage.out" || fail "--log-format xml: $(cat "$tmp/usage.out")"
echo "usage errors name the option"

# 5. A one-node cluster whose file sets log_level and log_format.
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])' 2> /dev/null || echo 7391)"
head -c 24 /dev/urandom | base64 > "$tmp/secret.txt"
chmod 600 "$tmp/secret.txt"
cat > "$tmp/cluster.toml" << TOML
name = "logs"
coordinator = "n1"
secret_file = "secret.txt"
log_level = "debug"
log_format = "json"
[checkpoint]
interval_ms = 20
[[nodes]]
name = "n1"
host = "127.0.0.1"
port = $port
state_dir = "$tmp/n1"
TOML
"$wordcount" --input "$tmp/in.txt" --output "$tmp/c.csv" --quiet --cluster "$tmp/cluster.toml" \
  --node n1 > "$tmp/cluster.out" 2> "$tmp/cluster.err" || fail "cluster run failed: $(cat "$tmp/cluster.err")"
n="$(every_line_json "$tmp/cluster.err" n1)"
jq -e -s 'any(.level == "debug")' "$tmp/cluster.err" > /dev/null || fail "the file's log_level debug is not applied"
# The command line wins over the file.
"$wordcount" --input "$tmp/in.txt" --output "$tmp/c.csv" --quiet --cluster "$tmp/cluster.toml" \
  --node n1 --log-format text --log-level warn > /dev/null 2> "$tmp/cluster-warn.err" ||
  fail "cluster run with --log-level warn failed"
! grep -q '\[info\]\|^{' "$tmp/cluster-warn.err" || fail "--log-level/--log-format do not win: $(cat "$tmp/cluster-warn.err")"
echo "cluster: $n JSON log lines of node n1; the command line wins over the file"
