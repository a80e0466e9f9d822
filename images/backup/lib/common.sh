#!/usr/bin/env bash
# Shared by every command of the backup job. Sourced by orchestra-backup.

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
