#!/usr/bin/env bash
# Builds the Pulumi CLI toolchain this project needs from the Go module proxy
# only (no GitHub release downloads), and caches it outside the repository.
#
#   scripts/toolchain.sh            # build if needed; last stdout line = bin dir
#   BIN="$(scripts/toolchain.sh)"   # progress goes to stderr, so this works
#   source "$(dirname "$BIN")/env.sh"   # PATH, PULUMI_HOME, PULUMI_SKIP_UPDATE_CHECK
#
# Result (default ${ORCHESTRA_TOOLCHAIN_DIR:-$HOME/.cache/orchestra-toolchain}/pulumi-v3.248.0):
#   bin/pulumi                         CLI, github.com/pulumi/pulumi/pkg/v3@v3.248.0 ./cmd/pulumi
#   bin/pulumi-language-nodejs         Node.js language host (see step 2 below)
#   bin/pulumi-resource-pulumi-nodejs  dynamic-provider shim (sdk/v3@v3.248.0 nodejs/dist); it runs
#                                      node_modules/@pulumi/pulumi/cmd/dynamic-provider of the program
#   home/                              PULUMI_HOME (plugin cache: home/plugins)
#   env.sh                             exports for callers
#   home/plugins/resource-docker-v4.11.2  the Docker provider plugin, built offline from
#                                      infra/docker-plugin by scripts/toolchain-docker-plugin.sh
#                                      (also on the cached path; its own cache and knobs)
#
# Beside it, scripts/s3-server.sh install puts versitygw v1.8.0 (the engine tier's S3-compatible
# server) in <cache root>/versitygw-v1.8.0/bin: about 5 minutes cold (298 s measured on an empty
# Go module and build cache), a no-op when present; on the cached path too. So does
# scripts/lint-workflows.sh install, with actionlint v1.7.12 (the workflows' linter) in
# <cache root>/actionlint-v1.7.12/bin: 38 s cold. And scripts/weaviate-server.sh install, with
# Weaviate v1.27.0 (the services tier's real Weaviate, for the backups' snapshot test) in
# <cache root>/weaviate-v1.27.0/bin: about 7 minutes cold on 2 shared cores, 85 MB.
#
# Environment knobs:
#   ORCHESTRA_TOOLCHAIN_DIR   cache root (default $HOME/.cache/orchestra-toolchain)
#   ORCHESTRA_TOOLCHAIN_JOBS  go build -p (default 2)
#   ORCHESTRA_TOOLCHAIN_FORCE=1  rebuild even if the cached toolchain looks fine
#   PULUMI_HOME               plugin/credentials dir (default <prefix>/home)
set -euo pipefail

PULUMI_VERSION="v3.248.0"
# Release commit of pkg/v3.248.0 (Origin.Hash in the proxy's .info for pkg/v3@v3.248.0).
PULUMI_RELEASE_COMMIT="dc7edd58bc13"
# Newest github.com/pulumi/pulumi/sdk/v3 on the proxy that still contains the
# package nodejs/cmd/pulumi-language-nodejs (from v3.90.0 on it is a separate,
# untagged module that the proxy here does not serve).
LEGACY_LANGHOST_SDK_VERSION="v3.68.0"
COMMAND_PROVIDER_VERSION="v1.2.1"
COMMAND_PROVIDER_COMMIT="7f3eb6f3b77c" # tag v1.2.1 of pulumi/pulumi-command

PKG_MOD="github.com/pulumi/pulumi/pkg/v3"
SDK_MOD="github.com/pulumi/pulumi/sdk/v3"
LANGHOST_MOD="github.com/pulumi/pulumi/sdk/nodejs/cmd/pulumi-language-nodejs/v3"
COMMAND_MOD="github.com/pulumi/pulumi-command/provider"
VERSION_VAR="github.com/pulumi/pulumi/sdk/v3/go/common/version.Version"

TOOLCHAIN_ROOT="${ORCHESTRA_TOOLCHAIN_DIR:-$HOME/.cache/orchestra-toolchain}"
PREFIX="$TOOLCHAIN_ROOT/pulumi-$PULUMI_VERSION"
BIN="$PREFIX/bin"
JOBS="${ORCHESTRA_TOOLCHAIN_JOBS:-2}"

