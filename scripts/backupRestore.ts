/**
 * `npm run backup -- restore`: one store's restore, run ON the data node by the backup
 * container's job (`orchestra-backup restore ...`), orchestrated from here through the docker CLI
 * (backupDocker.ts). The backup was verified through S3 before any of this runs (backup.ts).
 *
 * Per store, each step printed as it happens (`[restore] redis: stopping <container>`):
 * - redis: stop Redis; the job writes the snapshot into its data volume; start Redis; wait until
 *   its health check says healthy. A failed job changed nothing (it checks everything first), so
 *   Redis is started again and the job's last ERROR line reported (exit 1).
 * - postgres, pg_dump: the job's pg_restore into the live database (one transaction).
 * - postgres, pgBackRest: `SELECT pg_switch_wal()` and wait until the archiver has copied that
 *   segment to the spool; the job pushes the spool once; stop Postgres; the job restores over the
 *   stopped cluster (`--in-place`: pgBackRest's --delta) to the time or the archive's end; start
 *   Postgres, wait healthy, wait until it leaves recovery, then CHECKPOINT (without it a promoted
 *   cluster was seen to archive nothing for minutes: README "Restoring a backup"). The in-place
 *   restore runs in a one-off container `<backup container>-restore-<UTC stamp>` (inPlaceJob), not
 *   in the backup container, which mounts the data volume read-only (components/backupsPlan.ts).
 * - weaviate: the job's restore through Weaviate's backup API (Weaviate running, and none of the
 *   backup's classes in it).
 */
import { BACKUP_FILE_PATHS } from "../components/backupsFiles";
import { DATABASE_NAME, DATABASE_USER } from "../components/dataServicesPlan";
import type { RecoveryTarget } from "./backupArgs";
import type { DockerCli, DockerResult } from "./backupDocker";
import type { StoreTarget } from "./backupTargets";
// A cycle (backupDrill imports this file's helpers), harmless: each side's imports are only used
// inside functions, never while the modules load.
import { copyDir, createWithEnv, drillStamp, inspect, type DrillDeps } from "./backupDrill";

/** What a restore or a drill needs besides the plan: the engine, the output, the clock. */
export interface NodeDeps {
  readonly docker: DockerCli;
  readonly out: (text: string) => void;
  readonly err: (text: string) => void;
  readonly now: () => Date;
  readonly sleep: (ms: number) => Promise<void>;
}

/** How long a started store may take to report healthy (its check runs every 30 s, 3 retries). */
export const HEALTH_WAIT_SECONDS = 300;
/** How long a restored Postgres may replay WAL before it leaves recovery. */
export const RECOVERY_WAIT_SECONDS = 3600;
/** How long the archiver may take to copy the switched WAL segment to the spool. */
export const ARCHIVE_WAIT_SECONDS = 120;
/** Between two polls of a wait, and between two progress lines. */
const POLL_MS = 2000;
const PROGRESS_MS = 10_000;

/** Seconds between two times, one decimal: "12.3 s". */
export function elapsed(from: Date, to: Date): string {
  return `${((to.getTime() - from.getTime()) / 1000).toFixed(1)} s`;
}

/** The last line of a docker run's stderr that says why it failed (the job's ERROR line first). */
export function failureLine(result: DockerResult): string {
  const lines = `${result.stderr}\n${result.stdout}`.split("\n").map((line) => line.trim());
  const errors = lines.filter((line) => line.startsWith("[orchestra-backup] ERROR: "));
  if (errors.length > 0) return errors[errors.length - 1].slice("[orchestra-backup] ".length);
  const last = lines.filter(Boolean).at(-1);
  return last ?? `exit ${result.code}, no output`;
}

/** The job's own lines (`[orchestra-backup] ...`) of a run, in order. */
export function jobLines(result: DockerResult): string[] {
  return `${result.stderr}\n${result.stdout}`
    .split("\n")
    .filter((line) => line.startsWith("[orchestra-backup] "));
}

/** A step that failed: its line is printed and the restore or drill ends (exit 1). */
export class StepError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "StepError";
  }
}

