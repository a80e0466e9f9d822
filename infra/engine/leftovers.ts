/**
 * What the test tiers left running in a checkout (Linux /proc): `.ci/run` snapshots it before the
 * tiers and fails if anything new is still there after them (scripts/leftovers.ts).
 *
 * What counts: a process named like something a tier starts (node, tsx, esbuild, sshd, pulumi and
 * its plugins, npm, jest, the versitygw S3 server) whose working directory is inside the checkout or whose command line
 * names a path inside it (the sandbox sshd runs from `/` with `-f <checkout>/.sandbox/...`), other
 * than the checker itself, its ancestors (the `.ci/run` shell) and its descendants; and Docker
 * containers, networks and volumes labelled `org.orchestra.test-run`. Not counted: the Docker
 * engine (`dockerd`, `containerd`) that scripts/docker-engine.sh starts: it is the machine's engine,
 * on a unix socket only, shared with the operator and every checkout (stopping it would stop their
 * containers; restarting it costs each run seconds), like any system service.
 */
import { execFileSync } from "child_process";
import { readdirSync, readFileSync, readlinkSync } from "fs";

export interface ProcessInfo {
  readonly pid: number;
  readonly ppid: number;
  /** Kernel start time (clock ticks since boot): with the pid, identifies a process across pid reuse. */
  readonly startTicks: number;
  readonly name: string;
  readonly cwd: string;
  readonly commandLine: string;
  /** TCP addresses it listens on, e.g. `0.0.0.0:2222`, `127.0.0.1:18787`, `[::]:22`. */
  readonly listening: string[];
}

/** Process names (the kernel's 15-character `comm`) of what the tiers start. */
export const TIER_PROCESS_NAME = /^(node|tsx|esbuild|sshd|pulumi.*|npm.*|jest|versitygw)$/;

function readOr(path: string, fallback: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return fallback;
  }
}

/** `0100007F:08AE` (little-endian IPv4, hex port) or the 32-hex-digit IPv6 form -> `127.0.0.1:2222`. */
export function decodeProcNetAddress(hex: string): string {
  const [address, port] = hex.split(":");
  const portNumber = parseInt(port, 16);
  if (address.length === 8) {
    const bytes = (address.match(/../g) ?? []).map((byte) => parseInt(byte, 16)).reverse();
    return `${bytes.join(".")}:${portNumber}`;
  }
  // IPv6: four little-endian 32-bit words. Shown uncompressed but for the two addresses that matter.
  const words = (address.match(/.{8}/g) ?? []).map((word) => (word.match(/../g) ?? []).reverse().join(""));
  const groups = (words.join("").match(/.{4}/g) ?? []).map((group) => group.replace(/^0+(?=.)/, ""));
  const text = groups.join(":");
  if (text === "0:0:0:0:0:0:0:0") return `[::]:${portNumber}`;
  if (text === "0:0:0:0:0:0:0:1") return `[::1]:${portNumber}`;
  return `[${text}]:${portNumber}`;
}

/** Socket inode -> listening address, from /proc/net/tcp and tcp6 (state 0A = LISTEN). */
function listeningSockets(): Map<string, string> {
  const sockets = new Map<string, string>();
  for (const file of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    for (const line of readOr(file, "").split("\n").slice(1)) {
      const fields = line.trim().split(/\s+/);
      if (fields.length > 9 && fields[3] === "0A") sockets.set(fields[9], decodeProcNetAddress(fields[1]));
    }
  }
  return sockets;
}

