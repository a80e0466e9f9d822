#!/usr/bin/env bash
# A local S3-compatible server for tests and local use: versitygw (Apache-2.0) serving a directory.
# Pulumi's DIY backend (state and locks in a bucket) and the backups are tested against it; nothing
# here is for production data.
#
#   scripts/s3-server.sh install          # build once into the cache (a no-op when present)
#   scripts/s3-server.sh start DIR [--tls] # serve DIR/data on 127.0.0.1; writes DIR/s3.env, DIR/s3.pid
#   scripts/s3-server.sh stop DIR          # stop the server started on DIR
#
# DIR/s3.env (mode 0600; `set -a; source DIR/s3.env; set +a` before the AWS SDK or the CLI):
#   S3_ENDPOINT=http://127.0.0.1:PORT       (with --tls: https://localhost:PORT)
#   AWS_ACCESS_KEY_ID=...  AWS_SECRET_ACCESS_KEY=...  (random for each start)
#   AWS_REGION=us-east-1
#   S3_CA_FILE=DIR/s3-tls.crt               (with --tls only: the self-signed `localhost` certificate)
# The server's log is DIR/s3.log. Buckets are directories under DIR/data.
#
# Binary: ${ORCHESTRA_TOOLCHAIN_DIR:-$HOME/.cache/orchestra-toolchain}/versitygw-v1.8.0/bin/versitygw,
# from `go install github.com/versity/versitygw/cmd/versitygw@v1.8.0` through the machine's Go module
# proxy (go env GOPROXY). A cold install (empty Go module and build caches) took 298 s on 2 shared
# cores (load 3-4, measured 2026-11-30; 61 MB binary); a cached one returns at once.
#
# Environment knobs:
#   ORCHESTRA_TOOLCHAIN_DIR   cache root (default $HOME/.cache/orchestra-toolchain)
#   ORCHESTRA_TOOLCHAIN_JOBS  go build -p (default 2)
#   S3_SERVER_PORT            port to listen on (default: a free one)
#   S3_SERVER_WAIT_SECONDS    how long start waits for the server to answer (default 30)
set -euo pipefail

VERSITYGW_VERSION="v1.8.0"
VERSITYGW_PKG="github.com/versity/versitygw/cmd/versitygw"
TOOLCHAIN_ROOT="${ORCHESTRA_TOOLCHAIN_DIR:-$HOME/.cache/orchestra-toolchain}"
PREFIX="$TOOLCHAIN_ROOT/versitygw-$VERSITYGW_VERSION"
BINARY="$PREFIX/bin/versitygw"
JOBS="${ORCHESTRA_TOOLCHAIN_JOBS:-2}"

log() { printf '[s3] %s\n' "$*" >&2; }
die() {
    log "ERROR: $*"
    exit 1
}
usage() {
    printf 'usage: %s install | start DIR [--tls] | stop DIR\n' "$0" >&2
    exit 2
}

# --- install ---------------------------------------------------------------
# shellcheck source=scripts/go-tool.sh
source "$(dirname "${BASH_SOURCE[0]}")/go-tool.sh"

install_server() {
    go_tool_install versitygw "$VERSITYGW_PKG" "$VERSITYGW_VERSION" "$PREFIX" "$JOBS" "about 5 minutes"
}

# --- start -----------------------------------------------------------------
# A free loopback TCP port (the kernel's choice; released again before the server binds it).
free_port() {
    node -e 'const s = require("net").createServer();
s.listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); });'
}

# The pid in DIR/s3.pid if that process is still a versitygw (a stale file or a reused pid is not).
running_pid() {
    local dir="$1" pid
    [[ -f "$dir/s3.pid" ]] || return 1
    pid="$(cat "$dir/s3.pid")"
    [[ "$pid" =~ ^[0-9]+$ ]] || return 1
    [[ "$(cat "/proc/$pid/comm" 2>/dev/null)" == "versitygw" ]] || return 1
    printf '%s\n' "$pid"
}

# Random credentials: hex, so they need no quoting anywhere.
random_hex() { openssl rand -hex "$1"; }

make_certificate() {
    local dir="$1"
    command -v openssl >/dev/null 2>&1 || die "--tls needs openssl"
    # Self-signed for the name `localhost` (clients such as pgBackRest check the host name).
    openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj "/CN=localhost" \
        -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
        -keyout "$dir/s3-tls.key" -out "$dir/s3-tls.crt" 2>/dev/null ||
        die "openssl could not make a certificate in $dir"
    chmod 0600 "$dir/s3-tls.key"
}

