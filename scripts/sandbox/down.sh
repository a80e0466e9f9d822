#!/usr/bin/env bash
# npm run sandbox:down: destroys the sandbox stack, then stops the emulator and the sandbox sshd.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
cd "$ROOT"
use_toolchain
if pulumi stack select "$STACK" --non-interactive >/dev/null 2>&1; then
  start_emulator
  unset LAMBDA_API_KEY
  pulumi destroy --stack "$STACK" --yes --skip-preview --non-interactive "$@"
fi
stop_emulator
if [ -f "$STATE/ssh/sshd.pid" ] && kill -0 "$(cat "$STATE/ssh/sshd.pid")" 2>/dev/null; then
  kill "$(cat "$STATE/ssh/sshd.pid")" && log "sshd stopped"
fi
echo "Sandbox destroyed: the emulator holds nothing of the stack and its processes are stopped."
