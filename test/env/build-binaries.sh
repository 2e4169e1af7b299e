#!/usr/bin/env bash
# Builds kube-apiserver, kube-controller-manager, kubectl, the node's kubelet, kube-scheduler and kube-proxy, etcd,
# pebble, pebble-challtestsrv and helm from Go modules, copies the Gateway API CRDs (standard channel) out of their Go module next to them, and caches
# all of it outside the work tree. A warm run (stamps present) exits at once.
# Prints the bin directory on its last line of stdout; the CRDs are in ../gateway-api-crds beside it.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=versions.env
source "$here/versions.env"

command -v go >/dev/null || { echo "build-binaries: 'go' is not on PATH; Go 1.26 is needed to build the control plane" >&2; exit 1; }

set_hash="$(sha256sum "$here/versions.env" | cut -c1-12)"
cache_root="${CERTSMITH_CACHE_DIR:-$HOME/.cache/certsmith}"
dir="$cache_root/$set_hash"
bin="$dir/bin"
stamp="$dir/.complete"
gateway_crds="$dir/gateway-api-crds"
# A stamp of its own: caches built before the CRDs were part of the set only need them added.
gateway_stamp="$gateway_crds/.complete"

ALL_BINARIES=(kube-apiserver kube-controller-manager kubectl kubelet kube-scheduler kube-proxy etcd pebble pebble-challtestsrv helm)
# Complete when stamped and every binary is there: a cache stamped before the node's binaries joined the set builds
# only those.
complete() {
  [[ -f "$stamp" && -f "$gateway_stamp" ]] || return 1
  local b
  for b in "${ALL_BINARIES[@]}"; do [[ -x "$bin/$b" ]] || return 1; done
}

if complete; then
  echo "$bin"
  exit 0
fi

mkdir -p "$bin" "$dir/work"
log() { echo "build-binaries: $*" >&2; }

# Test files run in parallel processes: one builds, the others wait for it here and then find the stamp.
exec 9>"$dir/.lock"
if ! flock -n 9; then
  log "another build of this set is running; waiting for it"
  flock 9
fi
if complete; then
  echo "$bin"
  exit 0
fi
export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-buildvcs=false

build_kubernetes() {
  local w="$dir/work/kubernetes"
  local want=(kube-apiserver kube-controller-manager kubectl kubelet kube-scheduler kube-proxy)
  local missing=0
  for b in "${want[@]}"; do [[ -x "$bin/$b" ]] || missing=1; done
  [[ $missing == 1 ]] || return 0
  mkdir -p "$w"
  log "resolving k8s.io/kubernetes $KUBERNETES_VERSION"
  local upstream_mod
  upstream_mod="$(cd "$w" && go mod download -json "k8s.io/kubernetes@$KUBERNETES_VERSION" | sed -n 's/^\s*"GoMod": "\(.*\)",$/\1/p')"
  [[ -f "$upstream_mod" ]] || { log "could not download k8s.io/kubernetes $KUBERNETES_VERSION"; exit 1; }
  {
    echo "module certsmith.dev/controlplane-build"
    echo
    echo "go 1.26.0"
    echo
    echo "godebug default=go1.26"
    echo
    echo "require k8s.io/kubernetes $KUBERNETES_VERSION"
    echo
    echo "tool ("
    for b in "${want[@]}"; do echo "	k8s.io/kubernetes/cmd/$b"; done
    echo ")"
    echo
    echo "replace ("
    # Every staging module k8s.io/kubernetes replaces with ./staging/... gets its published version instead.
    grep -E '=> \./staging/src/' "$upstream_mod" | awk -v v="$KUBERNETES_STAGING_VERSION" '{print "\t" $1 " => " $1 " " v}'
    echo ")"
  } > "$w/go.mod"
  (cd "$w" && log "go mod tidy (kubernetes)" && go mod tidy >&2)
  local minor="${KUBERNETES_VERSION#v1.}"; minor="${minor%%.*}"
  local ldflags="-s -w -X k8s.io/component-base/version.gitVersion=$KUBERNETES_VERSION -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$minor -X k8s.io/component-base/version.gitTreeState=clean -X k8s.io/client-go/pkg/version.gitVersion=$KUBERNETES_VERSION -X k8s.io/client-go/pkg/version.gitMajor=1 -X k8s.io/client-go/pkg/version.gitMinor=$minor"
  for b in "${want[@]}"; do
    [[ -x "$bin/$b" ]] && continue
    log "building $b $KUBERNETES_VERSION (cold builds take minutes)"
    (cd "$w" && go build -trimpath -ldflags "$ldflags" -o "$bin/$b.tmp" "k8s.io/kubernetes/cmd/$b" >&2)
    mv "$bin/$b.tmp" "$bin/$b"
  done
}

