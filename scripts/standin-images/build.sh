#!/usr/bin/env bash
# Builds the local stand-in images the services test tier runs, with no image registry:
#   1. a Debian bookworm rootfs from debootstrap (minbase) + apt-get in a chroot, cached as a tarball
#      in $ORCHESTRA_STANDIN_CACHE (default ~/.cache/orchestra-standins), outside the checkout;
#   2. `docker import` of it as orchestra-standin/base:bookworm;
#   3. one `docker build --network none` per image FROM that base (see each */Dockerfile).
# Every image carries org.orchestra.standin=true and org.orchestra.standin.hash=<hash of its
# inputs>; an image whose hash label already matches is not rebuilt, so a warm run is a no-op.
#
#   bash scripts/standin-images/build.sh            # progress on stderr as "[standins] ..."
#   STANDIN_FORCE=1 bash scripts/standin-images/build.sh   # rebuild the images (not the rootfs)
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
CACHE="${ORCHESTRA_STANDIN_CACHE:-$HOME/.cache/orchestra-standins}"
SUITE=bookworm
# postgresql-client-15 comes with postgresql-15; named anyway so the API stand-in's psql is explicit.
# The prometheus-* packages are the monitoring stand-ins' real binaries (Debian's 2.42 / 0.25 / 0.23
# / 1.5, about 165 MB installed, most of it prometheus + promtool); promtool and amtool come with them.
# pgbackrest, age, rclone, jq and cron are the backup image's tools (images/backup/Dockerfile finds
# them in this base and installs nothing: the test build has no network).
PACKAGES=(postgresql-15 postgresql-client-15 redis-server redis-tools python3 wget ca-certificates procps
  pgbackrest age rclone jq cron
  prometheus prometheus-alertmanager prometheus-blackbox-exporter prometheus-node-exporter)
BASE_TAG="orchestra-standin/base:$SUITE"
LABEL=org.orchestra.standin
# directory -> tag; the tags mirror the upstream images'; tests substitute them through the stack config's `images` key.
IMAGES=(postgres=orchestra-standin/postgres:15 redis=orchestra-standin/redis:7
  weaviate=orchestra-standin/weaviate:1.22.4 api=orchestra-standin/api:test
  mcp=orchestra-standin/mcp:test frontend=orchestra-standin/frontend:test
  prometheus=orchestra-standin/prometheus:2.42 alertmanager=orchestra-standin/alertmanager:0.25
  blackbox-exporter=orchestra-standin/blackbox-exporter:0.23 node-exporter=orchestra-standin/node-exporter:1.5
  cadvisor=orchestra-standin/cadvisor:test dcgm-exporter=orchestra-standin/dcgm-exporter:test)

started=$SECONDS
log() { printf '[standins] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
[ "$(id -u)" -eq 0 ] || die "run as root (debootstrap, chroot and mount need it)"

bash "$HERE/../docker-engine.sh"
mkdir -p "$CACHE"
# One build at a time per cache (two CI steps or test workers may call this concurrently).
exec 9>"$CACHE/.lock"
flock 9

label_of() { docker image inspect --format "{{ index .Config.Labels \"$LABEL.hash\" }}" "$1" 2>/dev/null || true; }

# The first `URIs:`/`deb` entry for a suite in the host's apt configuration (deb822 or one-line).
mirror_for() {
  local suite="$1" f uri=""
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    uri="$(awk -v s="$suite" '
      /^$/ { u = ""; ok = 0 }
      /^URIs:/ { u = $2 }
      /^Suites:/ { for (i = 2; i <= NF; i++) if ($i == s) ok = 1 }
      u != "" && ok { print u; exit }' "$f")"
    [ -n "$uri" ] && { echo "$uri"; return; }
  done
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -f "$f" ] || continue
    uri="$(awk -v s="$suite" '$1 == "deb" { sub(/^\[[^]]*\] */, "", $0); }
      $1 == "deb" { for (i = 2; i < NF; i++) if ($(i + 1) == s && $i ~ /^https?:/) { print $i; exit } }' "$f")"
    [ -n "$uri" ] && { echo "$uri"; return; }
  done
}

