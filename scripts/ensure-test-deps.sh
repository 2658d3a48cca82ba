#!/usr/bin/env bash
# Installs what the test suite runs for real, from Debian's packages:
#   prometheus  - promtool (rule checks and tests) and the Prometheus server
#   postgresql  - initdb/pg_ctl for the throwaway server the rotation tests start
#   rsyslog, rsyslog-gnutls - a real syslog relay (TCP and TLS) for the audit forwarder tests
#   pebble      - Let's Encrypt's test ACME server and pebble-challtestsrv (its DNS), for ACME orders
#   openssl     - verifies issued chains, CRLs and OCSP answers as a third party would
#   prometheus-alertmanager - routes firing alerts to the chat receiver in the notification tests
# Idempotent and quick when both are present. Whatever is missing is installed
# in one apt-get run, without starting any service (safe without systemd).
set -euo pipefail

# Newest /usr/lib/postgresql/<version>/bin that has the server tools, else PATH's.
postgres_bindir() {
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

# The gtls driver lives beside the other rsyslog modules; the path is arch-specific.
gtls_module() {
  local f
  for f in /usr/lib/*/rsyslog/lmnsd_gtls.so /usr/lib/rsyslog/lmnsd_gtls.so; do
    [ -e "$f" ] && { printf '%s\n' "$f"; return 0; }
  done
  return 1
}

rsyslogd_bin() {
  command -v rsyslogd 2>/dev/null || { [ -x /usr/sbin/rsyslogd ] && echo /usr/sbin/rsyslogd; }
}

alertmanager_bin() {
  command -v prometheus-alertmanager 2>/dev/null || command -v alertmanager 2>/dev/null || { [ -x /usr/bin/prometheus-alertmanager ] && echo /usr/bin/prometheus-alertmanager; }
}

missing=()
command -v promtool >/dev/null 2>&1 && command -v prometheus >/dev/null 2>&1 || missing+=(prometheus)
postgres_bindir >/dev/null || missing+=(postgresql)
rsyslogd_bin >/dev/null || missing+=(rsyslog)
gtls_module >/dev/null || missing+=(rsyslog-gnutls)
command -v pebble >/dev/null 2>&1 && command -v pebble-challtestsrv >/dev/null 2>&1 || missing+=(pebble)
command -v openssl >/dev/null 2>&1 || missing+=(openssl)
alertmanager_bin >/dev/null || missing+=(prometheus-alertmanager)

print_versions() {
  echo "ensure-test-deps: $(promtool --version 2>&1 | head -n 1)"
  echo "ensure-test-deps: $(prometheus --version 2>&1 | head -n 1)"
  local bindir
  bindir="$(postgres_bindir)"
  echo "ensure-test-deps: $("$bindir/pg_ctl" --version) in $bindir"
  echo "ensure-test-deps: $(openssl version), pebble at $(command -v pebble), $("$(alertmanager_bin)" --version 2>&1 | head -n 1)"
  echo "ensure-test-deps: $("$(rsyslogd_bin)" -v 2>&1 | head -n 1 | sed "s/ *compiled with:.*//") (gtls: $(gtls_module))"
}

if [ ${#missing[@]} -eq 0 ]; then
  print_versions
  exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
  echo "ensure-test-deps: ${missing[*]} missing and apt-get is unavailable; install Prometheus 2.x, a PostgreSQL server and rsyslog with gnutls by hand" >&2
  exit 1
fi

SUDO=()
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then
    SUDO=(sudo)
  else
    echo "ensure-test-deps: need root (or sudo) to apt-get install ${missing[*]}" >&2
    exit 1
  fi
fi

# The packages' maintainer scripts try to start their services. With no init
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
  printf '#!/bin/sh\n# placed by scripts/ensure-test-deps.sh during apt-get install\nexit 101\n' | "${SUDO[@]}" tee "$POLICY" >/dev/null
  "${SUDO[@]}" chmod 0755 "$POLICY"
  placed_policy=1
fi

started=$(date +%s)
echo "ensure-test-deps: installing Debian packages: ${missing[*]}"
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
  -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
  "${missing[@]}" >/dev/null
echo "ensure-test-deps: installed in $(( $(date +%s) - started ))s"
print_versions
