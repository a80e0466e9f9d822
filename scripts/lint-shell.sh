#!/usr/bin/env bash
# Runs shellcheck on every shell script the repository tracks (.ci/run included), following sourced
# files from the repository root. Installs Debian's shellcheck when missing (CI runs as root).
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v shellcheck >/dev/null 2>&1; then
  echo "[lint-shell] installing shellcheck (apt-get)" >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends shellcheck >/dev/null 2>&1 ||
    { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends shellcheck >/dev/null; } ||
    { echo "[lint-shell] ERROR: could not install shellcheck" >&2; exit 1; }
fi
mapfile -t scripts < <(git ls-files '*.sh' .ci/run)
shellcheck --external-sources --source-path=SCRIPTDIR --source-path=. "${scripts[@]}"
echo "[lint-shell] $(shellcheck --version | sed -n 's/^version: //p'): ${#scripts[@]} scripts clean" >&2
