#!/usr/bin/env bash
# Build Sluice and run its test suite with ctest.
#   scripts/test.sh            build/ (RelWithDebInfo, -Werror)
#   scripts/test.sh --asan     build-asan/ (Debug, -DSLUICE_SANITIZE=ON)
#   scripts/test.sh --long     also run long tests (SLUICE_LONG_TESTS=1)
# Arguments after "--" are passed to ctest. Exits with ctest's status.
set -euo pipefail

usage() {
  sed -n '2,6s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"
}

asan=0
ctest_args=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --asan) asan=1 ;;
    --long) export SLUICE_LONG_TESTS=1 ;;
    -h | --help)
      usage
      exit 0
      ;;
    --)
      shift
      ctest_args=("$@")
      break
      ;;
    *)
      echo "test: unknown option: $1" >&2
      usage >&2
      exit 2
      ;;
  esac
  shift
done

script_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)"
# shellcheck source=scripts/common.sh
source "${script_dir}/common.sh"
root="$(sluice_root)"
cd "$root"

"${script_dir}/setup.sh" --test

if [[ $asan -eq 1 ]]; then
  builddir=build-asan
  configure_and_build "$builddir" Debug -DSLUICE_SANITIZE=ON
else
  builddir=build
  configure_and_build "$builddir" RelWithDebInfo -DSLUICE_WERROR=ON
fi

status=0
ctest --test-dir "$builddir" --output-on-failure -j2 --timeout 600 "${ctest_args[@]}" || status=$?
exit "$status"
