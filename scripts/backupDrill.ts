/**
 * `npm run backup -- drill`: a store's newest complete backup restored into SCRATCH containers on
 * the data node and compared with the live store; the scratch objects removed afterwards, also
 * when a step failed. Nothing live is stopped or written.
 *
 * Scratch objects are named `<live name>-drill-<UTC stamp>` and labelled `org.orchestra.drill=<stamp>`
 * (`docker ps -a --filter label=org.orchestra.drill` finds a crashed drill's leftovers):
 * - the scratch store: `docker inspect` of the live store gives image, command, environment,
 *   network and volumes; a new volume per live volume, mounted at the same path, same network, no
 *   published port. The environment (which holds the store's password) goes through `--env-file`
 *   of a 0600 temp file removed right after `docker create`, never `-e NAME=value`.
 * - the scratch job: a one-off container of the live backup container's image and environment
 *   with the store's address pointed at the scratch store (REDIS_HOST, PGHOST, WEAVIATE_URL) and
 *   the scratch volumes where the live backup container mounts the live ones (the scratch store is
 *   reached by its network alias `<store>-drill-<stamp>`); its secret files
 *   (and pgBackRest's config) copied from the live backup container, `docker cp <live>:<dir> - |
 *   docker cp - <scratch>:<parent>`. It runs `orchestra-backup restore ...` as its command.
 * Order: Redis and pgBackRest restore into the stopped scratch volume, then the store starts on
 * it; pg_dump and Weaviate restore into a running, empty scratch store.
 *
 * Compared (backupCompare.ts): Redis DBSIZE and DEBUG DIGEST (redis-cli in the container, the
 * password from its own environment as the health check reads it); Postgres each user table's row
 * count and the MD5 of its rows in text order. A live store written after the backup finished differs: the line says
 * so. pgBackRest: the job's `restore postgres --latest` into the scratch data volume (empty, as
 * it wants) with a scratch spool for the WAL it fetches, pgBackRest's config copied too; the scratch
 * Postgres replays it and is compared once out of recovery. Weaviate: the scratch Weaviate (its
 * BACKUP_FILESYSTEM_PATH inside the new volume) first, then the job's restore through its backup
 * API, the job's WEAVIATE_BACKUP_PATH that same path in the scratch volume; compared per class, the
 * object count and nearVector top-10 ids of the class's first live vectors, every request from the
 * live backup container (the API key from its secret file, never on an argv).
 */
import { BACKUP_FILE_PATHS } from "../components/backupsFiles";
import {
  comparePostgres,
  compareRedis,
  compareWeaviate,
  drillReport,
  type CompareRow,
  type DrillBackup,
} from "./backupCompare";
import { envFileProblem, type DockerResult, type EnvFile } from "./backupDocker";
import {
  elapsed,
  failureLine,
  jobLines,
  must,
  psqlArgs,
  StepError,
  waitFor,
  HEALTH_WAIT_SECONDS,
  RECOVERY_WAIT_SECONDS,
  type NodeDeps,
} from "./backupRestore";
import type { StoreTarget } from "./backupTargets";

export type { DrillBackup } from "./backupCompare";

/** The label on every scratch object; its value is the drill's stamp. */
export const DRILL_LABEL = "org.orchestra.drill";

export interface DrillDeps extends NodeDeps {
  /** Writes a 0600 env file (backupDocker.ts writeEnvFile; a recording fake in tests). */
  readonly writeEnvFile: (env: Readonly<Record<string, string>>) => EnvFile;
}

/** `20261130T221500Z`: a drill's stamp, from its start. */
export function drillStamp(time: Date): string {
  return `${time.toISOString().slice(0, 19).replace(/[-:]/g, "")}Z`;
}

/** What the drill reads of a container through `docker inspect`. */
export interface Inspected {
  readonly image: string;
  readonly cmd: readonly string[];
  readonly env: Readonly<Record<string, string>>;
  /** HostConfig.NetworkMode: the user-defined network's name. */
  readonly network: string;
  /** Named volumes: volume name -> mount path, and whether it is read-only. */
  readonly volumes: readonly { readonly name: string; readonly path: string }[];
  /** Config.Healthcheck.Test, when it has one. */
  readonly healthTest?: readonly string[];
}

