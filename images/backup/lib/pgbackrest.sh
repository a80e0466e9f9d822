#!/usr/bin/env bash
# Postgres with point-in-time recovery through pgBackRest 2.45 (issue 11). Sourced by the
# dispatcher. Commands:
#   orchestra-backup wal-push [--once]            push the WAL spool every WAL_PUSH_INTERVAL_SECONDS
#   orchestra-backup stanza-create                create the stanza (idempotent)
#   orchestra-backup run postgres full|diff       a backup (`pgbackrest backup --type=...`), then its
#                                                 <prefix>/<stack>/postgres/<backupId>/manifest.json
#   orchestra-backup restore postgres --at TIME | --latest [--in-place]
#                                                 restore into the empty data directory (or over
#                                                 the stopped cluster): to TIME (ISO 8601 with a
#                                                 zone), or to the archive's end
#   orchestra-backup pgbackrest-verify            `pgbackrest verify`: every file's checksum in the repo
#   orchestra-backup pgbackrest-info              `pgbackrest info --output=json` on stdout
#
# pgBackRest reads /etc/pgbackrest/pgbackrest.conf (components/backupsFiles.ts renders it: no
# secret in it) and, for the secrets, PGBACKREST_REPO1_S3_KEY, PGBACKREST_REPO1_S3_KEY_SECRET and
# PGBACKREST_REPO1_CIPHER_PASS, which pgbr_env sets from the secret files in this process only.
# It runs as the uid that owns the data directory (setpriv): Postgres's own files are mode 0700/0600,
# and the archive it pushes is checked against that cluster's pg_control.
#
# Postgres's archive_command only copies each finished segment into WAL_SPOOL (its own volume,
# shared with this container). A restore cannot give Postgres pgBackRest's archive-get (the server's
# container has neither pgBackRest nor the bucket's keys), so it fetches the WAL the recovery needs
# into WAL_SPOOL/restore/ beforehand and points restore_command there; wal-push removes that folder
# once the cluster has left recovery. The spool's path must contain "pgbackrest": pgBackRest's
# backup refuses any archive_command without that word (`ERROR: [068]: archive_command '...' must
# contain pgbackrest`), a check that comes with archive-check (the backup waits for its WAL).

PGBR_STANZA="${PGBR_STANZA:-orchestra}"
PGBR_CONFIG="${PGBR_CONFIG:-/etc/pgbackrest/pgbackrest.conf}"
# The folder in the spool a restore fills for restore_command.
PGBR_RESTORE_DIR=restore
# What Postgres's archiver leaves in the spool: segments, timeline histories, backup history files.
PGBR_WAL_NAME='^([0-9A-F]{24}|[0-9A-F]{24}\.partial|[0-9A-F]{8}\.history|[0-9A-F]{24}\.[0-9A-F]{8}\.backup)$'

# The value of `option` in pgBackRest's config (first occurrence; the stanza's options are unique).
pgbr_option() {
  local option="$1" value
  value="$(sed -n "s/^${option}=//p" "$PGBR_CONFIG" | head -n 1)"
  [ -n "$value" ] || die "pgBackRest: no $option in $PGBR_CONFIG"
  printf '%s\n' "$value"
}

# pgBackRest's secrets as its own PGBACKREST_* variables, exported in this process only (the
# dispatcher's). BACKUP_CA_FILE (a test's self-signed server) becomes repo1-storage-ca-file.
pgbr_env() {
  [ -r "$PGBR_CONFIG" ] || die "pgBackRest: no config $PGBR_CONFIG"
  PGBACKREST_REPO1_S3_KEY="$(secret_value backupAccessKeyId)" || exit 1
  PGBACKREST_REPO1_S3_KEY_SECRET="$(secret_value backupSecretAccessKey)" || exit 1
  PGBACKREST_REPO1_CIPHER_PASS="$(secret_value backupEncryptionKey)" || exit 1
  export PGBACKREST_REPO1_S3_KEY PGBACKREST_REPO1_S3_KEY_SECRET PGBACKREST_REPO1_CIPHER_PASS
  if [ -n "${BACKUP_CA_FILE:-}" ]; then
    [ -r "$BACKUP_CA_FILE" ] || die "BACKUP_CA_FILE $BACKUP_CA_FILE is unreadable"
    export PGBACKREST_REPO1_STORAGE_CA_FILE="$BACKUP_CA_FILE"
  fi
}

