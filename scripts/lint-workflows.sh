#!/usr/bin/env bash
# Lints the GitHub Actions workflows (.github/workflows/*.yml) with actionlint (MIT): expressions,
# job graph, action inputs, and every `run:` block through shellcheck.
#
#   scripts/lint-workflows.sh            # install when missing, then lint (same as `check`)
#   scripts/lint-workflows.sh check
#   scripts/lint-workflows.sh install    # build once into the cache (a no-op when present)
#
# Binary: ${ORCHESTRA_TOOLCHAIN_DIR:-$HOME/.cache/orchestra-toolchain}/actionlint-v1.7.12/bin/actionlint,
# from `go install github.com/rhysd/actionlint/cmd/actionlint@v1.7.12` through the machine's Go
# module proxy (go env GOPROXY). A cold install (empty Go module and build caches) took 38 s on this
# machine (2 shared cores); a cached one returns at once. scripts/toolchain.sh calls `install`.
# The run: blocks go through Debian's shellcheck (installed when missing by `scripts/lint-shell.sh
# install`), named to actionlint with -shellcheck: without one, actionlint skips them silently.
#
# Environment knobs:
#   ORCHESTRA_TOOLCHAIN_DIR   cache root (default $HOME/.cache/orchestra-toolchain)
#   ORCHESTRA_TOOLCHAIN_JOBS  go build -p (default 2)
set -euo pipefail

ACTIONLINT_VERSION="v1.7.12"
ACTIONLINT_PKG="github.com/rhysd/actionlint/cmd/actionlint"
TOOLCHAIN_ROOT="${ORCHESTRA_TOOLCHAIN_DIR:-$HOME/.cache/orchestra-toolchain}"
PREFIX="$TOOLCHAIN_ROOT/actionlint-$ACTIONLINT_VERSION"
BINARY="$PREFIX/bin/actionlint"
JOBS="${ORCHESTRA_TOOLCHAIN_JOBS:-2}"
REPO_ROOT="$(cd "$(dirname "$0")/.." && pwd)"

log() { printf '[lint-workflows] %s\n' "$*" >&2; }
die() {
    log "ERROR: $*"
    exit 1
}
usage() {
    printf 'usage: %s [check | install]\n' "$0" >&2
    exit 2
}

# --- install ---------------------------------------------------------------
# shellcheck source=scripts/go-tool.sh
source "$(dirname "${BASH_SOURCE[0]}")/go-tool.sh"

install_actionlint() {
    go_tool_install actionlint "$ACTIONLINT_PKG" "$ACTIONLINT_VERSION" "$PREFIX" "$JOBS" "under a minute"
}

# --- check -----------------------------------------------------------------
check_workflows() {
    install_actionlint
    bash "$REPO_ROOT/scripts/lint-shell.sh" install
    local shellcheck workflows
    shellcheck="$(command -v shellcheck)" || die "shellcheck not on PATH after its install"
    cd "$REPO_ROOT"
    shopt -s nullglob
    workflows=(.github/workflows/*.yml)
    shopt -u nullglob
    ((${#workflows[@]} > 0)) || die "no workflow in .github/workflows/*.yml"
    # actionlint prints each finding with its file, line and rule, and exits 1 when there is any.
    "$BINARY" -shellcheck "$shellcheck" "${workflows[@]}" ||
        die "actionlint $ACTIONLINT_VERSION found problems in .github/workflows (above)"
    log "actionlint $ACTIONLINT_VERSION: ${#workflows[@]} workflow(s) clean"
}

case "${1:-check}" in
install) install_actionlint ;;
check) check_workflows ;;
*) usage ;;
esac