build_etcd() {
  [[ -x "$bin/etcd" ]] && return 0
  local w="$dir/work/etcd"
  mkdir -p "$w"
  cat > "$w/go.mod" <<MOD
module certsmith.dev/etcd-build

go 1.26.0

require go.etcd.io/etcd/server/v3 $ETCD_VERSION

tool go.etcd.io/etcd/server/v3
MOD
  (cd "$w" && log "go mod tidy (etcd)" && go mod tidy >&2)
  log "building etcd $ETCD_VERSION"
  (cd "$w" && go build -trimpath -ldflags "-s -w" -o "$bin/etcd.tmp" go.etcd.io/etcd/server/v3 >&2)
  mv "$bin/etcd.tmp" "$bin/etcd"
}

go_install() { # module-path version binary-name...
  local pkg="$1" version="$2"; shift 2
  local missing=0
  for b in "$@"; do [[ -x "$bin/$b" ]] || missing=1; done
  [[ $missing == 1 ]] || return 0
  log "installing $pkg@$version"
  GOBIN="$bin" go install -trimpath -ldflags "-s -w" "$pkg@$version" >&2
}

# The CRD manifests ship in the module's config/crd/standard/ (next to a kustomization and a
# ValidatingAdmissionPolicy, which are left out: tests want the CRDs only).
fetch_gateway_api_crds() {
  [[ -f "$gateway_stamp" ]] && return 0
  local w="$dir/work/gateway-api"
  mkdir -p "$w"
  log "fetching sigs.k8s.io/gateway-api $GATEWAY_API_VERSION"
  local mod_dir
  mod_dir="$(cd "$w" && GOFLAGS=-mod=mod go mod download -json "sigs.k8s.io/gateway-api@$GATEWAY_API_VERSION" | sed -n 's/^\s*"Dir": "\(.*\)",$/\1/p')"
  local src="$mod_dir/config/crd/standard"
  [[ -d "$src" ]] || { log "sigs.k8s.io/gateway-api $GATEWAY_API_VERSION has no config/crd/standard (looked in '$src')"; exit 1; }
  local tmp="$gateway_crds.tmp"
  rm -rf "$tmp" && mkdir -p "$tmp"
  local n=0
  for f in "$src"/*.yaml; do
    grep -q '^kind: CustomResourceDefinition$' "$f" || continue
    # The module cache is read-only; the copies need not be.
    install -m 0644 "$f" "$tmp/"
    n=$((n + 1))
  done
  [[ $n -gt 0 ]] || { log "no CustomResourceDefinition in $src"; exit 1; }
  date -u +%FT%TZ > "$tmp/.complete"
  rm -rf "$gateway_crds" && mv "$tmp" "$gateway_crds"
  log "$n Gateway API CRDs in $gateway_crds"
}

build_kubernetes
build_etcd
go_install github.com/letsencrypt/pebble/v2/cmd/... "$PEBBLE_VERSION" pebble pebble-challtestsrv
go_install helm.sh/helm/v4/cmd/helm "$HELM_VERSION" helm

for b in "${ALL_BINARIES[@]}"; do
  [[ -x "$bin/$b" ]] || { log "missing $b after build"; exit 1; }
done
fetch_gateway_api_crds
date -u +%FT%TZ > "$stamp"
log "all binaries ready in $bin"
echo "$bin"
