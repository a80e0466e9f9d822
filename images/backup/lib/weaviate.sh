#!/usr/bin/env bash
# Weaviate: a snapshot through Weaviate's own backup API and its backup-filesystem module, packed
# with tar, encrypted with age, as `snapshot.tar.age`; and its restore through the same API.
#
# Settings: WEAVIATE_URL (http://<host>:<port>), WEAVIATE_BACKUP_PATH (the module's
# BACKUP_FILESYSTEM_PATH: the store's data volume is mounted in this container at the same path as
# in Weaviate's, so the folder Weaviate writes is the folder this job packs), and
# WEAVIATE_BACKUP_TIMEOUT_SECONDS (how long Weaviate may take to write or restore a snapshot;
# default 3600). Secret: weaviateApiKey, sent as `Authorization: Bearer` from a wget startup file
# (mode 0600, in the run's scratch directory) named by `--config`: never on argv.
#
# wget, not curl: the base images already carry it (Weaviate's own health check uses it), and its
# startup file's `header =` keeps the key off the command line as curl's `-H @file` would.
#
# Backup ids: Weaviate accepts only [a-z0-9_-]; the job's backupId (20261130T101500Z-snapshot) is
# lowercased (20261130t101500z-snapshot), the same way for a backup and its restore, so the
# folder a restore unpacks has the name Weaviate wrote it under.
#
# The node's disk: the snapshot folder Weaviate writes is removed once uploaded (and removed
# however the run ends); a restore's unpacked folder is removed once Weaviate has read it.

# The object a Weaviate backup stores.
WEAVIATE_OBJECT=snapshot.tar.age

# The snapshot folder this run wrote or unpacked, removed when the job exits (weaviate_cleanup).
WEAVIATE_SNAPSHOT_DIR=""

# Weaviate's id of backupId $1: lowercased; it must then be Weaviate's [a-z0-9_-]+.
weaviate_backup_id() {
  local id="${1,,}"
  [[ "$id" =~ ^[a-z0-9_-]+$ ]] || die "backupId \"$1\" does not map to a Weaviate backup id ([a-z0-9_-] only)"
  printf '%s' "$id"
}

# Replaces work_dir's EXIT trap (which removes $WORK only): this one removes the snapshot folder
# too, so a failed upload or restore leaves no copy of the data on the node's disk.
weaviate_cleanup() {
  [ -z "$WEAVIATE_SNAPSHOT_DIR" ] || rm -rf "$WEAVIATE_SNAPSHOT_DIR"
  [ -z "$WORK" ] || rm -rf "$WORK"
}

