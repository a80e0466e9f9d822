/**
 * The engine tier's driver: one stack of a Pulumi project on the real engine, through the
 * Automation API. A LocalWorkspace on the project directory runs the CLI scripts/toolchain.sh
 * built (never a downloaded one), with a file backend in a temporary directory and a passphrase
 * secrets provider (its envVars); what every operation prints goes to `transcript`, which the
 * tests search for leaked secrets. The few commands the Automation API has no method for go
 * through `cli` (see there).
 */
import { execFile } from "child_process";
import { mkdirSync, mkdtempSync, realpathSync, rmSync } from "fs";
import { tmpdir } from "os";
import { dirname, join } from "path";
import {
  CommandError,
  LocalWorkspace,
  Stack,
  type Deployment,
  type EngineEvent,
  type PreviewOptions,
  type StackSettings,
  type UpOptions,
} from "@pulumi/pulumi/automation";
import {
  commandOutcomeOf,
  maskedOutputs,
  previewSteps,
  type CommandOutcome,
  type PreviewStep,
} from "./automation";
import type { ExportedDeployment } from "./preLayerState";
import { childrenRunning, killTree } from "./processTree";
import { toolchainCommand, type Toolchain } from "./toolchain";

export type { CommandOutcome, PreviewStep } from "./automation";

/** A command that exited non-zero (or was killed): its outcome, and all it printed in the message. */
export class EngineCommandFailed extends Error {
  constructor(
    readonly command: string,
    readonly outcome: CommandOutcome,
  ) {
    super(`pulumi ${command} exited ${outcome.code}\n${outcome.stdout}\n${outcome.stderr}`);
  }
}

/** A failed command's outcome instead of its error: for tests that assert how a command fails. */
export async function settle<T extends CommandOutcome>(command: Promise<T>): Promise<T | CommandOutcome> {
  try {
    return await command;
  } catch (error) {
    if (error instanceof EngineCommandFailed) return error.outcome;
    throw error;
  }
}

export interface PreviewOutcome extends CommandOutcome {
  /** The steps as `pulumi preview --json` lists them (from the engine's events). */
  readonly steps: readonly PreviewStep[];
  /** Resources per operation, from the engine's summary (`--json`'s changeSummary). */
  readonly changeSummary: Readonly<Record<string, number>>;
}

export type PreviewFlags = Pick<
  PreviewOptions,
  "expectNoChanges" | "refresh" | "diff" | "logToStdErr" | "logVerbosity" | "logFlow"
>;

export interface StateResource {
  readonly type: string;
  readonly urn: string;
  readonly id?: string;
  readonly outputs?: Record<string, unknown>;
}

export interface EngineStackOptions {
  /** The stack's name, also its settings file `Pulumi.<name>.yaml` in `workDir`. */
  readonly name: string;
  /** The project's directory (its Pulumi.yaml). */
  readonly workDir: string;
  /** The stack's settings file's content (config, plain values only), written before `stack init`. */
  readonly settings: StackSettings;
  readonly toolchain: Toolchain;
  /** More environment for every command (on top of this process's and the toolchain's). */
  readonly env?: Readonly<Record<string, string>>;
}

const PASSPHRASE = "orchestra-e2e-passphrase";

/**
 * The URL of a file backend (Pulumi's DIY backend) in `dir`, with `metadata=skip`. gocloud's
 * fileblob, which the file backend writes through, rewrites a checkpoint's `.attrs` sidecar in
 * place (truncate, then write) while the checkpoint itself is replaced atomically; a read in that
 * moment, such as the cost gate's StackReference to its own stack during an `up`, decodes an empty
 * sidecar and fails with `failed to load checkpoint: EOF`. Pulumi reads no sidecar attribute, so
 * skipping them removes the race (gocloud.dev/blob/fileblob: setAttrs, the `metadata` URL option).
 */
export function fileBackendUrl(dir: string): string {
  return `file://${dir}?metadata=skip`;
}

type Capture = { onOutput: (text: string) => void; onError: (text: string) => void };

export class EngineStack {
  /** Everything the commands printed (and the outputs read), to search for leaked secrets. */
  readonly transcript: string[] = [];
  /**
   * Epoch ms each of the stack's CLI commands exited, from the Workspace's per-command hook
   * (postCommandCallback): when an `up` itself ended, before the Automation API goes on to read
   * the outputs and the history with further commands.
   */
  readonly commandExits: number[] = [];
  private readonly inFlight = new Set<Promise<unknown>>();
  private readonly executable: string;

