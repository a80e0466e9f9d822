#!/usr/bin/env bash
# Makes a Docker engine answer on this machine, for the services test tier and CI on a fresh box.
# Idempotent: installs Debian's docker.io when dockerd is missing, starts dockerd in the background
# when `docker info` fails, and waits (up to DOCKER_ENGINE_WAIT_S, default 60 s) for it to answer.
#
#   bash scripts/docker-engine.sh        # progress on stderr as "[docker-engine] ..."
#
# Flags are chosen by probing, not assumed (the sandbox has no systemd, cgroup v1, ext4 root):
#   --storage-driver  the driver already in the data root if any (switching would orphan images);
#                     else overlay2 when an overlay mount works on the data root's filesystem
#                     (it fails when the root is itself overlayfs, e.g. inside a container), else
#                     fuse-overlayfs when /dev/fuse and the binary exist, else vfs (slow, always works)
#   --exec-opt native.cgroupdriver  systemd only when systemd is PID 1, else cgroupfs
#   iptables          kept on (needed for bridge networks and -p); the nft backend is tried first and
#                     the legacy backend selected when nft cannot list the nat table
# Knobs: DOCKER_STORAGE_DRIVER (force a driver), DOCKERD_LOG (default /var/log/orchestra-dockerd.log),
#        DOCKER_ENGINE_WAIT_S, DOCKER_DATA_ROOT (default /var/lib/docker).
set -euo pipefail

LOG_FILE="${DOCKERD_LOG:-/var/log/orchestra-dockerd.log}"
WAIT_S="${DOCKER_ENGINE_WAIT_S:-60}"
DATA_ROOT="${DOCKER_DATA_ROOT:-/var/lib/docker}"
PID_FILE=/var/run/docker.pid

log() { printf '[docker-engine] %s\n' "$*" >&2; }
die() {
  log "ERROR: $*"
  if [ -f "$LOG_FILE" ]; then
    # The cause is usually one error line lost among gRPC chatter: errors first, then the tail.
    log "errors in $LOG_FILE (this start):"
    # shellcheck disable=SC2016 # `$` is sed's last-line address, not a shell expansion
    sed -n '/docker-engine.sh: dockerd/h; /docker-engine.sh: dockerd/!H; ${x;p}' "$LOG_FILE" |
      grep -E 'level=(error|fatal)|^failed to start' | tail -n 8 | sed 's/^/    /' >&2 || true
    log "last lines of $LOG_FILE (without gRPC chatter):"
    grep -v 'module=grpc' "$LOG_FILE" | tail -n 10 | sed 's/^/    /' >&2
  fi
  exit 1
}

SUDO=()
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null 2>&1 || die "not root and no sudo: dockerd and apt-get need root"
  SUDO=(sudo -n)
fi

engine_up() { docker info >/dev/null 2>&1; }

if command -v docker >/dev/null 2>&1 && engine_up; then
  log "engine already answering: $(docker info --format '{{.ServerVersion}} {{.Driver}} cgroup={{.CgroupDriver}}')"
  exit 0
fi

# --- 1. packages -------------------------------------------------------------------------------
if ! command -v dockerd >/dev/null 2>&1 || ! command -v iptables >/dev/null 2>&1; then
  log "installing docker.io and iptables from Debian (apt-get)"
  export DEBIAN_FRONTEND=noninteractive
  # A third-party source that is down (nodesource, cloud-sdk...) fails `update` as a whole while
  # Debian's own lists refreshed fine: warn and let the install decide.
  "${SUDO[@]}" apt-get update -q >/tmp/docker-engine-apt-update.log 2>&1 ||
    log "WARNING: apt-get update reported errors (see /tmp/docker-engine-apt-update.log); trying the install anyway"
  # No recommends: they pull apparmor, git, needrestart... none of which the engine needs here.
  "${SUDO[@]}" apt-get install -y -q --no-install-recommends docker.io iptables >/tmp/docker-engine-apt.log 2>&1 ||
    { tail -n 20 /tmp/docker-engine-apt.log >&2; die "apt-get install docker.io failed"; }
  log "installed $(dockerd --version)"
fi
command -v docker >/dev/null 2>&1 || die "no docker client on PATH after install"