interface RawInspect {
  Config: {
    Image: string;
    Cmd: string[] | null;
    Env: string[] | null;
    Healthcheck?: { Test?: string[] } | null;
  };
  HostConfig: { NetworkMode: string };
  Mounts: { Type: string; Name?: string; Destination: string }[] | null;
}

/** `docker inspect` JSON text of one container -> what the drill reads. Throws on other text. */
export function parseInspect(text: string, container: string): Inspected {
  let raw: RawInspect;
  try {
    [raw] = JSON.parse(text) as RawInspect[];
  } catch {
    throw new StepError(`docker inspect ${container}: not the JSON docker prints`);
  }
  const env: Record<string, string> = {};
  for (const entry of raw.Config.Env ?? []) {
    const at = entry.indexOf("=");
    if (at > 0) env[entry.slice(0, at)] = entry.slice(at + 1);
  }
  const test = raw.Config.Healthcheck?.Test;
  return {
    image: raw.Config.Image,
    cmd: raw.Config.Cmd ?? [],
    env,
    network: raw.HostConfig.NetworkMode,
    volumes: (raw.Mounts ?? [])
      .filter((mount) => mount.Type === "volume" && mount.Name !== undefined)
      .map((mount) => ({ name: mount.Name as string, path: mount.Destination })),
    ...(test !== undefined && test.length > 0 && test[0] !== "NONE" ? { healthTest: test } : {}),
  };
}

/** `docker inspect <container>`, parsed (parseInspect); StepError when docker fails. */
export async function inspect(deps: NodeDeps, container: string): Promise<Inspected> {
  const result = await must(deps, `docker inspect ${container}`, ["inspect", container]);
  return parseInspect(result.stdout, container);
}

/** The scratch store's address variables in the job's environment (`scratch`: its network alias). */
function addressOverrides(target: StoreTarget, scratch: string): Record<string, string> {
  switch (target.method) {
    case "redis-rdb":
      return { REDIS_HOST: scratch };
    case "pg_dump":
      return { PGHOST: scratch };
    case "weaviate-snapshot":
      return { WEAVIATE_URL: `http://${scratch}:${target.port}` };
    case "pgbackrest":
      // pgBackRest reaches the cluster by its data directory and socket: the scratch volumes.
      return {};
  }
}

/**
 * The scratch job's WEAVIATE_BACKUP_PATH: the live Weaviate's BACKUP_FILESYSTEM_PATH, where the
 * scratch Weaviate reads the backup Weaviate's backup-filesystem module restores from. The job
 * unpacks there, so the volume holding it must be mounted at the same path in the backup container
 * (the planner's contract, then true of the scratch volume in the scratch job). Throws StepError
 * naming what is missing.
 */
export function weaviateBackupPath(live: Inspected, liveJob: Inspected, container: string): string {
  const path = live.env.BACKUP_FILESYSTEM_PATH;
  if (path === undefined)
    throw new StepError(
      `${container} has no BACKUP_FILESYSTEM_PATH: Weaviate has no backup-filesystem module`,
    );
  const under = (mount: { path: string }) => path === mount.path || path.startsWith(`${mount.path}/`);
  const volume = live.volumes.find(under);
  if (
    volume === undefined ||
    !liveJob.volumes.some((mount) => mount.name === volume.name && mount.path === volume.path)
  )
    throw new StepError(
      `BACKUP_FILESYSTEM_PATH ${path} of ${container} is in no volume the backup container mounts at the same path`,
    );
  return path;
}

/** `docker exec` arguments that run a health check's test in `container`. */
function healthExec(container: string, test: readonly string[]): string[] {
  const [kind, ...rest] = test;
  return kind === "CMD-SHELL"
    ? ["exec", container, "sh", "-c", rest.join(" ")]
    : ["exec", container, ...rest];
}

/** What one store's drill creates, for the removal. */
interface Scratch {
  readonly containers: string[];
  readonly volumes: string[];
}

/**
 * `docker create --name <name> --env-file <0600 file> <options> <image> <command>`, the file removed
 * right after (the environment may hold a store's password: never `-e NAME=value`). StepError for
 * a value with a line break, an unwritable file, or a failed create.
 */
