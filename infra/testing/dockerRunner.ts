/**
 * Services test tier: runs the planners' ContainerSpecs on the local Docker engine through the
 * docker CLI, the way the Pulumi components run them through @pulumi/docker. Every docker call is
 * `execFile` with an argument array (no shell), every argv is checked for secret values before it
 * runs, and secrets reach containers only through a 0600 `--env-file` deleted right after `docker run`
 * (or `docker create`), or inside a spec's files, copied in with `docker cp` from a 0700 temporary
 * directory deleted right after.
 * Everything created carries the label `org.orchestra.test-run=<runId>` and is removed by `teardown()`.
 */
import { execFile } from "node:child_process";
import { chmodSync, mkdtempSync, rmSync, writeFileSync, mkdirSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { healthCmdString } from "./dockerCli";
import {
  renderFileSecrets,
  renderSecretTemplate,
  type ContainerFile,
  type ContainerSpec,
  type HostMount,
  type SecretName,
} from "../../components/containerSpec";

export const RUN_LABEL = "org.orchestra.test-run";
export const SERVICE_LABEL = "org.orchestra.service";

export interface VolumeToCreate {
  readonly volumeName: string;
  /** Bind the volume to this host directory (a Lambda filesystem on the real node). */
  readonly hostPath?: string;
}

export interface ServicesToRun {
  /** The private network every container joins, with its service name as DNS alias. */
  readonly networkName: string;
  readonly containers: readonly ContainerSpec[];
  /** Volume plans (for hostPath); volumes a spec mounts but that are not listed here are plain named volumes. */
  readonly volumes?: readonly VolumeToCreate[];
}

/**
 * Address placeholders a spec may hold (`{privateIp}`, `{dataHost}`) and their values, filled in
 * env values, env templates and port host addresses exactly as the components' `fillPlaceholders`.
 */
export type Placeholders = Readonly<Record<string, string>>;

export function fillPlaceholders(text: string, placeholders: Placeholders): string {
  return Object.entries(placeholders).reduce((out, [key, value]) => out.split(key).join(value), text);
}

/**
 * An address placeholder (`{privateIp}`, `{publicIp}`, `{dataHost}`, `{privateIp:<node>}`) or a
 * node's `{expiresAtEpoch:<node>}` left in text.
 */
const UNFILLED_ADDRESS = /\{(privateIp|publicIp|dataHost|expiresAtEpoch)(:[^{}]*)?\}/;
/** Any placeholder that must never reach docker's argv: an address one, or a file's `{secret:<name>}`. */
const UNFILLED_ARG = new RegExp(`${UNFILLED_ADDRESS.source}|\\{secret:[^{}]*\\}`);

/**
 * The `--mount` value binding a host path: `type=bind,source=<hostPath>,target=<containerPath>`
 * plus `,readonly` when read-only. Unlike `--volume`, Docker refuses a source that does not exist
 * rather than creating it as root. Throws for a path holding `,` or `"`, which the flag's CSV
 * syntax would split or unquote.
 */
export function bindMountFlag(mount: HostMount): string {
  for (const path of [mount.hostPath, mount.containerPath]) {
    if (/[,"]/.test(path))
      throw new Error(`bind mount path "${path}" holds "," or '"', which --mount cannot carry`);
  }
  return `type=bind,source=${mount.hostPath},target=${mount.containerPath}${mount.readOnly ? ",readonly" : ""}`;
}

/**
 * A spec's file content as the container gets it: address placeholders filled (fillPlaceholders),
 * then each `{secret:<name>}` replaced by the secret as a JSON string (renderFileSecrets). Throws,
 * naming the container, the file and the placeholder (never content or a value), for an address
 * placeholder left unfilled, an unknown secret name or a secret not given.
 */
export function renderContainerFile(
  containerName: string,
  file: ContainerFile,
  secrets: Readonly<Partial<Record<SecretName, string>>>,
  placeholders: Placeholders,
): string {
  if (!file.path.startsWith("/")) {
    throw new Error(`${containerName}: file path "${file.path}" must be absolute`);
  }
  const filled = fillPlaceholders(file.content, placeholders);
  const unfilled = UNFILLED_ADDRESS.exec(filled);
  if (unfilled !== null) {
    throw new Error(
      `${containerName}: placeholder ${unfilled[0]} left unfilled in file ${file.path}; pass its value in placeholders`,
    );
  }
  try {
    return renderFileSecrets(filled, secrets);
  } catch (error) {
    throw new Error(`${containerName}: file ${file.path}: ${(error as Error).message}`);
  }
}

export interface DockerRunnerOptions {
  /** Unique per test run; labels everything so parallel runs never touch each other's objects. */
  readonly runId: string;
  /** docker binary. @default "docker" (PATH) */
  readonly docker?: string;
  /** Progress lines. @default none */
  readonly log?: (line: string) => void;
}

export interface HealthLogEntry {
  readonly ExitCode: number;
  readonly Output: string;
}

/** The parts of `docker inspect` (a container) the tier reads. */
export interface ContainerInspect {
  readonly Name: string;
  readonly Path: string;
  readonly Args: string[];
  readonly RestartCount: number;
  readonly State: {
    readonly Status: string;
    readonly Running: boolean;
    readonly Pid: number;
    readonly ExitCode: number;
    readonly StartedAt: string;
    readonly Health?: {
      readonly Status: string;
      readonly FailingStreak: number;
      readonly Log: HealthLogEntry[];
    };
  };
  readonly Config: {
    readonly Cmd: string[] | null;
    readonly Entrypoint: string[] | null;
    readonly Env: string[];
    readonly User: string;
    readonly Healthcheck?: { readonly Test: string[] };
    readonly Labels: Record<string, string>;
  };
  readonly HostConfig: {
    readonly PortBindings: Record<string, { HostIp: string; HostPort: string }[]> | null;
    readonly RestartPolicy: { readonly Name: string };
    readonly Memory: number;
    readonly NanoCpus: number;
  };
  readonly NetworkSettings: {
    readonly Ports: Record<string, { HostIp: string; HostPort: string }[] | null> | null;
    readonly Networks: Record<string, { readonly Aliases: string[] | null; readonly IPAddress: string }>;
  };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export class DockerRunner {
  /** Every argv passed to docker, in order (tests prove no secret is ever on it). */
  readonly commands: string[][] = [];
  readonly runId: string;
  private readonly docker: string;
  private readonly log: (line: string) => void;
  private readonly secretValues = new Set<string>();
  private readonly containers: string[] = [];
  private readonly networks: string[] = [];
  private readonly volumes: string[] = [];
  /** Where env files live while `docker run` reads them; removed right after each run. */
  private envDir?: string;

  constructor(options: DockerRunnerOptions) {
    if (!/^[a-z0-9][a-z0-9-]*$/.test(options.runId)) {
      throw new Error(`runId "${options.runId}" must be lowercase letters, digits and "-"`);
    }
    this.runId = options.runId;
    this.docker = options.docker ?? "docker";
    this.log = options.log ?? (() => undefined);
  }

  /** Directory of the env files; exists only while a `docker run` reads it. */
  get envFileDirectory(): string | undefined {
    return this.envDir;
  }

  /** Runs docker with `args`; refuses an argv carrying any secret value this runner knows. */
  async run(args: readonly string[], timeoutMs = 120_000, withStderr = false): Promise<string> {
    for (const arg of args) {
      for (const secret of this.secretValues) {
        if (arg.includes(secret))
          throw new Error(`refusing to put a secret on docker's command line (${args[0]})`);
      }
    }
    this.commands.push([...args]);
    return new Promise((resolve, reject) => {
      execFile(
        this.docker,
        args,
        { timeout: timeoutMs, maxBuffer: 32 * 1024 * 1024, env: process.env },
        (error, stdout, stderr) => {
          if (error) {
            const detail = this.scrub(String(stderr).trim() || error.message);
            reject(new Error(`docker ${args[0]} ${args[1] ?? ""} failed: ${detail}`));
          } else {
            resolve(withStderr ? `${String(stdout)}${String(stderr)}` : String(stdout));
          }
        },
      );
    });
  }

  /** Replaces every known secret (raw and URL-encoded) with ***. */
  scrub(text: string): string {
    let out = text;
    for (const secret of this.secretValues) out = out.split(secret).join("***");
    return out;
  }

  /** Creates the network and volumes, then starts every container (in the order given). */
  async start(
    services: ServicesToRun,
    secrets: Readonly<Partial<Record<SecretName, string>>>,
    placeholders: Placeholders = {},
  ): Promise<void> {
    for (const value of Object.values(secrets)) {
      if (value === undefined || value === "") continue;
      this.secretValues.add(value);
      this.secretValues.add(encodeURIComponent(value));
      // As a file's {secret:<name>} renders it (inside a JSON string): differs for a quote, backslash or control.
      this.secretValues.add(JSON.stringify(value).slice(1, -1));
    }
    const labels = ["--label", `${RUN_LABEL}=${this.runId}`];
    // A second group (the app services) joins the network the first (the stores) created.
    if (!this.networks.includes(services.networkName)) {
      this.log(`network ${services.networkName}`);
      this.networks.push(services.networkName);
      await this.run(["network", "create", ...labels, services.networkName]);
    }

    const plans = new Map((services.volumes ?? []).map((volume) => [volume.volumeName, volume]));
    const mounted = [
      ...new Set(services.containers.flatMap((spec) => spec.volumes.map((v) => v.volumeName))),
    ];
    for (const name of mounted) {
      const hostPath = plans.get(name)?.hostPath;
      const bind: string[] = [];
      if (hostPath !== undefined) {
        mkdirSync(hostPath, { recursive: true });
        bind.push("--opt", "type=none", "--opt", "o=bind", "--opt", `device=${hostPath}`);
      }
      await this.run(["volume", "create", ...labels, ...bind, name]);
      this.volumes.push(name);
    }

    for (const spec of services.containers) {
      await this.startContainer(spec, services.networkName, secrets, placeholders);
    }
  }

  /**
   * Starts one container: `docker run --detach` when the spec has no files; with files, `docker
   * create` with the very same flags, one `docker cp` per file, then `docker start`, so the process
   * finds its configuration at its first start (as `uploads` do in @pulumi/docker). Each file's
   * parent directory must already exist in the image: `docker cp` creates the file, not its
   * directories. Files land owned by root with mode 0644 (readable by a non-root image user).
   */
  private async startContainer(
    spec: ContainerSpec,
    network: string,
    secrets: Readonly<Partial<Record<SecretName, string>>>,
    placeholders: Placeholders,
  ): Promise<void> {
    const secretLines: string[] = [];
    for (const [variable, name] of Object.entries(spec.secretEnv)) {
      const value = secrets[name];
      if (value === undefined)
        throw new Error(`${spec.containerName}: ${variable} needs secret ${name}, not given`);
      secretLines.push(`${variable}=${value}`);
    }
    for (const [variable, template] of Object.entries(spec.secretEnvTemplates)) {
      secretLines.push(
        `${variable}=${renderSecretTemplate(fillPlaceholders(template, placeholders), secrets as Record<SecretName, string>)}`,
      );
    }
    if (secretLines.some((line) => line.includes("\n"))) {
      throw new Error(
        `${spec.containerName}: a secret value contains a newline, which an env file cannot carry`,
      );
    }
    // Rendered before anything is created: a missing secret or placeholder fails with nothing to undo.
    const files = (spec.files ?? []).map((file) => ({
      path: file.path,
      content: renderContainerFile(spec.containerName, file, secrets, placeholders),
    }));

    // The test machines have no NVIDIA runtime, so `--gpus all` would fail every run: the GPU
    // exporters' stand-ins need none. The components pass `gpus` to Docker on the real nodes.
    if (spec.gpus !== undefined)
      this.log(`${spec.containerName}: --gpus ${spec.gpus} left out (no GPU runtime here)`);
    const health = spec.healthCheck;
    // `--cpus` above the host's count is refused by the daemon; a small CI box gets all it has.
    const cpusLimit = Math.min(spec.cpus, cpus().length);
    const args = [
      ...(files.length === 0 ? ["run", "--detach"] : ["create"]),
      // No registry on these machines: a missing image must fail now, not after a pull times out.
      "--pull",
      "never",
      "--name",
      spec.containerName,
      "--label",
      `${RUN_LABEL}=${this.runId}`,
      "--label",
      `${SERVICE_LABEL}=${spec.service}`,
      "--network",
      network,
      "--network-alias",
      spec.service,
      ...spec.ports.flatMap((p) => [
        "--publish",
        `${fillPlaceholders(p.hostIp, placeholders)}:${p.external}:${p.internal}`,
      ]),
      "--health-cmd",
      healthCmdString(health.test),
      "--health-interval",
      `${health.intervalSeconds}s`,
      "--health-timeout",
      `${health.timeoutSeconds}s`,
      "--health-retries",
      String(health.retries),
      "--health-start-period",
      `${health.startPeriodSeconds}s`,
      "--restart",
      spec.restart,
      "--memory",
      `${spec.memoryMiB}m`,
      "--cpus",
      String(cpusLimit),
      ...spec.volumes.flatMap((v) => ["--volume", `${v.volumeName}:${v.containerPath}`]),
      ...(spec.mounts ?? []).flatMap((m) => ["--mount", bindMountFlag(m)]),
      ...(spec.user !== undefined ? ["--user", spec.user] : []),
      ...Object.entries(spec.env).flatMap(([key, value]) => [
        "--env",
        `${key}=${fillPlaceholders(value, placeholders)}`,
      ]),
      // As the components declare it: bounded json-file logs.
      "--log-driver",
      "json-file",
      "--log-opt",
      "max-size=10m",
      "--log-opt",
      "max-file=3",
    ];
    // The command too: neither the components nor this runner fill placeholders in it.
    const unfilled = [...args, ...(spec.command ?? [])].find((arg) => UNFILLED_ARG.test(arg));
    if (unfilled !== undefined) {
      throw new Error(
        `${spec.containerName}: placeholder left unfilled in "${unfilled}"; pass its value in placeholders`,
      );
    }
    let dir: string | undefined;
    try {
      if (secretLines.length > 0) {
        dir = mkdtempSync(join(tmpdir(), `orchestra-${this.runId}-env-`));
        this.envDir = dir;
        const file = join(dir, `${spec.service}.env`);
        writeFileSync(file, secretLines.join("\n") + "\n", { mode: 0o600 });
        args.push("--env-file", file);
      }
      args.push(spec.image, ...(spec.command ?? []));
      this.log(`${args[0]} ${spec.containerName} (${spec.image})`);
      // Tracked before it exists: a run that fails half way may still have created the container.
      this.containers.push(spec.containerName);
      await this.run(args);
    } finally {
      // The CLI reads the env file before it returns; the values then live only in the container's config.
      if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
      this.envDir = undefined;
    }
    if (files.length === 0) return;
    for (const file of files) await this.copyIn(spec.containerName, file);
    await this.run(["start", spec.containerName]);
  }

  /**
   * `docker cp` of one rendered file to `<container>:<path>`: written 0644 into a fresh 0700
   * temporary directory (the content may hold secrets; only the path goes on argv), removed
   * whatever the copy does.
   */
  private async copyIn(container: string, file: { path: string; content: string }): Promise<void> {
    const dir = mkdtempSync(join(tmpdir(), `orchestra-${this.runId}-file-`));
    try {
      const local = join(dir, "content");
      writeFileSync(local, file.content, { mode: 0o644 });
      // The mode given to writeFileSync is masked by the umask; the container's user must read it.
      chmodSync(local, 0o644);
      await this.run(["cp", local, `${container}:${file.path}`]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  async inspect(name: string): Promise<ContainerInspect> {
    const [one] = JSON.parse(await this.run(["container", "inspect", name])) as ContainerInspect[];
    return one;
  }

  async inspectAll(names: readonly string[]): Promise<ContainerInspect[]> {
    return JSON.parse(await this.run(["container", "inspect", ...names])) as ContainerInspect[];
  }

  /**
   * Waits until every container's health status is `healthy`. Fails at once on `unhealthy`, or at
   * the deadline, naming each container that is not healthy with its status, last health check
   * output and last log lines (secrets scrubbed).
   */
  async waitHealthy(names: readonly string[], timeoutMs: number, pollMs = 1000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const states = await this.inspectAll(names);
      const notHealthy = states.filter((state) => state.State.Health?.Status !== "healthy");
      if (notHealthy.length === 0) return;
      const unhealthy = notHealthy.filter((state) => state.State.Health?.Status === "unhealthy");
      if (unhealthy.length > 0 || Date.now() > deadline) {
        const failing = unhealthy.length > 0 ? unhealthy : notHealthy;
        const reasons = await Promise.all(failing.map((state) => this.describe(state)));
        throw new Error(
          unhealthy.length > 0
            ? reasons.join("\n")
            : `not healthy after ${Math.round(timeoutMs / 1000)} s:\n${reasons.join("\n")}`,
        );
      }
      await sleep(pollMs);
    }
  }

  private async describe(state: ContainerInspect): Promise<string> {
    const name = state.Name.replace(/^\//, "");
    const health = state.State.Health;
    const last = health?.Log[health.Log.length - 1];
    const check =
      last !== undefined
        ? `last health check exited ${last.ExitCode}: ${JSON.stringify(last.Output.trim().slice(-300))}`
        : "no health check has run yet";
    let logs = "";
    try {
      // `docker logs` replays the container's stderr on its own stderr (where Prometheus logs).
      logs = await this.run(["logs", "--tail", "10", name], 120_000, true);
    } catch {
      logs = "(logs unavailable)";
    }
    return this.scrub(
      `container ${name} is ${health?.Status ?? "without a health check"} (state ${state.State.Status}, ` +
        `restarts ${state.RestartCount}); ${check}; last log lines: ${JSON.stringify(logs.trim().split("\n").slice(-10))}`,
    );
  }

  /** Removes every container, network and volume this run created (tracked, and anything labelled with the runId). */
  async teardown(): Promise<void> {
    const errors: string[] = [];
    const attempt = async (args: string[]) => {
      try {
        return await this.run(args);
      } catch (error) {
        const message = (error as Error).message;
        if (!/No such (container|network|volume)|not found/i.test(message)) errors.push(message);
        return "";
      }
    };
    const filter = ["--filter", `label=${RUN_LABEL}=${this.runId}`];
    // Names, not ids: one `rm` given both forms of a container fails with "already in progress".
    const labelled = (await attempt(["ps", "--all", "--format", "{{.Names}}", ...filter]))
      .split("\n")
      .filter(Boolean);
    const containers = [...new Set([...this.containers, ...labelled])];
    if (containers.length > 0) await attempt(["rm", "--force", "--volumes", ...containers]);
    const networks = (await attempt(["network", "ls", "--quiet", ...filter])).split("\n").filter(Boolean);
    for (const network of [...new Set([...this.networks, ...networks])])
      await attempt(["network", "rm", network]);
    const volumes = (await attempt(["volume", "ls", "--quiet", ...filter])).split("\n").filter(Boolean);
    for (const volume of [...new Set([...this.volumes, ...volumes])])
      await attempt(["volume", "rm", "--force", volume]);
    this.containers.length = 0;
    this.networks.length = 0;
    this.volumes.length = 0;
    if (errors.length > 0)
      throw new Error(`teardown of run ${this.runId} left objects behind:\n${errors.join("\n")}`);
  }

  /** What is still on the engine with this run's label (empty after a clean teardown). */
  async leftovers(): Promise<{ containers: string[]; networks: string[]; volumes: string[] }> {
    const filter = ["--filter", `label=${RUN_LABEL}=${this.runId}`];
    const list = async (args: string[]) => (await this.run([...args, ...filter])).split("\n").filter(Boolean);
    return {
      containers: await list(["ps", "--all", "--format", "{{.Names}}"]),
      networks: await list(["network", "ls", "--format", "{{.Name}}"]),
      volumes: await list(["volume", "ls", "--format", "{{.Name}}"]),
    };
  }
}
