/**
 * Process trees from /proc (Linux), for the engine tier: find the `pulumi` commands this process
 * started (the Automation API starts them and keeps their handles to itself), and kill one with
 * everything under it.
 */
import { readdirSync, readFileSync, readlinkSync } from "fs";

/** Parent pid of every process. A process that exits while being read is skipped. */
function parentPids(): Map<number, number> {
  const parents = new Map<number, number>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      // "pid (comm) state ppid ...": comm may hold spaces and parentheses, so split after the last ")".
      parents.set(Number(entry), Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]));
    } catch {
      // exited meanwhile
    }
  }
  return parents;
}

/** `pid` and all its descendants, whatever their process group or session. */
export function processTree(pid: number): number[] {
  const parents = parentPids();
  const tree = [pid];
  for (let index = 0; index < tree.length; index++)
    for (const [child, parent] of parents) if (parent === tree[index]) tree.push(child);
  return tree;
}

/**
 * The direct children of `parent` that run `executable` (a resolved path) with `environmentEntry`
 * (`NAME=value`) in their environment: a marker that tells one caller's commands from another's.
 * A child that exits while being read is skipped.
 */
export function childrenRunning(parent: number, executable: string, environmentEntry: string): number[] {
  const children: number[] = [];
  for (const [pid, parentPid] of parentPids()) {
    if (parentPid !== parent) continue;
    try {
      if (readlinkSync(`/proc/${pid}/exe`) !== executable) continue;
      if (readFileSync(`/proc/${pid}/environ`, "utf8").split("\0").includes(environmentEntry))
        children.push(pid);
    } catch {
      // exited meanwhile
    }
  }
  return children;
}

/**
 * Kills `pid` and every process under it: for `pulumi`, the language host, the program, and the
 * provider plugins, which the CLI starts in process groups of their own, so a group kill missed
 * them and the dynamic provider (it has no engine health check) lived on, orphaned, after a killed
 * `up`. The tree is stopped first (SIGSTOP, re-read until no new process appears) so nothing can
 * spawn or be re-parented between reading it and killing it.
 */
export function killTree(pid: number): void {
  const signal = (target: number, name: NodeJS.Signals) => {
    try {
      process.kill(target, name);
    } catch {
      // already gone
    }
  };
  const stopped = new Set<number>();
  for (let round = 0; round < 10; round++) {
    const fresh = processTree(pid).filter((member) => !stopped.has(member));
    if (fresh.length === 0) break;
    for (const member of fresh) {
      signal(member, "SIGSTOP");
      stopped.add(member);
    }
  }
  for (const member of stopped) signal(member, "SIGKILL");
}