export async function createWithEnv(
  deps: DrillDeps,
  name: string,
  env: Readonly<Record<string, string>>,
  options: readonly string[],
  image: string,
  command: readonly string[],
) {
  // Checked here too, whatever writes the file: a value cut at its line break would be a wrong secret.
  const problem = envFileProblem(env);
  if (problem !== undefined) throw new StepError(`the environment for ${name}: ${problem}`);
  let file: EnvFile;
  try {
    file = deps.writeEnvFile(env);
  } catch (error) {
    throw new StepError(`the environment for ${name}: ${(error as Error).message}`);
  }
  try {
    await must(deps, `docker create ${name}`, [
      "create",
      "--name",
      name,
      "--env-file",
      file.path,
      ...options,
      image,
      ...command,
    ]);
  } finally {
    file.remove();
  }
}

/** `docker cp <from>:<dir> - | docker cp - <to>:<parent of dir>/`: secret files never touch this machine's disk. */
export async function copyDir(deps: NodeDeps, from: string, to: string, dir: string) {
  const parent = dir.slice(0, dir.lastIndexOf("/")) || "/";
  const result: DockerResult = await deps.docker.pipe(
    ["cp", `${from}:${dir}`, "-"],
    ["cp", "-", `${to}:${parent}/`],
  );
  if (result.code !== 0) throw new StepError(`copying ${dir} from ${from} failed: ${failureLine(result)}`);
}

async function drillSteps(
  deps: DrillDeps,
  target: StoreTarget,
  backupContainer: string,
  backup: DrillBackup,
  stamp: string,
  scratch: Scratch,
): Promise<readonly CompareRow[]> {
  const prefix = `[drill] ${target.store}: `;
  const label = ["--label", `${DRILL_LABEL}=${stamp}`];
  const live = await inspect(deps, target.container);
  const liveJob = await inspect(deps, backupContainer);
  const scratchStore = `${target.container}-drill-${stamp}`;
  const scratchJob = `${backupContainer}-drill-${stamp}`;
  // The job reaches the scratch store by this alias: a container name can pass DNS's 63-character
  // label limit (a long stack name), and then does not resolve.
  const alias = `${target.store}-drill-${stamp}`;
  const jobEnv = {
    ...liveJob.env,
    ...addressOverrides(target, alias),
    ...(target.method === "weaviate-snapshot"
      ? { WEAVIATE_BACKUP_PATH: weaviateBackupPath(live, liveJob, target.container) }
      : {}),
  };
  const renamed = new Map(live.volumes.map((volume) => [volume.name, `${volume.name}-drill-${stamp}`]));
  for (const volume of renamed.values()) {
    deps.out(`${prefix}creating volume ${volume}\n`);
    await must(deps, `docker volume create ${volume}`, ["volume", "create", ...label, volume]);
    scratch.volumes.push(volume);
  }

  const startStore = async () => {
    deps.out(`${prefix}starting ${scratchStore} (${live.image})\n`);
    scratch.containers.push(scratchStore);
    await createWithEnv(
      deps,
      scratchStore,
      live.env,
      [
        ...label,
        "--network",
        live.network,
        "--network-alias",
        alias,
        ...live.volumes.flatMap((volume) => ["-v", `${renamed.get(volume.name)}:${volume.path}`]),
      ],
      live.image,
      live.cmd,
    );
    await must(deps, `docker start ${scratchStore}`, ["start", scratchStore]);
    const test = live.healthTest;
    await waitFor(
      deps,
      prefix,
      `${scratchStore} to answer its health check`,
      HEALTH_WAIT_SECONDS,
      async () => {
        const result = await deps.docker.run(
          test !== undefined
            ? healthExec(scratchStore, test)
            : ["inspect", "--format", "{{.State.Status}}", scratchStore],
        );
        const ok = result.code === 0 && (test !== undefined || result.stdout.trim() === "running");
        return { done: ok, state: ok ? "ready" : failureLine(result) };
      },
    );
  };

  const runJob = async () => {
    deps.out(`${prefix}restoring ${backup.backupId} with ${scratchJob}\n`);
    scratch.containers.push(scratchJob);
    // Read-write, whatever the live mount is: the job writes the scratch volumes (a live pgBackRest
    // container mounts the cluster read-only), and never sees a live store's volume.
    const mounts = liveJob.volumes.flatMap((volume) => {
      const scratchVolume = renamed.get(volume.name);
      return scratchVolume !== undefined ? ["-v", `${scratchVolume}:${volume.path}`] : [];
    });
    const command =
      target.method === "pgbackrest"
        ? ["orchestra-backup", "restore", "postgres", "--latest"]
        : ["orchestra-backup", "restore", target.store, backup.backupId];
    await createWithEnv(
      deps,
      scratchJob,
      jobEnv,
      [...label, "--network", liveJob.network, ...mounts],
      liveJob.image,
      command,
    );
    await copyDir(deps, backupContainer, scratchJob, BACKUP_FILE_PATHS.secretsDir);
    if (target.method === "pgbackrest") {
      const config = BACKUP_FILE_PATHS.pgbackrestConfig;
      await copyDir(deps, backupContainer, scratchJob, config.slice(0, config.lastIndexOf("/")));
    }
    const result = await deps.docker.run(["start", "-a", scratchJob]);
    for (const line of jobLines(result)) deps.out(`${line}\n`);
    if (result.code !== 0) throw new StepError(`the job failed: ${failureLine(result)}`);
  };

  if (target.method === "pg_dump" || target.method === "weaviate-snapshot") {
    await startStore();
    await runJob();
  } else {
    await runJob();
    await startStore();
  }
  if (target.method === "pgbackrest")
    // The restored cluster replays the fetched WAL from the scratch spool, then promotes.
    await waitFor(deps, prefix, `${scratchStore} to leave recovery`, RECOVERY_WAIT_SECONDS, async () => {
      const result = await deps.docker.run(
        psqlArgs(scratchStore, target.port),
        "SELECT pg_is_in_recovery();\n",
      );
      const state = result.code === 0 ? result.stdout.trim() : failureLine(result);
      return { done: state === "f", state: state === "t" ? "replaying WAL" : state };
    });
  deps.out(`${prefix}comparing ${scratchStore} with ${target.container}\n`);
  switch (target.method) {
    case "redis-rdb":
      return compareRedis(deps, target.port, target.container, scratchStore);
    case "weaviate-snapshot":
      return compareWeaviate(
        deps,
        backupContainer,
        `http://${target.container}:${target.port}`,
        `http://${alias}:${target.port}`,
      );
    default:
      return comparePostgres(deps, target.port, target.container, scratchStore);
  }
}

