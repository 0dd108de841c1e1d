#!/usr/bin/env bash
# Build Sluice in Release with benchmarks (build-release/) and run every
# build-release/test/bench/bench_* program in sorted order, among them
# bench_cluster (the `stateless` and `window` jobs on a 2-node loopback cluster
# against the same job in one process) and bench_remote_channel (one remote
# channel against a plain Cap'n Proto loopback client/server). Extra arguments
# are passed to each benchmark except bench_remote_channel, whose options are
# its own (--blobs, --in-flight, ...): it runs with its defaults. Exits non-zero
# if any benchmark fails.
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
for required in bench_cluster bench_remote_channel; do
  if [[ ! -x "${bench_dir}/${required}" ]]; then
    echo "bench: ${required} was not built (is net/ configured?)" >&2
    exit 1
  fi
done

failed=()
for bench in "${benches[@]}"; do
  name="$(basename "$bench")"
  args=("$@")
  if [[ "$name" == bench_remote_channel ]]; then args=(); fi
  if ! "$bench" ${args[@]+"${args[@]}"}; then
    echo "bench: ${name} failed" >&2
    failed+=("$name")
  fi
done

if [[ ${#failed[@]} -gt 0 ]]; then
  echo "bench: ${#failed[@]} of ${#benches[@]} benchmarks failed: ${failed[*]}" >&2
  exit 1
fi
