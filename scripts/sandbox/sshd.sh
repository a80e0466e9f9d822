#!/usr/bin/env bash
# Starts the SSH server that the sandbox's emulated instances answer on: the emulator gives every
# instance the address 127.0.0.1 (--ip-mode loopback) and this sshd listens on 127.0.0.1:2222 only
# (never on the machine's other addresses) and accepts the sandbox user from loopback only.
# Installs Debian's openssh-server when missing. Idempotent.
#
#   scripts/sandbox/sshd.sh <state-dir>        starts it (prints the private key path on its last line)
#   scripts/sandbox/sshd.sh stop <state-dir>   stops the one this state dir started, if running
set -euo pipefail
MODE=start
if [ "${1:-}" = "stop" ]; then MODE=stop; shift; fi
STATE="${1:?usage: sshd.sh [stop] <state-dir>}"
# Absolute: sshd changes to / when it daemonizes, and its config names files under the state dir.
STATE="$(mkdir -p "$STATE" && cd "$STATE" && pwd)"
PORT="${SANDBOX_SSH_PORT:-2222}"
USER_NAME="${SANDBOX_SSH_USER:-orchestra-sandbox}"
log() { printf '[sandbox:sshd] %s\n' "$*" >&2; }

if [ "$MODE" = stop ]; then
  pid="$(cat "$STATE/ssh/sshd.pid" 2>/dev/null || true)"
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    kill "$pid"
    # Gone, not only signalled: the next start (or CI's leftover check) must not find it listening.
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$pid" 2>/dev/null; then log "ERROR: sshd (pid $pid) did not stop within 5 s"; exit 1; fi
    log "sshd stopped (pid $pid)"
  fi
  rm -f "$STATE/ssh/sshd.pid"
  exit 0
fi

if ! command -v /usr/sbin/sshd >/dev/null 2>&1; then
  log "installing openssh-server (Debian package)"
  if [ "$(id -u)" -ne 0 ]; then log "ERROR: not root: install openssh-server yourself (apt-get install openssh-server)"; exit 1; fi
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openssh-server >/dev/null
fi
mkdir -p "$STATE/ssh" /run/sshd
chmod 700 "$STATE/ssh"

if ! id "$USER_NAME" >/dev/null 2>&1; then
  log "creating user $USER_NAME (the sandbox nodes' login)"
  useradd --create-home --shell /bin/bash "$USER_NAME"
  # "*" = no password login, but not a locked account (sshd without PAM refuses locked ones).
  usermod -p "*" "$USER_NAME"
fi
HOME_DIR="$(getent passwd "$USER_NAME" | cut -d: -f6)"
# As on a Lambda node, the login user may use Docker: the Docker provider's ssh:// transport runs
# `docker system dial-stdio` as this user. The group exists once docker.io is installed.
if getent group docker >/dev/null && ! id -nG "$USER_NAME" | tr ' ' '\n' | grep -qx docker; then
  usermod -aG docker "$USER_NAME"
  log "added $USER_NAME to the docker group"
fi
# The nodes' private network (infra/emulator/options.ts SANDBOX_PRIVATE_NETWORK): the whole range
# is made local, so containers can bind a node's private address and reach the other nodes' (a
# 127.0.0.x address would be each container's own loopback). Stays until the machine restarts.
PRIVATE_NETWORK=198.18.0.0/24
if [ -z "$(ip route show table local "$PRIVATE_NETWORK" 2>/dev/null)" ]; then
  ip route add local "$PRIVATE_NETWORK" dev lo
  log "private network $PRIVATE_NETWORK made local on lo"
fi
# Where Lambda mounts a filesystem on a node (/lambda/nfs/<name>, writable by the login user); the
# data node's volumes bind directories under it.
install -d -m 755 /lambda
install -d -m 755 -o "$USER_NAME" -g "$USER_NAME" /lambda/nfs

# The operator's key pair for the sandbox (never committed: .sandbox/ is ignored).
if [ ! -f "$STATE/ssh/id_ed25519" ]; then
  ssh-keygen -q -t ed25519 -N '' -C "orchestra-sandbox" -f "$STATE/ssh/id_ed25519"
