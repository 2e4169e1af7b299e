#!/usr/bin/env bash
# Installs the Debian packages the tests run for real: BIND9 (named) and its tools (dig, nsupdate) for DNS-01,
# openssl for certificate cross-checks, a headless JRE for keytool (JKS and PKCS#12 truststores), jemalloc,
# which the image preloads and the benchmark runs the operator with, and the node: containerd, runc, the CNI
# plugins, iptables and conntrack (kubelet, kube-proxy), buildah (builds the image from the Dockerfile), debootstrap
# (the Debian root the image's local base images start from) and busybox-static (the shell in the test images).
# Idempotent: when every command is already there it exits at once, without touching apt.
set -euo pipefail

log() { echo "system-packages: $*" >&2; }

# A command (Debian puts named in /usr/sbin, which is not on every user's PATH), an absolute path, or a shared
# library.
have() {
  if [[ "$1" == /* ]]; then
    [[ -e "$1" ]]
  elif [[ "$1" == *.so.* ]]; then
    # The directories bench/issuance.ts looks in.
    local dir
    for dir in /usr/lib/x86_64-linux-gnu /usr/lib/aarch64-linux-gnu /usr/lib64 /usr/lib; do
      [[ -e "$dir/$1" ]] && return 0
    done
    return 1
  else
    command -v "$1" >/dev/null 2>&1 || [[ -x "/usr/sbin/$1" ]]
  fi
}

# command or library → package that provides it
declare -A PACKAGE_OF=(
  [named]="bind9 bind9-dnsutils"
  [openssl]="openssl"
  [keytool]="openjdk-17-jre-headless"
  [libjemalloc.so.2]="libjemalloc2"
  [containerd]="containerd"
  [runc]="runc"
  [/usr/lib/cni/bridge]="containernetworking-plugins"
  [iptables]="iptables"
  [conntrack]="conntrack"
  [buildah]="buildah"
  [debootstrap]="debootstrap"
  [/bin/busybox]="busybox-static"
)

missing=()
for cmd in named openssl keytool libjemalloc.so.2 containerd runc /usr/lib/cni/bridge iptables conntrack buildah debootstrap /bin/busybox; do
  have "$cmd" || missing+=("$cmd")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

packages=()
for cmd in "${missing[@]}"; do
  # shellcheck disable=SC2206 # one entry may name two packages
  packages+=(${PACKAGE_OF[$cmd]})
done

if ! command -v apt-get >/dev/null 2>&1; then
  log "missing ${missing[*]} and apt-get is not available; install ${packages[*]} (Debian names) by hand"
  exit 1
fi
if [[ "$(id -u)" -ne 0 ]]; then
  log "missing ${missing[*]}; installing ${packages[*]} needs root: run 'sudo bash $0'"
  exit 1
fi

log "installing ${packages[*]}"
export DEBIAN_FRONTEND=noninteractive
if ! apt-get update -q >&2; then
  log "apt-get update failed; check network access to the Debian mirrors"
  exit 1
fi
if ! apt-get install -y -q --no-install-recommends "${packages[@]}" >&2; then
  log "apt-get install ${packages[*]} failed (see above)"
  exit 1
fi
for cmd in "${missing[@]}"; do
  if ! have "$cmd"; then
    log "installed ${packages[*]} but $cmd is still not found in PATH or /usr/sbin"
    exit 1
  fi
done
log "installed ${packages[*]}"
