#!/usr/bin/env bash
# Shared by every command of the backup job. Sourced by orchestra-backup before the store files.
#
# Commands (each store's file defines the functions they dispatch to):
#   orchestra-backup run <store> <kind>          -> run_<store>_<kind>      (e.g. run_redis_rdb)
#   orchestra-backup restore <store> <backupId>  -> restore_<store>_<kind>  (the backupId's kind)
#   orchestra-backup restore postgres --at <ISO time> | --latest  -> restore_postgres_pitr
#
# Settings come from the environment (names as components/backupsPlan.ts sets them): BACKUP_STACK,
# BACKUP_BUCKET, BACKUP_REGION, BACKUP_ENDPOINT (optional URL; absent = AWS S3), BACKUP_PREFIX,
# BACKUP_SECRETS_DIR (default /run/secrets), BACKUP_CA_FILE (optional CA certificate for the
# endpoint). Secrets come only from files in BACKUP_SECRETS_DIR, one per name, and reach the tools
# through the tools' own environment variables in this process: never argv, never a log line.
#
# Every `run` takes its store's lock (two runs of one store never overlap) and leaves the store's
# status file (see "run state" below), which `orchestra-backup health` reads.
#
# A backup writes `<prefix>/<stack>/<store>/<backupId>/<objects>` through `rclone rcat` (streamed;
# above 100 KiB a multipart upload, so a killed upload leaves no object), then LAST manifest.json
# exactly as infra/backup/manifest.ts defines it. A restore downloads every object of a backup and
# checks its size and SHA-256 against the manifest before anything is applied.

log() { printf '[orchestra-backup] %s\n' "$*" >&2; }
die() {
  log "ERROR: $*"
  exit 1
}