# `uid:gid` pgBackRest runs as: the data directory's owner, else (an empty root-owned volume for a
# restore) the image's postgres user.
pgbr_owner() {
  local data owner
  data="$(pgbr_option pg1-path)"
  owner="$(stat -c '%u:%g' "$data" 2>/dev/null || true)"
  if [ -z "$owner" ] || [ "$owner" = "0:0" ]; then
    owner="$(id -u postgres):$(id -g postgres)" || die "no postgres user to own $data"
  fi
  printf '%s\n' "$owner"
}

# Runs `pgbackrest --stanza=<stanza> "$@"` as the cluster's owner, with pgbr_env's variables.
pgbr() {
  local owner
  owner="$(pgbr_owner)"
  setpriv --reuid="${owner%%:*}" --regid="${owner##*:}" --clear-groups \
    pgbackrest --stanza="$PGBR_STANZA" "$@"
}

# The spool's folder, checked.
pgbr_spool() {
  local spool="${WAL_SPOOL:-}"
  [ -n "$spool" ] || die "WAL_SPOOL is not set"
  [ -d "$spool" ] || die "WAL_SPOOL $spool is not a directory"
  printf '%s\n' "$spool"
}

# One round: pushes every finished file in the spool in name order, deleting each once pushed. A
# failure keeps that file and the later ones for the next round (returns 1). Also removes a
# restore's WAL folder once the cluster is out of recovery (no recovery.signal).
# Rounds run one at a time (flock on locks/wal-push, waiting): `npm run backup -- restore` runs
# `wal-push --once` beside the scheduler's pusher, and two rounds on one spool were seen to fail
# (one pushed and deleted the segment the other was pushing; they share .push-error).
pgbr_push_round() {
  mkdir -p "$STATE_DIR/locks"
  (
    flock 9
    pgbr_push_files "$1"
  ) 9>"$STATE_DIR/locks/wal-push"
}

pgbr_push_files() {
  local spool="$1" data name pushed=0
  data="$(pgbr_option pg1-path)"
  # Only a RUNNING cluster (postmaster.pid) without recovery.signal has left recovery: during an
  # in-place restore the stopped cluster has PG_VERSION and no signal yet, and its WAL must stay.
  if [ -d "$spool/$PGBR_RESTORE_DIR" ] && [ -e "$data/postmaster.pid" ] && [ ! -e "$data/recovery.signal" ]; then
    rm -rf "${spool:?}/$PGBR_RESTORE_DIR"
    log "wal-push: the cluster left recovery; removed the restore's WAL from the spool"
  fi
  while IFS= read -r name; do
    if ! pgbr archive-push "$spool/$name" >/dev/null 2>"$spool/.push-error"; then
      log "wal-push: archive-push $name failed (kept for the next round): $(tail -n 1 "$spool/.push-error")"
      return 1
    fi
    rm -f "${spool:?}/$name"
    pushed=$((pushed + 1))
  done < <(find "$spool" -mindepth 1 -maxdepth 1 -type f -printf '%f\n' | grep -E "$PGBR_WAL_NAME" | LC_ALL=C sort)
  rm -f "$spool/.push-error"
  [ "$pushed" -eq 0 ] || log "wal-push: pushed $pushed file(s)"
}

# orchestra-backup wal-push [--once]: the spool pusher (a loop; --once: one round, its status).
cmd_wal_push() {
  local once=0 spool interval owner
  case "${1:-}" in
  --once) once=1 ;;
  "") ;;
  *) die "usage: orchestra-backup wal-push [--once]" ;;
  esac
  pgbr_env
  spool="$(pgbr_spool)"
  interval="${WAL_PUSH_INTERVAL_SECONDS:-10}"
  [[ "$interval" =~ ^[1-9][0-9]*$ ]] || die "WAL_PUSH_INTERVAL_SECONDS must be a whole number of seconds, not '$interval'"
  # Postgres's archiver (the cluster's owner) writes here; a fresh volume is root's.
  owner="$(pgbr_owner)"
  chown "$owner" "$spool"
  chmod 0700 "$spool"
  if [ "$once" -eq 1 ]; then
    pgbr_push_round "$spool"
    return
  fi
  log "wal-push: pushing $spool every $interval s"
  while true; do
    pgbr_push_round "$spool" || true
    sleep "$interval"
  done
}

# orchestra-backup stanza-create: pgBackRest's stanza for this cluster (a no-op when it exists).
cmd_stanza_create() {
  pgbr_env
  pgbr stanza-create
}

# `orchestra-backup run postgres full|diff` (common.sh's cmd_run dispatches here by kind).
pgbr_backup() {
  local type="$1"
  pgbr_env
  log "postgres: pgBackRest $type backup"
  pgbr backup --type="$type"
  log "postgres: $type backup done"
  pgbr_write_manifest
}
run_postgres_full() { pgbr_backup full; }
run_postgres_diff() { pgbr_backup diff; }