# --- 2. a dockerd that is already starting: wait for it rather than start a second one ----------
# (dockerd refuses to start while its pid file names a live process.)
wait_for_engine() {
  local pid="$1" waited=0
  while [ "$waited" -lt "$WAIT_S" ]; do
    engine_up && return 0
    if [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null; then
      die "dockerd (pid $pid) exited during startup"
    fi
    sleep 1
    waited=$((waited + 1))
  done
  die "dockerd did not answer 'docker info' within ${WAIT_S} s"
}

if [ -s "$PID_FILE" ] && kill -0 "$(cat "$PID_FILE")" 2>/dev/null; then
  existing="$(cat "$PID_FILE")"
  log "dockerd already running (pid $existing) but not answering yet; waiting up to ${WAIT_S} s"
  wait_for_engine "$existing"
  log "engine up: $(docker info --format '{{.ServerVersion}} {{.Driver}}')"
  exit 0
fi

# --- 3. probe the flags ------------------------------------------------------------------------
overlay_mount_works() {
  # A real overlay mount on the data root's filesystem is the only reliable test.
  "${SUDO[@]}" mkdir -p "$DATA_ROOT"
  local probe
  probe="$("${SUDO[@]}" mktemp -d "$DATA_ROOT/.overlay-probe.XXXXXX")" || return 1
  "${SUDO[@]}" mkdir -p "$probe/l" "$probe/u" "$probe/w" "$probe/m"
  local ok=1
  if "${SUDO[@]}" mount -t overlay overlay -o "lowerdir=$probe/l,upperdir=$probe/u,workdir=$probe/w" "$probe/m" 2>/dev/null; then
    "${SUDO[@]}" umount "$probe/m" && ok=0
  fi
  "${SUDO[@]}" rm -rf "$probe"
  return "$ok"
}

storage_driver=""
daemon_json=/etc/docker/daemon.json
if [ -n "${DOCKER_STORAGE_DRIVER:-}" ]; then
  storage_driver="$DOCKER_STORAGE_DRIVER"
  log "storage driver forced by DOCKER_STORAGE_DRIVER: $storage_driver"
elif [ -f "$daemon_json" ] && grep -q '"storage-driver"' "$daemon_json"; then
  # dockerd refuses a flag that daemon.json also sets.
  log "storage driver comes from $daemon_json"
else
  for existing_driver in overlay2 fuse-overlayfs vfs; do
    if [ -d "$DATA_ROOT/$existing_driver" ] && [ -n "$(ls -A "$DATA_ROOT/$existing_driver" 2>/dev/null)" ]; then
      storage_driver="$existing_driver"
      log "storage driver: $storage_driver (already used by $DATA_ROOT)"
      break
    fi
  done
  if [ -z "$storage_driver" ]; then
    if overlay_mount_works; then
      storage_driver=overlay2
    elif [ -e /dev/fuse ] && command -v fuse-overlayfs >/dev/null 2>&1; then
      storage_driver=fuse-overlayfs
    else
      storage_driver=vfs
      log "overlay mounts fail here and fuse-overlayfs is unavailable: falling back to vfs (copies every layer)"
    fi
    log "storage driver: $storage_driver (probed)"
  fi
fi

if [ -d /run/systemd/system ]; then cgroup_driver=systemd; else cgroup_driver=cgroupfs; fi
if [ ! -d /sys/fs/cgroup ] || [ -z "$(ls -A /sys/fs/cgroup 2>/dev/null)" ]; then
  log "WARNING: /sys/fs/cgroup is empty: --memory/--cpus will not work until cgroups are mounted"
fi

iptables_flag=(--iptables=true)
if ! "${SUDO[@]}" iptables -t nat -L -n >/dev/null 2>&1; then
  if command -v iptables-legacy >/dev/null 2>&1 && "${SUDO[@]}" iptables-legacy -t nat -L -n >/dev/null 2>&1; then
    log "iptables (nft) cannot list the nat table; switching the alternative to iptables-legacy"
    "${SUDO[@]}" update-alternatives --set iptables /usr/sbin/iptables-legacy >/dev/null
    "${SUDO[@]}" update-alternatives --set ip6tables /usr/sbin/ip6tables-legacy >/dev/null 2>&1 || true
  else
    # Without iptables user-defined networks and their DNS still work, and docker-proxy still
    # publishes ports, but there is no NAT/isolation: say so loudly rather than fail.
    log "WARNING: neither iptables backend works here; starting dockerd with --iptables=false"
    iptables_flag=(--iptables=false)
  fi
fi

flags=(--data-root "$DATA_ROOT" --pidfile "$PID_FILE" --exec-opt "native.cgroupdriver=$cgroup_driver" "${iptables_flag[@]}")
[ -n "$storage_driver" ] && flags+=(--storage-driver "$storage_driver")

# --- 4. start and wait ---------------------------------------------------------------------------
"${SUDO[@]}" mkdir -p "$(dirname "$LOG_FILE")"
log "starting dockerd ${flags[*]} (log: $LOG_FILE)"
printf '\n=== %s docker-engine.sh: dockerd %s\n' "$(date -u +%FT%TZ)" "${flags[*]}" | "${SUDO[@]}" tee -a "$LOG_FILE" >/dev/null
# setsid + nohup + closed stdin: the daemon must outlive this script and not hold a caller's pipe
# open (a CI step piping us through tee would otherwise never end).
"${SUDO[@]}" setsid nohup dockerd "${flags[@]}" </dev/null >>"$LOG_FILE" 2>&1 &
# Without job control setsid execs dockerd in place, so $! is dockerd (or sudo, which lives as long).
dockerd_pid=$!
started_at=$SECONDS
wait_for_engine "$dockerd_pid"
log "engine up after $((SECONDS - started_at)) s: $(docker info --format '{{.ServerVersion}} driver={{.Driver}} cgroup={{.CgroupDriver}}')"