/** `docker <args>`; throws StepError `<what> failed: <why>` when it exits non-zero. */
export async function must(deps: NodeDeps, what: string, args: readonly string[], input?: string) {
  const result = await deps.docker.run(args, input);
  if (result.code !== 0) throw new StepError(`${what} failed: ${failureLine(result)}`);
  return result;
}

/** psql in the Postgres container over its local socket (trusted there): unaligned, tuples only, SQL on stdin. */
export function psqlArgs(container: string, port: number): string[] {
  return [
    "exec",
    "-i",
    container,
    "psql",
    "-X",
    "-v",
    "ON_ERROR_STOP=1",
    "-q",
    "-A",
    "-t",
    "-h",
    BACKUP_FILE_PATHS.postgresSocket,
    "-p",
    String(port),
    "-U",
    DATABASE_USER,
    "-d",
    DATABASE_NAME,
  ];
}

/**
 * Polls `check` every 2 s until it answers `{ done: true }`, printing `<prefix>waiting for <what>
 * (<state>, N s)` every 10 s; throws StepError after `seconds` with the last state.
 */
export async function waitFor(
  deps: NodeDeps,
  prefix: string,
  what: string,
  seconds: number,
  check: () => Promise<{ done: boolean; state: string }>,
): Promise<void> {
  const started = deps.now().getTime();
  let lastProgress = started;
  for (;;) {
    const { done, state } = await check();
    if (done) return;
    const now = deps.now().getTime();
    if (now - started >= seconds * 1000)
      throw new StepError(`${what}: not within ${seconds} s (last: ${state})`);
    if (now - lastProgress >= PROGRESS_MS) {
      deps.out(`${prefix}waiting for ${what} (${state}, ${Math.round((now - started) / 1000)} s)\n`);
      lastProgress = now;
    }
    await deps.sleep(POLL_MS);
  }
}

/** The health status docker reports, or the state for a container without a health check. */
export const HEALTH_FORMAT = "{{if .State.Health}}{{.State.Health.Status}}{{else}}{{.State.Status}}{{end}}";

/** Waits until `container`'s health check says healthy (or, without one, it runs). */
export async function waitHealthy(deps: NodeDeps, prefix: string, container: string): Promise<void> {
  await waitFor(deps, prefix, `${container} to be healthy`, HEALTH_WAIT_SECONDS, async () => {
    const result = await deps.docker.run(["inspect", "--format", HEALTH_FORMAT, container]);
    const state = result.code === 0 ? result.stdout.trim() : failureLine(result);
    return { done: state === "healthy", state };
  });
  deps.out(`${prefix}${container} is healthy\n`);
}

/** What restore does, in order, as the docker commands it runs (the plan without --yes). */
export function restoreSteps(
  target: StoreTarget,
  backupContainer: string,
  backupId: string,
  recovery?: RecoveryTarget,
): string[] {
  const job = `docker exec ${backupContainer} orchestra-backup`;
  switch (target.method) {
    case "redis-rdb":
      return [
        `docker stop ${target.container}`,
        `${job} restore redis ${backupId}`,
        `docker start ${target.container}, then wait until it is healthy`,
      ];
    case "pg_dump":
      return [`${job} restore postgres ${backupId}   (pg_restore into the live database, one transaction)`];
    case "pgbackrest":
      return [
        `SELECT pg_switch_wal() in ${target.container}, and wait until the segment is in the spool`,
        `${job} wal-push --once`,
        `docker stop ${target.container}`,
        `a one-off container ${backupContainer}-restore-<UTC stamp> (its image, environment, secret files, pgBackRest's config and volumes, all read-write): orchestra-backup restore postgres ${recoveryWords(recovery)} --in-place`,
        `docker start ${target.container}, wait until it is healthy and out of recovery, then CHECKPOINT`,
      ];
    case "weaviate-snapshot":
      return [
        `${job} restore weaviate ${backupId}   (Weaviate must run and hold none of the backup's classes)`,
      ];
  }
}

function recoveryWords(recovery: RecoveryTarget | undefined): string {
  return recovery !== undefined && "at" in recovery ? `--at ${recovery.at}` : "--latest";
}

