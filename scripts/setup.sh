#!/usr/bin/env bash
# Install the Debian packages Sluice needs to build and test.
# Idempotent: prints nothing and does nothing when everything is already installed.
# On failure, prints the apt-get log.
set -euo pipefail

packages=(
  build-essential
  cmake
  ninja-build
  ccache
  clang-format
  pkg-config
  libcaf-dev
  capnproto
  libcapnp-dev
  liblmdb-dev
  libboost-test-dev
  libfmt-dev
  libtomlplusplus-dev
  libcli11-dev
  nlohmann-json3-dev
  libspdlog-dev
  libzstd-dev
  libxgboost-dev
  # Browser libraries: Chart.js inlined in the churn report; d3 and Chart.js served by every
  # node's dashboard (GET /, read from /usr/share/javascript at request time).
  libjs-chart.js
  libjs-d3
)

# `setup.sh --test` adds what only the tests need: a headless browser for the
# churn report check and the dashboard test (test/integration/dashboard_test.sh),
# Prometheus (with promtool) for the scrape test (test/integration/prometheus_test.sh),
# and jq, which parses the JSON log lines (test/integration/logging_test.sh). Under
# systemd the package also starts a
# prometheus service on :9090; the test does not use it (it starts its own).
if [[ "${1:-}" == "--test" ]]; then
  packages+=(chromium prometheus jq)
fi

missing=()
for pkg in "${packages[@]}"; do
  status="$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)"
  if [[ "$status" != "install ok installed" ]]; then
    missing+=("$pkg")
  fi
done

if [[ ${#missing[@]} -eq 0 ]]; then
  exit 0
fi

sudo_cmd=()
if [[ "$(id -u)" -ne 0 ]]; then
  if command -v sudo >/dev/null 2>&1; then
    sudo_cmd=(sudo)
  else
    echo "setup: missing packages: ${missing[*]}" >&2
    echo "setup: not running as root and sudo is not available; install them manually." >&2
    exit 1
  fi
fi

log="$(mktemp "${TMPDIR:-/tmp}/sluice-setup.XXXXXX.log")"
if ! {
  "${sudo_cmd[@]}" apt-get update -qq &&
    "${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive \
      apt-get install -y -qq --no-install-recommends "${missing[@]}"
} >"$log" 2>&1; then
  echo "setup: failed to install: ${missing[*]}" >&2
  echo "setup: ---- apt-get log ($log) ----" >&2
  cat "$log" >&2
  exit 1
fi
rm -f "$log"