# `key<TAB>size<TAB>sha256` of every object under the repository folder `rel` (relative to
# repo1-path), sorted by key; the SHA-256 of the stored bytes, re-read from the bucket.
pgbr_stored_objects() {
  local rel="$1" base sizes hashes
  base="backup:${BACKUP_BUCKET:?BACKUP_BUCKET is not set}$(pgbr_option repo1-path)/$rel"
  sizes="$(rclone lsjson -R --files-only "$base" | jq -r '.[] | "\(.Path)\t\(.Size)"' | LC_ALL=C sort)"
  hashes="$(rclone hashsum sha256 --download "$base" | awk '{ print $2 "\t" $1 }' | LC_ALL=C sort)"
  LC_ALL=C join -t "$(printf '\t')" <(printf '%s\n' "$sizes") <(printf '%s\n' "$hashes") |
    awk -v rel="$rel" -F '\t' 'NF == 3 { print rel "/" $1 "\t" $2 "\t" $3 }'
}

# After a backup: `<prefix>/<stack>/postgres/<backupId>/` gets `pgbackrest-set.json` (pgBackRest's
# label, type, the sets it depends on, its WAL range, and the repository objects it added: its own
# files and the WAL from its start to its stop, each with size and SHA-256 of the stored bytes,
# keyed relative to the repository) and then, LAST, manifest.json (infra/backup/manifest.ts) listing that record.
# The manifest cannot list pgBackRest's objects themselves: its keys are relative to the backup's
# folder and layout.ts refuses "..".
pgbr_write_manifest() {
  local info set label type start stop backupId folder tmp engine archive size sha
  rclone_setup
  info="$(pgbr info --output=json)"
  set="$(jq -c '.[0].backup[-1]' <<<"$info")"
  label="$(jq -r '.label' <<<"$set")"
  type="$(jq -r '.type' <<<"$set")"
  start="$(jq -r '.timestamp.start' <<<"$set")"
  stop="$(jq -r '.timestamp.stop' <<<"$set")"
  archive="$(jq -r '.[0].archive[-1].id' <<<"$info")"
  backupId="$(date -u -d "@$start" +%Y%m%dT%H%M%SZ)-$type"
  folder="${BACKUP_PREFIX:?BACKUP_PREFIX is not set}/${BACKUP_STACK:?BACKUP_STACK is not set}/postgres/$backupId"
  engine="$(psql -h "$(pgbr_option pg1-socket-path)" -p "$(pgbr_option pg1-port)" -U "$(pgbr_option pg1-user)" \
    -d postgres -Atc 'show server_version')" || die "postgres: could not read the server's version"
  # Under the run's scratch directory, which is removed however the run ends.
  work_dir
  tmp="$WORK/pgbackrest-set"
  mkdir -p "$tmp"
  {
    # Its own files only: a differential's unchanged files are the full's, which its own record
    # lists (`reference` names it); re-reading the full every day would double the reads.
    pgbr_stored_objects "backup/$PGBR_STANZA/$label"
    # The WAL from the backup's start to its stop: what makes the copy consistent.
    pgbr_stored_objects "archive/$PGBR_STANZA/$archive/$(jq -r '.archive.start[0:16]' <<<"$set")" |
      awk -F '\t' -v from="$(jq -r '.archive.start' <<<"$set")" -v to="$(jq -r '.archive.stop' <<<"$set")" '
        { n = split($1, p, "/"); seg = substr(p[n], 1, 24) }
        substr(p[n], 25, 1) == "-" && seg >= from && seg <= to'
  } | LC_ALL=C sort >"$tmp/objects.tsv"
  # A full lists a file per relation: too long for an argument, so through files.
  jq -R -s -c 'split("\n") | map(select(. != "") | split("\t") | {key: .[0], size: (.[1] | tonumber), sha256: .[2]})' \
    <"$tmp/objects.tsv" >"$tmp/objects.json"
  jq -n --arg stanza "$PGBR_STANZA" --argjson set "$set" --arg archive "$archive" \
    --arg repository "${BACKUP_PREFIX}/${BACKUP_STACK}/postgres/pgbackrest/" --slurpfile objects "$tmp/objects.json" \
    '{stanza: $stanza, label: $set.label, type: $set.type, reference: ($set.reference // []),
      archiveId: $archive, archiveStart: $set.archive.start, archiveStop: $set.archive.stop,
      repository: $repository, objects: $objects[0]}' >"$tmp/pgbackrest-set.json"
  rclone copyto "$tmp/pgbackrest-set.json" "backup:$BACKUP_BUCKET/$folder/pgbackrest-set.json" ||
    die "postgres: uploading $folder/pgbackrest-set.json failed"
  size="$(stat -c %s "$tmp/pgbackrest-set.json")"
  sha="$(sha256sum "$tmp/pgbackrest-set.json" | cut -d ' ' -f 1)"
  jq -n --arg stack "$BACKUP_STACK" --arg backupId "$backupId" --arg version "${engine%% *}" \
    --arg startedAt "$(date -u -d "@$start" +%Y-%m-%dT%H:%M:%S.000Z)" \
    --arg finishedAt "$(date -u -d "@$stop" +%Y-%m-%dT%H:%M:%S.000Z)" \
    --argjson size "$size" --arg sha "$sha" \
    '{version: 1, store: "postgres", stack: $stack, backupId: $backupId,
      engine: {name: "postgres", version: $version}, startedAt: $startedAt, finishedAt: $finishedAt,
      encryption: "pgbackrest-aes-256-cbc",
      objects: [{key: "pgbackrest-set.json", size: $size, sha256: $sha}]}' >"$tmp/manifest.json"
  rclone copyto "$tmp/manifest.json" "backup:$BACKUP_BUCKET/$folder/manifest.json" ||
    die "postgres: uploading $folder/manifest.json failed"
  log "postgres: manifest written: $folder/manifest.json ($label, $(jq length "$tmp/objects.json") repository objects)"
  rm -rf "$tmp"
  # The run's status (common.sh cmd_run): this backup is complete.
  record_backup "$backupId" "$(date -u -d "@$stop" +%Y-%m-%dT%H:%M:%S.000Z)"
}

