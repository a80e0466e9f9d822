# shellcheck shell=bash
# One Go tool built from the machine's Go module proxy into the toolchain cache, for the scripts
# that need one (s3-server.sh: versitygw; lint-workflows.sh: actionlint). Sourced, not run; the
# caller defines log and die.
#
#   go_tool_install NAME PACKAGE VERSION PREFIX JOBS COLD_TIME
#
# Builds PACKAGE@VERSION (its binary is NAME) into PREFIX/bin unless PREFIX/bin/NAME and
# PREFIX/BUILDINFO exist. COLD_TIME is what the log promises for a cold Go cache.

go_tool_installed() { [[ -x "$1/bin/$2" && -f "$1/BUILDINFO" ]]; }

go_tool_install() {
    local name="$1" pkg="$2" version="$3" prefix="$4" jobs="$5" cold_time="$6"
    if go_tool_installed "$prefix" "$name"; then
        log "$name $version already installed in $prefix/bin"
        return 0
    fi
    if ! command -v go >/dev/null 2>&1 && [[ -x /usr/local/go/bin/go ]]; then
        export PATH="/usr/local/go/bin:$PATH"
    fi
    command -v go >/dev/null 2>&1 || die "go not found (needed once to build $name $version)"
    # Module proxy only, as scripts/toolchain.sh: no VCS fetches, and no host written down here.
    local proxy
    proxy="$(go env GOPROXY | sed -E 's/[,|]direct$//')"
    [[ -n "$proxy" && "$proxy" != "direct" && "$proxy" != "off" ]] ||
        die "go env GOPROXY is '$(go env GOPROXY)': the install needs a Go module proxy"
    log "installing $name $version from the module proxy ($cold_time on a cold Go cache)"
    local start=$SECONDS staging
    mkdir -p "$prefix"
    # Into a staging dir first, so an interrupted build never leaves a half-written binary behind.
    staging="$(mktemp -d "$prefix/.install.XXXXXX")"
    # shellcheck disable=SC2064 # expand now: the trap runs after the local is gone
    trap "rm -rf '$staging'" EXIT
    GOPROXY="$proxy" GOBIN="$staging" go install -p "$jobs" -trimpath -ldflags "-s -w" "$pkg@$version" ||
        die "go install $pkg@$version failed"
    mkdir -p "$prefix/bin"
    mv -f "$staging/$name" "$prefix/bin/$name"
    printf '%s=%s@%s\nbuilt=%s\n' "$name" "$pkg" "$version" "$(go version)" >"$prefix/BUILDINFO"
    log "installed $prefix/bin/$name in $((SECONDS - start)) s"
}
