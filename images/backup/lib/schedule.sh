#!/usr/bin/env bash
# The backup container's long-running side (issue 11). Sourced by the dispatcher. Commands:
#   orchestra-backup schedule <crontab file>   the container's main process: checks the crontab,
#                                              hands it to Debian's cron and runs cron in the
#                                              foreground until the container stops
#   orchestra-backup cron-run <store> <kind>   what each cron job runs: `run <store> <kind>` with
#                                              the container's settings, its output time-stamped
#                                              into the container's log
#   orchestra-backup health                    the healthcheck: exit 0 when cron runs and no
#                                              store's last run failed, else exit 1 with why
#
# The crontab (components/backupsFiles.ts renders it; times in UTC, the container's TZ) holds
# comments, blank lines and `<5 cron fields> orchestra-backup run <store> <kind>` lines, nothing
# else. schedule checks each line's shape and that the image has run_<store>_<kind>; the time
# fields are cron's to judge (crontab(1) parses each line before cron starts). Any bad line stops
# schedule at start, naming the line: a schedule that silently never runs is the failure to avoid.
#
# cron starts jobs with an almost empty environment, so schedule writes the job's settings (never a
# secret: those stay in their files) to a root-only file each job sources. A job writes to the
# schedule process's stderr (/proc/<pid>/fd/2: `docker logs`), since cron would otherwise mail it.

# schedule's runtime files: the settings jobs source, the crontab it installed, the pids.
SCHEDULE_DIR=/run/orchestra-backup

# Which environment variables reach the jobs: the job's settings (components/backupsPlan.ts) and the
# tools' own (RCLONE_*, PGBACKREST_*)...
SCHEDULE_ENV='^(PATH|TZ|LANG|BACKUP_[A-Z0-9_]+|PG[A-Z0-9_]+|REDIS_[A-Z0-9_]+|WAL_[A-Z0-9_]+|WEAVIATE_[A-Z0-9_]+|RCLONE_[A-Z0-9_]+|PGBACKREST_[A-Z0-9_]+)$'
# ...except a name that would hold a secret (secrets reach a job only through their files); a
# name ending in _DIR, _FILE or _PATH holds a path (BACKUP_SECRETS_DIR).
SCHEDULE_ENV_SECRET='(PASSWORD|SECRET|TOKEN|AUTH|PASS$|(^|_)KEY($|_)|APIKEY|CREDENTIAL|PRIVATE)'
SCHEDULE_ENV_PATH='(_DIR|_FILE|_PATH)$'

# The dispatcher's own path: cron's PATH (/usr/bin:/bin) does not hold /usr/local/bin.
schedule_self() { readlink -f "$0"; }

# `<ISO-8601 UTC time with milliseconds> <line>` for each line of stdin (bash's own clock and
# printf: no process per line).
stamp_lines() {
  local line now micros
  while IFS= read -r line || [ -n "$line" ]; do
    now="$EPOCHREALTIME"
    micros="${now#*.}"
    TZ=UTC printf '%(%Y-%m-%dT%H:%M:%S)T.%sZ %s\n' "${now%.*}" "${micros:0:3}" "$line"
  done
}

