#!/usr/bin/env bash
# A real Weaviate server for the services tier: the backups' Weaviate snapshot is proven against
# Weaviate itself (its backup-filesystem module, a vector search after the restore), not against
# the HTTP stand-in. Nothing here is for production: production runs the image the stack names.
#
#   scripts/weaviate-server.sh install    # build once into the cache (a no-op when present)
#   scripts/weaviate-server.sh path       # print the binary's path (exit 1 when not installed)
#
# Binary: ${ORCHESTRA_TOOLCHAIN_DIR:-$HOME/.cache/orchestra-toolchain}/weaviate-v1.27.0/bin/weaviate-server,
# from `go install github.com/weaviate/weaviate/cmd/weaviate-server@v1.27.0` through the machine's
# Go module proxy (go env GOPROXY). Weaviate 1.22 (the stack's production image) is not served
# there; 1.27.0 is, and its backup-filesystem module and REST API are the same shape.
# Licence: BSD-3-Clause.
#
# Environment knobs:
#   ORCHESTRA_TOOLCHAIN_DIR   cache root (default $HOME/.cache/orchestra-toolchain)
#   ORCHESTRA_TOOLCHAIN_JOBS  go build -p (default 2)
set -euo pipefail

WEAVIATE_VERSION="v1.27.0"
WEAVIATE_PKG="github.com/weaviate/weaviate/cmd/weaviate-server"
TOOLCHAIN_ROOT="${ORCHESTRA_TOOLCHAIN_DIR:-$HOME/.cache/orchestra-toolchain}"
PREFIX="$TOOLCHAIN_ROOT/weaviate-$WEAVIATE_VERSION"
JOBS="${ORCHESTRA_TOOLCHAIN_JOBS:-2}"

log() { printf '[weaviate] %s\n' "$*" >&2; }
die() {
    log "ERROR: $*"
    exit 1
}

# shellcheck source=scripts/go-tool.sh
source "$(dirname "${BASH_SOURCE[0]}")/go-tool.sh"

case "${1:-}" in
install)
    go_tool_install weaviate-server "$WEAVIATE_PKG" "$WEAVIATE_VERSION" "$PREFIX" "$JOBS" "about 5 minutes"
    ;;
path)
    go_tool_installed "$PREFIX" weaviate-server || die "not installed: run scripts/weaviate-server.sh install"
    printf '%s\n' "$PREFIX/bin/weaviate-server"
    ;;
*)
    printf 'usage: %s install | path\n' "$0" >&2
    exit 2
    ;;
esac
