#!/usr/bin/env bash
# Installs the Debian packages the integration tests run for real: BIND9 (named) and its tools (dig, nsupdate).
# Idempotent: when named is already installed it exits at once, without touching apt.
set -euo pipefail

log() { echo "system-packages: $*" >&2; }

# Debian puts named in /usr/sbin, which is not on every user's PATH.
if command -v named >/dev/null 2>&1 || [[ -x /usr/sbin/named ]]; then
  exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
  log "named (BIND9) is missing and apt-get is not available; install BIND9 (Debian: bind9 bind9-dnsutils) by hand"
  exit 1
fi
if [[ "$(id -u)" -ne 0 ]]; then
  log "named (BIND9) is missing; installing it needs root: run 'sudo bash $0' or 'apt-get install bind9 bind9-dnsutils'"
  exit 1
fi

log "installing bind9 and bind9-dnsutils"
export DEBIAN_FRONTEND=noninteractive
if ! apt-get update -q >&2; then
  log "apt-get update failed; check network access to the Debian mirrors"
  exit 1
fi
if ! apt-get install -y -q --no-install-recommends bind9 bind9-dnsutils >&2; then
  log "apt-get install bind9 bind9-dnsutils failed (see above)"
  exit 1
fi
if ! command -v named >/dev/null 2>&1 && [[ ! -x /usr/sbin/named ]]; then
  log "bind9 installed but named is still not found in PATH or /usr/sbin"
  exit 1
fi
log "installed $(/usr/sbin/named -v 2>/dev/null || named -v)"