# Builds the rootfs tarball $1. Its own text is part of the base hash: editing it rebuilds the base.
make_rootfs() {
  local out="$1" mirror security work
  mirror="$(mirror_for "$SUITE")"
  # No built-in fallback host: debootstrap uses the Debian mirror this machine's apt is configured with.
  [ -n "$mirror" ] || die "no Debian mirror for '$SUITE' in /etc/apt/sources.list*; add a 'deb <mirror> $SUITE main' line"
  security="$(mirror_for "$SUITE-security")"
  if ! command -v debootstrap >/dev/null 2>&1; then
    log "installing debootstrap (apt-get)"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends debootstrap >/dev/null 2>&1 ||
      { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends debootstrap >/dev/null; } ||
      die "could not install debootstrap"
  fi
  work="$(mktemp -d "$CACHE/rootfs.XXXXXX")"
  # shellcheck disable=SC2064 # expand now: $work is local
  trap "umount '$work/root/proc' 2>/dev/null || true; rm -rf '$work'" EXIT
  log "debootstrap --variant=minbase $SUITE from $mirror (log: $CACHE/debootstrap.log)"
  debootstrap --variant=minbase --include=ca-certificates "$SUITE" "$work/root" "$mirror" >"$CACHE/debootstrap.log" 2>&1 ||
    { tail -n 20 "$CACHE/debootstrap.log" >&2; die "debootstrap failed"; }

  local root="$work/root"
  {
    echo "deb $mirror $SUITE main"
    echo "deb $mirror $SUITE-updates main"
    [ -n "$security" ] && echo "deb $security $SUITE-security main"
  } >"$root/etc/apt/sources.list"
  # No service may start inside the chroot, and the stand-in entrypoint runs initdb itself: the
  # package's default cluster would only be dead weight in every image.
  printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
  chmod 755 "$root/usr/sbin/policy-rc.d"
  mkdir -p "$root/etc/postgresql-common"
  echo 'create_main_cluster = false' >"$root/etc/postgresql-common/createcluster.conf"
  mount -t proc proc "$root/proc"
  log "apt-get install ${PACKAGES[*]} (chroot; log: $CACHE/chroot-apt.log)"
  {
    chroot "$root" apt-get update -q &&
      chroot "$root" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${PACKAGES[@]}" &&
      chroot "$root" apt-get clean
  } >"$CACHE/chroot-apt.log" 2>&1 || { tail -n 20 "$CACHE/chroot-apt.log" >&2; die "apt-get in the chroot failed"; }
  umount "$root/proc"
  rm -rf "$root"/var/lib/apt/lists/* "$root"/usr/share/doc/* "$root"/usr/share/man/* "$root"/var/cache/debconf/*-old \
    "$root"/var/log/*.log "$root"/etc/resolv.conf "$root"/etc/hostname "$root"/usr/share/i18n
  # Halves the image: message translations, and the LLVM JIT that postgresql-15 depends on (about
  # 130 MB with libz3). Without llvmjit.so Postgres skips JIT silently; nothing else uses LLVM.
  find "$root/usr/share/locale" -mindepth 1 -maxdepth 1 ! -name locale.alias -exec rm -rf {} +
  rm -rf "$root"/usr/lib/x86_64-linux-gnu/libLLVM-* "$root"/usr/lib/x86_64-linux-gnu/libz3.so.* \
    "$root"/usr/lib/postgresql/15/lib/llvmjit* "$root"/usr/lib/postgresql/15/lib/bitcode
  # Smaller trims (about 25 MB) nothing here loads: Perl's C headers and CJK encoding tables (perl
  # only runs postgresql-common's wrappers), glibc's iconv charsets beyond the UTF/Latin ones, and
  # Python's bundled test/IDE/packaging modules.
  local perl="$root/usr/lib/x86_64-linux-gnu/perl/5.36.0"
  rm -rf "$perl"/CORE/*.h "$perl"/auto/Encode/{JP,KR,CN,TW} "$perl"/Encode/{JP,KR,CN,TW} "$perl"/Encode/{JP,KR,CN,TW}.pm
  find "$root/usr/lib/x86_64-linux-gnu/gconv" -name '*.so' ! -name 'UTF-*' ! -name 'UNICODE.so' ! -name 'ISO8859-1.so' -delete
  rm -rf "$root"/usr/lib/python3.11/{test,lib2to3,pydoc_data,ensurepip,idlelib,tkinter,turtledemo}
  # About 210 MB: libjs-moment-timezone (a dependency of prometheus' classic web UI) ships the time
  # zone data of every tzdata release since 2014 as separate JSON files. The UI loads only the
  # moment-timezone-with-data*.js bundles beside them, which carry their own data.
  rm -rf "$root"/usr/share/javascript/moment-timezone/data
  # Docker provides /dev, /proc and /sys at run time.
  tar --numeric-owner --xattrs -C "$root" --exclude='./dev/*' --exclude='./proc/*' --exclude='./sys/*' -cf "$out.tmp" .
  mv "$out.tmp" "$out"
  rm -rf "$work"
  trap - EXIT
}

# --- base ------------------------------------------------------------------------------------------
base_hash="$(printf '%s\n' "$SUITE" "${PACKAGES[*]}" "$(declare -f make_rootfs)" | sha256sum | cut -c1-16)"
tarball="$CACHE/base-$SUITE-$base_hash.tar"
if [ "$(label_of "$BASE_TAG")" = "$base_hash" ]; then
  log "$BASE_TAG up to date ($base_hash)"
else
  if [ -s "$tarball" ]; then
    log "reusing cached rootfs $tarball"
  else
    t0=$SECONDS
    make_rootfs "$tarball"
    log "rootfs built in $((SECONDS - t0)) s: $tarball ($(du -h "$tarball" | cut -f1))"
  fi
  # Older tarballs are dead weight once the recipe changed.
  find "$CACHE" -maxdepth 1 -name "base-$SUITE-*.tar" ! -name "base-$SUITE-$base_hash.tar" -delete
  log "docker import $BASE_TAG"
  docker import \
    --change "LABEL $LABEL=true $LABEL.hash=$base_hash" \
    --change 'ENV LANG=C.UTF-8 PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'CMD ["bash"]' \
    "$tarball" "$BASE_TAG" >/dev/null
fi

# --- images ----------------------------------------------------------------------------------------
# Hash of the files an image is built from (its directory and the shared common/), plus the base.
inputs_hash() {
  local dir="$1"
  {
    echo "$base_hash"
    (cd "$HERE" && find "$dir" common -type f -print0 | sort -z | xargs -0 sha256sum)
  } | sha256sum | cut -c1-16
}

export DOCKER_BUILDKIT=0 # the classic builder uses the local base image and needs no buildx plugin
for entry in "${IMAGES[@]}"; do
  dir="${entry%%=*}" tag="${entry#*=}"
  hash="$(inputs_hash "$dir")"
  if [ -z "${STANDIN_FORCE:-}" ] && [ "$(label_of "$tag")" = "$hash" ]; then
    log "$tag up to date ($hash)"
    continue
  fi
  t0=$SECONDS
  # --network none: nothing in a build may reach out; the base already holds every package.
  if ! docker build --network none --label "$LABEL=true" --label "$LABEL.hash=$hash" -t "$tag" \
    -f "$HERE/$dir/Dockerfile" "$HERE" >"$CACHE/build-$dir.log" 2>&1; then
    tail -n 20 "$CACHE/build-$dir.log" >&2
    die "docker build $tag failed (log: $CACHE/build-$dir.log)"
  fi
  log "built $tag ($hash) in $((SECONDS - t0)) s"
done

# Images replaced by a rebuild are left untagged; drop ours only.
docker image prune -f --filter "label=$LABEL=true" >/dev/null
log "done in $((SECONDS - started)) s"
