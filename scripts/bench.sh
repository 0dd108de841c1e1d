#!/usr/bin/env bash
# Build Sluice in Release with benchmarks (build-release/) and run every
# build-release/test/bench/bench_* program in sorted order. Extra arguments are
# passed to each benchmark. Exits non-zero if any benchmark fails.
set -euo pipefail

script_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)"
# shellcheck source=scripts/common.sh
source "${script_dir}/common.sh"
root="$(sluice_root)"
cd "$root"

"${script_dir}/setup.sh"
configure_and_build build-release Release -DSLUICE_BENCH=ON -DSLUICE_TESTS=OFF

bench_dir="${root}/build-release/test/bench"
benches=()
if [[ -d "$bench_dir" ]]; then
  while IFS= read -r -d '' f; do
    benches+=("$f")
  done < <(find "$bench_dir" -maxdepth 1 -type f -name 'bench_*' -perm -u+x -print0 | LC_ALL=C sort -z)
fi

if [[ ${#benches[@]} -eq 0 ]]; then
  echo "bench: no bench_* programs found in ${bench_dir}" >&2
  exit 1
fi

failed=()
for bench in "${benches[@]}"; do
  name="$(basename "$bench")"
  if ! "$bench" "$@"; then
    echo "bench: ${name} failed" >&2
    failed+=("$name")
  fi
done

if [[ ${#failed[@]} -gt 0 ]]; then
  echo "bench: ${#failed[@]} of ${#benches[@]} benchmarks failed: ${failed[*]}" >&2
  exit 1
fi