/** What a store's downtime and side effects are, said before --yes. */
const CONSEQUENCES: Record<StoreTarget["method"], string> = {
  "redis-rdb":
    "Redis is down meanwhile; the files it replaces are kept in before-restore-<UTC time>/ in its volume.",
  pg_dump:
    "Postgres stays up; the dump's objects are replaced, tables created after the backup are left as they are.",
  pgbackrest:
    "Postgres is down meanwhile; everything committed after the target time is gone from the live database.",
  "weaviate-snapshot":
    "Weaviate stays up; a class the backup holds must not exist in it (delete it first) or the restore refuses.",
};

/** The plan text printed without --yes. */
export function restorePlanText(
  target: StoreTarget,
  backupContainer: string,
  stack: string,
  backupId: string,
  recovery?: RecoveryTarget,
): string {
  const what =
    target.method === "pgbackrest"
      ? `postgres to ${recovery !== undefined && "at" in recovery ? recovery.at : "the end of the WAL archive"}`
      : `${target.store} ${backupId}`;
  return [
    `restore ${what} on stack ${stack} would run, on the node's Docker engine:`,
    ...restoreSteps(target, backupContainer, backupId, recovery).map((step) => `  ${step}`),
    CONSEQUENCES[target.method],
    "Nothing was changed. Run it again with --yes to restore.",
    "",
  ].join("\n");
}

/** Runs the job in the backup container, printing its own lines; throws StepError with its ERROR line. */
async function job(deps: NodeDeps, backupContainer: string, args: readonly string[]) {
  const result = await deps.docker.run(["exec", backupContainer, "orchestra-backup", ...args]);
  for (const line of jobLines(result)) deps.out(`${line}\n`);
  if (result.code !== 0) throw new StepError(`the job failed: ${failureLine(result)}`);
  return result;
}

/** The backup job's lock of each store (images/backup/lib/common.sh STATE_DIR/locks/<store>). */
const JOB_LOCKS = "/var/lib/orchestra-backup/locks";
/** flock's exit status here when the lock is held (-E). */
const LOCK_HELD = 75;

/**
 * Before anything is stopped: both containers run on this engine, and no backup of the store is
 * running (a restore would stop the store under it, then find the job's lock taken). Throws
 * StepError with the way out; nothing has changed then.
 */
async function preflight(deps: NodeDeps, target: StoreTarget, backupContainer: string) {
  for (const container of [target.container, backupContainer]) {
    const result = await deps.docker.run(["inspect", "-f", "{{.State.Running}}", container]);
    if (result.code !== 0 || result.stdout.trim() !== "true")
      throw new StepError(
        `${container} is not a running container on this Docker engine (${result.code !== 0 ? failureLine(result) : `running: ${result.stdout.trim()}`}); set DOCKER_HOST=ssh://<sshUser>@<data node ip> or --docker-host (README "Restoring a backup"); nothing was changed`,
      );
  }
  // The locks folder exists once the job has run; a fresh container may not have it yet.
  const lock = await deps.docker.run([
    "exec",
    backupContainer,
    "sh",
    "-c",
    `mkdir -p ${JOB_LOCKS} && exec flock -n -E ${LOCK_HELD} ${JOB_LOCKS}/${target.store} true`,
  ]);
  if (lock.code === LOCK_HELD)
    throw new StepError(
      `a backup of ${target.store} is running in ${backupContainer} (it holds ${JOB_LOCKS}/${target.store}); restore once it has ended (docker logs ${backupContainer}); nothing was changed`,
    );
  if (lock.code !== 0)
    throw new StepError(
      `checking ${backupContainer}'s lock of ${target.store} failed: ${failureLine(lock)}; nothing was changed`,
    );
}

/** The job's exit status when a Redis restore failed while replacing files (redis.sh REDIS_RESTORE_PARTIAL). */
const REDIS_RESTORE_PARTIAL = 4;

