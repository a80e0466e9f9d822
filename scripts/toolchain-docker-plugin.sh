#!/usr/bin/env bash
# Builds the Pulumi Docker resource plugin (pulumi-resource-docker, presenting 4.11.2, the
# @pulumi/docker SDK this project pins) from infra/docker-plugin with the Go module proxy only,
# and installs it into the toolchain's PULUMI_HOME. Called by scripts/toolchain.sh (cached run
# included); on its own:
#
#   PULUMI_HOME=<toolchain>/home bash scripts/toolchain-docker-plugin.sh <toolchain bin dir>
#
# Steps (measured: 974 s with empty Go module and build caches on 2 shared cores; 34 s after a
# source change; cached: 0.3 s):
#   1. pulumi-tfgen-docker  (go build, the same module) -> schema.json + bridge-metadata.json
#   2. pulumi-resource-docker (go build, embeds both files)
#   3. pulumi plugin install resource docker 4.11.2 --file <binary>
# The result is cached under <toolchain>/docker-plugin/<key>, key = sha256 of go.mod, go.sum
# and every .go file of infra/docker-plugin plus the build tags; the install is skipped when the
# installed plugin came from the same key.
#
# Environment knobs:
#   ORCHESTRA_DOCKER_PLUGIN=build     (default) the offline build above
#   ORCHESTRA_DOCKER_PLUGIN=official  install Pulumi's released plugin instead (needs Pulumi's
#                                     plugin downloads reachable: an operator laptop, GitHub runners)
#   ORCHESTRA_DOCKER_PLUGIN=skip      install nothing (@pulumi/docker resources will then fail)
#   ORCHESTRA_DOCKER_PLUGIN_FORCE=1   rebuild even when cached
#   ORCHESTRA_TOOLCHAIN_JOBS          go build -p (default 2)
set -euo pipefail

PLUGIN_VERSION="4.11.2"
# docker_compose pulls in docker/compose/v2 and its dependency tree, and @pulumi/docker 4.11.2 has
# no resource for it: leave it out of the binary (upstream's own switch for that).
BUILD_TAGS="no_compose"
# No symbol table or DWARF: about half the size; panics still print Go stack traces.
LDFLAGS="-s -w"

BIN="${1:?usage: toolchain-docker-plugin.sh <toolchain bin dir>}"
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
SRC="$ROOT/infra/docker-plugin"
PREFIX="$(dirname "$BIN")"
JOBS="${ORCHESTRA_TOOLCHAIN_JOBS:-2}"
MODE="${ORCHESTRA_DOCKER_PLUGIN:-build}"
: "${PULUMI_HOME:?PULUMI_HOME must be set (scripts/toolchain.sh sets it)}"
INSTALLED="$PULUMI_HOME/plugins/resource-docker-v$PLUGIN_VERSION/pulumi-resource-docker"
STAMP="$PULUMI_HOME/plugins/resource-docker-v$PLUGIN_VERSION.orchestra-key"

log() { printf '[toolchain] %s\n' "$*" >&2; }
die() {
    log "ERROR: docker plugin: $1"
    log "  what to do: $2"
    exit 1
}
elapsed() { echo "$((SECONDS - $1))s"; }

case "$MODE" in
skip)
    log "docker plugin: skipped (ORCHESTRA_DOCKER_PLUGIN=skip); @pulumi/docker resources cannot be created"
    exit 0
    ;;
official)
    t0=$SECONDS
    log "docker plugin: installing Pulumi's released resource plugin docker $PLUGIN_VERSION"
    "$BIN/pulumi" plugin install resource docker "$PLUGIN_VERSION" >&2 ||
        die "pulumi plugin install resource docker $PLUGIN_VERSION failed (no access to Pulumi's plugin downloads?)" \
            "unset ORCHESTRA_DOCKER_PLUGIN to build it offline from the Go module proxy instead"
    rm -f "$STAMP"
    log "docker plugin: official $PLUGIN_VERSION installed in $(elapsed "$t0")"
    exit 0
    ;;
build) ;;
*) die "ORCHESTRA_DOCKER_PLUGIN is '$MODE'" "set it to build (default), official or skip" ;;
esac

# --- cache key: the module's pinned dependencies and its sources -------------------------------
[[ -f "$SRC/go.mod" && -f "$SRC/go.sum" ]] || die "no go.mod/go.sum in $SRC" "restore infra/docker-plugin from git"
KEY="$(
    cd "$SRC"
    { printf 'tags=%s ldflags=%s\n' "$BUILD_TAGS" "$LDFLAGS"; find . -name '*.go' -o -name go.mod -o -name go.sum; } |
        LC_ALL=C sort | while read -r f; do
            if [[ -f "$f" ]]; then printf '%s %s\n' "$f" "$(sha256sum <"$f" | cut -c1-64)"; else printf '%s\n' "$f"; fi
        done | sha256sum | cut -c1-16
)"
CACHE="$PREFIX/docker-plugin/$KEY"

if [[ "${ORCHESTRA_DOCKER_PLUGIN_FORCE:-0}" != "1" && -x "$INSTALLED" && -f "$STAMP" && "$(cat "$STAMP")" == "$KEY" ]]; then
    log "docker plugin $PLUGIN_VERSION already installed from build $KEY (set ORCHESTRA_DOCKER_PLUGIN_FORCE=1 to rebuild)"
    exit 0
fi

