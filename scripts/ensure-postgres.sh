#!/usr/bin/env bash
# Ensures PostgreSQL's server binaries (initdb, pg_ctl, postgres) exist for the
# tests that start a throwaway server (test/support/postgres-server.ts).
# Idempotent and quick when they are present; otherwise installs Debian's
# `postgresql` package without starting its service. Safe without systemd.
set -euo pipefail

# Newest /usr/lib/postgresql/<version>/bin that has the server tools, else PATH's.
find_bindir() {
  local dir found=""
  for dir in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V); do
    if [ -x "$dir/initdb" ] && [ -x "$dir/pg_ctl" ] && [ -x "$dir/postgres" ]; then
      found="$dir"
    fi
  done
  if [ -z "$found" ] && command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1; then
    found="$(dirname "$(command -v initdb)")"
  fi
  [ -n "$found" ] && printf '%s\n' "$found"
}

print_version() {
  echo "ensure-postgres: $("$1/pg_ctl" --version) in $1"
}

if bindir="$(find_bindir)"; then
  print_version "$bindir"
  exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
  echo "ensure-postgres: initdb/pg_ctl missing and apt-get is unavailable; install a PostgreSQL server (14 or newer) by hand" >&2
  exit 1
fi

SUDO=()
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then
    SUDO=(sudo)
  else
    echo "ensure-postgres: need root (or sudo) to apt-get install postgresql" >&2
    exit 1
  fi
fi

# The package's maintainer scripts start the cluster they create. With no init
# system that must be a no-op: policy-rc.d exiting 101 tells invoke-rc.d "action
# forbidden". Only place our own (and remove it after) if the machine has none.
POLICY=/usr/sbin/policy-rc.d
placed_policy=0
cleanup() {
  if [ "$placed_policy" -eq 1 ]; then
    "${SUDO[@]}" rm -f "$POLICY"
  fi
}
trap cleanup EXIT

if [ ! -e "$POLICY" ]; then
  printf '#!/bin/sh\n# placed by scripts/ensure-postgres.sh during apt-get install\nexit 101\n' \
    | "${SUDO[@]}" tee "$POLICY" >/dev/null
  "${SUDO[@]}" chmod 0755 "$POLICY"
  placed_policy=1
fi

started=$(date +%s)
echo "ensure-postgres: installing Debian package 'postgresql'"
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
  -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
  postgresql >/dev/null
echo "ensure-postgres: installed in $(( $(date +%s) - started ))s"

# The package creates a cluster (<version>/main); the tests use their own, so
# make sure it is not left running if an existing policy let it start.
if command -v pg_lsclusters >/dev/null 2>&1; then
  pg_lsclusters --no-header 2>/dev/null | awk '$4 == "online" { print $1, $2 }' | while read -r version cluster; do
    echo "ensure-postgres: stopping cluster $version/$cluster that the install started"
    "${SUDO[@]}" pg_ctlcluster "$version" "$cluster" stop || true
  done
fi

if ! bindir="$(find_bindir)"; then
  echo "ensure-postgres: postgresql installed but initdb/pg_ctl not found under /usr/lib/postgresql/*/bin" >&2
  exit 1
fi
print_version "$bindir"