# Checks crontab line $2 (line number $1 of file $3) and prints cron's line for it; returns 1 after
# logging what is wrong with it. Comments and blank lines print nothing.
schedule_line() {
  local number="$1" line="$2" source="$3" fields store kind cron_line reason
  [[ ! "$line" =~ ^[[:space:]]*(#|$) ]] || return 0
  read -r -a fields <<<"$line"
  if [ "${#fields[@]}" -ne 9 ] || [ "${fields[5]}" != orchestra-backup ] || [ "${fields[6]}" != run ]; then
    log "ERROR: schedule: $source line $number: \"$line\": not five cron fields then \"orchestra-backup run <store> <kind>\""
    return 1
  fi
  store="${fields[7]}" kind="${fields[8]}"
  if [[ ! "$store" =~ ^[a-z][a-z0-9]*$ ]] || [[ ! "$kind" =~ ^[a-z][a-z0-9]*$ ]] ||
    ! declare -F "run_${store}_${kind}" >/dev/null; then
    log "ERROR: schedule: $source line $number: \"$line\": no '$kind' backup of store '$store' in this image"
    return 1
  fi
  cron_line="${fields[*]:0:5} $(schedule_self) cron-run $store $kind"
  # cron's own parser on the line alone: crontab(1)'s line numbers for a whole file are off by one
  # depending on the error. cron is not running yet, so installing this line schedules nothing.
  printf '%s\n' "$cron_line" >"$SCHEDULE_DIR/line"
  if ! crontab "$SCHEDULE_DIR/line" 2>"$SCHEDULE_DIR/crontab.err"; then
    reason="$(head -n 1 "$SCHEDULE_DIR/crontab.err" | sed 's/^"[^"]*":[0-9]*: //')"
    log "ERROR: schedule: $source line $number: \"$line\": $reason (cron)"
    return 1
  fi
  printf '%s\n' "$cron_line"
}

# Writes the settings cron's jobs source: `export NAME=<value quoted by bash>` per variable, mode
# 0600 (root's only), replaced whole.
schedule_env() {
  local name
  (
    umask 077
    for name in $(compgen -e | LC_ALL=C sort); do
      [[ "$name" =~ $SCHEDULE_ENV ]] || continue
      if [[ "$name" =~ $SCHEDULE_ENV_SECRET && ! "$name" =~ $SCHEDULE_ENV_PATH ]]; then
        log "schedule: environment variable $name is not passed to the jobs (a secret belongs in a file under $(secrets_dir))"
        continue
      fi
      printf 'export %s=%q\n' "$name" "${!name}"
    done >"$SCHEDULE_DIR/env.tmp"
  )
  mv "$SCHEDULE_DIR/env.tmp" "$SCHEDULE_DIR/env"
}

# `orchestra-backup schedule <crontab file>`
cmd_schedule() {
  [ $# -eq 1 ] || die "usage: orchestra-backup schedule <crontab file>"
  local source="$1" number=0 line cron_line bad=0 jobs=0 cron_pid status=0
  { [ -f "$source" ] && [ -r "$source" ]; } || die "schedule: crontab $source cannot be read"
  { command -v cron && command -v crontab; } >/dev/null || die "schedule: this image has no cron"
  mkdir -p "$SCHEDULE_DIR"
  chmod 0700 "$SCHEDULE_DIR"
  : >"$SCHEDULE_DIR/crontab"
  # shellcheck disable=SC2094 # schedule_line only names $source in its messages
  while IFS= read -r line || [ -n "$line" ]; do
    number=$((number + 1))
    if cron_line="$(schedule_line "$number" "$line" "$source")"; then
      [ -z "$cron_line" ] || {
        printf '%s\n' "$cron_line" >>"$SCHEDULE_DIR/crontab"
        jobs=$((jobs + 1))
      }
    else
      bad=$((bad + 1))
    fi
  done <"$source"
  [ "$bad" -eq 0 ] || die "schedule: $source: $bad bad line(s); nothing is scheduled"
  [ "$jobs" -gt 0 ] || die "schedule: $source schedules nothing (no \"orchestra-backup run\" line)"
  crontab "$SCHEDULE_DIR/crontab" 2>"$SCHEDULE_DIR/crontab.err" ||
    die "schedule: crontab refused $SCHEDULE_DIR/crontab: $(head -n 1 "$SCHEDULE_DIR/crontab.err")"
  schedule_env
  printf '%s\n' "$$" >"$SCHEDULE_DIR/schedule.pid"

  cron -f &
  cron_pid=$!
  printf '%s\n' "$cron_pid" >"$SCHEDULE_DIR/cron.pid"
  local pids=("$cron_pid")
  # With WAL archiving the WAL pusher runs beside cron for the container's life (pgbackrest.sh):
  # Postgres only copies segments into the spool; nothing reaches the bucket without it.
  rm -f "$SCHEDULE_DIR/wal-push.pid"
  if [ -n "${WAL_SPOOL:-}" ]; then
    # pgBackRest's stanza must exist before any archive-push or backup; creating it is idempotent.
    # Postgres may still be starting beside this container: retry for 5 minutes, then fail (the
    # restart policy tries again, and the log says why).
    local tries=0
    until "$(schedule_self)" stanza-create; do
      tries=$((tries + 1))
      [ "$tries" -lt 30 ] || die "schedule: pgBackRest stanza-create failed 30 times (5 minutes); see the lines above"
      log "schedule: stanza-create failed (try $tries of 30); again in 10 s"
      sleep 10
    done
    "$(schedule_self)" wal-push &
    pids+=("$!")
    printf '%s\n' "$!" >"$SCHEDULE_DIR/wal-push.pid"
    log "schedule: WAL pusher started (pid $!, every ${WAL_PUSH_INTERVAL_SECONDS:-10} s from $WAL_SPOOL)"
  fi
  # As the container's PID 1 this shell gets only the signals it traps: `docker stop` ends both.
  # shellcheck disable=SC2064 # expand now: the pids are fixed
  trap "kill -TERM ${pids[*]} 2>/dev/null; wait ${pids[*]}; log 'schedule: stopped'; exit 0" TERM INT
  log "schedule: $jobs job(s) from $source handed to cron (pid $cron_pid, times in UTC)"
  # Whichever ends first ends the container: its restart policy brings both back.
  wait -n "${pids[@]}" || status=$?
  kill -TERM "${pids[@]}" 2>/dev/null || true
  die "schedule: cron or the WAL pusher exited (status $status)"
}

# `orchestra-backup cron-run <store> <kind>`: cron's job line. Its output, and the run's start and
# end, reach the container's log time-stamped; its own exit status goes nowhere (cron's mail).
cmd_cron_run() {
  [ $# -eq 2 ] || die "usage: orchestra-backup cron-run <store> <kind>"
  local store="$1" kind="$2" log_to
  # shellcheck source=/dev/null # written by cmd_schedule
  source "$SCHEDULE_DIR/env"
  log_to="/proc/$(<"$SCHEDULE_DIR/schedule.pid")/fd/2"
  {
    local started="$EPOCHREALTIME" code=0
    log "scheduled run $store $kind: started"
    "$(schedule_self)" run "$store" "$kind" 2>&1 || code=$?
    log "scheduled run $store $kind: exit $code after $(awk -v a="$started" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }') s"
  } 2>&1 | stamp_lines >>"$log_to"
}

# `orchestra-backup health`: one line on stdout; exit 0 healthy, 1 not. A store with no status
# file has not run yet: healthy.
cmd_health() {
  local pid file state at code problems=()
  pid="$(cat "$SCHEDULE_DIR/cron.pid" 2>/dev/null || true)"
  if [[ ! "$pid" =~ ^[0-9]+$ ]] || [ "$(cat "/proc/$pid/comm" 2>/dev/null || true)" != cron ]; then
    echo "health: cron is not running"
    exit 1
  fi
  if [ -n "${WAL_SPOOL:-}" ]; then
    pid="$(cat "$SCHEDULE_DIR/wal-push.pid" 2>/dev/null || true)"
    if [[ ! "$pid" =~ ^[0-9]+$ ]] || [ ! -d "/proc/$pid" ]; then
      echo "health: the WAL pusher is not running"
      exit 1
    fi
    # A pusher that runs but cannot push (keys, bucket, stanza) leaves segments waiting: past the
    # RPO the point-in-time promise is broken, so the container is unhealthy, with the last error.
    local name stamp oldest="" max="${WAL_MAX_WAIT_SECONDS:-300}" waited
    while IFS= read -r name; do
      [[ "$name" =~ $PGBR_WAL_NAME ]] || continue
      stamp="$(stat -c %Y "$WAL_SPOOL/$name" 2>/dev/null)" || continue
      if [ -z "$oldest" ] || [ "$stamp" -lt "$oldest" ]; then oldest="$stamp"; fi
    done < <(find "$WAL_SPOOL" -mindepth 1 -maxdepth 1 -type f -printf '%f\n' 2>/dev/null)
    if [ -n "$oldest" ]; then
      waited=$(($(date +%s) - oldest))
      if [ "$waited" -gt "$max" ]; then
        echo "health: WAL: a segment has waited ${waited} s to be archived (over ${max} s): $(tail -n 1 "$WAL_SPOOL/.push-error" 2>/dev/null || echo "no push error recorded")"
        exit 1
      fi
    fi
  fi
  for file in "$STATE_DIR"/status/*; do
    [ -f "$file" ] || continue
    read -r state at code _ <"$file" || true
    case "$state" in
    ok) ;;
    failed) problems+=("$(basename "$file"): last run failed at $at (exit $code)") ;;
    *) problems+=("$(basename "$file"): unreadable status file $file") ;;
    esac
  done
  if [ "${#problems[@]}" -gt 0 ]; then
    local joined
    joined="$(printf '%s; ' "${problems[@]}")"
    echo "health: ${joined%; }"
    exit 1
  fi
  echo "health: ok"
}
