#!/usr/bin/env bash
# Formats Sluice's C++ sources with the checked-in .clang-format.
#   scripts/format.sh           rewrite every file in place
#   scripts/format.sh --check   change nothing; list the files that are not formatted and exit 1
# Covers the tracked *.cpp and *.hpp files of libstream/, actors/, net/, examples/ and test/
# (generated code lives in the build directory and is never touched). --check also fails on
# merge-conflict markers left in any tracked text file.
set -euo pipefail

mode=fix
case "${1:-}" in
  --check) mode=check ;;
  "") ;;
  -h | --help)
    sed -n '2,7s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"
    exit 0
    ;;
  *)
    echo "format: unknown option: $1" >&2
    exit 2
    ;;
esac

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
cd "$root"
if ! command -v clang-format > /dev/null; then
  echo "format: clang-format is not installed (scripts/setup.sh installs it)" >&2
  exit 2
fi

mapfile -t files < <(git ls-files -- 'libstream/*.cpp' 'libstream/*.hpp' 'actors/*.cpp' 'actors/*.hpp' \
  'net/*.cpp' 'net/*.hpp' 'examples/*.cpp' 'examples/*.hpp' 'test/*.cpp' 'test/*.hpp')

if [[ $mode == fix ]]; then
  clang-format -i --style=file "${files[@]}"
  exit 0
fi

# Merge-conflict markers left behind (a line starting with 7 of <, = or > and a space or end).
if conflicts="$(git grep -nIE '^(<{7}|>{7})( |$)' -- . ':!*.patch' 2> /dev/null)"; then
  echo "format: merge-conflict markers in tracked files:"
  printf '  %s\n' "$conflicts"
  exit 1
fi

bad=()
for f in "${files[@]}"; do
  if ! clang-format --style=file --dry-run --Werror "$f" > /dev/null 2>&1; then
    bad+=("$f")
  fi
done
if [[ ${#bad[@]} -gt 0 ]]; then
  echo "format: ${#bad[@]} files are not formatted (run scripts/format.sh):"
  printf '  %s\n' "${bad[@]}"
  exit 1
fi
echo "format: ${#files[@]} files formatted"
