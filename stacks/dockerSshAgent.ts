/**
 * Asks the ssh-agent (SSH_AUTH_SOCK) which keys it holds, through ssh2's agent client, and refuses
 * the run when it lacks the key Docker's ssh transport needs (dockerSshAgentPlan.ts says why).
 */
import * as pulumi from "@pulumi/pulumi";
import { OpenSSHAgent } from "ssh2";
import { agentProblem, type AgentView } from "./dockerSshAgentPlan";

/** How long an agent may take to list its keys before it counts as not answering. */
const AGENT_TIMEOUT_MS = 5_000;

/** The agent named by `socket` (SSH_AUTH_SOCK by default), as an AgentView. Never throws. */
export async function viewAgent(socket: string | undefined = process.env.SSH_AUTH_SOCK): Promise<AgentView> {
  if (socket === undefined || socket === "") return { kind: "no-socket" };
  return new Promise((resolve) => {
    const timer = setTimeout(
      () => resolve({ kind: "unreachable", socket, reason: `no answer within ${AGENT_TIMEOUT_MS / 1000} s` }),
      AGENT_TIMEOUT_MS,
    );
    new OpenSSHAgent(socket).getIdentities((error, keys) => {
      clearTimeout(timer);
      if (error !== undefined && error !== null)
        resolve({ kind: "unreachable", socket, reason: error.message });
      else
        resolve({
          kind: "identities",
          socket,
          // OpenSSHAgent answers ParsedKeys; the typings also allow entries it never returns.
          publicKeys: (keys ?? []).flatMap((key) =>
            "getPublicSSH" in key ? [key.getPublicSSH().toString("base64")] : [],
          ),
        });
    });
  });
}

/**
 * Throws a `pulumi.RunError` (the message alone, no stack trace) unless the agent holds the key
 * matching `publicKeyLine`. Run before any resource is declared, so preview fails creating nothing.
 */
export async function requireDockerSshKey(publicKeyLine: string): Promise<void> {
  const problem = agentProblem(await viewAgent(), publicKeyLine);
  if (problem !== undefined) throw new pulumi.RunError(problem);
}
