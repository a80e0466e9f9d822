/**
 * Pure half of the SSH credential check for the Docker provider (dockerSshAgent.ts asks the agent).
 *
 * Why an agent: each node's Docker provider has `host: ssh://user@node`, and the provider's ssh
 * transport runs the system `ssh` client (Docker's connhelper: `ssh ... -- host docker system
 * dial-stdio`). That client never sees the stack's `sshPrivateKey` secret: it takes keys from an
 * ssh-agent, `~/.ssh/config` or default key files. The project's one supported path, for laptops
 * and CI alike, is the agent named by SSH_AUTH_SOCK holding the key that matches
 * `orchestra:sshPublicKey`; writing the secret to a key file for ssh would leave it on disk.
 */
import { publicKeyBlob, sshFingerprint } from "./sshPublicKey";

/** What the agent answered: nothing to ask, no answer, or the public keys it holds. */
export type AgentView =
  | { readonly kind: "no-socket" }
  | { readonly kind: "unreachable"; readonly socket: string; readonly reason: string }
  /** `publicKeys`: the key blobs the agent holds, base64 (the middle field of a `.pub` line). */
  | { readonly kind: "identities"; readonly socket: string; readonly publicKeys: readonly string[] };

/** Where the fix is explained for CI runners (a README section title). */
export const AGENT_README_SECTION = "SSH credentials for Docker";

/** Most fingerprints a message lists; an agent may hold hundreds. */
const LISTED_KEYS = 5;
/**
 * ssh offers the agent's keys in order and sshd stops after MaxAuthTries (6 by default, on Lambda's
 * Ubuntu too) failed offers: past this position the right key is never tried.
 */
export const MAX_AGENT_POSITION = 5;

/** Base64 blobs compared as bytes: padding and line breaks aside, one key is one key. */
function sameKey(a: string, b: string): boolean {
  return Buffer.from(a, "base64").equals(Buffer.from(b, "base64"));
}

/**
 * Undefined when the agent holds the key matching `publicKeyLine`; else the problem and the exact
 * fix, in one message that names the config key, the key's fingerprint and the agent's socket.
 */
export function agentProblem(view: AgentView, publicKeyLine: string): string | undefined {
  const blob = publicKeyBlob(publicKeyLine);
  const wanted = sshFingerprint(blob);
  const subject =
    `Docker reaches each node over SSH with the system ssh client, which takes its key from an ` +
    `ssh-agent, not from the sshPrivateKey secret; the key matching orchestra:sshPublicKey (${wanted})`;
  const load =
    `load it with \`ssh-add <private-key-file>\` (\`ssh-add -l\` lists what the agent holds); ` +
    `in CI, load it from a secret with an ssh-agent step (README: "${AGENT_README_SECTION}")`;
  switch (view.kind) {
    case "no-socket":
      return `${subject} cannot be used: SSH_AUTH_SOCK is not set. Start an agent with \`eval "$(ssh-agent -s)"\`, then ${load}`;
    case "unreachable":
      return `${subject} cannot be used: the ssh-agent at SSH_AUTH_SOCK=${view.socket} does not answer (${view.reason}). Start an agent with \`eval "$(ssh-agent -s)"\`, then ${load}`;
    case "identities": {
      const position = view.publicKeys.findIndex((held) => sameKey(held, blob));
      if (position >= MAX_AGENT_POSITION)
        return `${subject} is key ${position + 1} of ${view.publicKeys.length} in the ssh-agent at SSH_AUTH_SOCK=${view.socket}: ssh offers the agent's keys in order and sshd refuses after 6 tries (MaxAuthTries), so it would never be offered. Use an agent that holds it among its first ${MAX_AGENT_POSITION}: \`eval "$(ssh-agent -s)" && ssh-add <private-key-file>\` starts one holding only this key`;
      if (position >= 0) return undefined;
      const listed = view.publicKeys.slice(0, LISTED_KEYS).map(sshFingerprint).join(", ");
      const more =
        view.publicKeys.length > LISTED_KEYS ? ` and ${view.publicKeys.length - LISTED_KEYS} more` : "";
      const held = view.publicKeys.length === 0 ? "holds no key" : `holds ${listed}${more} only`;
      return `${subject} is not in the ssh-agent: the agent at SSH_AUTH_SOCK=${view.socket} ${held}. Before preview, ${load}`;
    }
  }
}