/** Every process on the machine, as far as /proc lets this user read it. */
export function listProcesses(): ProcessInfo[] {
  const sockets = listeningSockets();
  const processes: ProcessInfo[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = readOr(`/proc/${entry}/stat`, "");
    if (stat === "") continue;
    // "pid (comm) state ppid ... starttime(22nd)": comm may hold spaces, so split after the last ")".
    const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    let cwd = "";
    const listening: string[] = [];
    try {
      cwd = readlinkSync(`/proc/${entry}/cwd`);
      for (const fd of readdirSync(`/proc/${entry}/fd`)) {
        const target = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${entry}/fd/${fd}`));
        const address = target === null ? undefined : sockets.get(target[1]);
        if (address !== undefined && !listening.includes(address)) listening.push(address);
      }
    } catch {
      // another user's process, or it exited meanwhile
    }
    processes.push({
      pid: Number(entry),
      ppid: Number(rest[1]),
      startTicks: Number(rest[19]),
      name: stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")")),
      cwd,
      commandLine: readOr(`/proc/${entry}/cmdline`, "").split("\0").join(" ").trim(),
      listening,
    });
  }
  return processes;
}

/** The processes of `root` that count (see the file comment), seen from process `selfPid`. */
export function tierProcesses(
  root: string,
  processes: readonly ProcessInfo[] = listProcesses(),
  selfPid: number = process.pid,
): ProcessInfo[] {
  const byPid = new Map(processes.map((info) => [info.pid, info]));
  const excluded = new Set<number>();
  for (let pid: number | undefined = selfPid; pid !== undefined && pid > 0; pid = byPid.get(pid)?.ppid) {
    if (excluded.has(pid)) break;
    excluded.add(pid);
  }
  const descendants = [selfPid];
  for (let index = 0; index < descendants.length; index++)
    for (const info of processes)
      if (info.ppid === descendants[index] && !excluded.has(info.pid)) {
        excluded.add(info.pid);
        descendants.push(info.pid);
      }
  const inside = (path: string) => path === root || path.startsWith(`${root}/`);
  return processes.filter(
    (info) =>
      !excluded.has(info.pid) &&
      TIER_PROCESS_NAME.test(info.name) &&
      (inside(info.cwd) ||
        info.commandLine.split(" ").some((word) => inside(word) || word.includes(`${root}/`))),
  );
}

/** `docker ps/network/volume` ids labelled org.orchestra.test-run; none when no engine answers. */
export function labelledDockerObjects(): string[] {
  const list = (args: string[]) => {
    try {
      return execFileSync("docker", args, { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] })
        .split("\n")
        .filter((line) => line !== "");
    } catch {
      return [];
    }
  };
  const filter = ["--filter", "label=org.orchestra.test-run"];
  return [
    ...list(["ps", "-a", ...filter, "--format", "container {{.ID}} {{.Names}}"]),
    ...list(["network", "ls", ...filter, "--format", "network {{.ID}} {{.Name}}"]),
    ...list(["volume", "ls", ...filter, "--format", "volume {{.Name}}"]),
  ];
}

/** What to compare: processes as `pid@startTicks`, Docker objects as their listing line. */
export interface LeftoverSnapshot {
  readonly processes: string[];
  readonly docker: string[];
}

export function processKey(info: ProcessInfo): string {
  return `${info.pid}@${info.startTicks}`;
}

export function snapshot(root: string, selfPid: number = process.pid): LeftoverSnapshot {
  return {
    processes: tierProcesses(root, listProcesses(), selfPid).map(processKey),
    docker: labelledDockerObjects(),
  };
}

/** One line per leftover: `pid 123 sshd (cwd /, listening on 0.0.0.0:2222): /usr/sbin/sshd -f ...`. */
export function describeProcess(info: ProcessInfo): string {
  const listening = info.listening.length > 0 ? `, listening on ${info.listening.join(" ")}` : "";
  const command = info.commandLine.length > 200 ? `${info.commandLine.slice(0, 200)}...` : info.commandLine;
  return `pid ${info.pid} ${info.name} (cwd ${info.cwd}${listening}): ${command}`;
}

/** What is running now in `root` that was not in `before`: the tiers' leftovers. */
export function leftoversSince(
  root: string,
  before: LeftoverSnapshot,
  selfPid: number = process.pid,
): { processes: ProcessInfo[]; docker: string[] } {
  return {
    processes: tierProcesses(root, listProcesses(), selfPid).filter(
      (info) => !before.processes.includes(processKey(info)),
    ),
    docker: labelledDockerObjects().filter((line) => !before.docker.includes(line)),
  };
}

/**
 * The processes of engine commands (CLI, language host, program, plugins) alive in `root`, as
 * describeProcess lines, after waiting up to `settleMs` for ones just killed to go.
 */
export async function engineProcesses(root: string, settleMs = 5000): Promise<string[]> {
  const alive = () =>
    tierProcesses(root)
      .filter((info) => /pulumi/.test(info.name) || /@pulumi\/pulumi\/cmd\//.test(info.commandLine))
      .map(describeProcess);
  const deadline = Date.now() + settleMs;
  while (alive().length > 0 && Date.now() < deadline)
    await new Promise((resolve) => setTimeout(resolve, 200));
  return alive();
}