start_server() {
    local dir="" tls=0 arg
    for arg in "$@"; do
        case "$arg" in
        --tls) tls=1 ;;
        -*) die "unknown option '$arg' for start (only --tls)" ;;
        *)
            [[ -z "$dir" ]] || usage
            dir="$arg"
            ;;
        esac
    done
    [[ -n "$dir" ]] || usage
    mkdir -p "$dir/data"
    dir="$(cd "$dir" && pwd)"
    if pid="$(running_pid "$dir")"; then
        die "a server is already running for $dir (pid $pid); run: $0 stop $dir"
    fi
    install_server

    local port="${S3_SERVER_PORT:-}"
    if [[ -z "$port" ]]; then
        port="$(free_port)" || die "could not find a free port (node needed)"
    fi
    if ! [[ "$port" =~ ^[1-9][0-9]{0,4}$ ]] || ((port > 65535)); then
        die "S3_SERVER_PORT must be a port number (1-65535), not '$port'"
    fi

    local access secret scheme host tls_args=()
    access="$(random_hex 10)"
    secret="$(random_hex 20)"
    scheme=http
    host=127.0.0.1
    if ((tls)); then
        make_certificate "$dir"
        scheme=https
        host=localhost
        tls_args=(--cert "$dir/s3-tls.crt" --key "$dir/s3-tls.key")
    fi

    # The credentials reach versitygw through its environment (ROOT_ACCESS_KEY, ROOT_SECRET_KEY),
    # never its command line, which every user can read in /proc. setsid: its own session, so a
    # terminal's signals and the caller's process group leave it alone until `stop`.
    ROOT_ACCESS_KEY="$access" ROOT_SECRET_KEY="$secret" setsid "$BINARY" \
        --port "127.0.0.1:$port" "${tls_args[@]}" posix "$dir/data" \
        </dev/null >"$dir/s3.log" 2>&1 &
    local pid=$!
    printf '%s\n' "$pid" >"$dir/s3.pid"

    (
        umask 077
        {
            printf 'S3_ENDPOINT=%s://%s:%s\n' "$scheme" "$host" "$port"
            printf 'AWS_ACCESS_KEY_ID=%s\nAWS_SECRET_ACCESS_KEY=%s\nAWS_REGION=us-east-1\n' "$access" "$secret"
            if ((tls)); then printf 'S3_CA_FILE=%s\n' "$dir/s3-tls.crt"; fi
        } >"$dir/s3.env.tmp"
        mv -f "$dir/s3.env.tmp" "$dir/s3.env"
    )

    # Ready = this pid listens on the port (not some other server that had it) and answers HTTP (an
    # unsigned request gets 403); a process that exits ends the wait at once.
    local waited=0 limit="${S3_SERVER_WAIT_SECONDS:-30}" curl_tls=()
    ((tls)) && curl_tls=(--cacert "$dir/s3-tls.crt")
    until [[ "$(ss -Hltnp "sport = :$port" 2>/dev/null)" == *"pid=$pid,"* &&
        "$(curl -s -o /dev/null -w '%{http_code}' "${curl_tls[@]}" "$scheme://$host:$port/" 2>/dev/null)" =~ ^[1-5] ]]; do
        if ! kill -0 "$pid" 2>/dev/null; then
            rm -f "$dir/s3.pid" "$dir/s3.env"
            die "versitygw exited at start (port $port taken?); the end of its log, $dir/s3.log: $(tail -n 1 "$dir/s3.log")"
        fi
        if ((waited >= limit * 10)); then
            stop_server "$dir"
            rm -f "$dir/s3.env"
            die "versitygw did not answer on $scheme://$host:$port within $limit s (log: $dir/s3.log)"
        fi
        sleep 0.1
        waited=$((waited + 1))
    done
    log "serving $dir/data on $scheme://$host:$port (pid $pid); credentials in $dir/s3.env"
}

# --- stop ------------------------------------------------------------------
stop_server() {
    local dir="${1:-}" pid waited=0
    [[ -n "$dir" ]] || usage
    if ! pid="$(running_pid "$dir")"; then
        rm -f "$dir/s3.pid"
        log "no server running for $dir"
        return 0
    fi
    kill -TERM "$pid" 2>/dev/null || true
    # Up to 10 s for a clean exit, then SIGKILL.
    while kill -0 "$pid" 2>/dev/null; do
        if ((waited == 100)); then
            log "pid $pid still running after SIGTERM; sending SIGKILL"
            kill -KILL "$pid" 2>/dev/null || true
        fi
        sleep 0.1
        waited=$((waited + 1))
    done
    rm -f "$dir/s3.pid"
    log "stopped the server for $dir (pid $pid)"
}

case "${1:-}" in
install) install_server ;;
start)
    shift
    start_server "$@"
    ;;
stop)
    shift
    stop_server "$@"
    ;;
*) usage ;;
esac
