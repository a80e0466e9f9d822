/**
 * Drives the real Pulumi CLI (built by scripts/toolchain.sh) for the engine tier: a file backend
 * in a temporary directory, a passphrase secrets provider, and the project's own program.
 */
import { ChildProcess, execFileSync, spawn } from "child_process";
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "fs";
import { tmpdir } from "os";
import { dirname, join, resolve } from "path";

export const PROJECT_ROOT = join(__dirname, "..", "..");

export interface RunResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Builds the toolchain if missing (a no-op when cached) and returns the environment it needs. */
export function toolchainEnv(): Record<string, string> {
  const bin = execFileSync("bash", [join(PROJECT_ROOT, "scripts", "toolchain.sh")], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "inherit"],
  })
    .trim()
    .split("\n")
    .pop() as string;
  const env: Record<string, string> = {};
  for (const line of readFileSync(join(dirname(bin), "env.sh"), "utf8").split("\n")) {
    const match = /^export (\w+)="(.*)"$/.exec(line);
    if (match !== null) env[match[1]] = match[2].replace("$PATH", process.env.PATH ?? "");
  }
  return env;
}

export class EngineStack {
  readonly backendDir: string;
  readonly configFile: string;
  /** Everything every command printed, to search for leaked secrets. */
  readonly transcript: string[] = [];

  constructor(
    readonly stack: string,
    templateConfig: string,
    private readonly env: Record<string, string>,
  ) {
    this.backendDir = join(mkdtempSync(join(tmpdir(), "orchestra-engine-")), "state");
    // A stack file at the project root (Pulumi.e2e.yaml is ignored by git), copied from the template.
    this.configFile = join(PROJECT_ROOT, `Pulumi.${stack}.yaml`);
    copyFileSync(resolve(PROJECT_ROOT, templateConfig), this.configFile);
  }

  /** The environment every command of this stack runs with (also for the project's own scripts). */
  commandEnv(): NodeJS.ProcessEnv {
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      ...this.env,
      PULUMI_BACKEND_URL: `file://${this.backendDir}`,
      PULUMI_CONFIG_PASSPHRASE: "orchestra-e2e-passphrase",
    };
    delete env.LAMBDA_API_KEY; // the key comes from the stack's secret config
    return env;
  }

  /** Every `pulumi` this stack started that has not exited yet (stopAll kills them). */
  private readonly running = new Set<ChildProcess>();

  /** Starts `pulumi <args>` for the stack in its own process group (so it can be killed whole). */
  start(args: string[], stdin?: string): { child: ChildProcess; done: Promise<RunResult> } {
    const child = spawn("pulumi", [...args, "--stack", this.stack, "--non-interactive"], {
      cwd: PROJECT_ROOT,
      env: this.commandEnv(),
      detached: true,
    });
    this.running.add(child);
    child.on("exit", () => this.running.delete(child));
    let stdout = "";
    let stderr = "";
    child.stdout?.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr?.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    child.stdin?.end(stdin ?? "");
    const done = new Promise<RunResult>((resolve) =>
      child.on("close", (code) => {
        this.transcript.push(stdout, stderr);
        resolve({ code, stdout, stderr });
      }),
    );
    return { child, done };
  }

  /** Runs `pulumi <args>` and fails with its output when it exits non-zero (unless allowed). */
  async run(args: string[], options: { stdin?: string; allowFailure?: boolean } = {}): Promise<RunResult> {
    const result = await this.start(args, options.stdin).done;
    if (result.code !== 0 && options.allowFailure !== true) {
      throw new Error(`pulumi ${args.join(" ")} exited ${result.code}\n${result.stdout}\n${result.stderr}`);
    }
    return result;
  }

  /**
   * Kills every `pulumi` of this stack still running, with its plugins (killTree), and waits for
   * each to exit: for afterAll, so a test that timed out or failed mid-command leaves nothing behind.
   */
  async stopAll(): Promise<void> {
    await Promise.all(
      [...this.running].map(
        (child) =>
          new Promise<void>((resolve) => {
            if (child.exitCode !== null || child.signalCode !== null) return resolve();
            child.once("exit", () => resolve());
            killTree(child);
          }),
      ),
    );
  }

  async init(): Promise<void> {
    execFileSync("mkdir", ["-p", this.backendDir]);
    await this.run(["stack", "init"]);
  }

  async setConfig(
    key: string,
    value: string,
    options: { secret?: boolean; path?: boolean } = {},
  ): Promise<void> {
    const flags = [
      ...(options.secret === true ? ["--secret"] : []),
      ...(options.path === true ? ["--path"] : []),
    ];
    // Secrets through stdin: never on a command line.
    if (options.secret === true) await this.run(["config", "set", ...flags, key], { stdin: value });
    else await this.run(["config", "set", ...flags, key, value]);
  }

  async outputs(): Promise<Record<string, unknown>> {
    return JSON.parse((await this.run(["stack", "output", "--json"])).stdout) as Record<string, unknown>;
  }

  async exportState(): Promise<{
    text: string;
    resources: { type: string; urn: string; id?: string; outputs?: Record<string, unknown> }[];
  }> {
    const text = (await this.run(["stack", "export", "--show-secrets=false"])).stdout;
    const parsed = JSON.parse(text) as {
      deployment: {
        resources?: { type: string; urn: string; id?: string; outputs?: Record<string, unknown> }[];
      };
    };
    return { text, resources: parsed.deployment.resources ?? [] };
  }
}

/** Removes the generated stack file. */
export function removeStackFile(stack: EngineStack): void {
  rmSync(stack.configFile, { force: true });
}

/** Parent pid of every process, from /proc (Linux). A process that exits while being read is skipped. */
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
 * Kills `pulumi` and every process under it: the language host, the program, and the provider
 * plugins, which the CLI starts in process groups of their own, so a group kill missed them and
 * the dynamic provider (it has no engine health check) lived on, orphaned, after a killed `up`.
 * The tree is stopped first (SIGSTOP, re-read until no new process appears) so nothing can
 * spawn or be re-parented between reading it and killing it.
 */
export function killTree(child: ChildProcess): void {
  if (child.pid === undefined) return;
  const signal = (pid: number, name: NodeJS.Signals) => {
    try {
      process.kill(pid, name);
    } catch {
      // already gone
    }
  };
  const stopped = new Set<number>();
  for (let round = 0; round < 10; round++) {
    const fresh = processTree(child.pid).filter((pid) => !stopped.has(pid));
    if (fresh.length === 0) break;
    for (const pid of fresh) {
      signal(pid, "SIGSTOP");
      stopped.add(pid);
    }
  }
  for (const pid of stopped) signal(pid, "SIGKILL");
}
