#!/usr/bin/env bash
# Postgres without WAL archiving: a logical dump (`pg_dump -Fc`), encrypted with age, as
# `<database>.dump.age`; and its restore with pg_restore. Settings: PGHOST, PGPORT, PGUSER,
# PGDATABASE (libpq reads them itself). Secret: databasePassword, passed as PGPASSWORD in this
# process's environment (never argv; -w so no tool ever waits on a password prompt).

pg_auth() {
  local name
  for name in PGHOST PGPORT PGUSER PGDATABASE; do setting "$name" >/dev/null || exit 1; done
  PGPASSWORD="$(secret_value databasePassword)" || exit 1
  export PGPASSWORD PGCONNECT_TIMEOUT="${PGCONNECT_TIMEOUT:-10}"
}

# The server's version, e.g. `15.20` (server_version without Debian's ` (Debian ...)` suffix).
pg_server_version() {
  local version
  version="$(psql -X -w -A -t -c 'SHOW server_version' 2>"$WORK/psql.err")" ||
    die "postgres: no answer from $PGHOST:$PGPORT/$PGDATABASE: $(tail -n 1 "$WORK/psql.err")"
  printf '%s' "${version%% *}"
}

# `orchestra-backup run postgres dump` (and the planner's `run postgres full` without WAL archiving)
run_postgres_dump() {
  pg_auth
  begin_backup postgres dump
  local version recipient key="$PGDATABASE.dump.age"
  version="$(pg_server_version)" || exit 1
  recipient="$(age_recipient)" || exit 1
  log "postgres $BACKUP_ID: dumping $PGDATABASE (Postgres $version at $PGHOST:$PGPORT)"
  # Streamed: pg_dump's custom format (compressed) -> age -> rclone; nothing lands on this disk.
  # A pg_dump that fails midway still ends the stream, so its status decides: no manifest then.
  # Under set -e a failed pipeline would end the run before its statuses are read.
  set +e
  pg_dump -w -Fc 2>"$WORK/pg_dump.err" | age -r "$recipient" | upload_stream "$key"
  local statuses=("${PIPESTATUS[@]}")
  set -e
  [ "${statuses[0]}" = 0 ] || die "postgres $BACKUP_ID: pg_dump failed (exit ${statuses[0]}): $(tail -n 1 "$WORK/pg_dump.err")"
  [ "${statuses[*]}" = "0 0 0" ] || die "postgres $BACKUP_ID: encrypting or uploading failed (pg_dump, age, upload: ${statuses[*]})"
  finish_backup "$version" age
}

# `orchestra-backup restore postgres <backupId>` for a dump: into PGDATABASE on PGHOST (its objects
# replaced: --clean --if-exists; all or nothing: --single-transaction, which also stops at the first
# error). The dump is the manifest's one `<database>.dump.age` object, whatever database it came from.
restore_postgres_dump() {
  [ $# -eq 1 ] || die "usage: orchestra-backup restore postgres <backupId>"
  local id="$1" key
  pg_auth
  fetch_backup postgres "$id"
  key="$(jq -r '[.objects[].key | select(endswith(".dump.age"))] | if length == 1 then .[0] else "" end' "$WORK/manifest.json")"
  [ -n "$key" ] || die "postgres $id: the manifest lists $(jq -c '[.objects[].key]' "$WORK/manifest.json"), not one <database>.dump.age"
  log "postgres $id: restoring $key into $PGDATABASE at $PGHOST:$PGPORT"
  # Under set -e a failed pipeline would end the run before its statuses are read.
  set +e
  decrypt_object "$key" | pg_restore -w --clean --if-exists --single-transaction -d "$PGDATABASE" 2>"$WORK/pg_restore.err"
  local statuses=("${PIPESTATUS[@]}")
  set -e
  # pg_restore first: when it fails (it cannot connect, say), age dies writing into the closed pipe,
  # and blaming age would send the operator after the key.
  [ "${statuses[1]}" = 0 ] || die "postgres $id: pg_restore failed (nothing applied: one transaction): $(tail -n 3 "$WORK/pg_restore.err" | tr '\n' ' ')"
  [ "${statuses[0]}" = 0 ] || die "postgres $id: decrypting $key failed (age)"
  log "postgres $id: restored into $PGDATABASE"
}
