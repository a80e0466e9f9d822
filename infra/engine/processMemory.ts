/**
 * Peak resident memory of a `pulumi` command's process tree, sampled from /proc (Linux), split into
 * the Pulumi program (the Node.js process the language host runs the program in), the dynamic
 * providers (`pulumi-resource-pulumi-nodejs` and the Node.js process it starts), and the rest (the
 * CLI, the Go language host, other plugins).
 *
 * Why /proc by hand: what is wanted is the sum over a whole process tree that changes while it is
 * measured (the provider process starts late, plugins come and go), classified by what each process
 * runs. The Node libraries for this (pidusage and the like) measure given pids only, so the tree walk
 * and the classification would be ours anyway, and for one field (VmRSS in /proc/<pid>/status) a new
 * dependency is not worth it. `processTree` (processTree.ts) already walks /proc the same way.
 *
 * Also records when each kind of process was first seen: the benchmark splits the engine's own time
 * (start-up, program) at those moments.
 */
import { readFileSync } from "fs";
import { processTree } from "./processTree";

export type ProcessRole = "program" | "provider" | "other";

/** VmRSS from the text of /proc/<pid>/status, in KiB (0 when absent: a zombie has none). */
export function rssKiBFromStatus(status: string): number {
  const match = /^VmRSS:\s+(\d+)\s+kB$/m.exec(status);
  return match === null ? 0 : Number(match[1]);
}

/** What a process runs, from its /proc/<pid>/cmdline (arguments separated by NUL). */
export function roleOfCommandLine(cmdline: string): ProcessRole {
  const args = cmdline.split("\0").filter((arg) => arg !== "");
  if (
    args.some((arg) => arg.endsWith("pulumi-resource-pulumi-nodejs") || arg.includes("cmd/dynamic-provider"))
  )
    return "provider";
  const isNode = args.length > 0 && /(^|\/)node$/.test(args[0]);
  if (isNode && args.some((arg) => /@pulumi\/pulumi\/cmd\/run(\/|$)/.test(arg))) return "program";
  return "other";
}

export interface MemorySample {
  readonly programKiB: number;
  readonly providerKiB: number;
  readonly treeKiB: number;
}

/** Sums one sample of the tree by role. */
export function sumByRole(processes: readonly { role: ProcessRole; rssKiB: number }[]): MemorySample {
  const sum = (role?: ProcessRole) =>
    processes
      .filter((entry) => role === undefined || entry.role === role)
      .reduce((total, entry) => total + entry.rssKiB, 0);
  return { programKiB: sum("program"), providerKiB: sum("provider"), treeKiB: sum() };
}

export interface MemoryPeaks {
  /** Peak of the program process(es) alone. */
  readonly programMiB: number;
  /** Peak of the dynamic-provider processes alone. */
  readonly providerMiB: number;
  /** Peak of program + providers, summed within one sample (the figure the target is about). */
  readonly programAndProvidersMiB: number;
  /** Peak of the whole tree, the CLI and the language host included (context). */
  readonly treeMiB: number;
  readonly samples: number;
  /** Epoch ms each role was first seen (undefined: never). */
  readonly firstSeen: Readonly<Partial<Record<ProcessRole, number>>>;
}

function readProc(pid: number, file: string): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/${file}`, "utf8");
  } catch {
    return undefined; // exited meanwhile
  }
}

/**
 * Samples the trees under `roots()` (re-read at every sample, so a command that starts after the
 * sampler, as the Automation API's do, is found) every `intervalMs` until `stop()`, which returns
 * the peaks.
 */
export function sampleTreeMemory(roots: () => readonly number[], intervalMs = 100): { stop(): MemoryPeaks } {
  const peaks = { program: 0, provider: 0, both: 0, tree: 0 };
  const firstSeen: Partial<Record<ProcessRole, number>> = {};
  let samples = 0;
  const sample = () => {
    const members = new Set(roots().flatMap((root) => processTree(root)));
    const processes = [...members].flatMap((member) => {
      const cmdline = readProc(member, "cmdline");
      const status = readProc(member, "status");
      if (cmdline === undefined || status === undefined) return [];
      return [{ role: roleOfCommandLine(cmdline), rssKiB: rssKiBFromStatus(status) }];
    });
    const now = Date.now();
    for (const entry of processes) firstSeen[entry.role] ??= now;
    const sum = sumByRole(processes);
    peaks.program = Math.max(peaks.program, sum.programKiB);
    peaks.provider = Math.max(peaks.provider, sum.providerKiB);
    peaks.both = Math.max(peaks.both, sum.programKiB + sum.providerKiB);
    peaks.tree = Math.max(peaks.tree, sum.treeKiB);
    samples++;
  };
  sample();
  const timer = setInterval(sample, intervalMs);
  const mib = (kib: number) => Math.round((kib / 1024) * 10) / 10;
  return {
    stop: () => {
      clearInterval(timer);
      return {
        programMiB: mib(peaks.program),
        providerMiB: mib(peaks.provider),
        programAndProvidersMiB: mib(peaks.both),
        treeMiB: mib(peaks.tree),
        samples,
        firstSeen: { ...firstSeen },
      };
    },
  };
}
