#!/usr/bin/env bash
# Redis: an RDB snapshot (`redis-cli --rdb`), encrypted with age, as `dump.rdb.age`; and its restore
# into the data directory of a stopped Redis. Settings: REDIS_HOST, REDIS_PORT; REDIS_DATA_DIR for a
# restore (default /data, the store's volume mounted in this container). Secret: redisPassword,
# passed to redis-cli as REDISCLI_AUTH (never `-a`, which is argv).

# The object a Redis backup stores.
REDIS_OBJECT=dump.rdb.age
# A restore's exit status when it failed while replacing the files: the data directory may hold part
# of the old and part of the new (every earlier failure exits 1 with nothing changed). npm run
# backup -- restore starts Redis again only after the latter.
REDIS_RESTORE_PARTIAL=4

redis_auth() {
  REDISCLI_AUTH="$(secret_value redisPassword)" || exit 1
  export REDISCLI_AUTH
}

# redis-cli against the store, with its answer's trailing CR removed.
redis_query() {
  redis-cli -h "$REDIS_HOST" -p "$REDIS_PORT" --no-auth-warning "$@" | tr -d '\r'
}

# `orchestra-backup run redis rdb`
run_redis_rdb() {
  REDIS_HOST="$(setting REDIS_HOST)" || exit 1
  REDIS_PORT="$(setting REDIS_PORT)" || exit 1
  redis_auth
  begin_backup redis rdb
  local version recipient
  version="$(redis_query INFO server | sed -n 's/^redis_version://p')" || version=""
  [ -n "$version" ] || die "redis $BACKUP_ID: no answer from Redis at $REDIS_HOST:$REDIS_PORT (INFO server)"
  # A replica's full sync (what --rdb is) waits repl-diskless-sync-delay (5 s by default) for more
  # replicas to share it. The stores run no replicas, so nothing is lost by not waiting; the
  # setting is the server's runtime one (its config comes on stdin, so CONFIG REWRITE cannot keep it).
  [ "$(redis_query CONFIG SET repl-diskless-sync-delay 0 || true)" = OK ] ||
    die "redis $BACKUP_ID: CONFIG SET repl-diskless-sync-delay 0 refused"
  log "redis $BACKUP_ID: dumping (Redis $version at $REDIS_HOST:$REDIS_PORT)"
  # To a file, not `--rdb -`: on stdout redis-cli 7.0 leaves the diskless sync's 40-byte EOF mark at
  # the end (it truncates only a file). The snapshot is at most Redis's memory, so a file is fine.
  redis-cli -h "$REDIS_HOST" -p "$REDIS_PORT" --no-auth-warning --rdb "$WORK/dump.rdb" >"$WORK/redis-cli.out" 2>&1 ||
    die "redis $BACKUP_ID: redis-cli --rdb failed: $(tail -n 1 "$WORK/redis-cli.out")"
  redis-check-rdb "$WORK/dump.rdb" >"$WORK/check.out" 2>&1 ||
    die "redis $BACKUP_ID: the snapshot does not check (redis-check-rdb): $(tail -n 1 "$WORK/check.out")"
  log "redis $BACKUP_ID: snapshot of $(stat -c %s "$WORK/dump.rdb") bytes"
  recipient="$(age_recipient)" || exit 1
  # Under set -e a failed pipeline would end the run before its statuses are read.
  set +e
  age -r "$recipient" <"$WORK/dump.rdb" | upload_stream "$REDIS_OBJECT"
  local statuses=("${PIPESTATUS[@]}")
  set -e
  [ "${statuses[*]}" = "0 0" ] || die "redis $BACKUP_ID: encrypting or uploading failed (age, upload: ${statuses[*]})"
  rm -f "$WORK/dump.rdb"
  finish_backup "$version" age
}

# Whether something listens on REDIS_HOST:REDIS_PORT (when they are set): a restore must not write
# under a running Redis, which would overwrite the restored files at its next save.
# shellcheck disable=SC2016 # $1 and $2 are the inner bash's arguments
redis_running() {
  [ -n "${REDIS_HOST:-}" ] && [ -n "${REDIS_PORT:-}" ] &&
    timeout 3 bash -c 'exec 3<>"/dev/tcp/$1/$2"' _ "$REDIS_HOST" "$REDIS_PORT" 2>/dev/null
}

