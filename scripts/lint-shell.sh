#!/usr/bin/env bash
# Runs shellcheck on every shell script the repository tracks (.ci/run and the backup job's
# dispatcher included: neither has the .sh extension), following sourced files from the repository
# root. Installs Debian's shellcheck when missing (CI runs as root).
#
#   scripts/lint-shell.sh            # install when missing, then lint
#   scripts/lint-shell.sh install    # only make sure shellcheck is on PATH (lint-workflows.sh
#                                    # uses it: actionlint checks the workflows' run: blocks with it)
set -euo pipefail
case "${1:-}" in
install | "") ;;
*) echo "usage: $0 [install]" >&2; exit 2 ;;
esac
cd "$(dirname "$0")/.."
if ! command -v shellcheck >/dev/null 2>&1; then
  echo "[lint-shell] installing shellcheck (apt-get)" >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends shellcheck >/dev/null 2>&1 ||
    { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends shellcheck >/dev/null; } ||
    { echo "[lint-shell] ERROR: could not install shellcheck" >&2; exit 1; }
fi
[[ "${1:-}" != install ]] || exit 0
mapfile -t scripts < <(git ls-files '*.sh' .ci/run images/backup/orchestra-backup)
shellcheck --external-sources --source-path=SCRIPTDIR --source-path=. "${scripts[@]}"
echo "[lint-shell] $(shellcheck --version | sed -n 's/^version: //p'): ${#scripts[@]} scripts clean" >&2
