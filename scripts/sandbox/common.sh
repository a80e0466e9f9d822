# shellcheck shell=bash
# Shared by the sandbox scripts: paths, the toolchain, the local file backend, the emulator.
# Sourced, not run.
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
STATE="$ROOT/.sandbox"
STACK="${SANDBOX_STACK:-sandbox}"
EMULATOR_PORT="${SANDBOX_EMULATOR_PORT:-18787}"
EMULATOR_KEY="${SANDBOX_EMULATOR_KEY:-lambda-emulator-key}"
mkdir -p "$STATE"

log() { printf '[sandbox] %s\n' "$*" >&2; }

SANDBOX_DEFAULT_PASSPHRASE="orchestra-sandbox-local-passphrase"

use_toolchain() {
  local bin default_passphrase=""
  bin="$(bash "$ROOT/scripts/toolchain.sh")"
  # shellcheck disable=SC1091
  source "$(dirname "$bin")/env.sh"
  if [ -z "${PULUMI_CONFIG_PASSPHRASE:-}" ]; then
    export PULUMI_CONFIG_PASSPHRASE="$SANDBOX_DEFAULT_PASSPHRASE"
    default_passphrase=1
    log "PULUMI_CONFIG_PASSPHRASE not set: using the sandbox's local default (set your own to override)"
  fi
  # State lives in the working tree, ignored by git. Chosen by environment, not `pulumi login`:
  # a login is written into the toolchain's PULUMI_HOME, which every checkout on the machine shares.
  mkdir -p "$ROOT/.pulumi-state"
  # metadata=skip: no gocloud sidecar files, whose in-place rewrite can fail a concurrent read of
  # the checkpoint with "failed to load checkpoint: EOF" (infra/engine/engineStack.ts fileBackendUrl).
  export PULUMI_BACKEND_URL="file://$ROOT/.pulumi-state?metadata=skip"
  # For the operator's own commands: `source .sandbox/env.sh`, then `pulumi stack output --stack sandbox`.
  {
    echo "# This checkout's sandbox: the toolchain's pulumi on PATH and the sandbox's backend."
    echo "source \"$(dirname "$bin")/env.sh\""
    echo "export PULUMI_BACKEND_URL=\"$PULUMI_BACKEND_URL\""
    # The documented local default only; a passphrase of your own is never written here.
    [ -n "$default_passphrase" ] && echo "export PULUMI_CONFIG_PASSPHRASE=\"\${PULUMI_CONFIG_PASSPHRASE:-$SANDBOX_DEFAULT_PASSPHRASE}\""
    true
  } >"$STATE/env.sh"
}

emulator_running() {
  [ -f "$STATE/emulator.pid" ] && kill -0 "$(cat "$STATE/emulator.pid")" 2>/dev/null
}

# start_emulator [extra flags...]: the emulator with Lambda's faithful rate limits, loopback IPs so
# every instance is this machine's sshd, and short boots.
start_emulator() {
  if emulator_running; then log "emulator already running (pid $(cat "$STATE/emulator.pid"))"; return; fi
  log "starting the Lambda emulator on 127.0.0.1:$EMULATOR_PORT"
  # Detached from our stdout: a pipe left open by the emulator would hang `npm run sandbox | tee`.
  nohup "$ROOT/node_modules/.bin/tsx" "$ROOT/scripts/emulator.ts" --port "$EMULATOR_PORT" --api-key "$EMULATOR_KEY" \
    --ip-mode loopback --boot-delay-ms "${SANDBOX_BOOT_DELAY_MS:-3000}" --terminate-delay-ms 1000 --quiet "$@" \
    </dev/null >"$STATE/emulator.log" 2>&1 &
  echo $! >"$STATE/emulator.pid"
  for _ in $(seq 1 100); do
    grep -q "ready at" "$STATE/emulator.log" 2>/dev/null && { log "$(head -1 "$STATE/emulator.log")"; return; }
    emulator_running || { cat "$STATE/emulator.log" >&2; log "ERROR: the emulator exited"; exit 1; }
    sleep 0.2
  done
  log "ERROR: the emulator did not report ready within 20 s; see $STATE/emulator.log"; exit 1
}

stop_emulator() {
  if emulator_running; then kill "$(cat "$STATE/emulator.pid")" && log "emulator stopped"; fi
  rm -f "$STATE/emulator.pid"
}

