#!/usr/bin/env bash
# Builds the operator image from the repo's Dockerfile with buildah, on a machine that reaches no container registry.
# The two bases the Dockerfile's FROM lines name are built here and tagged with exactly those names:
#   node:24-bookworm-slim                      a debootstrap minbase of Debian bookworm from the mirror apt uses here,
#                                              with Node 24 from the npm `node` package and npm from the registry
#   gcr.io/distroless/nodejs24-debian12:nonroot  glibc, libstdc++, libgcc_s, CA certificates, tzdata, netbase and
#                                              Node at /nodejs/bin/node, user 65532: what the distroless image holds
# so the Dockerfile builds unchanged. Also builds registry.k8s.io/pause:3.10 from test/env/images/pause (the pod
# sandbox of the local node), and docker.io/library/traefik:<version> from the binary build-traefik.sh makes (the node
# tests' Ingress and Gateway API controller).
#
# Usage: build-image.sh [operator|pause|traefik|bases]   (default: operator)
# Prints the docker-archive tarball's path (operator, pause, traefik) on its last line of stdout; progress goes to stderr.
# Idempotent: bases, the image and its archive are keyed by a hash of their inputs, and a warm run only hashes.
# Everything lives under ${CERTSMITH_CACHE_DIR:-$HOME/.cache/certsmith}/images/, buildah's storage included; the
# archives are archives/certsmith-<package.json version>.tar and archives/pause-3.10.tar. buildah keeps the
# Dockerfile's layers, so a change under src/ rebuilds from tsc on (~40 s), not from npm ci.
# Needs root (debootstrap, buildah), debootstrap, buildah and runc (test/env/system-packages.sh), Go, and npm with
# `npm ci` run in the repo (the Node binary comes from node_modules).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
target="${1:-operator}"
case "$target" in operator | pause | traefik | bases) ;; *) echo "usage: $0 [operator|pause|traefik|bases]" >&2; exit 2 ;; esac

cache_root="${CERTSMITH_CACHE_DIR:-$HOME/.cache/certsmith}"
dir="$cache_root/images"
archives="$dir/archives"
work="$dir/work"

SUITE=bookworm
NODE_BASE=docker.io/library/node:24-bookworm-slim
DISTROLESS_BASE=gcr.io/distroless/nodejs24-debian12:nonroot
PAUSE_REF=registry.k8s.io/pause:3.10
# npm as Node 24's releases bundle it (11.x), fetched with `npm pack` and checked against this integrity.
NPM_VERSION=11.21.3
NPM_INTEGRITY=sha512-5Cf+jE+XctbhH/zjOOqXC+ity7eec/Tkk4Ql38tf6w+1htp2wYPHmE4c1R1Es3DY227Ac14+SLrlYJwkBicbTg==

log() { echo "build-image: $*" >&2; }
die() { log "$*"; exit 1; }
need() { # command, what provides it
  command -v "$1" >/dev/null 2>&1 || [[ -x "/usr/sbin/$1" ]] || die "'$1' is not installed: $2"
}
started=$SECONDS
elapsed() { echo "$((SECONDS - started)) s"; }
# Runs a chatty step with its output in a log file, shown (its tail) only when the step fails.
quietly() { # log name, command...
  local logfile="$work/logs/$1.log"
  shift
  mkdir -p "$work/logs"
  if ! "$@" > "$logfile" 2>&1; then
    tail -n 40 "$logfile" >&2
    log "that step failed; its whole output is in $logfile"
    return 1
  fi
}

# --- inputs ---------------------------------------------------------------------------------------------------------

# The Node 24 binary that `npm ci` put in node_modules: the `node` package's bin/node is the real ELF file (a hard
# link into node-linux-<arch>), never a shim script; look in the arch package too in case it is a symlink.
find_node() {
  local c
  for c in "$repo/node_modules/node/bin/node" "$repo"/node_modules/node/node_modules/node-linux-*/bin/node \
    "$repo"/node_modules/node-linux-*/bin/node; do
    [[ -e "$c" ]] || continue
    c="$(readlink -f "$c")"
    [[ "$(head -c 4 "$c" | od -An -c | tr -d ' ')" == '177ELF' ]] || continue
    [[ "$("$c" --version 2>/dev/null)" == v24.* ]] || continue
    echo "$c"
    return 0
  done
  return 1
}

