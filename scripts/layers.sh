#!/usr/bin/env bash
# Checks that each layer includes only what it may (docs/architecture.md, "Layers"):
#   libstream/   no CAF, no Cap'n Proto/KJ, no sockets, nothing of actors/ or net/
#   actors/      no Cap'n Proto/KJ, nothing of net/
#   net/node/    no CAF, nothing of actors/ or of the cluster runtime
#   net/cli/     the same, and no Cap'n Proto RPC: the command line speaks HTTP only
# Prints every offending line and exits 1; exits 0 when the layers are clean.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
cd "$root"

status=0
# check <folder> <what it must not include, as an extended regex on the include path>
check() {
  local dir="$1" forbidden="$2" hits
  hits="$(git ls-files -- "$dir/*.cpp" "$dir/*.hpp" \
    | xargs -r grep -nE "^[[:space:]]*#[[:space:]]*include[[:space:]]*[<\"]($forbidden)" || true)"
  if [[ -n "$hits" ]]; then
    echo "layers: $dir must not include ($forbidden):"
    echo "$hits" | sed 's/^/  /'
    status=1
  fi
}
check libstream 'caf/|capnp/|kj/|sluice/actors/|sluice/net/|sluice/run\.hpp|sys/socket\.h|netinet/|arpa/'
check actors 'capnp/|kj/|sluice/net/|sluice/run\.hpp|[a-z_]+\.capnp\.h'
check net/node 'caf/|sluice/actors/|sluice/run\.hpp'
check net/cli 'caf/|sluice/actors/|sluice/run\.hpp|capnp/'
if [[ $status -eq 0 ]]; then echo "layers: clean"; fi
exit $status