export PULUMI_HOME="${PULUMI_HOME:-$PREFIX/home}"
export PULUMI_SKIP_UPDATE_CHECK=true
export PULUMI_DIY_BACKEND_NO_LEGACY_WARNING=true

log() { printf '[toolchain] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# --- one build at a time ----------------------------------------------------
# .ci/run builds the toolchain in the background while the test tiers that do not need it run; the
# engine tier then calls this script too, and waits here for that build instead of starting a
# second one into the same prefix (it then takes the fast path).
mkdir -p "$TOOLCHAIN_ROOT"
exec {TOOLCHAIN_LOCK}>"$TOOLCHAIN_ROOT/.toolchain.lock"
if ! flock -n "$TOOLCHAIN_LOCK"; then
    log "another toolchain build holds $TOOLCHAIN_ROOT/.toolchain.lock; waiting for it"
    flock "$TOOLCHAIN_LOCK"
fi

# --- fast path -------------------------------------------------------------
toolchain_ok() {
    [[ -x "$BIN/pulumi" && -x "$BIN/pulumi-language-nodejs" && -x "$BIN/pulumi-resource-pulumi-nodejs" && -f "$PREFIX/env.sh" ]] || return 1
    [[ "$("$BIN/pulumi" version 2>/dev/null)" == "$PULUMI_VERSION" ]]
}

if [[ "${ORCHESTRA_TOOLCHAIN_FORCE:-0}" != "1" ]] && toolchain_ok; then
    log "pulumi $PULUMI_VERSION already built in $BIN (set ORCHESTRA_TOOLCHAIN_FORCE=1 to rebuild)"
    bash "$(dirname "$0")/toolchain-docker-plugin.sh" "$BIN"
    bash "$(dirname "$0")/s3-server.sh" install
    bash "$(dirname "$0")/weaviate-server.sh" install
    bash "$(dirname "$0")/lint-workflows.sh" install
    printf '%s\n' "$BIN"
    exit 0
fi

# --- prerequisites ---------------------------------------------------------
if ! command -v go >/dev/null 2>&1 && [[ -x /usr/local/go/bin/go ]]; then
    export PATH="/usr/local/go/bin:$PATH"
fi
command -v go >/dev/null 2>&1 || die "go not found (need Go >= 1.25 for pulumi $PULUMI_VERSION)"
command -v node >/dev/null 2>&1 || log "warning: node not on PATH; needed at 'pulumi up' time, not for this build"
# Module proxy only: drop a trailing 'direct' (no VCS fetches, clearer errors).
PROXY_ONLY="$(go env GOPROXY | sed -E 's/[,|]direct$//')"
# No built-in fallback host: the machine's configured proxy is the only source this script uses.
[[ -n "$PROXY_ONLY" && "$PROXY_ONLY" != "direct" && "$PROXY_ONLY" != "off" ]] ||
    die "go env GOPROXY is '$(go env GOPROXY)': this build needs a Go module proxy (set GOPROXY, e.g. go env -w GOPROXY=<url>)"
export GOPROXY="$PROXY_ONLY"
log "using $(go version) and the module proxy from go env GOPROXY"

mkdir -p "$BIN" "$PULUMI_HOME"
WORK="$(mktemp -d "$TOOLCHAIN_ROOT/.work.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT

# Downloads module@version into the module cache; prints its (read-only) dir.
# Returns non-zero (and logs the proxy's answer) if the proxy refuses it.
mod_download() {
    local spec="$1" out dir err
    if ! out="$(cd "$WORK" && go mod download -json "$spec" 2>&1)"; then
        err="$(printf '%s\n' "$out" | sed -n 's/^[[:space:]]*"Error": "\(.*\)",\{0,1\}$/\1/p' | head -n1)"
        err="${err:-$(printf '%s\n' "$out" | tail -n1)}"
        log "  cannot download $spec: ${err//\\n\\t/ | }"
        return 1
    fi
    dir="$(printf '%s\n' "$out" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p' | head -n1)"
    [[ -n "$dir" && -d "$dir" ]] || { log "  no Dir for $spec"; return 1; }
    printf '%s\n' "$dir"
}

# Copies a module-cache dir to a writable place.
copy_mod() { mkdir -p "$(dirname "$2")"; cp -R "$1" "$2"; chmod -R u+w "$2"; }

# go build in the current dir; retries with -mod=mod if go.sum is incomplete.
gobuild() {
    local out="$1" ldflags="$2" pkg="$3"
    if ! go build -p "$JOBS" -trimpath -o "$out" -ldflags "$ldflags" "$pkg"; then
        log "  build failed; retrying with -mod=mod (incomplete go.sum?)"
        GOFLAGS="${GOFLAGS:-} -mod=mod" go build -p "$JOBS" -trimpath -o "$out" -ldflags "$ldflags" "$pkg"
    fi
}

elapsed() { echo "$(( SECONDS - $1 ))s"; }

# --- 1. pulumi CLI ---------------------------------------------------------
log "1/4 pulumi CLI $PKG_MOD@$PULUMI_VERSION"
t0=$SECONDS
PKG_DIR="$(mod_download "$PKG_MOD@$PULUMI_VERSION")" || die "pkg module not on the proxy"
SDK_DIR="$(mod_download "$SDK_MOD@$PULUMI_VERSION")" || die "sdk module not on the proxy"
# pkg/go.mod has 'replace github.com/pulumi/pulumi/sdk/v3 => ../sdk': lay out siblings.
copy_mod "$PKG_DIR" "$WORK/src/pkg"
copy_mod "$SDK_DIR" "$WORK/src/sdk"
grep -q '^var Version string' "$WORK/src/sdk/go/common/version/version.go" \
    || die "version variable $VERSION_VAR not found in sdk source"
log "  compiling ./cmd/pulumi (go build -p $JOBS; several minutes on a cold build cache)"
(cd "$WORK/src/pkg" && gobuild "$BIN/pulumi.tmp" "-X $VERSION_VAR=$PULUMI_VERSION" ./cmd/pulumi)
mv -f "$BIN/pulumi.tmp" "$BIN/pulumi"
got="$("$BIN/pulumi" version)"
[[ "$got" == "$PULUMI_VERSION" ]] || die "built pulumi reports '$got', expected $PULUMI_VERSION"
log "  built $BIN/pulumi ($got) in $(elapsed $t0)"

# --- 2. pulumi-language-nodejs ---------------------------------------------
log "2/4 pulumi-language-nodejs"
t0=$SECONDS
langhost_from_release_commit() {
    # Preferred: the nested module at the pulumi release commit (pseudo-version).
    # Its go.mod replaces pkg/v3 => ../../../../pkg and sdk/v3 => ../../.. .
    local dir
    dir="$(mod_download "$LANGHOST_MOD@$PULUMI_RELEASE_COMMIT")" || return 1
    copy_mod "$dir" "$WORK/src/sdk/nodejs/cmd/pulumi-language-nodejs"
    (cd "$WORK/src/sdk/nodejs/cmd/pulumi-language-nodejs" \
        && gobuild "$BIN/pulumi-language-nodejs.tmp" "-X $VERSION_VAR=$PULUMI_VERSION" .) || return 1
    LANGHOST_DESC="$LANGHOST_MOD@$PULUMI_RELEASE_COMMIT"
}
langhost_from_legacy_sdk() {
    # Fallback: sdk/v3@v3.68.0 still has the package inside the sdk module. Its go.mod
    # has a replace directive, so 'go install pkg@version' refuses: build as main module.
    local dir
    dir="$(mod_download "$SDK_MOD@$LEGACY_LANGHOST_SDK_VERSION")" || return 1
    copy_mod "$dir" "$WORK/legacy-sdk"
    (cd "$WORK/legacy-sdk" && gobuild "$BIN/pulumi-language-nodejs.tmp" \
        "-X $VERSION_VAR=$LEGACY_LANGHOST_SDK_VERSION" ./nodejs/cmd/pulumi-language-nodejs) || return 1
    LANGHOST_DESC="$SDK_MOD@$LEGACY_LANGHOST_SDK_VERSION ./nodejs/cmd/pulumi-language-nodejs"
}
LANGHOST_DESC=""
if langhost_from_release_commit; then
    :
else
    log "  release-commit module unavailable; falling back to $SDK_MOD@$LEGACY_LANGHOST_SDK_VERSION"
    langhost_from_legacy_sdk || die "no buildable pulumi-language-nodejs source on the proxy"
fi
mv -f "$BIN/pulumi-language-nodejs.tmp" "$BIN/pulumi-language-nodejs"
log "  built $BIN/pulumi-language-nodejs from $LANGHOST_DESC in $(elapsed $t0)"

# --- 3. dynamic provider shim ----------------------------------------------
# The CLI looks for bundled plugins (pulumi-resource-pulumi-nodejs) on PATH and
# next to the pulumi executable. The shim resolves @pulumi/pulumi from the
# program's node_modules, so it works with whatever SDK version the program has.
log "3/4 pulumi-resource-pulumi-nodejs (dynamic providers)"
install -m 0755 "$WORK/src/sdk/nodejs/dist/pulumi-resource-pulumi-nodejs" "$BIN/pulumi-resource-pulumi-nodejs"

# --- 4. command provider (best effort) -------------------------------------
log "4/4 command provider $COMMAND_MOD ($COMMAND_PROVIDER_VERSION)"
t0=$SECONDS
COMMAND_STATUS="unavailable"
for spec in "$COMMAND_MOD@$COMMAND_PROVIDER_VERSION" "$COMMAND_MOD@$COMMAND_PROVIDER_COMMIT"; do
    if dir="$(mod_download "$spec")"; then
        rm -rf "$WORK/command"
        copy_mod "$dir" "$WORK/command"
        if (cd "$WORK/command" && gobuild "$WORK/pulumi-resource-command" \
                "-X github.com/pulumi/pulumi-command/provider/pkg/version.Version=$COMMAND_PROVIDER_VERSION" \
                ./cmd/pulumi-resource-command) \
            && "$BIN/pulumi" plugin install resource command "${COMMAND_PROVIDER_VERSION#v}" \
                --file "$WORK/pulumi-resource-command" >&2; then
            COMMAND_STATUS="installed from $spec into $PULUMI_HOME/plugins"
            break
        fi
        log "  build/install of $spec failed"
    fi
done
if [[ "$COMMAND_STATUS" == "unavailable" ]]; then
    log "  WARNING: command provider not obtainable from the module proxy; @pulumi/command resources will fail"
else
    log "  $COMMAND_STATUS in $(elapsed $t0)"
fi

cat >"$PREFIX/env.sh" <<EOF
# Generated by scripts/toolchain.sh: source this before running pulumi.
export PATH="$BIN:\$PATH"
export PULUMI_HOME="$PULUMI_HOME"
export PULUMI_SKIP_UPDATE_CHECK=true
export PULUMI_DIY_BACKEND_NO_LEGACY_WARNING=true
EOF
cat >"$PREFIX/BUILDINFO" <<EOF
pulumi=$PKG_MOD@$PULUMI_VERSION (+ $SDK_MOD@$PULUMI_VERSION)
pulumi-language-nodejs=$LANGHOST_DESC
pulumi-resource-pulumi-nodejs=$SDK_MOD@$PULUMI_VERSION nodejs/dist
command-provider=$COMMAND_STATUS
EOF

toolchain_ok || die "toolchain incomplete after build"
bash "$(dirname "$0")/toolchain-docker-plugin.sh" "$BIN"
bash "$(dirname "$0")/s3-server.sh" install
bash "$(dirname "$0")/weaviate-server.sh" install
bash "$(dirname "$0")/lint-workflows.sh" install
log "done; source $PREFIX/env.sh (PULUMI_HOME=$PULUMI_HOME)"
printf '%s\n' "$BIN"