# `orchestra-backup <command> ...` -> the function cmd_<command> from whichever lib file defines it.
dispatch() {
  local command="${1:-}" file
  [ -n "$command" ] || die "usage: orchestra-backup <command> [args]"
  shift
  for file in "$LIB"/*.sh; do
    [ "$(basename "$file")" = common.sh ] && continue
    # shellcheck disable=SC1090 # the command files are the image's own
    source "$file"
  done
  declare -F "cmd_${command//-/_}" >/dev/null || die "unknown command '$command'"
  "cmd_${command//-/_}" "$@"
}

# --- settings and secrets -----------------------------------------------------------------------

# The value of environment variable $1, which must be set and non-empty.
setting() {
  local name="$1"
  [ -n "${!name:-}" ] || die "$name is not set (the backup container's environment must name it)"
  printf '%s' "${!name}"
}

secrets_dir() { printf '%s' "${BACKUP_SECRETS_DIR:-/run/secrets}"; }

# The path of secret $1's file, which must exist and be non-empty (its value is never printed).
secret_file() {
  local path
  path="$(secrets_dir)/$1"
  [ -s "$path" ] || die "secret file $path is missing or empty"
  printf '%s' "$path"
}

# Secret $1's value (the file's text without trailing newlines). Call it only as an assignment to
# an exported variable: `$(<file)` is bash's own read, so no process ever has the value in argv.
secret_value() {
  local path
  path="$(secret_file "$1")" || exit 1
  printf '%s' "$(<"$path")"
}

# A scratch directory for this run, removed when the job exits (however it exits).
WORK=""
work_dir() {
  if [ -z "$WORK" ]; then
    WORK="$(mktemp -d "${TMPDIR:-/tmp}/orchestra-backup.XXXXXX")"
    # shellcheck disable=SC2064 # expand now: WORK is fixed from here on
    trap "rm -rf '$WORK'" EXIT
  fi
}

# --- the bucket, through rclone --------------------------------------------------------------------

# rclone's remote `backup:` from the settings and the two credential files, as RCLONE_CONFIG_BACKUP_*
# variables of this process (rclone reads any option from RCLONE_<OPTION> too; no config file).
rclone_setup() {
  export RCLONE_CONFIG=/dev/null
  export RCLONE_CONFIG_BACKUP_TYPE=s3
  export RCLONE_CONFIG_BACKUP_ENV_AUTH=false
  RCLONE_CONFIG_BACKUP_ACCESS_KEY_ID="$(secret_value backupAccessKeyId)" || exit 1
  RCLONE_CONFIG_BACKUP_SECRET_ACCESS_KEY="$(secret_value backupSecretAccessKey)" || exit 1
  export RCLONE_CONFIG_BACKUP_ACCESS_KEY_ID RCLONE_CONFIG_BACKUP_SECRET_ACCESS_KEY
  RCLONE_CONFIG_BACKUP_REGION="$(setting BACKUP_REGION)" || exit 1
  export RCLONE_CONFIG_BACKUP_REGION
  if [ -n "${BACKUP_ENDPOINT:-}" ]; then
    # An S3-compatible server: buckets as paths, as the CLI's forcePathStyle.
    export RCLONE_CONFIG_BACKUP_PROVIDER=Other
    export RCLONE_CONFIG_BACKUP_ENDPOINT="$BACKUP_ENDPOINT"
    export RCLONE_CONFIG_BACKUP_FORCE_PATH_STYLE=true
  else
    export RCLONE_CONFIG_BACKUP_PROVIDER=AWS
  fi
  # The bucket must exist: backups never create it (and need no permission to).
  export RCLONE_CONFIG_BACKUP_NO_CHECK_BUCKET=true
  # A streamed upload has at most 10,000 parts: rclone's default 5 MiB parts cap an object at
  # 48.8 GiB; 16 MiB parts allow 156 GiB, buffering 4 x 16 MiB (upload concurrency 4) in memory.
  export RCLONE_CONFIG_BACKUP_CHUNK_SIZE=16M
  if [ -n "${BACKUP_CA_FILE:-}" ]; then
    [ -r "$BACKUP_CA_FILE" ] || die "BACKUP_CA_FILE $BACKUP_CA_FILE cannot be read"
    export RCLONE_CA_CERT="$BACKUP_CA_FILE"
  fi
  BUCKET="$(setting BACKUP_BUCKET)" || exit 1
}

# `<prefix>/<stack>/<store>/<backupId>/`, the folder of a backup (infra/backup/layout.ts).
backup_folder() {
  local store="$1" backup_id="$2" prefix stack
  prefix="$(setting BACKUP_PREFIX)" || exit 1
  stack="$(setting BACKUP_STACK)" || exit 1
  [[ "$stack" =~ ^[A-Za-z0-9_.-]+$ && "$stack" != . && "$stack" != .. ]] ||
    die "BACKUP_STACK \"$stack\" is not a stack name (letters, digits, \"-\", \"_\" and \".\" only)"
  [[ "/$prefix/" != *//* && "/$prefix/" != */./* && "/$prefix/" != */../* ]] ||
    die "BACKUP_PREFIX \"$prefix\" must be folder names separated by single \"/\", none \".\" or \"..\""
  [[ "$backup_id" =~ ^[0-9]{8}T[0-9]{6}Z-[a-z]+$ ]] ||
    die "backupId \"$backup_id\" is not YYYYMMDDTHHMMSSZ-<kind> (UTC start time, e.g. 20261130T101500Z-full)"
  printf '%s/%s/%s/%s/' "$prefix" "$stack" "$store" "$backup_id"
}

# --- run state -----------------------------------------------------------------------------------

# The container's own filesystem (not a volume: it describes this container's runs).
#   status/<store>  the store's last run, one line: `ok <backupId> <finishedAt>`, `ok none <time>`
#                   (nothing to back up yet) or `failed <time> <exit code>` (times ISO-8601 UTC
#                   with milliseconds)
#   locks/<store>   the store's run lock (flock), held for the whole run
STATE_DIR=/var/lib/orchestra-backup

# Writes status line $2 for store $1 whole or not at all (a reader never sees half a line).
write_status() {
  mkdir -p "$STATE_DIR/status"
  printf '%s\n' "$2" >"$STATE_DIR/status/.$1.tmp"
  mv "$STATE_DIR/status/.$1.tmp" "$STATE_DIR/status/$1"
}

# Records the run's complete backup ($1 backupId, $2 its manifest's finishedAt) for cmd_run's
# status line. finish_backup calls it once manifest.json is written; a store file that writes its
# manifest otherwise must call it too, or its runs count as failed.
record_backup() {
  [ -z "${RUN_RESULT:-}" ] || printf 'ok %s %s\n' "$1" "$2" >"$RUN_RESULT"
}

# Records a run that found nothing to back up (a store that holds no data yet, such as a Weaviate
# before the application's first class): the run succeeded and wrote nothing; status `ok none <time>`.
record_nothing() {
  [ -z "${RUN_RESULT:-}" ] || printf 'ok none %s\n' "$(iso_time "$(date -u +%s.%N)")" >"$RUN_RESULT"
}

# --- taking a backup -----------------------------------------------------------------------------

# `date +%s.%N` output $1 -> ISO-8601 UTC with milliseconds, e.g. 2026-11-30T10:15:00.123Z.
iso_time() {
  local fraction="${1#*.}000"
  printf '%s.%sZ' "$(date -u -d "@${1%.*}" +%Y-%m-%dT%H:%M:%S)" "${fraction:0:3}"
}

# Starts a backup of store $1, kind $2: sets STORE, BACKUP_ID (`YYYYMMDDTHHMMSSZ-<kind>`, the start
# to the second, UTC), STARTED_AT (ISO-8601 with milliseconds), FOLDER, and an empty object list.
begin_backup() {
  STORE="$1"
  local kind="$2" now
  now="$(date -u +%s.%N)"
  BACKUP_ID="$(date -u -d "@${now%.*}" +%Y%m%dT%H%M%SZ)-$kind"
  STARTED_AT="$(iso_time "$now")"
  work_dir
  rclone_setup
  FOLDER="$(backup_folder "$STORE" "$BACKUP_ID")" || exit 1
  : >"$WORK/objects.tsv"
  log "$STORE $BACKUP_ID: started; writing to s3://$BUCKET/$FOLDER"
}

# Streams stdin to the object $1 of the backup's folder through `rclone rcat`, counting its bytes
# and SHA-256 on the way (tee into two FIFOs), and records `key<TAB>size<TAB>sha256` for the
# manifest. Returns non-zero (after logging why) when the upload or a counter fails; the caller
# checks its own producers' statuses too.
upload_stream() {
  local key="$1" sum_pid size_pid sum size
  rm -f "$WORK/sum.fifo" "$WORK/size.fifo"
  mkfifo "$WORK/sum.fifo" "$WORK/size.fifo"
  sha256sum <"$WORK/sum.fifo" >"$WORK/sum" &
  sum_pid=$!
  wc -c <"$WORK/size.fifo" >"$WORK/size" &
  size_pid=$!
  log "$STORE $BACKUP_ID: uploading $key"
  # Statuses checked here, so a failure is named (this runs in its pipeline's subshell).
  set +e
  tee "$WORK/sum.fifo" "$WORK/size.fifo" | rclone rcat "backup:$BUCKET/$FOLDER$key"
  local statuses=("${PIPESTATUS[@]}")
  wait "$sum_pid" || statuses+=(sha256sum)
  wait "$size_pid" || statuses+=(wc)
  set -e
  if [ "${statuses[*]}" != "0 0" ]; then
    log "ERROR: $STORE $BACKUP_ID: uploading $key failed (exit statuses tee, rclone: ${statuses[*]})"
    return 1
  fi
  sum="$(cut -d' ' -f1 "$WORK/sum")"
  size="$(tr -d ' ' <"$WORK/size")"
  printf '%s\t%s\t%s\n' "$key" "$size" "$sum" >>"$WORK/objects.tsv"
  log "$STORE $BACKUP_ID: uploaded $key ($size bytes, sha256 $sum)"
}

# The age recipient (public key) of the backupEncryptionKey identity; the identity stays in its file.
age_recipient() {
  local identity recipient
  identity="$(secret_file backupEncryptionKey)" || exit 1
  recipient="$(age-keygen -y "$identity" 2>/dev/null)" ||
    die "secret backupEncryptionKey is not an age identity (AGE-SECRET-KEY-1..., from age-keygen)"
  printf '%s' "$recipient"
}

# Writes manifest.json LAST (infra/backup/manifest.ts's schema: fields in its order, objects sorted
# by key, 2-space indented, a final newline): engine version $1, encryption $2 (age or
# pgbackrest-aes-256-cbc). Until it is there the backup does not count.
finish_backup() {
  local engine_version="$1" encryption="$2" finished_at manifest
  finished_at="$(iso_time "$(date -u +%s.%N)")"
  manifest="$(jq -R -s \
    --arg store "$STORE" --arg stack "$BACKUP_STACK" --arg backupId "$BACKUP_ID" \
    --arg version "$engine_version" --arg startedAt "$STARTED_AT" --arg finishedAt "$finished_at" \
    --arg encryption "$encryption" '
    {
      version: 1, store: $store, stack: $stack, backupId: $backupId,
      engine: { name: $store, version: $version },
      startedAt: $startedAt, finishedAt: $finishedAt, encryption: $encryption,
      objects: (split("\n") | map(select(. != "") | split("\t")
        | { key: .[0], size: (.[1] | tonumber), sha256: .[2] }) | sort_by(.key))
    }' <"$WORK/objects.tsv")" || die "$STORE $BACKUP_ID: writing the manifest failed (jq)"
  printf '%s\n' "$manifest" | rclone rcat "backup:$BUCKET/${FOLDER}manifest.json" ||
    die "$STORE $BACKUP_ID: uploading manifest.json failed (rclone); the backup does not count"
  log "$STORE $BACKUP_ID: complete: $(jq '.objects | length' <<<"$manifest") objects, $(jq '[.objects[].size] | add' <<<"$manifest") bytes; manifest.json written"
  record_backup "$BACKUP_ID" "$finished_at"
}

# --- restoring a backup --------------------------------------------------------------------------

# Downloads backup $2 of store $1 into $WORK/objects/<key> and checks each object's size and SHA-256
# against its manifest ($WORK/manifest.json), all before the caller applies anything. Refuses (exit
# 1) with verify's words (infra/backup/backupStore.ts), e.g.
#   `<store> <backupId>: object <key>: sha256 <got> does not match the manifest's <want>`.
fetch_backup() {
  STORE="$1"
  BACKUP_ID="$2"
  work_dir
  rclone_setup
  FOLDER="$(backup_folder "$STORE" "$BACKUP_ID")" || exit 1
  local where="$STORE $BACKUP_ID" key size sha got_size got_sha count=0 bytes=0
  log "$where: downloading from s3://$BUCKET/$FOLDER"
  # The folder's listing first: `rclone cat` of a missing key prints nothing and succeeds.
  rclone lsf -R --files-only "backup:$BUCKET/$FOLDER" >"$WORK/listing" 2>"$WORK/rclone.err" ||
    die "$where: listing s3://$BUCKET/$FOLDER failed: $(tail -n 1 "$WORK/rclone.err")"
  grep -qxF manifest.json "$WORK/listing" || die "$where: no manifest.json"
  # At most 16 MiB, as the CLI's MAX_MANIFEST_BYTES: a manifest is a few KiB, and a huge one is
  # not read into jq's memory.
  rclone cat --count 16777217 "backup:$BUCKET/${FOLDER}manifest.json" >"$WORK/manifest.json" 2>"$WORK/rclone.err" ||
    die "$where: reading manifest.json failed: $(tail -n 1 "$WORK/rclone.err")"
  [ "$(stat -c %s "$WORK/manifest.json")" -le 16777216 ] || die "$where: manifest.json is over 16 MiB: not a manifest"
  jq -e -s --arg store "$STORE" --arg stack "$BACKUP_STACK" --arg backupId "$BACKUP_ID" '
    length == 1 and (.[0] | .version == 1 and .store == $store and .stack == $stack
      and .backupId == $backupId and .engine.name == $store
      and (.objects | type == "array" and length > 0)
      and all(.objects[]; (.key | type == "string") and (.size | type == "number")
        and (.sha256 | type == "string" and test("^[0-9a-f]{64}$"))))' "$WORK/manifest.json" >/dev/null 2>&1 ||
    die "$where: unreadable manifest.json: not a manifest of $BACKUP_STACK/$STORE/$BACKUP_ID"
  mkdir -p "$WORK/objects"
  while IFS=$'\t' read -r key size sha; do
    case "/$key/" in */../* | */./* | *//*) die "$where: object key \"$key\" is not a relative path" ;; esac
    grep -qxF -- "$key" "$WORK/listing" || die "$where: object $key: missing"
    mkdir -p "$(dirname "$WORK/objects/$key")"
    rclone cat "backup:$BUCKET/$FOLDER$key" 2>"$WORK/rclone.err" | tee "$WORK/objects/$key" | sha256sum >"$WORK/sum" ||
      die "$where: object $key: downloading failed: $(tail -n 1 "$WORK/rclone.err")"
    got_sha="$(cut -d' ' -f1 "$WORK/sum")"
    got_size="$(stat -c %s "$WORK/objects/$key")"
    [ "$got_size" = "$size" ] || die "$where: object $key: $got_size bytes, the manifest's $size"
    [ "$got_sha" = "$sha" ] || die "$where: object $key: sha256 $got_sha does not match the manifest's $sha"
    count=$((count + 1))
    bytes=$((bytes + size))
  done < <(jq -r '.objects[] | [.key, (.size | tostring), .sha256] | @tsv' "$WORK/manifest.json")
  log "$where: downloaded and checked $count objects, $bytes bytes"
}

# age-decrypts the downloaded object $1 to stdout with the backupEncryptionKey identity file.
decrypt_object() {
  local identity
  identity="$(secret_file backupEncryptionKey)" || exit 1
  age -d -i "$identity" "$WORK/objects/$1"
}

# --- the commands ---------------------------------------------------------------------------------

# `orchestra-backup run <store> <kind>`: run_<store>_<kind> under the store's lock, in a subshell
# (its `die` ends only the subshell), then the store's status line from how it ended. Exits with
# the run's status; 75 (EX_TEMPFAIL) when another run of the store holds the lock.
cmd_run() {
  [ $# -eq 2 ] || die "usage: orchestra-backup run <store> <kind>"
  local store="$1" kind="$2" lock code
  declare -F "run_${store}_${kind}" >/dev/null || die "no '$kind' backup of store '$store' in this image"
  mkdir -p "$STATE_DIR/status" "$STATE_DIR/locks"
  lock="$STATE_DIR/locks/$store"
  exec {LOCK_FD}>"$lock"
  if ! flock -n "$LOCK_FD"; then
    log "ERROR: $store $kind: another run of $store holds its lock ($lock); this run is skipped"
    write_status "$store" "failed $(iso_time "$(date -u +%s.%N)") 75"
    exit 75
  fi
  RUN_RESULT="$STATE_DIR/status/.$store.result"
  rm -f "$RUN_RESULT"
  set +e
  (
    set -e
    "run_${store}_${kind}"
  )
  code=$?
  set -e
  if [ "$code" -eq 0 ] && ! grep -q '^ok ' "$RUN_RESULT" 2>/dev/null; then
    log "ERROR: $store $kind: the run ended without recording a complete backup (record_backup)"
    code=1
  fi
  if [ "$code" -eq 0 ]; then
    mv "$RUN_RESULT" "$STATE_DIR/status/$store"
  else
    rm -f "$RUN_RESULT"
    write_status "$store" "failed $(iso_time "$(date -u +%s.%N)") $code"
  fi
  exit "$code"
}

# `orchestra-backup restore ...`: under the store's lock, like a run, so a scheduled backup never
# reads a store while a restore rewrites it (nor a restore starts under a running backup).
cmd_restore() {
  [ $# -ge 2 ] || die "usage: orchestra-backup restore <store> <backupId> | restore postgres --at <ISO time> | --latest [--in-place]"
  [[ "$1" =~ ^[a-z]+$ ]] || die "restore: store '$1' is not a store name (postgres, redis, weaviate)"
  mkdir -p "$STATE_DIR/locks"
  exec {LOCK_FD}>"$STATE_DIR/locks/$1"
  flock -n "$LOCK_FD" ||
    die "restore: a backup of $1 is running (it holds $STATE_DIR/locks/$1); restore once it has ended"
  # Postgres with WAL archiving restores to a point in time, not to one backup (pgbackrest.sh).
  if [ "$1" = postgres ] && { [ "$2" = --at ] || [ "$2" = --latest ]; }; then
    shift
    restore_postgres_pitr "$@"
    return
  fi
  local store="$1" backup_id="$2"
  shift 2
  [[ "$backup_id" =~ -([a-z]+)$ ]] || die "backupId \"$backup_id\" is not YYYYMMDDTHHMMSSZ-<kind>"
  local kind="${BASH_REMATCH[1]}"
  declare -F "restore_${store}_${kind}" >/dev/null || die "no restore of a '$kind' backup of store '$store' in this image"
  "restore_${store}_${kind}" "$backup_id" "$@"
}
