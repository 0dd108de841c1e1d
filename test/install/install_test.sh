#!/usr/bin/env bash
# The installed package, used as a user outside Sluice's tree uses it:
#   1. `cmake --install` the build into a fresh prefix;
#   2. the installed headers include only installed headers, and no installed
#      file names the source or build tree;
#   3. configure test/install/consumer (find_package(Sluice) and
#      Sluice::sluice, nothing else) with CMAKE_PREFIX_PATH=<prefix>, and check
#      that it found the package in that prefix;
#   4. build it (same compilers, generator and build type as the build; ccache
#      when installed);
#   5. run its word count on consumer/book.txt with --parallelism 2: exit code
#      0 and counts.csv equal to consumer/expected.csv (both sorted).
#
#   test/install/install_test.sh --build-dir DIR [--work-dir DIR]
#
# The work directory (default DIR/test/install/work; a fixed path so that
# ccache hits on later runs) is deleted first and at the end. Exit 0 on
# success, 1 naming the step that failed (with its log), 2 on bad arguments.
set -euo pipefail

build_dir=""
work=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --build-dir) build_dir="${2:?}"; shift 2 ;;
    --work-dir) work="${2:?}"; shift 2 ;;
    *) echo "install_test: unknown argument '$1'" >&2; exit 2 ;;
  esac
done
[[ -n "$build_dir" ]] || { echo "install_test: --build-dir is required" >&2; exit 2; }
[[ -f "$build_dir/CMakeCache.txt" ]] || { echo "install_test: $build_dir is not a CMake build directory" >&2; exit 2; }
build_dir="$(cd "$build_dir" && pwd -P)"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)"
root="$(cd "$here/../.." && pwd -P)"
work="${work:-$build_dir/test/install/work}"
prefix="$work/prefix"

# The build's own settings, so that the consumer is compiled like Sluice was.
cache() { sed -n "s/^$1:[A-Z]*=//p" "$build_dir/CMakeCache.txt" | head -n 1; }
generator="$(cache CMAKE_GENERATOR)"
make_program="$(cache CMAKE_MAKE_PROGRAM)"
build_type="$(cache CMAKE_BUILD_TYPE)"
cxx="$(cache CMAKE_CXX_COMPILER)"
cc="$(cache CMAKE_C_COMPILER)"

cleanup() { rm -rf "$work"; }
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

step=""
# run_step <name> <command...>: runs the command with its output in a log;
# on failure prints the log and exits 1 naming the step.
run_step() {
  step="$1"
  shift
  local log="$work/logs/${step// /-}.log" t0=$SECONDS
  if ! "$@" > "$log" 2>&1; then
    echo "install_test: FAILED at step '$step': $*" >&2
    echo "---- $step log ----" >&2
    cat "$log" >&2
    echo "---- end of $step log ----" >&2
    exit 1
  fi
  echo "install_test: $step: ok ($((SECONDS - t0)) s)"
}
fail() {
  echo "install_test: FAILED at step '$step': $*" >&2
  exit 1
}

rm -rf "$work"
mkdir -p "$work/logs" "$work/run"

# 1. Install.
run_step "install" cmake --install "$build_dir" --prefix "$prefix"
for f in include/sluice/run.hpp lib/cmake/Sluice/SluiceConfig.cmake lib/cmake/Sluice/SluiceConfigVersion.cmake \
  lib/cmake/Sluice/SluiceTargets.cmake; do
  [[ -f "$prefix/$f" ]] || fail "$prefix/$f was not installed"
done
for lib in stream actors net cluster; do
  [[ -f "$prefix/lib/libsluice_$lib.a" ]] || fail "$prefix/lib/libsluice_$lib.a was not installed"
done

# 2. Self-sufficient headers and a relocatable package.
step="installed headers"
missing=()
while IFS= read -r hit; do
  file="${hit%%:*}"
  inc="$(sed -E 's/.*#[[:space:]]*include[[:space:]]*"([^"]+)".*/\1/' <<< "${hit#*:}")"
  [[ -f "$prefix/include/$inc" || -f "$(dirname "$file")/$inc" ]] || missing+=("${file#"$prefix"/}: $inc")
done < <(grep -rE '^[[:space:]]*#[[:space:]]*include[[:space:]]*"' "$prefix/include" || true)
if [[ ${#missing[@]} -gt 0 ]]; then
  printf '  %s\n' "${missing[@]}" >&2
  fail "${#missing[@]} includes of installed headers are not installed"
fi
if leaks="$(grep -rlF -e "$root" -e "$build_dir" "$prefix/include" "$prefix/lib/cmake")"; then
  printf '  %s\n' "$leaks" >&2
  fail "installed files name the source or build tree"
fi
echo "install_test: $step: ok ($(find "$prefix/include" -name '*.hpp' | wc -l) headers)"

# 3. Configure the outside project against the prefix only.
launcher=()
if command -v ccache > /dev/null; then
  launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_C_COMPILER_LAUNCHER=ccache)
fi
run_step "configure consumer" cmake -S "$here/consumer" -B "$work/consumer-build" -G "$generator" \
  ${make_program:+"-DCMAKE_MAKE_PROGRAM=$make_program"} -DCMAKE_BUILD_TYPE="$build_type" \
  -DCMAKE_CXX_COMPILER="$cxx" -DCMAKE_C_COMPILER="$cc" "${launcher[@]}" \
  -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_FIND_PACKAGE_NO_PACKAGE_REGISTRY=ON
found="$(sed -n 's/^Sluice_DIR:PATH=//p' "$work/consumer-build/CMakeCache.txt")"
[[ "$found" == "$prefix/lib/cmake/Sluice" ]] || fail "the consumer found Sluice in '$found', not in $prefix"

# 4. Build it.
run_step "build consumer" cmake --build "$work/consumer-build"

# 5. Run it and check its output.
cp "$here/consumer/book.txt" "$work/run/"
step="run consumer"
if ! (cd "$work/run" && "$work/consumer-build/wordcount" --parallelism 2) > "$work/logs/run.log" 2>&1; then
  cat "$work/logs/run.log" >&2
  fail "wordcount exited with a non-zero code"
fi
[[ -f "$work/run/counts.csv" ]] || { cat "$work/logs/run.log" >&2; fail "wordcount wrote no counts.csv"; }
if ! LC_ALL=C sort "$work/run/counts.csv" | diff -u "$here/consumer/expected.csv" - >&2; then
  fail "counts.csv differs from consumer/expected.csv (- expected, + got)"
fi
echo "install_test: $step: ok ($(wc -l < "$work/run/counts.csv") words as expected)"
