/**
 * Asks the ssh-agent (SSH_AUTH_SOCK) which keys it holds, through ssh2's agent client, and refuses
 * the run when it lacks the key Docker's ssh transport needs (dockerSshAgentPlan.ts says why).
 */
import * as pulumi from "@pulumi/pulumi";
import type { Duplex } from "stream";
import { OpenSSHAgent } from "ssh2";
import { agentProblem, type AgentView } from "./dockerSshAgentPlan";

/** How long an agent may take to list its keys before it counts as not answering. */
const AGENT_TIMEOUT_MS = 5_000;

/**
 * ssh2's agent client, keeping the sockets it opens: on a timeout they are destroyed, or an agent
 * that accepts and never answers (one waiting on a prompt) would keep the program alive, and
 * `pulumi preview` would hang after printing the error.
 */
class ClosableAgent extends OpenSSHAgent {
  private readonly streams: Duplex[] = [];
  override getStream(cb: Parameters<OpenSSHAgent["getStream"]>[0]): void {
    super.getStream((error, stream) => {
      if (stream !== undefined) this.streams.push(stream);
      cb(error, stream);
    });
  }
  close(): void {
    for (const stream of this.streams) stream.destroy();
  }
}

/**
 * The agent named by `socket` (SSH_AUTH_SOCK by default), as an AgentView. Never throws; gives up
 * after `timeoutMs` (5 s), closing the connection.
 */
export async function viewAgent(
  socket: string | undefined = process.env.SSH_AUTH_SOCK,
  timeoutMs = AGENT_TIMEOUT_MS,
): Promise<AgentView> {
  if (socket === undefined || socket === "") return { kind: "no-socket" };
  const agent = new ClosableAgent(socket);
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      agent.close();
      resolve({ kind: "unreachable", socket, reason: `no answer within ${timeoutMs / 1000} s` });
    }, timeoutMs);
    agent.getIdentities((error, keys) => {
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