# Reads the settings and writes the API key into $WORK/wgetrc (0600) as wget's Authorization header.
weaviate_setup() {
  WEAVIATE_URL="$(setting WEAVIATE_URL)" || exit 1
  WEAVIATE_URL="${WEAVIATE_URL%/}"
  WEAVIATE_BACKUP_PATH="$(setting WEAVIATE_BACKUP_PATH)" || exit 1
  [[ "$WEAVIATE_BACKUP_PATH" == /* ]] || die "WEAVIATE_BACKUP_PATH \"$WEAVIATE_BACKUP_PATH\" is not an absolute path"
  WEAVIATE_TIMEOUT="${WEAVIATE_BACKUP_TIMEOUT_SECONDS:-3600}"
  [[ "$WEAVIATE_TIMEOUT" =~ ^[1-9][0-9]*$ ]] ||
    die "WEAVIATE_BACKUP_TIMEOUT_SECONDS \"$WEAVIATE_TIMEOUT\" is not a whole number of seconds"
  local key
  key="$(secret_value weaviateApiKey)" || exit 1
  # A line break would end the header line and start another wgetrc command.
  [[ "$key" != *$'\n'* && "$key" != *$'\r'* ]] || die "secret weaviateApiKey holds a line break"
  work_dir
  trap weaviate_cleanup EXIT
  # printf is bash's own: the key reaches the file without any process's argv.
  (
    umask 077
    printf 'header = Authorization: Bearer %s\ntries = 1\ntimeout = 60\n' "$key" >"$WORK/wgetrc"
  )
}

# `weaviate_api <method> <path> [<JSON body>]`: Weaviate's answer in $WORK/response (error
# answers too), its HTTP status on stdout, `000` when nothing answered ($WORK/wget.err says why).
weaviate_api() {
  local method="$1" path="$2" body="${3:-}"
  local args=(--config="$WORK/wgetrc" -nv -S -O "$WORK/response" --content-on-error --method="$method")
  [ -z "$body" ] || args+=(--header="Content-Type: application/json" --body-data="$body")
  : >"$WORK/response"
  wget "${args[@]}" "$WEAVIATE_URL$path" 2>"$WORK/wget.err" || true
  local code
  code="$(sed -n 's|^  HTTP/[0-9.]* \([0-9][0-9][0-9]\).*|\1|p' "$WORK/wget.err" | tail -n 1)"
  printf '%s' "${code:-000}"
}

# What Weaviate said in $WORK/response: its error messages joined, else the body's first 300
# characters; for a `000`, wget's own last line (connection refused, unknown host).
weaviate_said() {
  local code="$1" messages
  if [ "$code" = 000 ]; then
    printf 'no answer: %s' "$(tail -n 1 "$WORK/wget.err")"
    return
  fi
  messages="$(jq -r '[.error[]?.message // empty] + [.error, .message | strings] | join("; ")' "$WORK/response" 2>/dev/null || true)"
  [ -n "$messages" ] || messages="$(head -c 300 "$WORK/response" | tr '\n' ' ')"
  printf '%s' "$messages"
}

# Weaviate's version (GET /v1/meta), e.g. `1.27.0`; dies naming the URL when it does not answer.
weaviate_version() {
  local where="$1" code version
  code="$(weaviate_api GET /v1/meta)"
  [ "$code" = 200 ] || die "$where: no answer from Weaviate at $WEAVIATE_URL (GET /v1/meta: $code $(weaviate_said "$code"))"
  version="$(jq -r '.version // empty' "$WORK/response" 2>/dev/null || true)"
  [ -n "$version" ] || die "$where: GET /v1/meta at $WEAVIATE_URL gave no version"
  printf '%s' "$version"
}

# A restore's refusal $1 with the way out when Weaviate refused because a class exists.
weaviate_restore_refusal() {
  case "$1" in
    *"already exists"*) printf '%s (delete the classes or restore into an empty Weaviate)' "$1" ;;
    *) printf '%s' "$1" ;;
  esac
}

# `weaviate_wait <path> <what> [restore]`: polls GET <path> (a backup's or restore's status) every
# second until SUCCESS; dies on FAILED with Weaviate's error (a restore's through
# weaviate_restore_refusal), and after WEAVIATE_TIMEOUT seconds. Logs each new status and, while
# it holds, every 60 s.
weaviate_wait() {
  local path="$1" what="$2" kind="${3:-}" start=$SECONDS code status last="" logged=$SECONDS error
  while :; do
    code="$(weaviate_api GET "$path")"
    [ "$code" = 200 ] || die "$what: GET $path answered $code: $(weaviate_said "$code")"
    status="$(jq -r '.status // empty' "$WORK/response" 2>/dev/null || true)"
    case "$status" in
      SUCCESS) return 0 ;;
      FAILED)
        error="$(jq -r '.error // "no error given"' "$WORK/response")"
        [ "$kind" != restore ] || error="$(weaviate_restore_refusal "$error")"
        die "$what: Weaviate says FAILED: $error"
        ;;
    esac
    if [ "$status" != "$last" ] || [ $((SECONDS - logged)) -ge 60 ]; then
      log "$what: $status after $((SECONDS - start)) s"
      last="$status"
      logged=$SECONDS
    fi
    [ $((SECONDS - start)) -lt "$WEAVIATE_TIMEOUT" ] ||
      die "$what: not done within $WEAVIATE_TIMEOUT s (WEAVIATE_BACKUP_TIMEOUT_SECONDS); last status $status"
    sleep 1
  done
}

# `orchestra-backup run weaviate snapshot`: Weaviate writes every class into its backup-filesystem
# folder WEAVIATE_BACKUP_PATH/<id>; the job streams that folder as tar -> age -> the bucket.
run_weaviate_snapshot() {
  weaviate_setup
  begin_backup weaviate snapshot
  local id version dir recipient code
  id="$(weaviate_backup_id "$BACKUP_ID")" || exit 1
  dir="$WEAVIATE_BACKUP_PATH/$id"
  version="$(weaviate_version "weaviate $BACKUP_ID")" || exit 1
  # Weaviate refuses a backup of nothing ("no available classes to backup"): a new stack's Weaviate,
  # before the application's first class, is a store with nothing to lose, not a failed run (which
  # would turn the container unhealthy from the first hour on).
  code="$(weaviate_api GET /v1/schema)"
  [ "$code" = 200 ] || die "weaviate $BACKUP_ID: GET /v1/schema at $WEAVIATE_URL answered $code: $(weaviate_said "$code")"
  if [ "$(jq '.classes // [] | length' "$WORK/response")" = 0 ]; then
    log "weaviate $BACKUP_ID: Weaviate $version has no classes yet: nothing to back up, nothing stored"
    record_nothing
    return 0
  fi
  log "weaviate $BACKUP_ID: Weaviate $version at $WEAVIATE_URL writing backup $id to $dir"
  WEAVIATE_SNAPSHOT_DIR="$dir"
  code="$(weaviate_api POST /v1/backups/filesystem "{\"id\":\"$id\"}")"
  [ "$code" = 200 ] ||
    die "weaviate $BACKUP_ID: Weaviate refused the backup (POST /v1/backups/filesystem: $code): $(weaviate_said "$code")"
  weaviate_wait "/v1/backups/filesystem/$id" "weaviate $BACKUP_ID: backup $id"
  [ -d "$dir" ] ||
    die "weaviate $BACKUP_ID: Weaviate wrote backup $id, but $dir is not here (mount the store's data volume so WEAVIATE_BACKUP_PATH is its BACKUP_FILESYSTEM_PATH)"
  log "weaviate $BACKUP_ID: Weaviate wrote $(du -sb "$dir" | cut -f1) bytes in $dir"
  recipient="$(age_recipient)" || exit 1
  # Under set -e a failed pipeline would end the run before its statuses are read.
  set +e
  tar -C "$WEAVIATE_BACKUP_PATH" -cf - "$id" 2>"$WORK/tar.err" | age -r "$recipient" | upload_stream "$WEAVIATE_OBJECT"
  local statuses=("${PIPESTATUS[@]}")
  set -e
  [ "${statuses[0]}" = 0 ] || die "weaviate $BACKUP_ID: packing $dir failed (tar): $(tail -n 1 "$WORK/tar.err")"
  [ "${statuses[*]}" = "0 0 0" ] || die "weaviate $BACKUP_ID: encrypting or uploading failed (tar, age, upload: ${statuses[*]})"
  rm -rf "$dir"
  WEAVIATE_SNAPSHOT_DIR=""
  finish_backup "$version" age
}

# `orchestra-backup restore weaviate <backupId>`: into a running Weaviate that has none of the
# backup's classes (Weaviate refuses to overwrite a class). Every object is checked first; then the
# snapshot is unpacked into WEAVIATE_BACKUP_PATH/<id> (owned like that directory) and Weaviate
# restores it through its API; the unpacked folder is removed afterwards.
restore_weaviate_snapshot() {
  [ $# -eq 1 ] || die "usage: orchestra-backup restore weaviate <backupId>"
  local backup="$1" id dir partial owner code
  weaviate_setup
  id="$(weaviate_backup_id "$backup")" || exit 1
  dir="$WEAVIATE_BACKUP_PATH/$id"
  # Weaviate must answer: the restore goes through its API (checked before the download).
  weaviate_version "weaviate $backup" >/dev/null || exit 1
  fetch_backup weaviate "$backup"
  jq -e --arg key "$WEAVIATE_OBJECT" '.objects | map(.key) == [$key]' "$WORK/manifest.json" >/dev/null ||
    die "weaviate $backup: the manifest lists $(jq -c '[.objects[].key]' "$WORK/manifest.json"), not [\"$WEAVIATE_OBJECT\"]"
  [ -d "$WEAVIATE_BACKUP_PATH" ] ||
    die "weaviate $backup: WEAVIATE_BACKUP_PATH $WEAVIATE_BACKUP_PATH is not a directory (mount the store's data volume)"
  # Unpacked beside, under a name Weaviate never reads, then moved whole into place.
  partial="$WEAVIATE_BACKUP_PATH/.restore-$id"
  rm -rf "$partial"
  mkdir "$partial"
  WEAVIATE_SNAPSHOT_DIR="$partial"
  set +e
  decrypt_object "$WEAVIATE_OBJECT" | tar -C "$partial" -xf - 2>"$WORK/tar.err"
  local statuses=("${PIPESTATUS[@]}")
  set -e
  [ "${statuses[0]}" = 0 ] || die "weaviate $backup: decrypting $WEAVIATE_OBJECT failed (age)"
  [ "${statuses[1]}" = 0 ] || die "weaviate $backup: unpacking $WEAVIATE_OBJECT failed (tar): $(tail -n 1 "$WORK/tar.err")"
  local top
  top="$(find "$partial" -mindepth 1 -maxdepth 1 -printf '%f %y\n')"
  [ "$top" = "$id d" ] ||
    die "weaviate $backup: $WEAVIATE_OBJECT holds \"$(printf '%s' "$top" | tr '\n' ' ')\", not the one folder $id"
  # Weaviate reads it as whoever owns its volume (root in the official image).
  owner="$(stat -c %u:%g "$WEAVIATE_BACKUP_PATH")"
  chown -R "$owner" "$partial/$id"
  if [ -e "$dir" ]; then
    log "weaviate $backup: replacing $dir (left by an earlier restore of this backup)"
    rm -rf "$dir"
  fi
  mv "$partial/$id" "$dir"
  rmdir "$partial"
  WEAVIATE_SNAPSHOT_DIR="$dir"
  log "weaviate $backup: unpacked into $dir; restoring backup $id through Weaviate at $WEAVIATE_URL"
  code="$(weaviate_api POST "/v1/backups/filesystem/$id/restore" '{}')"
  [ "$code" = 200 ] ||
    die "weaviate $backup: Weaviate refused the restore (POST /v1/backups/filesystem/$id/restore: $code): $(weaviate_restore_refusal "$(weaviate_said "$code")")"
  weaviate_wait "/v1/backups/filesystem/$id/restore" "weaviate $backup: restore $id" restore
  rm -rf "$dir"
  WEAVIATE_SNAPSHOT_DIR=""
  log "weaviate $backup: restored into Weaviate at $WEAVIATE_URL"
}