/** Removes what a drill created (each attempted); the names of what could not be removed. */
async function removeScratch(deps: DrillDeps, scratch: Scratch): Promise<string[]> {
  const left: string[] = [];
  for (const container of scratch.containers) {
    const result = await deps.docker.run(["rm", "-f", "-v", container]);
    if (result.code !== 0 && !/No such container/i.test(result.stderr)) left.push(container);
  }
  for (const volume of scratch.volumes) {
    const result = await deps.docker.run(["volume", "rm", volume]);
    if (result.code !== 0 && !/no such volume/i.test(result.stderr)) left.push(volume);
  }
  return left;
}

/**
 * Drills one store: scratch copy, restore, compare, removal. Resolves to its exit code: 0 equal,
 * 1 different, a step failed, or a scratch object could not be removed (each on err).
 */
export async function drillStore(
  deps: DrillDeps,
  target: StoreTarget,
  backupContainer: string,
  backup: DrillBackup,
  stamp: string,
): Promise<number> {
  const started = deps.now();
  const prefix = `[drill] ${target.store}: `;
  const scratch: Scratch = { containers: [], volumes: [] };
  let code = 0;
  try {
    const rows = await drillSteps(deps, target, backupContainer, backup, stamp, scratch);
    const report = drillReport(target.store, backup, rows);
    deps.out(report);
    if (!report.includes(": equal\n")) code = 1;
  } catch (error) {
    if (!(error instanceof StepError)) throw error;
    deps.err(`${prefix}${error.message}\n`);
    code = 1;
  } finally {
    const left = await removeScratch(deps, scratch);
    if (left.length > 0) {
      deps.err(
        `${prefix}could not remove ${left.join(", ")}: remove them by hand (docker ps -a --filter label=${DRILL_LABEL}=${stamp}; docker volume ls --filter label=${DRILL_LABEL}=${stamp})\n`,
      );
      code = 1;
    } else if (scratch.containers.length + scratch.volumes.length > 0)
      deps.out(`${prefix}removed ${[...scratch.containers, ...scratch.volumes].join(", ")}\n`);
  }
  deps.out(`${prefix}drill took ${elapsed(started, deps.now())}\n`);
  return code;
}