  /**
   * Writes `Pulumi.<name>.yaml` in the project directory from `settings`, and runs `stack init`
   * on a new file backend. Rejects with the CLI's error (the settings file then removed).
   */
  static async create(options: EngineStackOptions): Promise<EngineStack> {
    const backendDir = join(mkdtempSync(join(tmpdir(), "orchestra-engine-")), "state");
    mkdirSync(backendDir);
    const envVars = {
      ...options.toolchain.env,
      ...options.env,
      PULUMI_BACKEND_URL: fileBackendUrl(backendDir),
      PULUMI_CONFIG_PASSPHRASE: PASSPHRASE,
      // The key comes from the stack's secret config; empty reads as unset (infra/lambda/settings.ts).
      LAMBDA_API_KEY: "",
    };
    try {
      const workspace = await LocalWorkspace.create({
        workDir: options.workDir,
        pulumiCommand: await toolchainCommand(options.toolchain),
        pulumiHome: options.toolchain.env.PULUMI_HOME,
        envVars,
        stackSettings: { [options.name]: options.settings },
      });
      return new EngineStack(await Stack.create(options.name, workspace), workspace, backendDir);
    } catch (error) {
      rmSync(settingsFile(options.workDir, options.name), { force: true });
      throw error;
    }
  }

  private constructor(
    private readonly stack: Stack,
    private readonly workspace: LocalWorkspace,
    readonly backendDir: string,
  ) {
    this.executable = realpathSync(workspace.pulumiCommand.command);
    const after = workspace.postCommandCallback.bind(workspace);
    workspace.postCommandCallback = async (stackName) => {
      this.commandExits.push(Date.now());
      await after(stackName);
    };
  }

  get name(): string {
    return this.stack.name;
  }

  /** The environment of the stack's commands, for the project's own scripts (no LAMBDA_API_KEY). */
  commandEnv(): NodeJS.ProcessEnv {
    const env: NodeJS.ProcessEnv = { ...process.env, ...this.workspace.envVars };
    delete env.LAMBDA_API_KEY;
    return env;
  }

  /** `pulumi preview`, with its steps. Rejects with EngineCommandFailed on a non-zero exit. */
  async preview(flags: PreviewFlags = {}): Promise<PreviewOutcome> {
    const events: EngineEvent[] = [];
    let changeSummary: Record<string, number> = {};
    const outcome = await this.operate("preview", async (capture) => {
      const onEvent = (event: EngineEvent) => {
        if (event.resourcePreEvent !== undefined) events.push(event);
      };
      ({ changeSummary } = await this.stack.preview({ ...flags, ...capture, onEvent }));
    });
    return { ...outcome, steps: previewSteps(events), changeSummary };
  }

  /** `pulumi up --yes --skip-preview` (`replace`: URNs to replace). */
  up(flags: Pick<UpOptions, "replace"> = {}): Promise<CommandOutcome> {
    return this.operate("up", (capture) => this.stack.up({ ...flags, ...capture }));
  }

  /** `pulumi refresh --yes --skip-preview`. */
  refresh(): Promise<CommandOutcome> {
    return this.operate("refresh", (capture) => this.stack.refresh(capture));
  }

  /** `pulumi destroy --yes --skip-preview`. */
  destroy(): Promise<CommandOutcome> {
    return this.operate("destroy", (capture) => this.stack.destroy(capture));
  }

  /** `pulumi cancel --yes`: ends an update left running (the file backend has none to cancel). */
  cancel(): Promise<CommandOutcome> {
    return this.operate("cancel", () => this.stack.cancel());
  }

  /** Sets a config key (`path`: a property path such as `nodes.app.name` or `ports[0]`). */
  async setConfig(
    key: string,
    value: string,
    options: { secret?: boolean; path?: boolean } = {},
  ): Promise<void> {
    const path = options.path === true ? ["--path"] : [];
    // Secrets through stdin: the Automation API's setConfig puts the value on the command line.
    if (options.secret === true) await this.cli(["config", "set", "--secret", ...path, key], value);
    else await this.operate("config set", () => this.stack.setConfig(key, { value }, options.path));
  }

  async removeConfig(key: string, options: { path?: boolean } = {}): Promise<void> {
    await this.operate("config rm", () => this.stack.removeConfig(key, options.path));
  }

  /** The stack's outputs as `pulumi stack output --json` prints them (secrets as "[secret]"). */
  async outputs(): Promise<Record<string, unknown>> {
    let outputs: Record<string, unknown> = {};
    await this.operate("stack output", async () => {
      outputs = maskedOutputs(await this.stack.outputs());
    });
    this.transcript.push(JSON.stringify(outputs, null, 2));
    return outputs;
  }

  /** The resources in the stack's state (`exportStack`). */
  async resources(): Promise<StateResource[]> {
    let resources: StateResource[] = [];
    await this.operate("stack export", async () => {
      const { deployment } = (await this.stack.exportStack()) as {
        deployment: { resources?: StateResource[] };
      };
      resources = deployment.resources ?? [];
    });
    return resources;
  }