# `orchestra-backup restore redis <backupId>`: with Redis stopped and its data volume at
# REDIS_DATA_DIR. Redis 7.0 with `appendonly yes` (the stores' setting) loads only its AOF directory
# at start: given a dump.rdb but no appendonlydir it starts EMPTY and writes a new empty AOF base
# (checked on Debian's 7.0.15). So the snapshot is installed both as dump.rdb (for appendonly no)
# and as the AOF base: appendonlydir/appendonly.aof.1.base.rdb with a manifest naming only it
# (7.0's multi-part AOF accepts an RDB-format base; the names are Redis's defaults, which the
# stores keep). The files it replaces are moved to REDIS_DATA_DIR/before-restore-<UTC time>/, not
# deleted: an operator removes them once the restored data is confirmed.
restore_redis_rdb() {
  [ $# -eq 1 ] || die "usage: orchestra-backup restore redis <backupId>"
  local id="$1" dir="${REDIS_DATA_DIR:-/data}" aside owner
  [ -d "$dir" ] || die "redis $id: REDIS_DATA_DIR $dir is not a directory (mount the store's data volume there)"
  if redis_running; then
    die "redis $id: Redis answers at $REDIS_HOST:$REDIS_PORT; stop it before a restore (it would overwrite the restored files)"
  fi
  fetch_backup redis "$id"
  jq -e --arg key "$REDIS_OBJECT" '.objects | map(.key) == [$key]' "$WORK/manifest.json" >/dev/null ||
    die "redis $id: the manifest lists $(jq -c '[.objects[].key]' "$WORK/manifest.json"), not [\"$REDIS_OBJECT\"]"
  decrypt_object "$REDIS_OBJECT" >"$WORK/dump.rdb" || die "redis $id: decrypting $REDIS_OBJECT failed (age)"
  redis-check-rdb "$WORK/dump.rdb" >"$WORK/check.out" 2>&1 ||
    die "redis $id: the snapshot does not check (redis-check-rdb): $(tail -n 1 "$WORK/check.out")"
  # The new files first, beside the live ones, and compared with the snapshot: a full disk fails
  # here, with the live files untouched (exit 1, as every failure before the swap).
  local new_aof="$dir/appendonlydir.new" new_rdb="$dir/dump.rdb.new"
  owner="$(stat -c %u:%g "$dir")"
  rm -rf "$new_aof" "$new_rdb"
  if ! {
    mkdir "$new_aof" &&
      cp "$WORK/dump.rdb" "$new_aof/appendonly.aof.1.base.rdb" &&
      printf 'file appendonly.aof.1.base.rdb seq 1 type b\n' >"$new_aof/appendonly.aof.manifest" &&
      cp "$WORK/dump.rdb" "$new_rdb" &&
      cmp -s "$WORK/dump.rdb" "$new_aof/appendonly.aof.1.base.rdb" &&
      cmp -s "$WORK/dump.rdb" "$new_rdb" &&
      # The files belong to whoever owns the data directory (the official image runs Redis as redis).
      chown -R "$owner" "$new_aof" "$new_rdb"
  } 2>"$WORK/write.err"; then
    rm -rf "$new_aof" "$new_rdb"
    die "redis $id: writing the restored files into $dir failed, nothing replaced: $(tail -n 1 "$WORK/write.err")"
  fi
  # Still down? A CLI that lost its connection may have started Redis again meanwhile.
  if redis_running; then
    rm -rf "$new_aof" "$new_rdb"
    die "redis $id: Redis answers at $REDIS_HOST:$REDIS_PORT again; nothing replaced (stop it and restore again)"
  fi
  # The swap: renames inside one directory (no space needed). The files it replaces go aside, not
  # away: an operator removes them once the restored data is confirmed. A failed rename puts back
  # what it can and exits 4: the directory may hold part of each (REDIS_RESTORE_PARTIAL).
  aside="$dir/before-restore-$(date -u +%Y%m%dT%H%M%SZ)"
  local previous=0
  if [ -e "$dir/dump.rdb" ] || [ -e "$dir/appendonlydir" ]; then previous=1; fi
  if ! {
    { [ "$previous" -eq 0 ] || mkdir -p "$aside"; } &&
      { [ ! -e "$dir/dump.rdb" ] || mv "$dir/dump.rdb" "$aside/"; } &&
      { [ ! -e "$dir/appendonlydir" ] || mv "$dir/appendonlydir" "$aside/"; } &&
      mv "$new_aof" "$dir/appendonlydir" &&
      mv "$new_rdb" "$dir/dump.rdb"
  } 2>"$WORK/swap.err"; then
    [ -e "$dir/appendonlydir" ] || [ ! -e "$aside/appendonlydir" ] || mv "$aside/appendonlydir" "$dir/" || true
    [ -e "$dir/dump.rdb" ] || [ ! -e "$aside/dump.rdb" ] || mv "$aside/dump.rdb" "$dir/" || true
    log "ERROR: redis $id: replacing the files in $dir failed: $(tail -n 1 "$WORK/swap.err"); look at $dir and $aside before starting Redis"
    exit "$REDIS_RESTORE_PARTIAL"
  fi
  [ "$previous" -eq 0 ] || log "redis $id: moved the previous dump.rdb and appendonlydir to $aside"
  log "redis $id: restored into $dir ($(stat -c %s "$dir/dump.rdb") bytes as dump.rdb and the AOF base); start Redis"
}
