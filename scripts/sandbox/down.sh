#!/usr/bin/env bash
# npm run sandbox:down: destroys the sandbox stack, then stops the emulator and the sandbox sshd.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
cd "$ROOT"
use_toolchain
if pulumi stack select "$STACK" --non-interactive >/dev/null 2>&1; then
  key_path="$(bash scripts/sandbox/sshd.sh "$STATE")"
  ensure_stack_config "$key_path"
  use_ssh_agent "$key_path"
  start_emulator
  unset LAMBDA_API_KEY
  pulumi destroy --stack "$STACK" --config-file "$WORKING_CONFIG" --yes --skip-preview --non-interactive "$@"
  log "what the emulated account still holds:"
  for what in instances ssh-keys filesystems firewall-rulesets; do
    printf '%s:\n' "$what"
    LAMBDA_API_URL="http://127.0.0.1:$EMULATOR_PORT" LAMBDA_API_KEY="$EMULATOR_KEY" node_modules/.bin/tsx scripts/lambda.ts "$what"
  done
fi
stop_emulator
bash scripts/sandbox/sshd.sh stop "$STATE"
echo "Sandbox destroyed; the emulator and the sandbox sshd are stopped."
