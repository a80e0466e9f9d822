#!/usr/bin/env bash
# npm run sandbox: the staging topology against the local Lambda emulator, with the real Pulumi
# engine and a local file backend. Starts the emulator and sshd, builds the toolchain if missing,
# sets the stack's secrets from stdin (never on a command line), runs `pulumi up --yes`.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
cd "$ROOT"

[ -d node_modules ] || { log "installing npm packages"; npm ci --no-audit --no-fund >&2; }
use_toolchain
key_path="$(bash scripts/sandbox/sshd.sh "$STATE")"
start_emulator

ensure_stack_config "$key_path"
# The key comes from stack config in this run, not the environment.
unset LAMBDA_API_KEY

log "pulumi up --stack $STACK (emulator: faithful rate limits, so launches are 12 s apart)"
pulumi up --stack "$STACK" --config-file "$WORKING_CONFIG" --yes --skip-preview --non-interactive "$@"
echo
pulumi stack output --stack "$STACK"
echo
echo "Tear it down with: npm run sandbox:down"