fi
[ -f "$STATE/ssh/host_ed25519" ] || ssh-keygen -q -t ed25519 -N '' -f "$STATE/ssh/host_ed25519"
install -d -m 700 -o "$USER_NAME" -g "$USER_NAME" "$HOME_DIR/.ssh"
# Added, not replaced: the sandbox user is the machine's, and another checkout's sandbox key stays valid.
touch "$HOME_DIR/.ssh/authorized_keys"
grep -qxF "$(cat "$STATE/ssh/id_ed25519.pub")" "$HOME_DIR/.ssh/authorized_keys" ||
  cat "$STATE/ssh/id_ed25519.pub" >>"$HOME_DIR/.ssh/authorized_keys"
chown "$USER_NAME:$USER_NAME" "$HOME_DIR/.ssh/authorized_keys"
chmod 600 "$HOME_DIR/.ssh/authorized_keys"

# This machine has no GPU and may have no Docker engine: the emulated nodes get clearly labelled
# stand-ins for the two tools the readiness step checks, first on the sandbox user's PATH.
NODE_BIN="$HOME_DIR/node-bin"
install -d -o "$USER_NAME" -g "$USER_NAME" "$NODE_BIN"
cat > "$NODE_BIN/nvidia-smi" <<'STANDIN'
#!/bin/sh
echo "GPU 0: Emulated GPU (sandbox stand-in: this machine has no GPU)"
STANDIN
cat > "$NODE_BIN/docker" <<'STANDIN'
#!/bin/sh
# The real Docker CLI whenever the machine has an engine, so its own errors show (a user who may
# not use the socket gets "permission denied"); the stand-in answers only where there is none.
if [ -x /usr/bin/docker ] && [ -S /var/run/docker.sock ]; then exec /usr/bin/docker "$@"; fi
[ "${1:-}" = "info" ] && { echo "Server: sandbox stand-in (no Docker engine on this machine)"; exit 0; }
echo "docker: sandbox stand-in supports only 'docker info'" >&2; exit 1
STANDIN
chmod 755 "$NODE_BIN/nvidia-smi" "$NODE_BIN/docker"

cat > "$STATE/ssh/sshd_config" <<CONF
Port $PORT
ListenAddress 127.0.0.1
HostKey $STATE/ssh/host_ed25519
PidFile $STATE/ssh/sshd.pid
PasswordAuthentication no
KbdInteractiveAuthentication no
PubkeyAuthentication yes
PermitRootLogin no
AllowUsers $USER_NAME@127.*
SetEnv PATH=$NODE_BIN:/usr/local/bin:/usr/bin:/bin
UsePAM no
LogLevel ERROR
CONF

our_pid() { [ -f "$STATE/ssh/sshd.pid" ] && cat "$STATE/ssh/sshd.pid"; }

if [ -n "$(our_pid)" ] && kill -0 "$(our_pid)" 2>/dev/null; then
  log "sshd already running (pid $(our_pid))"
else
  # Another checkout's sandbox sshd may hold the port; it answers with that checkout's host key
  # and stops answering once that checkout is gone (connections reset). Replace it with ours.
  # Only one that holds our port: another checkout's sandbox on another port is left alone.
  for pid in $(pgrep -f "sshd -f .*/\.sandbox/ssh/sshd_config" || true); do
    ss -ltnp "sport = :$PORT" 2>/dev/null | grep -q "pid=$pid," || continue
    log "stopping another checkout's sandbox sshd on the port (pid $pid: $(tr '\0' ' ' </proc/"$pid"/cmdline))"
    kill "$pid" 2>/dev/null || true
  done
  for _ in $(seq 1 50); do
    ss -ltn "sport = :$PORT" 2>/dev/null | grep -q LISTEN || break
    sleep 0.1
  done
  rm -f "$STATE/ssh/sshd.pid"
  /usr/sbin/sshd -t -f "$STATE/ssh/sshd_config"
  /usr/sbin/sshd -f "$STATE/ssh/sshd_config"
  # sshd daemonizes before it binds: wait for its pid file, so a port still taken is an error here.
  for _ in $(seq 1 50); do
    [ -n "$(our_pid)" ] && kill -0 "$(our_pid)" 2>/dev/null && break
    sleep 0.1
  done
  if [ -z "$(our_pid)" ] || ! kill -0 "$(our_pid)" 2>/dev/null; then
    log "ERROR: sshd did not start on port $PORT (is another process listening there? ss -ltnp 'sport = :$PORT')"
    exit 1
  fi
  log "sshd listening on port $PORT for $USER_NAME@127.* (pid $(our_pid))"
fi
echo "$STATE/ssh/id_ed25519"
