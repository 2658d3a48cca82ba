#!/usr/bin/env bash
# Ensures the binaries the ops tests shell out to (promtool, prometheus) exist.
# Idempotent and quick when they are already installed; otherwise installs
# Debian's `prometheus` package. Safe on machines without systemd.
set -euo pipefail

have_tools() {
  command -v promtool >/dev/null 2>&1 && command -v prometheus >/dev/null 2>&1
}

print_versions() {
  promtool --version 2>&1 | head -n 1
  prometheus --version 2>&1 | head -n 1
}

if have_tools; then
  print_versions
  exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
  echo "ensure-test-tools: promtool/prometheus missing and apt-get is unavailable; install Prometheus 2.x by hand" >&2
  exit 1
fi

SUDO=()
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then
    SUDO=(sudo)
  else
    echo "ensure-test-tools: need root (or sudo) to apt-get install prometheus" >&2
    exit 1
  fi
fi

# The package's maintainer scripts try to start the prometheus service. With no
# init system here that must be a no-op: policy-rc.d exiting 101 tells
# invoke-rc.d "action forbidden". Only install our own (and remove it after) if
# the machine does not already have one, so a base image's policy is untouched.
POLICY=/usr/sbin/policy-rc.d
placed_policy=0
cleanup() {
  if [ "$placed_policy" -eq 1 ]; then
    "${SUDO[@]}" rm -f "$POLICY"
  fi
}
trap cleanup EXIT

if [ ! -e "$POLICY" ]; then
  printf '#!/bin/sh\n# placed by scripts/ensure-test-tools.sh during apt-get install\nexit 101\n' \
    | "${SUDO[@]}" tee "$POLICY" >/dev/null
  "${SUDO[@]}" chmod 0755 "$POLICY"
  placed_policy=1
fi

export DEBIAN_FRONTEND=noninteractive
started=$(date +%s)
echo "ensure-test-tools: installing Debian package 'prometheus' (promtool + prometheus)"
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
  -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
  prometheus >/dev/null
echo "ensure-test-tools: installed in $(( $(date +%s) - started ))s"

if ! have_tools; then
  echo "ensure-test-tools: prometheus package installed but promtool/prometheus not on PATH" >&2
  exit 1
fi
print_versions