async function restoreRedis(deps: NodeDeps, target: StoreTarget, backupContainer: string, id: string) {
  const prefix = "[restore] redis: ";
  deps.out(`${prefix}stopping ${target.container}\n`);
  await must(deps, `docker stop ${target.container}`, ["stop", target.container]);
  deps.out(`${prefix}restoring ${id} in ${backupContainer}\n`);
  const result = await deps.docker.run(["exec", backupContainer, "orchestra-backup", "restore", "redis", id]);
  const lines = jobLines(result);
  for (const line of lines) deps.out(`${line}\n`);
  if (result.code !== 0) {
    // Exit 1 with the job's own ERROR line: it failed before it replaced a file (it checks the
    // download, the decryption, the snapshot and writes the new files beside the old first), so
    // Redis goes back up on its own data. Anything else (a swap that failed, docker or the
    // connection failing mid-run) leaves the volume in a state only a person should judge.
    const jobFailedCleanly = result.code === 1 && lines.some((line) => line.includes(" ERROR: "));
    if (!jobFailedCleanly)
      throw new StepError(
        `the job failed: ${failureLine(result)}; ${target.container} is left stopped${result.code === REDIS_RESTORE_PARTIAL ? ": its volume may hold part of the old and part of the restored files (the job's lines above say where)" : ": the job may not have finished; look at its volume before starting it"}`,
      );
    deps.out(`${prefix}starting ${target.container} again (the failed job changed nothing)\n`);
    await must(deps, `docker start ${target.container}`, ["start", target.container]);
    await waitHealthy(deps, prefix, target.container);
    throw new StepError(`the job failed: ${failureLine(result)}`);
  }
  deps.out(`${prefix}starting ${target.container}\n`);
  await must(deps, `docker start ${target.container}`, ["start", target.container]);
  await waitHealthy(deps, prefix, target.container);
}

async function psqlValue(deps: NodeDeps, target: StoreTarget, sql: string): Promise<string> {
  const result = await must(
    deps,
    `psql in ${target.container}`,
    psqlArgs(target.container, target.port),
    sql,
  );
  return result.stdout.trim();
}

/**
 * `orchestra-backup <args>` in a one-off container of the backup container: its image, environment
 * (through --env-file), network and volumes, each mounted READ-WRITE at the same path (the backup
 * container mounts the Postgres data volume read-only), its secret files and pgBackRest's config
 * copied in; removed afterwards, also when it failed. Prints the job's lines; StepError with its
 * ERROR line when it exits non-zero. The store's lock is the backup container's own: a scheduled
 * backup there is not excluded, but it cannot reach the stopped Postgres either.
 */
async function inPlaceJob(deps: DrillDeps, backupContainer: string, name: string, args: readonly string[]) {
  const live = await inspect(deps, backupContainer);
  try {
    await createWithEnv(
      deps,
      name,
      live.env,
      [
        "--network",
        live.network,
        ...live.volumes.flatMap((volume) => ["-v", `${volume.name}:${volume.path}`]),
      ],
      live.image,
      ["orchestra-backup", ...args],
    );
    await copyDir(deps, backupContainer, name, BACKUP_FILE_PATHS.secretsDir);
    const config = BACKUP_FILE_PATHS.pgbackrestConfig;
    await copyDir(deps, backupContainer, name, config.slice(0, config.lastIndexOf("/")));
    const result = await deps.docker.run(["start", "-a", name]);
    for (const line of jobLines(result)) deps.out(`${line}\n`);
    if (result.code !== 0) throw new StepError(`the job failed: ${failureLine(result)}`);
  } finally {
    const removed = await deps.docker.run(["rm", "-f", "-v", name]);
    if (removed.code !== 0 && !/No such container/i.test(removed.stderr))
      deps.err(`[restore] postgres: could not remove ${name}: ${failureLine(removed)}; remove it by hand\n`);
  }
}