# Fetches every WAL file a recovery from the restored backup may ask for (timeline histories, and
# each segment from the backup's start on, all timelines) into `dir` through archive-get.
pgbr_fetch_wal() {
  local data="$1" dir="$2" start archive names count=0 name
  start="$(sed -n 's/^START WAL LOCATION: .* (file \([0-9A-F]\{24\}\))$/\1/p' "$data/backup_label")"
  [ -n "$start" ] || die "restore: no START WAL LOCATION in $data/backup_label"
  archive="$(pgbr info --output=json | jq -r '.[0].archive[-1].id // empty')"
  [ -n "$archive" ] || die "restore: the repository has no WAL archive"
  names="$(pgbr repo-ls --recurse --output=json "archive/$PGBR_STANZA/$archive" |
    jq -r 'to_entries[] | select(.value.type == "file") | .key | split("/")[-1]' |
    sed -n -E 's/^([0-9A-F]{8}\.history)$/\1/p; s/^([0-9A-F]{24})-[0-9a-f]{40}(\.[a-z0-9]+)?$/\1/p' |
    awk -v start="${start:8}" 'length($0) == 16 || substr($0, 9) >= start' | LC_ALL=C sort -u)"
  while IFS= read -r name; do
    [ -n "$name" ] || continue
    pgbr archive-get "$name" "$dir/$name" >/dev/null || die "restore: archive-get $name failed"
    count=$((count + 1))
  done <<<"$names"
  log "restore: fetched $count WAL file(s) from $archive into $dir"
}

# The restore target's accepted form: ISO 8601 with seconds and a zone, e.g. 2026-11-30T10:15:00Z or
# 2026-11-30T11:15:00.5+01:00. `date -d` alone would take "yesterday" or a time without a zone,
# which Postgres would then read in the server's zone.
PGBR_TIME_FORM='^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,6})?(Z|[+-][0-9]{2}:[0-9]{2})$'
PGBR_RESTORE_USAGE="usage: orchestra-backup restore postgres --at <time> | --latest [--in-place]"

