#!/usr/bin/env bash
# npm run sandbox: the staging topology against the local Lambda emulator, with the real Pulumi
# engine and a local file backend: the fleet on the emulator, and every node's containers on this
# machine's Docker engine reached over SSH through the sandbox sshd, as a Lambda node is reached.
# Starts Docker (building the stand-in images), the emulator and sshd, builds the toolchain if
# missing, sets the stack's secrets from stdin (never on a command line), loads the SSH key into
# an ssh-agent, runs `pulumi up --yes`, then prints the health report, the URLs and the containers.
set -euo pipefail
# shellcheck source=scripts/sandbox/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
cd "$ROOT"

[ -d node_modules ] || { log "installing npm packages"; npm ci --no-audit --no-fund >&2; }
use_toolchain
# The nodes' containers run from the stand-in images (there is no image registry here).
bash scripts/standin-images/build.sh
key_path="$(bash scripts/sandbox/sshd.sh "$STATE")"
use_ssh_agent "$key_path"
# shellcheck disable=SC2119 # no extra emulator flags here: start_emulator takes them optionally
start_emulator

ensure_stack_config "$key_path"
# The key comes from stack config in this run, not the environment.
unset LAMBDA_API_KEY

log "pulumi up --stack $STACK (emulator: faithful rate limits, so launches are 12 s apart)"
pulumi up --stack "$STACK" --config-file "$WORKING_CONFIG" --yes --skip-preview --non-interactive "$@"
echo
pulumi stack output --stack "$STACK"
echo
node_modules/.bin/tsx scripts/sandbox/report.ts "$STACK"
echo
echo "Your own pulumi commands on this sandbox: source .sandbox/env.sh  (then e.g. pulumi stack output --stack $STACK)"
echo "SSH into a node (the sandbox key; on Lambda your agent holds yours): ssh -i .sandbox/ssh/id_ed25519 -p ${SANDBOX_SSH_PORT:-2222} orchestra-sandbox@127.0.0.1"
echo "Tear it down with: npm run sandbox:down"