async function restorePgbackrest(
  deps: DrillDeps,
  target: StoreTarget,
  backupContainer: string,
  recovery: RecoveryTarget,
) {
  const prefix = "[restore] postgres: ";
  deps.out(`${prefix}switching the WAL in ${target.container}\n`);
  // At a segment boundary pg_walfile_name names the segment just finished: the one to archive.
  const segment = await psqlValue(deps, target, "SELECT pg_walfile_name(pg_switch_wal());\n");
  await waitFor(deps, prefix, `segment ${segment} in the spool`, ARCHIVE_WAIT_SECONDS, async () => {
    const archived = await psqlValue(
      deps,
      target,
      "SELECT coalesce(last_archived_wal, '') FROM pg_stat_archiver;\n",
    );
    return { done: archived >= segment, state: `last archived ${archived || "none"}` };
  });
  deps.out(`${prefix}pushing the spool (wal-push --once)\n`);
  await job(deps, backupContainer, ["wal-push", "--once"]);
  deps.out(`${prefix}stopping ${target.container}\n`);
  await must(deps, `docker stop ${target.container}`, ["stop", target.container]);
  const words = "at" in recovery ? ["--at", recovery.at] : ["--latest"];
  const oneOff = `${backupContainer}-restore-${drillStamp(deps.now())}`;
  deps.out(`${prefix}restoring ${words.join(" ")} in place with ${oneOff}\n`);
  try {
    await inPlaceJob(deps, backupContainer, oneOff, ["restore", "postgres", ...words, "--in-place"]);
  } catch (error) {
    throw new StepError(
      `${(error as Error).message}; ${target.container} is left stopped: its data directory may be partly restored (README "Restoring a backup")`,
    );
  }
  deps.out(`${prefix}starting ${target.container}\n`);
  await must(deps, `docker start ${target.container}`, ["start", target.container]);
  await waitHealthy(deps, prefix, target.container);
  await waitFor(deps, prefix, `${target.container} to leave recovery`, RECOVERY_WAIT_SECONDS, async () => {
    const inRecovery = await psqlValue(deps, target, "SELECT pg_is_in_recovery();\n");
    return { done: inRecovery === "f", state: inRecovery === "t" ? "replaying WAL" : inRecovery };
  });
  deps.out(`${prefix}out of recovery; CHECKPOINT\n`);
  await psqlValue(deps, target, "CHECKPOINT;\n");
}

/**
 * Restores `target` from `backupId` (or, pgBackRest, to `recovery`) through the backup container.
 * Resolves to the exit code: 0 restored, 1 a step failed (its line on err).
 */
export async function restoreStore(
  deps: DrillDeps,
  target: StoreTarget,
  backupContainer: string,
  backupId: string,
  recovery?: RecoveryTarget,
): Promise<number> {
  const started = deps.now();
  const prefix = `[restore] ${target.store}: `;
  try {
    await preflight(deps, target, backupContainer);
    if (recovery !== undefined && "at" in recovery && Date.parse(recovery.at) > deps.now().getTime())
      throw new StepError(
        `--at ${recovery.at} is in the future: Postgres would replay to the archive's end and then refuse to start short of the target; give a past time or --latest; nothing was changed`,
      );
    switch (target.method) {
      case "redis-rdb":
        await restoreRedis(deps, target, backupContainer, backupId);
        break;
      case "pg_dump":
        deps.out(`${prefix}restoring ${backupId} into the live database in ${backupContainer}\n`);
        await job(deps, backupContainer, ["restore", "postgres", backupId]);
        break;
      case "pgbackrest":
        await restorePgbackrest(deps, target, backupContainer, recovery ?? { latest: true });
        break;
      case "weaviate-snapshot":
        deps.out(`${prefix}restoring ${backupId} into ${target.container} in ${backupContainer}\n`);
        try {
          await job(deps, backupContainer, ["restore", "weaviate", backupId]);
        } catch (error) {
          throw new StepError(
            `${(error as Error).message} (a Weaviate restore needs Weaviate running and none of the backup's classes in it: delete those classes first)`,
          );
        }
        break;
    }
  } catch (error) {
    if (!(error instanceof StepError)) throw error;
    deps.err(`${prefix}${error.message}\n`);
    deps.out(`${prefix}failed after ${elapsed(started, deps.now())}\n`);
    return 1;
  }
  const what = target.method === "pgbackrest" ? recoveryWords(recovery) : backupId;
  deps.out(`${prefix}restored ${what} in ${elapsed(started, deps.now())}\n`);
  return 0;
}