if [[ "${ORCHESTRA_DOCKER_PLUGIN_FORCE:-0}" == "1" || ! -x "$CACHE/pulumi-resource-docker" ]]; then
    if ! command -v go >/dev/null 2>&1 && [[ -x /usr/local/go/bin/go ]]; then
        export PATH="/usr/local/go/bin:$PATH"
    fi
    command -v go >/dev/null 2>&1 || die "go not found" "install Go >= 1.25.11 (at /usr/local/go) or put it on PATH"
    # The machine's configured module proxy is the only source; no fallback host.
    PROXY_ONLY="$(go env GOPROXY | sed -E 's/[,|]direct$//')"
    [[ -n "$PROXY_ONLY" && "$PROXY_ONLY" != "direct" && "$PROXY_ONLY" != "off" ]] ||
        die "go env GOPROXY is '$(go env GOPROXY)'" "configure a Go module proxy: go env -w GOPROXY=<url>"
    export GOPROXY="$PROXY_ONLY"
    # go.sum is committed and pinned: a missing or different checksum is an error, never an edit.
    export GOFLAGS="${GOFLAGS:-} -mod=readonly -trimpath"

    WORK="$(mktemp -d "$PREFIX/.docker-plugin.XXXXXX")"
    trap 'rm -rf "$WORK"' EXIT
    # Build from a copy so the generated schema and metadata never land in the checkout.
    cp -R "$SRC" "$WORK/src"
    cd "$WORK/src"
    t_all=$SECONDS

    t0=$SECONDS
    log "docker plugin 1/3: pulumi-tfgen-docker (go build -p $JOBS -tags $BUILD_TAGS; about 16 min with empty Go caches on 2 shared cores)"
    go build -p "$JOBS" -tags "$BUILD_TAGS" -ldflags "$LDFLAGS" -o "$WORK/pulumi-tfgen-docker" ./cmd/pulumi-tfgen-docker >&2 ||
        die "go build of ./cmd/pulumi-tfgen-docker failed (output above)" \
            "if a module was refused, check 'go env GOPROXY' serves it; if go.sum is stale, run 'go mod tidy' in infra/docker-plugin and commit go.sum; then re-run scripts/toolchain.sh"
    log "  built pulumi-tfgen-docker in $(elapsed "$t0")"

    t0=$SECONDS
    log "docker plugin 2/3: schema + bridge metadata, then pulumi-resource-docker"
    (cd "$WORK" && PULUMI_HOME="$WORK/tfgen-home" ./pulumi-tfgen-docker schema --out "$WORK/src/cmd/pulumi-resource-docker" \
        --skip-docs --skip-examples >"$WORK/tfgen.log" 2>&1) || {
        cat "$WORK/tfgen.log" >&2
        die "pulumi-tfgen-docker schema failed (output above)" \
            "a token or field in infra/docker-plugin/mapping/mapping.go does not fit the upstream provider; fix the mapping and re-run scripts/toolchain.sh"
    }
    [[ -s cmd/pulumi-resource-docker/schema.json && -s cmd/pulumi-resource-docker/bridge-metadata.json ]] ||
        die "tfgen wrote no schema.json/bridge-metadata.json" "run pulumi-tfgen-docker by hand (see this script) and read its output"
    go build -p "$JOBS" -tags "$BUILD_TAGS" -ldflags "$LDFLAGS" -o "$WORK/pulumi-resource-docker" ./cmd/pulumi-resource-docker >&2 ||
        die "go build of ./cmd/pulumi-resource-docker failed (output above)" "fix the error above, then re-run scripts/toolchain.sh"
    got="$("$WORK/pulumi-resource-docker" --version 2>/dev/null || true)"
    [[ "$got" == "$PLUGIN_VERSION" ]] ||
        die "built plugin reports version '$got', expected $PLUGIN_VERSION" "check mapping.Version in infra/docker-plugin/mapping/mapping.go"
    log "  built pulumi-resource-docker in $(elapsed "$t0")"

    # One build kept: older keys are earlier sources of this module (about 110 MiB each).
    rm -rf "$PREFIX/docker-plugin"
    mkdir -p "$CACHE"
    install -m 0755 "$WORK/pulumi-resource-docker" "$CACHE/pulumi-resource-docker"
    cp "$WORK/src/cmd/pulumi-resource-docker/schema.json" "$CACHE/schema.json"
    cat >"$CACHE/BUILDINFO" <<EOF
plugin=pulumi-resource-docker $PLUGIN_VERSION (pulumi-terraform-bridge, see infra/docker-plugin/go.mod)
key=$KEY
tags=$BUILD_TAGS
ldflags=$LDFLAGS
go=$(go version)
built=$(date -u +%Y-%m-%dT%H:%M:%SZ) in $(elapsed "$t_all")
size_bytes=$(stat -c %s "$CACHE/pulumi-resource-docker")
EOF
    log "  cached in $CACHE ($(($(stat -c %s "$CACHE/pulumi-resource-docker") / 1048576)) MiB) after $(elapsed "$t_all")"
fi

t0=$SECONDS
log "docker plugin 3/3: pulumi plugin install resource docker $PLUGIN_VERSION --file <build $KEY>"
"$BIN/pulumi" plugin install resource docker "$PLUGIN_VERSION" --reinstall --file "$CACHE/pulumi-resource-docker" >&2 ||
    die "pulumi plugin install --file failed (output above)" "check that $PULUMI_HOME is writable, then re-run scripts/toolchain.sh"
[[ -x "$INSTALLED" ]] || die "plugin not found at $INSTALLED after install" "run '$BIN/pulumi plugin ls' and compare"
printf '%s\n' "$KEY" >"$STAMP"
log "  installed into $PULUMI_HOME/plugins in $(elapsed "$t0")"
