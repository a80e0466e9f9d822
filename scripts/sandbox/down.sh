#!/usr/bin/env bash
# npm run sandbox:down: destroys the sandbox stack, then stops the emulator and the sandbox sshd.
set -euo pipefail
# shellcheck source=scripts/sandbox/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
cd "$ROOT"
use_toolchain
if pulumi stack select "$STACK" --non-interactive >/dev/null 2>&1; then
  key_path="$(bash scripts/sandbox/sshd.sh "$STATE")"
  ensure_stack_config "$key_path"
  use_ssh_agent "$key_path"
  # shellcheck disable=SC2119 # no extra emulator flags here: start_emulator takes them optionally
  start_emulator
  unset LAMBDA_API_KEY
  pulumi destroy --stack "$STACK" --config-file "$WORKING_CONFIG" --yes --skip-preview --non-interactive "$@"
  # The filesystem is deleted with the stack; its data, on this machine's emulated mount, goes too
  # (Lambda deletes a filesystem's data), so the next sandbox starts with empty stores.
  fs_name="$(pulumi config get --path filesystem.name --stack "$STACK" --config-file "$WORKING_CONFIG" 2>/dev/null || true)"
  if [[ "$fs_name" =~ ^[a-z0-9][a-z0-9-]*$ ]] && [ -d "/lambda/nfs/$fs_name" ]; then
    rm -rf "/lambda/nfs/${fs_name:?}"
    log "removed the filesystem's data on this machine: /lambda/nfs/$fs_name"
  fi
  log "what the emulated account still holds:"
  for what in instances ssh-keys filesystems firewall-rulesets; do
    printf '%s:\n' "$what"
    LAMBDA_API_URL="http://127.0.0.1:$EMULATOR_PORT" LAMBDA_API_KEY="$EMULATOR_KEY" node_modules/.bin/tsx scripts/lambda.ts "$what"
  done
fi
stop_emulator
bash scripts/sandbox/sshd.sh stop "$STATE"
echo "Sandbox destroyed; the emulator and the sandbox sshd are stopped."