# The URI of the first enabled `deb` entry in apt's sources (one-line .list and deb822 .sources) whose suites include
# $1; http(s) only. Read at run time so the image uses the mirror this machine's apt uses.
apt_uri_for_suite() {
  local suite="$1" f
  shopt -s nullglob
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [[ -f "$f" ]] || continue
    awk -v want="$suite" '
      /^[ \t]*deb[ \t]/ {
        line = $0; sub(/\[[^]]*\]/, "", line); n = split(line, w, /[ \t]+/)
        i = (w[1] == "") ? 2 : 1
        if (w[i + 2] == want && w[i + 1] ~ /^https?:\/\//) { print w[i + 1]; exit }
      }' "$f"
  done
  for f in /etc/apt/sources.list.d/*.sources; do
    awk -v want="$suite" '
      function flush(   n, s, u, i) {
        if (!found && types ~ /(^|[ \t])deb([ \t]|$)/ && enabled != "no") {
          n = split(suites, s, /[ \t]+/); split(uris, u, /[ \t]+/)
          for (i = 1; i <= n; i++) if (s[i] == want && u[1] ~ /^https?:\/\//) { print u[1]; found = 1 }
        }
        types = uris = suites = enabled = ""
      }
      /^#/ { next }
      /^[ \t]*$/ { flush(); next }
      /^[A-Za-z-]+:/ {
        key = tolower(substr($0, 1, index($0, ":") - 1)); val = substr($0, index($0, ":") + 1)
        gsub(/^[ \t]+|[ \t]+$/, "", val)
        if (key == "types") types = val; else if (key == "uris") uris = val
        else if (key == "suites") suites = val; else if (key == "enabled") enabled = tolower(val)
      }
      END { flush() }' "$f"
  done | head -n 1
}

# --- buildah storage ------------------------------------------------------------------------------------------------

# buildah keeps its images under the cache dir with a storage.conf of its own. overlay when the kernel allows it here,
# else vfs (full copies, slower); the choice is remembered, since a storage directory cannot change driver.
setup_storage() {
  need buildah "run 'bash test/env/system-packages.sh' (Debian package buildah)"
  need runc "run 'bash test/env/system-packages.sh' (Debian package runc)"
  [[ "$(id -u)" -eq 0 ]] || die "buildah and debootstrap need root here: run 'sudo bash $0 $target'"
  mkdir -p "$dir" "$archives" "$work" "$dir/tmp"
  export TMPDIR="$dir/tmp"
  export CONTAINERS_STORAGE_CONF="$dir/storage.conf"
  # The run root holds mount state that a reboot makes stale (/run is not a tmpfs everywhere).
  local boot_id
  boot_id="$(cat /proc/sys/kernel/random/boot_id)"
  if [[ "$(cat "$dir/run.boot-id" 2>/dev/null)" != "$boot_id" ]]; then
    rm -rf "$dir/run"
    echo "$boot_id" > "$dir/run.boot-id"
  fi
  local driver="${CERTSMITH_BUILDAH_STORAGE_DRIVER:-$(cat "$dir/storage-driver" 2>/dev/null || true)}"
  if [[ -z "$driver" ]]; then
    write_storage_conf overlay
    if probe_storage; then driver=overlay; else
      log "the overlay storage driver does not work here; using vfs"
      rm -rf "$dir/storage" "$dir/run"
      driver=vfs
    fi
    echo "$driver" > "$dir/storage-driver"
  fi
  write_storage_conf "$driver"
}

write_storage_conf() {
  printf '[storage]\ndriver = "%s"\ngraphroot = "%s"\nrunroot = "%s"\n' "$1" "$dir/storage" "$dir/run" \
    > "$CONTAINERS_STORAGE_CONF"
}

probe_storage() {
  local c m ok=1
  c="$(buildah from --name "certsmith-probe-$$" scratch 2>/dev/null)" || return 1
  m="$(buildah mount "$c" 2>/dev/null)" && touch "$m/probe" 2>/dev/null && buildah umount "$c" >/dev/null 2>&1 && ok=0
  buildah rm "$c" >/dev/null 2>&1 || true
  return $ok
}

bh() { nice buildah "$@"; }

containers=()
cleanup() {
  local c
  for c in "${containers[@]}"; do buildah rm "$c" >/dev/null 2>&1 || true; done
}
trap cleanup EXIT

# A base is current when the image its name points to is the one built from the wanted inputs, as its stamp records.
# (A stamp, not a label: labels would pass on to the operator image.)
base_stamp() { echo "$dir/bases/$(echo "$1" | tr '/:' '__')"; }
image_id() { buildah inspect --type image --format '{{.FromImageID}}' "$1" 2>/dev/null || true; }
base_current() { # ref, inputs key
  local key id
  read -r key id 2>/dev/null < "$(base_stamp "$1")" || return 1
  [[ "$key" == "$2" && "$(image_id "$1")" == "$id" ]]
}

export_archive() { # image ref, archive path
  local tmp="$2.tmp.$$"
  rm -f "$tmp"
  bh push --quiet "$1" "docker-archive:$tmp:$1" >&2
  mv "$tmp" "$2"
}

# --- node:24-bookworm-slim ------------------------------------------------------------------------------------------

# Runs a shell script inside a rootfs with /proc and the host's resolv.conf mounted, in a private mount namespace
# whose mounts go away with it.
in_rootfs() { # rootfs, script
  # shellcheck disable=SC2016 # expanded by the inner bash
  unshare --mount --propagation private -- bash -c '
    set -e; r="$1"; shift
    mount -t proc proc "$r/proc"
    mount -t devpts -o newinstance,ptmxmode=0666 devpts "$r/dev/pts"
    rm -f "$r/etc/resolv.conf"; touch "$r/etc/resolv.conf"; mount --bind /etc/resolv.conf "$r/etc/resolv.conf"
    exec chroot "$r" /usr/bin/env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
      DEBIAN_FRONTEND=noninteractive /bin/sh -euc "$1"' _ "$@"
}

build_node_base() {
  local rootfs="$work/node-rootfs"
  rm -rf "$rootfs"
  mkdir -p "$rootfs" "$dir/debootstrap-cache"
  log "debootstrap --variant=minbase $SUITE from $debian_mirror"
  quietly debootstrap nice debootstrap --variant=minbase --arch="$arch" --cache-dir="$dir/debootstrap-cache" \
    "$SUITE" "$rootfs" "$debian_mirror" || die "debootstrap failed (see above); is $debian_mirror reachable?"
  # The image's apt reads the same mirror, as the deps stage's apt-get does; deb822 like Debian's own images.
  rm -f "$rootfs/etc/apt/sources.list"
  {
    printf 'Types: deb\nURIs: %s\nSuites: %s %s-updates\nComponents: main\n' "$debian_mirror" "$SUITE" "$SUITE"
    printf 'Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n'
    if [[ -n "$security_mirror" ]]; then
      printf '\nTypes: deb\nURIs: %s\nSuites: %s-security\nComponents: main\n' "$security_mirror" "$SUITE"
      printf 'Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n'
    fi
  } > "$rootfs/etc/apt/sources.list.d/debian.sources"
  log "apt-get upgrade inside the rootfs (updates and security)"
  quietly rootfs-upgrade in_rootfs "$rootfs" '
    apt-get update -q && apt-get upgrade -y -q && apt-get clean
    rm -rf /var/lib/apt/lists/*
    groupadd --gid 1000 node && useradd --uid 1000 --gid node --shell /bin/bash --create-home node' \
    || die "apt-get inside the rootfs failed (see above)"
  # Node where the official image has it, npm beside it as a global package.
  install -m 0755 "$node_bin" "$rootfs/usr/local/bin/node"
  mkdir -p "$rootfs/usr/local/lib/node_modules/npm"
  tar -xzf "$npm_tgz" -C "$rootfs/usr/local/lib/node_modules/npm" --strip-components=1 --no-same-owner
  ln -s ../lib/node_modules/npm/bin/npm-cli.js "$rootfs/usr/local/bin/npm"
  ln -s ../lib/node_modules/npm/bin/npx-cli.js "$rootfs/usr/local/bin/npx"
  # An image's /dev is the runtime's; hostname and resolv.conf are written per container.
  find "$rootfs/dev" -mindepth 1 -delete
  : > "$rootfs/etc/resolv.conf"
  echo localhost > "$rootfs/etc/hostname"
  commit_rootfs "$rootfs" "$NODE_BASE" "$node_key" \
    --env "NODE_VERSION=${node_version#v}" --cmd '["node"]'
  rm -rf "$rootfs"
}

commit_rootfs() { # rootfs, ref, inputs key, buildah config args...
  local rootfs="$1" ref="$2" key="$3" c m
  shift 3
  c="$(bh from --name "certsmith-base-$$" scratch)"
  containers+=("$c")
  m="$(bh mount "$c")"
  tar -C "$rootfs" --numeric-owner --xattrs -cf - . | tar -C "$m" --numeric-owner --xattrs -xpf -
  bh umount "$c" >/dev/null
  bh config --os linux --arch "$arch" \
    --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    "$@" "$c"
  bh commit --quiet --rm "$c" "$ref" >/dev/null
  containers=()
  mkdir -p "$dir/bases"
  echo "$key $(image_id "$ref")" > "$(base_stamp "$ref")"
}

# --- gcr.io/distroless/nodejs24-debian12:nonroot --------------------------------------------------------------------

# The .debs come from apt inside the node base (Debian's current bookworm packages, from the same mirror) and are
# unpacked with dpkg-deb, as distroless itself is assembled: no package manager, no shell.
build_distroless_base() {
  local root="$work/distroless-root" debs="$work/distroless-debs" c
  rm -rf "$root" "$debs"
  mkdir -p "$root" "$debs"
  c="$(bh from --pull=never --name "certsmith-debs-$$" "$NODE_BASE")"
  containers+=("$c")
  log "fetching and unpacking glibc, libstdc++, libgcc_s, tzdata, netbase and CA certificates"
  # shellcheck disable=SC2016 # expanded by the container's shell
  quietly distroless-debs nice buildah run --network host -v "$debs:/debs" -v "$root:/out" "$c" -- /bin/sh -euc '
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q
    cd /debs && apt-get download -q -o APT::Sandbox::User=root libc6 libgcc-s1 libstdc++6 tzdata netbase ca-certificates
    for p in libc6 libgcc-s1 libstdc++6 tzdata netbase; do dpkg-deb -x /debs/${p}_*.deb /out; done
    # The bundle update-ca-certificates would write: every Mozilla certificate, in order.
    mkdir -p /tmp/ca /out/etc/ssl/certs && dpkg-deb -x /debs/ca-certificates_*.deb /tmp/ca
    find /tmp/ca/usr/share/ca-certificates -name "*.crt" | LC_ALL=C sort | while read -r f; do cat "$f"; echo; done \
      | sed "/^$/d" > /out/etc/ssl/certs/ca-certificates.crt' || die "fetching the distroless packages failed (see above)"
  bh rm "$c" >/dev/null
  containers=()
  rm -rf "$root/usr/share/doc" "$root/usr/share/man" "$root/usr/share/lintian" "$root/usr/share/info" "$root/usr/sbin"
  grep -q 'BEGIN CERTIFICATE' "$root/etc/ssl/certs/ca-certificates.crt" || die "the CA bundle is empty"
  cat > "$root/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/sbin/nologin
nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin
nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin
EOF
  cat > "$root/etc/group" <<'EOF'
root:x:0:
tty:x:5:
staff:x:50:
nobody:x:65534:
nonroot:x:65532:
EOF
  printf 'hosts: files dns\n' > "$root/etc/nsswitch.conf"
  printf 'PRETTY_NAME="Distroless (local equivalent, Debian %s)"\nNAME="Debian GNU/Linux"\nID="debian"\nVERSION_ID="12"\n' \
    "$SUITE" > "$root/etc/os-release"
  mkdir -p "$root/tmp" "$root/root" "$root/home/nonroot" "$root/nodejs/bin"
  chmod 1777 "$root/tmp"
  chmod 0700 "$root/root"
  chown 65532:65532 "$root/home/nonroot"
  install -m 0755 "$node_bin" "$root/nodejs/bin/node"
  commit_rootfs "$root" "$DISTROLESS_BASE" "$distroless_key" \
    --env SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt --user 65532 --workingdir /home/nonroot \
    --entrypoint '["/nodejs/bin/node"]' --cmd ''
  rm -rf "$root" "$debs"
}

# --- the bases' inputs ----------------------------------------------------------------------------------------------

resolve_base_inputs() {
  node_bin="$(find_node)" || die "no Node 24 binary in $repo/node_modules (the \`node\` devDependency): run 'npm ci' in $repo"
  node_version="$("$node_bin" --version)"
  arch="$(dpkg --print-architecture 2>/dev/null)" || die "dpkg is not available: the bases are built on a Debian machine"
  debian_mirror="${CERTSMITH_DEBIAN_MIRROR:-$(apt_uri_for_suite "$SUITE")}"
  [[ -n "$debian_mirror" ]] || die "no http(s) apt source for $SUITE in /etc/apt/sources.list{,.d}; set CERTSMITH_DEBIAN_MIRROR"
  security_mirror="${CERTSMITH_DEBIAN_SECURITY_MIRROR-$(apt_uri_for_suite "$SUITE-security")}"
  local recipe node_sum
  node_sum="$(node_sha256)"
  recipe="$(declare -f find_node apt_uri_for_suite in_rootfs commit_rootfs build_node_base build_distroless_base)"
  node_key="$(printf '%s\n' "$recipe" "$SUITE" "$arch" "$debian_mirror" "$security_mirror" "$node_sum" "$NPM_VERSION" \
    | sha256sum | cut -c1-16)"
  distroless_key="$(printf '%s\n' "$node_key" "distroless" | sha256sum | cut -c1-16)"
}

# The Node binary's SHA-256, remembered by path, size, mtime and inode: hashing 120 MiB on every warm run costs a second.
node_sha256() {
  local id memo="$dir/node.sha256"
  id="$(stat -L -c '%n %s %Y %i' "$node_bin")"
  if [[ "$(head -n 1 "$memo" 2>/dev/null)" != "$id" ]]; then
    mkdir -p "$dir"
    printf '%s\n%s\n' "$id" "$(sha256sum "$node_bin" | cut -c1-64)" > "$memo.$$" && mv "$memo.$$" "$memo"
  fi
  sed -n 2p "$memo"
}

fetch_npm() {
  npm_tgz="$dir/downloads/npm-$NPM_VERSION.tgz"
  if [[ -f "$npm_tgz" ]] && [[ "$(npm_integrity "$npm_tgz")" == "$NPM_INTEGRITY" ]]; then return 0; fi
  need npm "npm comes with Node; it is needed to fetch npm $NPM_VERSION for the node base"
  mkdir -p "$dir/downloads"
  log "npm pack npm@$NPM_VERSION"
  (cd "$dir/downloads" && npm pack --silent "npm@$NPM_VERSION" >/dev/null) || die "npm pack npm@$NPM_VERSION failed; is the npm registry reachable?"
  [[ "$(npm_integrity "$npm_tgz")" == "$NPM_INTEGRITY" ]] || die "$npm_tgz does not match the pinned integrity $NPM_INTEGRITY"
}

npm_integrity() {
  "$node_bin" -e 'const c = require("node:crypto"), fs = require("node:fs");
    console.log("sha512-" + c.createHash("sha512").update(fs.readFileSync(process.argv[1])).digest("base64"))' "$1"
}

ensure_bases() {
  if ! base_current "$NODE_BASE" "$node_key"; then
    need debootstrap "run 'bash test/env/system-packages.sh' (Debian package debootstrap)"
    fetch_npm
    log "building $NODE_BASE ($node_version, npm $NPM_VERSION)"
    local t=$SECONDS
    build_node_base
    log "built $NODE_BASE in $((SECONDS - t)) s"
  fi
  if ! base_current "$DISTROLESS_BASE" "$distroless_key"; then
    log "building $DISTROLESS_BASE"
    local t=$SECONDS
    build_distroless_base
    log "built $DISTROLESS_BASE in $((SECONDS - t)) s"
  fi
}

# --- the operator image ---------------------------------------------------------------------------------------------

operator_ref() {
  local version app_version
  version="$(sed -n 's/^  "version": "\(.*\)",$/\1/p' "$repo/package.json" | head -n 1)"
  [[ -n "$version" ]] || die "no version in $repo/package.json"
  app_version="$(sed -n 's/^appVersion: *"\{0,1\}\([^"]*\)"\{0,1\}$/\1/p' "$repo/charts/certsmith/Chart.yaml")"
  [[ "$app_version" == "$version" ]] ||
    log "note: the chart's appVersion ($app_version) is not package.json's version ($version); the chart's default tag will not find this image"
  echo "ghcr.io/certsmith/certsmith:$version"
}

# npm inside the build asks the registry this machine's npm asks, and trusts what it trusts: its CA file, or Node's
# own roots, plus NODE_EXTRA_CA_CERTS (a TLS-intercepting proxy's CA, say). Only those two settings, never a token.
# They are mounted as npm's global config for RUN steps only, so no layer keeps them.
npm_build_mounts() {
  local d="$work/npm-build" registry cafile
  need npm "npm comes with Node; the build's npm is configured from it"
  rm -rf "$d" && mkdir -p "$d"
  registry="$(cd "$dir" && npm config get registry)"
  cafile="$(cd "$dir" && npm config get cafile)"
  [[ "$cafile" == null || "$cafile" == undefined ]] && cafile=""
  printf 'registry=%s\nupdate-notifier=false\n' "$registry" > "$d/npmrc"
  if [[ -n "$cafile" || -n "${NODE_EXTRA_CA_CERTS:-}" ]]; then
    "$node_bin" -e '
      const fs = require("node:fs"), tls = require("node:tls");
      const [cafile, extra] = process.argv.slice(1);
      let pem = cafile ? fs.readFileSync(cafile, "utf8") : tls.rootCertificates.join("\n");
      if (extra) pem += "\n" + fs.readFileSync(extra, "utf8");
      fs.writeFileSync(process.argv[3], pem.endsWith("\n") ? pem : pem + "\n");' \
      "$cafile" "${NODE_EXTRA_CA_CERTS:-}" "$d/ca.crt"
    echo "cafile=/usr/local/etc/certsmith-build-ca.crt" >> "$d/npmrc"
    build_mounts+=(-v "$d/ca.crt:/usr/local/etc/certsmith-build-ca.crt:ro")
  fi
  build_mounts+=(-v "$d/npmrc:/usr/local/etc/npmrc:ro")
}

build_operator() {
  local build_mounts=()
  npm_build_mounts
  log "buildah bud $repo/Dockerfile -> $ref"
  bh bud --pull=never --network host --layers --force-rm --format docker "${build_mounts[@]}" \
    -f "$repo/Dockerfile" -t "$ref" "$repo" >&2 || die "buildah bud of $repo/Dockerfile failed (see above)"
}

operator() {
  ref="$(operator_ref)"
  resolve_base_inputs
  local key archive="$archives/certsmith-${ref##*:}.tar"
  key="$({
    declare -f build_operator npm_build_mounts export_archive
    echo "$node_key $distroless_key $ref"
    cd "$repo"
    local inputs=(Dockerfile package.json package-lock.json tsconfig*.json src crds)
    [[ -e .dockerignore ]] && inputs+=(.dockerignore)
    find "${inputs[@]}" -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum
  } | sha256sum | cut -c1-16)"
  if [[ -f "$archive" && "$(cat "$archive.inputs" 2>/dev/null)" == "$key" ]]; then echo "$archive"; return 0; fi
  lock
  if [[ -f "$archive" && "$(cat "$archive.inputs" 2>/dev/null)" == "$key" ]]; then echo "$archive"; return 0; fi
  setup_storage
  ensure_bases
  local t=$SECONDS
  build_operator
  log "built $ref in $((SECONDS - t)) s; exporting"
  export_archive "$ref" "$archive"
  echo "$key" > "$archive.inputs"
  log "$ref in $archive ($(du -m "$archive" | cut -f1) MiB, $(elapsed) in all)"
  echo "$archive"
}

# --- registry.k8s.io/pause:3.10 -------------------------------------------------------------------------------------

build_pause() {
  local src="$here/images/pause" bin="$work/pause" goarch c
  need go "Go is needed to build the pause image (the same toolchain build-binaries.sh uses)"
  goarch="$(go env GOARCH)"
  (cd "$src" && GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-buildvcs=false \
    nice go build -trimpath -ldflags '-s -w' -o "$bin" .) >&2 || die "go build of $src failed"
  c="$(bh from --name "certsmith-pause-$$" scratch)"
  containers+=("$c")
  bh copy "$c" "$bin" /pause >/dev/null
  # As the upstream image: the entrypoint alone, as the nobody-like 65535.
  bh config --os linux --arch "$goarch" --entrypoint '["/pause"]' --cmd '' --user 65535:65535 "$c"
  bh commit --quiet --rm "$c" "$PAUSE_REF" >/dev/null
  containers=()
  rm -f "$bin"
}

pause() {
  local key archive="$archives/pause-${PAUSE_REF##*:}.tar"
  key="$({
    declare -f build_pause export_archive
    echo "$PAUSE_REF"
    go version 2>/dev/null || true
    cat "$here/images/pause/"*
  } | sha256sum | cut -c1-16)"
  if [[ -f "$archive" && "$(cat "$archive.inputs" 2>/dev/null)" == "$key" ]]; then echo "$archive"; return 0; fi
  lock
  if [[ -f "$archive" && "$(cat "$archive.inputs" 2>/dev/null)" == "$key" ]]; then echo "$archive"; return 0; fi
  setup_storage
  log "building $PAUSE_REF"
  build_pause
  export_archive "$PAUSE_REF" "$archive"
  echo "$key" > "$archive.inputs"
  log "$PAUSE_REF in $archive ($(elapsed))"
  echo "$archive"
}

# --- docker.io/library/traefik:<version> ----------------------------------------------------------------------------

build_traefik_image() { # binary, ref
  local goarch c
  goarch="$(go env GOARCH)"
  c="$(bh from --name "certsmith-traefik-$$" scratch)"
  containers+=("$c")
  bh copy "$c" "$1" /traefik >/dev/null
  # A static binary alone, as the nonroot user distroless images use; the pod spec gives it its flags.
  bh config --os linux --arch "$goarch" --entrypoint '["/traefik"]' --cmd '' --user 65532:65532 "$c"
  bh commit --quiet --rm "$c" "$2" >/dev/null
  containers=()
}

traefik() {
  local bin_dir key archive ref
  # Before the lock: a cold Traefik build takes about 20 minutes, and the other images need not wait for it.
  bin_dir="$(bash "$here/build-traefik.sh" | tail -n 1)" || die "building Traefik failed (see the build-traefik lines above)"
  [[ -x "$bin_dir/traefik" ]] || die "build-traefik.sh printed '$bin_dir', which holds no traefik binary"
  # shellcheck source=ingress-versions.env
  source "$here/ingress-versions.env"
  ref="docker.io/library/traefik:$TRAEFIK_VERSION"
  archive="$archives/traefik-$TRAEFIK_VERSION.tar"
  key="$({
    declare -f build_traefik_image export_archive
    echo "$ref"
    sha256sum < "$bin_dir/traefik"
  } | sha256sum | cut -c1-16)"
  if [[ -f "$archive" && "$(cat "$archive.inputs" 2>/dev/null)" == "$key" ]]; then echo "$archive"; return 0; fi
  lock
  if [[ -f "$archive" && "$(cat "$archive.inputs" 2>/dev/null)" == "$key" ]]; then echo "$archive"; return 0; fi
  setup_storage
  log "building $ref"
  build_traefik_image "$bin_dir/traefik" "$ref"
  export_archive "$ref" "$archive"
  echo "$key" > "$archive.inputs"
  log "$ref in $archive ($(elapsed))"
  echo "$archive"
}

# Test files run in parallel processes: one builds, the others wait here and then find the archive.
lock() {
  mkdir -p "$dir"
  exec 9>"$dir/.lock"
  if ! flock -n 9; then
    log "another build-image.sh is running; waiting for it"
    flock 9
  fi
}

case "$target" in
  operator) operator ;;
  pause) pause ;;
  traefik) traefik ;;
  bases)
    lock
    setup_storage
    resolve_base_inputs
    ensure_bases
    log "bases ready ($(elapsed))"
    ;;
esac
