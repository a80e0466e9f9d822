/**
 * A throwaway OpenSSH ssh-agent for a test run (the path operators and CI take: Docker's ssh
 * transport reads keys from an agent). Runs in the foreground (`-D`) so the test owns the process
 * and stops it; never the operator's own agent.
 */
import { execFileSync, spawn, type ChildProcess } from "child_process";
import { mkdtempSync, rmSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";

export interface TestAgent {
  /** The value for SSH_AUTH_SOCK. */
  readonly socket: string;
  /** Loads a private key file (`ssh-add`). */
  add(keyPath: string): void;
  /** Drops every key (`ssh-add -D`). */
  clear(): void;
  /** Stops the agent and waits for it to exit; removes its socket directory. */
  stop(): Promise<void>;
}

export async function startTestAgent(): Promise<TestAgent> {
  const dir = mkdtempSync(join(tmpdir(), "orchestra-agent-"));
  const socket = join(dir, "agent.sock");
  const child: ChildProcess = spawn("ssh-agent", ["-D", "-a", socket], { stdio: "ignore" });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const sshAdd = (args: string[]) =>
    execFileSync("ssh-add", args, { env: { ...process.env, SSH_AUTH_SOCK: socket }, stdio: "ignore" });
  for (let tries = 0; ; tries++) {
    try {
      sshAdd(["-l"]);
      break;
    } catch (error) {
      // Exit 1: the agent answers and holds no key. 2: not listening yet.
      if ((error as { status: number }).status === 1) break;
      if (tries === 50) throw new Error(`ssh-agent did not listen on ${socket} within 5 s`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  return {
    socket,
    add: (keyPath) => sshAdd(["-q", keyPath]),
    clear: () => sshAdd(["-D", "-q"]),
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill();
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** `ssh-keygen -l`'s fingerprint (`SHA256:...`) of a public key file: the reference tests compare with. */
export function keygenFingerprint(publicKeyPath: string): string {
  return execFileSync("ssh-keygen", ["-l", "-f", publicKeyPath], { encoding: "utf8" }).split(" ")[1];
}
