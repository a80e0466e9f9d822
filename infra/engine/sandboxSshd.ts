/**
 * The engine tier's handle on the sandbox sshd (scripts/sandbox/sshd.sh): start it if it is not
 * running, and stop it afterwards only if this run started it (an operator's own sandbox stays).
 */
import { execFileSync } from "child_process";
import { existsSync, readFileSync } from "fs";
import { listProcesses } from "./leftovers";
import { PROJECT_ROOT } from "./toolchain";

export const SANDBOX_STATE = `${PROJECT_ROOT}/.sandbox`;
/** The sandbox sshd's port: Pulumi.sandbox.yaml's 2222, or SANDBOX_SSH_PORT (also read by sshd.sh). */
export const SSH_PORT = Number(process.env.SANDBOX_SSH_PORT ?? "2222");
const SCRIPT = `${PROJECT_ROOT}/scripts/sandbox/sshd.sh`;

/** The pid of this checkout's running sandbox sshd (from its pid file), or undefined. */
export function sandboxSshdPid(): number | undefined {
  const file = `${SANDBOX_STATE}/ssh/sshd.pid`;
  const pid = existsSync(file) ? Number(readFileSync(file, "utf8").trim()) : NaN;
  return Number.isInteger(pid) && listProcesses().some((info) => info.pid === pid) ? pid : undefined;
}

/** Starts the sshd unless running. Returns the private key's path and whether this call started it. */
export function startSandboxSshd(): { keyPath: string; started: boolean } {
  const started = sandboxSshdPid() === undefined;
  const output = execFileSync("bash", [SCRIPT, SANDBOX_STATE], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "inherit"],
  });
  return { keyPath: output.trim().split("\n").pop() as string, started };
}

/** Stops this checkout's sandbox sshd and waits until it is gone. */
export function stopSandboxSshd(): void {
  execFileSync("bash", [SCRIPT, "stop", SANDBOX_STATE], { stdio: ["ignore", "ignore", "inherit"] });
}