# `orchestra-backup restore postgres --at TIME | --latest [--in-place]` (common.sh's cmd_restore
# hands these here, holding the store's lock): pgBackRest's restore into the data directory (the
# data volume, mounted read-write for this), recovering to TIME (`--type=time`, then promote) or to
# the end of the archive. Postgres is started on it afterwards by its own container.
# - Without --in-place the data directory must be EMPTY (a new volume, a drill's scratch one).
# - With --in-place it holds the stopped cluster, which pgBackRest overwrites (`--delta`: files that
#   match the backup are kept, the rest replaced or removed; pgBackRest itself refuses while
#   postmaster.pid exists). What it overwrites is in the archive up to the last WAL pushed: switch
#   and push the WAL before stopping Postgres (npm run backup -- restore does).
restore_postgres_pitr() {
  local at="" in_place=0 data spool owner
  case "${1:-}" in
  --at)
    [ $# -ge 2 ] || die "$PGBR_RESTORE_USAGE"
    at="$2"
    shift 2
    if ! [[ "$at" =~ $PGBR_TIME_FORM ]] || ! date -d "$at" >/dev/null 2>&1; then
      die "restore: --at '$at' is not a time of the form 2026-11-30T10:15:00Z (ISO 8601 with seconds and Z or an offset such as +01:00)"
    fi
    ;;
  --latest) shift ;;
  *) die "$PGBR_RESTORE_USAGE" ;;
  esac
  case "${1:-}" in
  --in-place) in_place=1 && shift ;;
  esac
  [ $# -eq 0 ] || die "$PGBR_RESTORE_USAGE"
  pgbr_env
  data="$(pgbr_option pg1-path)"
  spool="$(pgbr_spool)"
  [ -d "$data" ] || die "restore: $data does not exist"
  if [ "$in_place" -eq 1 ]; then
    [ -e "$data/PG_VERSION" ] || die "restore: --in-place, but $data holds no cluster (PG_VERSION); restore into it without --in-place"
    [ ! -e "$data/postmaster.pid" ] || die "restore: Postgres is running on $data (postmaster.pid); stop its container first"
  else
    [ -z "$(ls -A "$data")" ] || die "restore: $data is not empty (restore into a new volume, or stop Postgres and add --in-place)"
  fi
  owner="$(pgbr_owner)"
  chown "$owner" "$data" "$spool"
  chmod 0700 "$data"
  rm -rf "${spool:?}/$PGBR_RESTORE_DIR"
  # Readable by every uid: Postgres's restore_command reads it as the server's user, which in its own
  # image need not be this image's postgres (the official image's is 999). Only the two containers
  # mount the spool.
  install -d -o "${owner%%:*}" -g "${owner##*:}" -m 0755 "$spool/$PGBR_RESTORE_DIR"
  local options=()
  [ "$in_place" -eq 0 ] || options+=(--delta)
  if [ -n "$at" ]; then
    # pgBackRest picks the newest backup that ended before the target, and takes only its own form
    # (`YYYY-MM-DD HH:MM:SS[.fraction][+HH]`: [029] otherwise); Postgres reads that form too. So the
    # ISO time becomes UTC in that form, to the microsecond (Postgres's timestamp precision).
    options+=(--type=time "--target=$(date -u -d "$at" '+%Y-%m-%d %H:%M:%S.%6N+00')" --target-action=promote)
    log "postgres: restoring to $at"
  else
    log "postgres: restoring to the end of the WAL archive"
  fi
  [ "$in_place" -eq 0 ] || log "postgres: in place over the stopped cluster in $data (pgBackRest --delta)"
  pgbr restore "${options[@]}" \
    "--recovery-option=restore_command=cp $spool/$PGBR_RESTORE_DIR/%f \"%p\""
  pgbr_fetch_wal "$data" "$spool/$PGBR_RESTORE_DIR"
  chmod -R a+rX "$spool/$PGBR_RESTORE_DIR"
  log "postgres: restored into $data; start Postgres on it to replay the WAL"
}

# orchestra-backup pgbackrest-verify: pgBackRest re-reads every backup file and WAL segment in the
# repository against the checksums its manifests hold. pgBackRest 2.45's verify exits 0 even when it
# finds a damaged file (its summary says `status: error`), so this fails on that summary, naming
# the files pgBackRest reported (`invalid checksum '<backup label>/pg_data/...'`).
cmd_pgbackrest_verify() {
  local output status=0
  pgbr_env
  output="$(pgbr verify "$@" 2>&1)" || status=$?
  printf '%s\n' "$output" >&2
  [ "$status" -eq 0 ] || die "pgbackrest verify failed (exit $status)"
  if grep -q 'status: error' <<<"$output"; then
    die "pgbackrest verify found damage: $(grep -o "invalid [a-z ]*'[^']*'" <<<"$output" | paste -sd ',' - | sed 's/,/, /g')"
  fi
  log "postgres: pgbackrest verify: every backup file and WAL segment matches its checksum"
}

# orchestra-backup pgbackrest-info: the stanza's backups and WAL archive as pgBackRest's JSON.
cmd_pgbackrest_info() {
  pgbr_env
  pgbr info --output=json
}

# A pgBackRest backupId names a backup set, but its restore is to a point in time: say how.
restore_postgres_full() { die "a pgBackRest backup is restored to a time: orchestra-backup restore postgres --at <time> | --latest [--in-place]"; }
restore_postgres_diff() { restore_postgres_full; }