# The engine runs with a working copy of Pulumi.<stack>.yaml in .sandbox/ that adds the salt and
# the secrets; the tracked file keeps plain values only, so no secret can land in a commit.
WORKING_CONFIG="$STATE/Pulumi.$STACK.yaml"

# ensure_stack_config <private-key-path>: creates the stack when missing, writes the working copy,
# and sets the secrets from files through stdin (a value on a command line would show in `ps` and
# shell history). Run by up and down alike.
ensure_stack_config() {
  local key_path="$1"
  if ! pulumi stack select "$STACK" --non-interactive >/dev/null 2>&1; then
    # `stack init` writes the passphrase salt into the tracked file and re-serializes it (numbers
    # and booleans turn into quoted strings): keep the salt in the working state and put the
    # tracked file back byte for byte, so running the sandbox never dirties the checkout.
    cp "$ROOT/Pulumi.$STACK.yaml" "$STATE/Pulumi.$STACK.tracked.yaml"
    pulumi stack init "$STACK" --non-interactive >/dev/null
    grep '^encryptionsalt:' "$ROOT/Pulumi.$STACK.yaml" >"$STATE/encryptionsalt"
    cp "$STATE/Pulumi.$STACK.tracked.yaml" "$ROOT/Pulumi.$STACK.yaml"
  fi
  if [ ! -s "$STATE/encryptionsalt" ]; then
    log "ERROR: stack $STACK exists but $STATE/encryptionsalt is missing; remove the stack with 'pulumi stack rm $STACK --force' (state in .pulumi-state) and run again"
    exit 1
  fi
  { cat "$ROOT/Pulumi.$STACK.yaml"; cat "$STATE/encryptionsalt"; } >"$WORKING_CONFIG"
  local cfg=(--stack "$STACK" --config-file "$WORKING_CONFIG")
  pulumi config set "${cfg[@]}" sshPublicKey "$(cut -d' ' -f1,2 "$key_path.pub") orchestra-sandbox"
  pulumi config set "${cfg[@]}" --secret sshPrivateKey <"$key_path"
  printf '%s' "$EMULATOR_KEY" | pulumi config set "${cfg[@]}" --secret lambdaApiKey
  # The data stores' secrets: random on first use, kept in .sandbox/ (0600), set through stdin.
  local key file
  for key in databasePassword redisPassword weaviateApiKey; do
    file="$STATE/secret-$key"
    if [ ! -s "$file" ]; then
      (umask 077 && head -c 24 /dev/urandom | base64 | tr -d '/+=\n' >"$file")
    fi
    pulumi config set "${cfg[@]}" --secret "$key" <"$file"
  done
}

# use_ssh_agent <private-key-path>: the path every operator and CI job takes. Docker's ssh://
# transport runs the system `ssh`, which gets keys from an ssh-agent (the program refuses to
# preview when the agent lacks the key matching orchestra:sshPublicKey). The sandbox starts its
# own agent for this run, holding only the sandbox key, rather than adding a key to yours; it is
# stopped when the script exits.
use_ssh_agent() {
  local key_path="$1" dir out
  command -v ssh-agent >/dev/null || { log "ERROR: ssh-agent not found: install openssh-client"; exit 1; }
  # A short directory of its own: a Unix socket path is limited to 107 bytes, and a deep checkout
  # would exceed it (ssh-agent then fails and the caller's own agent would be used instead).
  dir="$(mktemp -d /tmp/orchestra-agent.XXXXXX)"
  out="$(ssh-agent -s -a "$dir/agent.sock")" || { log "ERROR: could not start ssh-agent"; exit 1; }
  eval "$out" >/dev/null
  if [ "${SSH_AUTH_SOCK:-}" != "$dir/agent.sock" ] || [ -z "${SSH_AGENT_PID:-}" ]; then
    log "ERROR: ssh-agent did not start at $dir/agent.sock"
    exit 1
  fi
  # Stops this agent only (by its pid), never one the caller had.
  SANDBOX_AGENT_PID="$SSH_AGENT_PID"
  SANDBOX_AGENT_DIR="$dir"
  trap 'kill "$SANDBOX_AGENT_PID" 2>/dev/null || true; rm -rf "$SANDBOX_AGENT_DIR"' EXIT
  ssh-add -q "$key_path"
  log "ssh-agent (pid $SSH_AGENT_PID) holds the sandbox key: $(ssh-add -l | cut -d' ' -f2)"
}
