/**
 * The SSH credential check for Docker's ssh transport: exact messages from the pure half, and the
 * agent client against a real OpenSSH ssh-agent with real keys (ssh-keygen, ssh-add).
 */
import { execFileSync } from "child_process";
import { mkdtempSync, readFileSync, rmSync } from "fs";
import { createServer } from "net";
import { tmpdir } from "os";
import { join } from "path";
import * as pulumi from "@pulumi/pulumi";
import { keygenFingerprint, startTestAgent, type TestAgent } from "../infra/engine/sshAgent";
import { requireDockerSshKey, viewAgent } from "./dockerSshAgent";
import { agentProblem } from "./dockerSshAgentPlan";
import { publicKeyBlob, publicKeyLineProblem, sshFingerprint } from "./sshPublicKey";

let dir: string;
let agent: TestAgent;
let socket: string;
const keys: Record<string, { path: string; publicLine: string }> = {};

function makeKey(name: string): void {
  const path = join(dir, name);
  execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", name, "-f", path]);
  keys[name] = { path, publicLine: readFileSync(`${path}.pub`, "utf8").trim() };
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "orchestra-agent-"));
  makeKey("node");
  makeKey("other");
  agent = await startTestAgent();
  socket = agent.socket;
});

afterAll(async () => {
  await agent?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe("pure", () => {
  test("fingerprints equal ssh-keygen -l's", () => {
    for (const { path, publicLine } of Object.values(keys))
      expect(sshFingerprint(publicKeyBlob(publicLine))).toBe(keygenFingerprint(path));
  });

  test("no SSH_AUTH_SOCK: the message names the key, the fix and the CI section", () => {
    const fingerprint = keygenFingerprint(`${keys.node.path}.pub`);
    expect(agentProblem({ kind: "no-socket" }, keys.node.publicLine)).toBe(
      `Docker reaches each node over SSH with the system ssh client, which takes its key from an ssh-agent, not from the sshPrivateKey secret; the key matching orchestra:sshPublicKey (${fingerprint}) cannot be used: SSH_AUTH_SOCK is not set. Start an agent with \`eval "$(ssh-agent -s)"\`, then load it with \`ssh-add <private-key-file>\` (\`ssh-add -l\` lists what the agent holds); in CI, load it from a secret with an ssh-agent step (README: "SSH credentials for Docker")`,
    );
  });

  test("an agent holding other keys: each held key's fingerprint is listed", () => {
    const other = publicKeyBlob(keys.other.publicLine);
    expect(
      agentProblem({ kind: "identities", socket: "/run/a.sock", publicKeys: [other] }, keys.node.publicLine),
    ).toBe(
      `Docker reaches each node over SSH with the system ssh client, which takes its key from an ssh-agent, not from the sshPrivateKey secret; the key matching orchestra:sshPublicKey (${keygenFingerprint(`${keys.node.path}.pub`)}) is not in the ssh-agent: the agent at SSH_AUTH_SOCK=/run/a.sock holds ${keygenFingerprint(`${keys.other.path}.pub`)} only. Before preview, load it with \`ssh-add <private-key-file>\` (\`ssh-add -l\` lists what the agent holds); in CI, load it from a secret with an ssh-agent step (README: "SSH credentials for Docker")`,
    );
  });

  test("the matching key held (comments and spacing aside): no problem", () => {
    const blob = publicKeyBlob(keys.node.publicLine);
    expect(
      agentProblem(
        { kind: "identities", socket: "/s", publicKeys: [publicKeyBlob(keys.other.publicLine), blob] },
        `  ${keys.node.publicLine.replace(" ", "   ")} different-comment `,
      ),
    ).toBeUndefined();
  });
});

describe("key lines and many keys", () => {
  test("a key line's blob must be a key of the declared type", () => {
    const blob = publicKeyBlob(keys.node.publicLine);
    expect(publicKeyLineProblem(keys.node.publicLine)).toBeUndefined();
    expect(publicKeyLineProblem(`ssh-rsa ${blob} ops`)).toBe(
      "it says ssh-rsa but its key data is a ssh-ed25519 key (copy the whole line of the .pub file unchanged)",
    );
    expect(publicKeyLineProblem("ssh-ed25519 QUJD ops")).toBe(
      "its key data is not an SSH public key (copy the whole line of the .pub file, e.g. `cat ~/.ssh/id_ed25519.pub`)",
    );
  });

  test("blobs compare as bytes: a line without base64 padding still matches", () => {
    const blob = publicKeyBlob(keys.node.publicLine);
    const unpadded = `ssh-ed25519 ${blob.replace(/=+$/, "")} ops`;
    expect(agentProblem({ kind: "identities", socket: "/s", publicKeys: [blob] }, unpadded)).toBeUndefined();
  });

  test("past the fifth key the agent's key is never offered (MaxAuthTries); a long list is capped", () => {
    const others = Array.from({ length: 7 }, (_, index) =>
      Buffer.from(`other-key-${index}`).toString("base64"),
    );
    const blob = publicKeyBlob(keys.node.publicLine);
    const fingerprint = keygenFingerprint(`${keys.node.path}.pub`);
    expect(
      agentProblem(
        { kind: "identities", socket: "/s", publicKeys: [...others.slice(0, 4), blob] },
        keys.node.publicLine,
      ),
    ).toBeUndefined();
    expect(
      agentProblem(
        { kind: "identities", socket: "/s", publicKeys: [...others.slice(0, 5), blob] },
        keys.node.publicLine,
      ),
    ).toBe(
      `Docker reaches each node over SSH with the system ssh client, which takes its key from an ssh-agent, not from the sshPrivateKey secret; the key matching orchestra:sshPublicKey (${fingerprint}) is key 6 of 6 in the ssh-agent at SSH_AUTH_SOCK=/s: ssh offers the agent's keys in order and sshd refuses after 6 tries (MaxAuthTries), so it would never be offered. Use an agent that holds it among its first 5: \`eval "$(ssh-agent -s)" && ssh-add <private-key-file>\` starts one holding only this key`,
    );
    const missing = agentProblem(
      { kind: "identities", socket: "/s", publicKeys: others },
      keys.node.publicLine,
    );
    expect(missing).toContain(
      `holds ${others
        .slice(0, 5)
        .map((other) => sshFingerprint(other))
        .join(", ")} and 2 more only.`,
    );
  });
});

describe("against a real ssh-agent", () => {
  test("an agent that accepts and never answers is given up after the timeout, its connection closed", async () => {
    const socketPath = join(dir, "silent.sock");
    let closed = false;
    // Reads (and ignores) what the client sends, so the client closing is seen as "close".
    const silent = createServer((connection) => connection.resume().on("close", () => (closed = true)));
    await new Promise<void>((resolve) => silent.listen(socketPath, resolve));
    try {
      expect(await viewAgent(socketPath, 300)).toEqual({
        kind: "unreachable",
        socket: socketPath,
        reason: "no answer within 0.3 s",
      });
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(closed).toBe(true);
    } finally {
      silent.close();
    }
  });

  test("an empty agent answers with no keys, and the check refuses with 'holds no key'", async () => {
    expect(await viewAgent(socket)).toEqual({ kind: "identities", socket, publicKeys: [] });
    expect(agentProblem(await viewAgent(socket), keys.node.publicLine)).toContain(
      `is not in the ssh-agent: the agent at SSH_AUTH_SOCK=${socket} holds no key. Before preview,`,
    );
  });

  test("after ssh-add the agent lists the key and the check passes; a missing socket is unreachable", async () => {
    agent.add(keys.node.path);
    expect(await viewAgent(socket)).toEqual({
      kind: "identities",
      socket,
      publicKeys: [publicKeyBlob(keys.node.publicLine)],
    });
    const saved = process.env.SSH_AUTH_SOCK;
    try {
      process.env.SSH_AUTH_SOCK = socket;
      await expect(requireDockerSshKey(keys.node.publicLine)).resolves.toBeUndefined();
      const failure = await requireDockerSshKey(keys.other.publicLine).catch((error: unknown) => error);
      expect(pulumi.RunError.isInstance(failure)).toBe(true);
      expect((failure as Error).message).toContain(
        `(${keygenFingerprint(`${keys.other.path}.pub`)}) is not in the ssh-agent: the agent at SSH_AUTH_SOCK=${socket} holds ${keygenFingerprint(`${keys.node.path}.pub`)} only.`,
      );
      delete process.env.SSH_AUTH_SOCK;
      expect(await viewAgent()).toEqual({ kind: "no-socket" });
    } finally {
      if (saved === undefined) delete process.env.SSH_AUTH_SOCK;
      else process.env.SSH_AUTH_SOCK = saved;
    }
    expect(await viewAgent(join(dir, "absent.sock"))).toEqual({
      kind: "unreachable",
      socket: join(dir, "absent.sock"),
      reason: "Failed to connect to agent",
    });
  });
});