  /**
   * Exports the stack's state, rewrites it and imports the result (`stack export`, then
   * `stack import`): how a test stands for a stack an earlier program deployed. Secret values
   * pass through as the Automation API exports them and are encrypted again on import.
   */
  async rewriteState(rewrite: (exported: ExportedDeployment) => ExportedDeployment): Promise<void> {
    await this.operate("stack export/import", async () => {
      const exported = (await this.stack.exportStack()) as unknown as ExportedDeployment;
      await this.stack.importStack(rewrite(exported) as unknown as Deployment);
    });
  }

  /**
   * The state as `pulumi stack export` prints it, secrets encrypted as they are stored (the
   * Automation API's exportStack decrypts them: `--show-secrets`).
   */
  async stateText(): Promise<string> {
    return (await this.cli(["stack", "export"])).stdout;
  }

  /** `pulumi state unprotect --all --yes` (no Automation API method). */
  async unprotectAll(): Promise<void> {
    await this.cli(["state", "unprotect", "--all", "--yes"]);
  }

  /** The pids of this stack's `pulumi` commands running now (the Automation API keeps its handles). */
  commandPids(): number[] {
    return childrenRunning(
      process.pid,
      this.executable,
      `PULUMI_BACKEND_URL=${fileBackendUrl(this.backendDir)}`,
    );
  }

  /**
   * Kills every `pulumi` of this stack still running, with its plugins (killTree), and waits for
   * every operation to end: for afterAll, so a test that timed out or failed mid-command leaves
   * nothing behind.
   */
  async stopAll(): Promise<void> {
    for (const pid of this.commandPids()) killTree(pid);
    await Promise.allSettled([...this.inFlight]);
  }

  /** Removes the stack's settings file (the temporary backend stays, like any temporary file). */
  removeSettingsFile(): void {
    rmSync(settingsFile(this.workspace.workDir, this.name), { force: true });
  }

  /** Runs one Automation API call with its output captured; a CommandError becomes EngineCommandFailed. */
  private async operate(
    command: string,
    run: (capture: Capture) => Promise<unknown>,
  ): Promise<CommandOutcome> {
    let stdout = "";
    let stderr = "";
    const pending = run({ onOutput: (text) => (stdout += text), onError: (text) => (stderr += text) });
    this.inFlight.add(pending);
    try {
      await pending;
      return { code: 0, stdout, stderr };
    } catch (error) {
      if (!(error instanceof CommandError)) throw error;
      const outcome = commandOutcomeOf(error);
      // Calls without output callbacks still carry what the command printed in the error.
      ({ stdout, stderr } = stdout === "" && stderr === "" ? outcome : { stdout, stderr });
      throw new EngineCommandFailed(command, { code: outcome.code, stdout, stderr });
    } finally {
      this.inFlight.delete(pending);
      this.transcript.push(stdout, stderr);
    }
  }

  /**
   * The narrow fallback for what the Automation API cannot do: `pulumi <args>` for this stack with
   * the workspace's CLI, directory and environment, `stdin` written to it. Used for a secret
   * config value (stdin keeps it off the command line, which every user can read in /proc), the
   * state with its secrets encrypted, and `state unprotect`.
   */
  private cli(args: string[], stdin = ""): Promise<CommandOutcome> {
    const command = args.slice(0, 2).join(" ");
    const env = { ...process.env, ...this.workspace.envVars };
    // As the Automation API runs it: the CLI's own directory first, for its plugins.
    env.PATH = `${dirname(this.workspace.pulumiCommand.command)}:${env.PATH ?? ""}`;
    const pending = new Promise<CommandOutcome>((resolve, reject) => {
      const child = execFile(
        this.workspace.pulumiCommand.command,
        [...args, "--stack", this.name, "--non-interactive"],
        { cwd: this.workspace.workDir, env, maxBuffer: 64 * 1024 * 1024 },
        (error, stdout, stderr) => {
          this.transcript.push(stdout, stderr);
          if (error === null) return resolve({ code: 0, stdout, stderr });
          const code = typeof error.code === "number" ? error.code : null;
          reject(new EngineCommandFailed(command, { code, stdout, stderr }));
        },
      );
      child.stdin?.end(stdin);
    });
    this.inFlight.add(pending);
    return pending.finally(() => this.inFlight.delete(pending));
  }
}

/** The stack's settings file as LocalWorkspace writes it when none exists yet. */
function settingsFile(workDir: string, stack: string): string {
  return join(workDir, `Pulumi.${stack}.yaml`);
}
