#!/usr/bin/env bash
# Helpers shared by the Sluice scripts. Source this file; do not execute it.
#   source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

# Absolute path of the repository root (the parent of scripts/).
sluice_root() {
  (cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
}

# Print a build log after a failure. Progress lines ("[ 42%] Building ...",
# "[3/120] Building ...") are dropped so the compiler errors stand out.
_sluice_print_log() {
  local what="$1" log="$2"
  echo "${what} failed; log: ${log}" >&2
  echo "---- ${what} log (progress lines omitted) ----" >&2
  grep -Ev '^\[ *[0-9]+%\] |^\[[0-9]+/[0-9]+\] ' "$log" >&2 || true
  echo "---- end of ${what} log ----" >&2
}

# configure_and_build <builddir> <buildtype> [extra cmake args...]
# Configures <builddir> (relative paths are taken from the repo root) and builds it
# with all cores. Quiet on success; prints the relevant log on failure and returns 1.
# The generator is Ninja when installed, else Unix Makefiles; an existing build
# directory keeps the generator it was created with. SLUICE_GENERATOR overrides.
configure_and_build() {
  if [[ $# -lt 2 ]]; then
    echo "usage: configure_and_build <builddir> <buildtype> [extra cmake args...]" >&2
    return 2
  fi
  local builddir="$1" buildtype="$2"
  shift 2
  local root
  root="$(sluice_root)"
  [[ "$builddir" = /* ]] || builddir="${root}/${builddir}"

  local generator_args=()
  if [[ -f "${builddir}/CMakeCache.txt" ]]; then
    : # keep the generator recorded in the cache
  elif [[ -n "${SLUICE_GENERATOR:-}" ]]; then
    generator_args=(-G "$SLUICE_GENERATOR")
  elif command -v ninja >/dev/null 2>&1; then
    generator_args=(-G Ninja)
  else
    generator_args=(-G "Unix Makefiles")
  fi

  mkdir -p "$builddir"
  local configure_log="${builddir}/configure.log"
  local build_log="${builddir}/build.log"

  if ! cmake -S "$root" -B "$builddir" "${generator_args[@]}" -Wno-dev \
    -DCMAKE_BUILD_TYPE="$buildtype" "$@" >"$configure_log" 2>&1; then
    _sluice_print_log "cmake configure (${builddir})" "$configure_log"
    return 1
  fi

  local jobs
  jobs="$(nproc 2>/dev/null || echo 2)"
  if ! cmake --build "$builddir" -j "$jobs" >"$build_log" 2>&1; then
    _sluice_print_log "cmake build (${builddir})" "$build_log"
    return 1
  fi
}

# invalid_json_lines FILE: how many lines of FILE are not valid JSON (bytes
# that are not UTF-8 make a line invalid). python3 when present, else iconv
# (which rejects bytes that are not UTF-8, where jq would replace them) and jq.
invalid_json_lines() {
  if command -v python3 > /dev/null 2>&1; then
    python3 -c '
import json, sys
bad = 0
with open(sys.argv[1], "rb") as f:
    for line in f:
        try:
            json.loads(line.decode("utf-8"))
        except Exception:
            bad += 1
print(bad)' "$1"
  elif iconv -f UTF-8 -t UTF-8 "$1" > /dev/null 2>&1; then
    jq -R -r 'try (fromjson | "ok") catch "invalid"' "$1" | grep -c invalid || true
  else
    wc -l < "$1"
  fi
}
