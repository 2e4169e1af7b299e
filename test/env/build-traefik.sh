#!/usr/bin/env bash
# Builds Traefik (the node tests' Ingress and Gateway API controller) from its Go module and caches it outside the
# work tree. A warm run (stamp present) exits at once; a cold one takes about 20 minutes on two cores.
# Prints the directory holding the `traefik` binary on its last line of stdout.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=ingress-versions.env
source "$here/ingress-versions.env"

command -v go >/dev/null || { echo "build-traefik: 'go' is not on PATH; Go 1.26 is needed to build Traefik" >&2; exit 1; }

set_hash="$(sha256sum "$here/ingress-versions.env" | cut -c1-12)"
cache_root="${CERTSMITH_CACHE_DIR:-$HOME/.cache/certsmith}"
dir="$cache_root/traefik-$set_hash"
bin="$dir/bin"
stamp="$dir/.complete"

if [[ -f "$stamp" && -x "$bin/traefik" ]]; then
  echo "$bin"
  exit 0
fi

mkdir -p "$bin" "$dir/work/ext"
log() { echo "build-traefik: $*" >&2; }

exec 9>"$dir/.lock"
if ! flock -n 9; then
  log "another build of Traefik is running; waiting for it"
  flock 9
fi
if [[ -f "$stamp" && -x "$bin/traefik" ]]; then
  echo "$bin"
  exit 0
fi
export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-buildvcs=false

w="$dir/work"
# Traefik's own go.mod replaces its extension module with a directory that the published module leaves out (a
# nested module); its open-source build uses two empty types from it.
cat > "$w/ext/go.mod" <<'MOD'
module github.com/traefik/traefik/dynamic/ext

go 1.26.0
MOD
cat > "$w/ext/ext.go" <<'GO'
// Package ext stands in for Traefik's dynamic configuration extension point, empty in its open-source build.
package ext

// HTTP extends the HTTP dynamic configuration; empty.
type HTTP struct{}

// Router extends a router's configuration; empty.
type Router struct{}
GO
# The replace and exclude directives of Traefik's go.mod, which do not apply to a module that requires it.
cat > "$w/go.mod" <<MOD
module certsmith.dev/traefik-build

go 1.26.0

require github.com/traefik/traefik/v3 $TRAEFIK_VERSION

tool github.com/traefik/traefik/v3/cmd/traefik

replace (
	github.com/traefik/traefik/dynamic/ext => ./ext
	github.com/abbot/go-http-auth => github.com/containous/go-http-auth $GO_HTTP_AUTH_FORK_VERSION
	github.com/gorilla/mux => github.com/containous/mux v0.0.0-20250523120546-41b6ec3aed59
)

exclude github.com/tencentcloud/tencentcloud-sdk-go v3.0.83+incompatible
MOD
(cd "$w" && log "go mod tidy (traefik $TRAEFIK_VERSION)" && go mod tidy >&2)
log "building traefik $TRAEFIK_VERSION (a cold build takes about 20 minutes)"
(cd "$w" && go build -trimpath -ldflags "-s -w -X github.com/traefik/traefik/v3/pkg/version.Version=$TRAEFIK_VERSION" \
  -o "$bin/traefik.tmp" github.com/traefik/traefik/v3/cmd/traefik >&2)
mv "$bin/traefik.tmp" "$bin/traefik"
date -u +%FT%TZ > "$stamp"
log "traefik ready in $bin"
echo "$bin"
