/** Pure tier: restore's docker command lines per store, over a recording fake docker CLI. */
import { HEALTH_FORMAT, psqlArgs, restorePlanText, restoreStore } from "./backupRestore";
import type { StoreTarget } from "./backupTargets";
import { fakeClock, fakeDocker, fakeEnvFiles, type Answer } from "./backupTesting";

const BACKUP = "orchestra-staging-backups-data";
const REDIS: StoreTarget = {
  store: "redis",
  container: "orchestra-staging-stores-redis",
  port: 6379,
  method: "redis-rdb",
};
const PG_DUMP: StoreTarget = {
  store: "postgres",
  container: "orchestra-staging-stores-postgres",
  port: 5432,
  method: "pg_dump",
};
const PGBACKREST: StoreTarget = {
  store: "postgres",
  container: "orchestra-production-stores-postgres",
  port: 5432,
  method: "pgbackrest",
};
const WEAVIATE: StoreTarget = {
  store: "weaviate",
  container: "orchestra-staging-stores-weaviate",
  port: 8080,
  method: "weaviate-snapshot",
};

async function run(
  target: StoreTarget,
  backupId: string,
  answer?: Answer,
  at?: { at: string } | { latest: true },
) {
  // The preflight (both containers running, the store's lock free) answers yes; its calls are
  // kept apart (pinned by the preflight tests below).
  const { calls: all, docker } = fakeDocker((args, input) => preflightYes(args) ?? answer?.(args, input));
  const clock = fakeClock();
  const envFiles = fakeEnvFiles();
  const out: string[] = [];
  const err: string[] = [];
  const code = await restoreStore(
    {
      docker,
      out: (text) => out.push(text),
      err: (text) => err.push(text),
      writeEnvFile: envFiles.write,
      ...clock,
    },
    target,
    target === PGBACKREST ? "orchestra-production-backups-data" : BACKUP,
    backupId,
    at,
  );
  lastEnvFiles = envFiles.files;
  const calls = all.filter((call) => !isPreflight(call));
  lastPreflight = all.filter(isPreflight);
  return { code, calls, out: out.join(""), err: err.join("") };
}

const RUNNING = "{{.State.Running}}";
function preflightYes(args: readonly string[]) {
  if (args[0] === "inspect" && args[2] === RUNNING) return { stdout: "true\n" };
  if (args[0] === "exec" && args[2] === "sh" && args[4]?.includes("flock -n")) return { code: 0 };
  return undefined;
}
const isPreflight = (call: string) => call.includes(` ${RUNNING} `) || / flock -n -E 75 /.test(call);
/** The preflight calls of the last run. */
let lastPreflight: string[] = [];

/** The env files the last run wrote. */
let lastEnvFiles: ReturnType<typeof fakeEnvFiles>["files"] = [];

/** `docker inspect` of the production backup container, as the engine prints it (the fields read). */
const BACKUP_INSPECT = JSON.stringify([
  {
    Config: {
      Image: "ghcr.io/example/orchestra-backup:1.0.0",
      Cmd: ["orchestra-backup", "schedule", "/etc/orchestra-backup/crontab"],
      Env: ["TZ=UTC", "WAL_SPOOL=/var/lib/orchestra-backup/pgbackrest-spool", "BACKUP_STACK=production"],
    },
    HostConfig: { NetworkMode: "orchestra-production-stores-net" },
    Mounts: [
      {
        Type: "volume",
        Name: "orchestra-production-stores-postgres-data",
        Destination: "/var/lib/postgresql/data",
        RW: false,
      },
      {
        Type: "volume",
        Name: "orchestra-production-backups-wal-spool-data",
        Destination: "/var/lib/orchestra-backup/pgbackrest-spool",
        RW: true,
      },
    ],
  },
]);

const healthy: Answer = (args) => (args[0] === "inspect" ? { stdout: "healthy\n" } : undefined);

test("redis: stop, the job's restore, start, wait until healthy; the job's lines shown", async () => {
  const id = "20261130T031500Z-rdb";
  let polls = 0;
  const result = await run(REDIS, id, (args) => {
    if (args[0] === "exec")
      return {
        stderr: `[orchestra-backup] redis ${id}: restored into /data (42 bytes as dump.rdb and the AOF base); start Redis\n`,
      };
    if (args[0] === "inspect") return { stdout: ++polls < 7 ? "starting\n" : "healthy\n" };
    return undefined;
  });
  expect(result.calls).toEqual([
    "docker stop orchestra-staging-stores-redis",
    `docker exec ${BACKUP} orchestra-backup restore redis ${id}`,
    "docker start orchestra-staging-stores-redis",
    ...Array.from(
      { length: 7 },
      () => `docker inspect --format ${HEALTH_FORMAT} orchestra-staging-stores-redis`,
    ),
  ]);
  expect(result).toEqual({
    code: 0,
    calls: expect.any(Array),
    err: "",
    out: [
      "[restore] redis: stopping orchestra-staging-stores-redis",
      `[restore] redis: restoring ${id} in ${BACKUP}`,
      `[orchestra-backup] redis ${id}: restored into /data (42 bytes as dump.rdb and the AOF base); start Redis`,
      "[restore] redis: starting orchestra-staging-stores-redis",
      "[restore] redis: waiting for orchestra-staging-stores-redis to be healthy (starting, 10 s)",
      "[restore] redis: orchestra-staging-stores-redis is healthy",
      `[restore] redis: restored ${id} in 12.0 s`,
      "",
    ].join("\n"),
  });
});

test("redis: a failed job starts Redis again and ends with its last ERROR line (exit 1)", async () => {
  const id = "20261130T031500Z-rdb";
  const line = `redis ${id}: object dump.rdb.age: sha256 ab does not match the manifest's cd`;
  const result = await run(REDIS, id, (args) =>
    args[0] === "exec"
      ? {
          code: 1,
          stderr: `[orchestra-backup] redis ${id}: downloading\n[orchestra-backup] ERROR: ${line}\n`,
        }
      : healthy(args),
  );
  expect(result).toEqual({
    code: 1,
    calls: [
      "docker stop orchestra-staging-stores-redis",
      `docker exec ${BACKUP} orchestra-backup restore redis ${id}`,
      "docker start orchestra-staging-stores-redis",
      `docker inspect --format ${HEALTH_FORMAT} orchestra-staging-stores-redis`,
    ],
    err: `[restore] redis: the job failed: ERROR: ${line}\n`,
    out: [
      "[restore] redis: stopping orchestra-staging-stores-redis",
      `[restore] redis: restoring ${id} in ${BACKUP}`,
      `[orchestra-backup] redis ${id}: downloading`,
      `[orchestra-backup] ERROR: ${line}`,
      "[restore] redis: starting orchestra-staging-stores-redis again (the failed job changed nothing)",
      "[restore] redis: orchestra-staging-stores-redis is healthy",
      "[restore] redis: failed after 0.0 s",
      "",
    ].join("\n"),
  });
});

test("redis: a store that never turns healthy fails after 300 s, naming its last state", async () => {
  const result = await run(REDIS, "20261130T031500Z-rdb", (args) =>
    args[0] === "inspect" ? { stdout: "unhealthy\n" } : undefined,
  );
  expect(result.code).toBe(1);
  expect(result.err).toBe(
    "[restore] redis: orchestra-staging-stores-redis to be healthy: not within 300 s (last: unhealthy)\n",
  );
  expect(result.out.split("\n").filter((line) => line.includes("waiting for"))).toHaveLength(29);
});

test("postgres from a pg_dump backup: one job run, pg_restore into the live database", async () => {
  const id = "20261130T030000Z-dump";
  const result = await run(PG_DUMP, id);
  expect(result).toEqual({
    code: 0,
    calls: [`docker exec ${BACKUP} orchestra-backup restore postgres ${id}`],
    err: "",
    out: `[restore] postgres: restoring ${id} into the live database in ${BACKUP}\n[restore] postgres: restored ${id} in 0.0 s\n`,
  });
});

test("postgres with pgBackRest: switch the WAL, wait for the archiver, push, stop, restore in place in a one-off container, start, leave recovery, CHECKPOINT", async () => {
  const psql = psqlArgs(PGBACKREST.container, 5432).join(" ");
  const answers: Record<string, string[]> = {
    "SELECT pg_walfile_name(pg_switch_wal());": ["000000010000000000000005"],
    "SELECT coalesce(last_archived_wal, '') FROM pg_stat_archiver;": [
      "000000010000000000000004",
      "000000010000000000000005",
    ],
    "SELECT pg_is_in_recovery();": ["t", "t", "t", "t", "t", "t", "f"],
    "CHECKPOINT;": [""],
  };
  const oneOff = "orchestra-production-backups-data-restore-20261130T221502Z";
  const result = await run(
    PGBACKREST,
    "20261129T030000Z-full",
    (args, input) => {
      if (input !== undefined) return { stdout: `${answers[input.trim()].shift()}\n` };
      if (args.join(" ") === "inspect orchestra-production-backups-data") return { stdout: BACKUP_INSPECT };
      if (args[0] === "start" && args[1] === "-a")
        return {
          stderr:
            "[orchestra-backup] postgres: in place over the stopped cluster in /var/lib/postgresql/data (pgBackRest --delta)\nINFO: restore command end: completed successfully\n",
        };
      return healthy(args);
    },
    { at: "2026-11-30T10:15:00+01:00" },
  );
  const job = "docker exec orchestra-production-backups-data orchestra-backup";
  expect(result.calls).toEqual([
    `docker ${psql} <<< SELECT pg_walfile_name(pg_switch_wal());`,
    `docker ${psql} <<< SELECT coalesce(last_archived_wal, '') FROM pg_stat_archiver;`,
    `docker ${psql} <<< SELECT coalesce(last_archived_wal, '') FROM pg_stat_archiver;`,
    `${job} wal-push --once`,
    "docker stop orchestra-production-stores-postgres",
    "docker inspect orchestra-production-backups-data",
    // Every volume read-write, whatever the backup container's mode: the data volume is written.
    `docker create --name ${oneOff} --env-file /tmp/env-1 --network orchestra-production-stores-net -v orchestra-production-stores-postgres-data:/var/lib/postgresql/data -v orchestra-production-backups-wal-spool-data:/var/lib/orchestra-backup/pgbackrest-spool ghcr.io/example/orchestra-backup:1.0.0 orchestra-backup restore postgres --at 2026-11-30T10:15:00+01:00 --in-place`,
    `docker cp orchestra-production-backups-data:/run/secrets - | docker cp - ${oneOff}:/run/`,
    `docker cp orchestra-production-backups-data:/etc/pgbackrest - | docker cp - ${oneOff}:/etc/`,
    `docker start -a ${oneOff}`,
    `docker rm -f -v ${oneOff}`,
    "docker start orchestra-production-stores-postgres",
    `docker inspect --format ${HEALTH_FORMAT} orchestra-production-stores-postgres`,
    ...Array.from({ length: 7 }, () => `docker ${psql} <<< SELECT pg_is_in_recovery();`),
    `docker ${psql} <<< CHECKPOINT;`,
  ]);
  expect(lastEnvFiles).toEqual([
    {
      path: "/tmp/env-1",
      env: {
        TZ: "UTC",
        WAL_SPOOL: "/var/lib/orchestra-backup/pgbackrest-spool",
        BACKUP_STACK: "production",
      },
      removed: true,
    },
  ]);
  expect(psql).toBe(
    "exec -i orchestra-production-stores-postgres psql -X -v ON_ERROR_STOP=1 -q -A -t -h /var/run/postgresql -p 5432 -U orchestra -d orchestra",
  );
  expect(result.out).toBe(
    [
      "[restore] postgres: switching the WAL in orchestra-production-stores-postgres",
      "[restore] postgres: pushing the spool (wal-push --once)",
      "[restore] postgres: stopping orchestra-production-stores-postgres",
      `[restore] postgres: restoring --at 2026-11-30T10:15:00+01:00 in place with ${oneOff}`,
      "[orchestra-backup] postgres: in place over the stopped cluster in /var/lib/postgresql/data (pgBackRest --delta)",
      "[restore] postgres: starting orchestra-production-stores-postgres",
      "[restore] postgres: orchestra-production-stores-postgres is healthy",
      "[restore] postgres: waiting for orchestra-production-stores-postgres to leave recovery (replaying WAL, 10 s)",
      "[restore] postgres: out of recovery; CHECKPOINT",
      "[restore] postgres: restored --at 2026-11-30T10:15:00+01:00 in 14.0 s",
      "",
    ].join("\n"),
  );
  expect(result.code).toBe(0);
});

test("postgres with pgBackRest: a failed in-place restore removes its one-off container, leaves Postgres stopped and says so", async () => {
  const oneOff = "orchestra-production-backups-data-restore-20261130T221500Z";
  const result = await run(
    PGBACKREST,
    "x",
    (args, input) => {
      if (input !== undefined) return { stdout: "000000010000000000000005\n" };
      if (args[0] === "inspect") return { stdout: BACKUP_INSPECT };
      if (args[0] === "start" && args[1] === "-a")
        return {
          code: 1,
          stderr: "[orchestra-backup] ERROR: restore: no backup set ends before 2026-11-01T00:00:00Z\n",
        };
      return undefined;
    },
    { latest: true },
  );
  expect(result.code).toBe(1);
  // The one-off container removed, and nothing after: Postgres is not started on a partly restored directory.
  expect(result.calls.slice(-2)).toEqual([`docker start -a ${oneOff}`, `docker rm -f -v ${oneOff}`]);
  expect(result.calls.at(-5)).toMatch(
    new RegExp(`^docker create --name ${oneOff} .* orchestra-backup restore postgres --latest --in-place$`),
  );
  expect(result.err).toBe(
    '[restore] postgres: the job failed: ERROR: restore: no backup set ends before 2026-11-01T00:00:00Z; orchestra-production-stores-postgres is left stopped: its data directory may be partly restored (README "Restoring a backup")\n',
  );
});

test("weaviate: the job's restore; its refusal comes with what a Weaviate restore needs", async () => {
  const id = "20261130T031500Z-snapshot";
  const result = await run(WEAVIATE, id, () => ({
    code: 1,
    stderr: "[orchestra-backup] ERROR: weaviate: class Document already exists\n",
  }));
  expect(result).toEqual({
    code: 1,
    calls: [`docker exec ${BACKUP} orchestra-backup restore weaviate ${id}`],
    err: "[restore] weaviate: the job failed: ERROR: weaviate: class Document already exists (a Weaviate restore needs Weaviate running and none of the backup's classes in it: delete those classes first)\n",
    out: `[restore] weaviate: restoring ${id} into orchestra-staging-stores-weaviate in ${BACKUP}\n[orchestra-backup] ERROR: weaviate: class Document already exists\n[restore] weaviate: failed after 0.0 s\n`,
  });
});

test("the plan printed without --yes", () => {
  expect(restorePlanText(REDIS, BACKUP, "staging", "20261130T031500Z-rdb"))
    .toBe(`restore redis 20261130T031500Z-rdb on stack staging would run, on the node's Docker engine:
  docker stop orchestra-staging-stores-redis
  docker exec orchestra-staging-backups-data orchestra-backup restore redis 20261130T031500Z-rdb
  docker start orchestra-staging-stores-redis, then wait until it is healthy
Redis is down meanwhile; the files it replaces are kept in before-restore-<UTC time>/ in its volume.
Nothing was changed. Run it again with --yes to restore.
`);
  expect(
    restorePlanText(PGBACKREST, "orchestra-production-backups-data", "production", "20261129T030000Z-full", {
      latest: true,
    }),
  )
    .toBe(`restore postgres to the end of the WAL archive on stack production would run, on the node's Docker engine:
  SELECT pg_switch_wal() in orchestra-production-stores-postgres, and wait until the segment is in the spool
  docker exec orchestra-production-backups-data orchestra-backup wal-push --once
  docker stop orchestra-production-stores-postgres
  a one-off container orchestra-production-backups-data-restore-<UTC stamp> (its image, environment, secret files, pgBackRest's config and volumes, all read-write): orchestra-backup restore postgres --latest --in-place
  docker start orchestra-production-stores-postgres, wait until it is healthy and out of recovery, then CHECKPOINT
Postgres is down meanwhile; everything committed after the target time is gone from the live database.
Nothing was changed. Run it again with --yes to restore.
`);
});

describe("preflight: nothing is stopped unless both containers run and no backup of the store runs", () => {
  async function refused(answer: Answer, target: StoreTarget = REDIS, at?: { at: string }) {
    const { calls, docker } = fakeDocker(answer);
    const out: string[] = [];
    const err: string[] = [];
    const code = await restoreStore(
      {
        docker,
        out: (text) => out.push(text),
        err: (text) => err.push(text),
        writeEnvFile: fakeEnvFiles().write,
        ...fakeClock(),
      },
      target,
      BACKUP,
      "20261130T031500Z-rdb",
      at,
    );
    return { code, calls, out: out.join(""), err: err.join("") };
  }

  test("the checks, in order, before the first stop", async () => {
    await run(REDIS, "20261130T031500Z-rdb", healthy);
    expect(lastPreflight).toEqual([
      `docker inspect -f ${RUNNING} orchestra-staging-stores-redis`,
      `docker inspect -f ${RUNNING} ${BACKUP}`,
      `docker exec ${BACKUP} sh -c mkdir -p /var/lib/orchestra-backup/locks && exec flock -n -E 75 /var/lib/orchestra-backup/locks/redis true`,
    ]);
  });

  test("a container this engine does not have: the way out, no stop", async () => {
    const result = await refused((args) =>
      args[0] === "inspect"
        ? { code: 1, stderr: "Error: No such object: orchestra-staging-stores-redis\n" }
        : undefined,
    );
    expect(result.calls).toEqual([`docker inspect -f ${RUNNING} orchestra-staging-stores-redis`]);
    expect([result.code, result.err]).toEqual([
      1,
      '[restore] redis: orchestra-staging-stores-redis is not a running container on this Docker engine (Error: No such object: orchestra-staging-stores-redis); set DOCKER_HOST=ssh://<sshUser>@<data node ip> or --docker-host (README "Restoring a backup"); nothing was changed\n',
    ]);
  });

  test("a backup of the store holds its lock: refused, no stop", async () => {
    const result = await refused((args) =>
      args[0] === "inspect" ? { stdout: "true\n" } : args[4]?.includes("flock -n") ? { code: 75 } : undefined,
    );
    expect(result.calls.some((call) => call.startsWith("docker stop"))).toBe(false);
    expect([result.code, result.err]).toEqual([
      1,
      `[restore] redis: a backup of redis is running in ${BACKUP} (it holds /var/lib/orchestra-backup/locks/redis); restore once it has ended (docker logs ${BACKUP}); nothing was changed\n`,
    ]);
  });

  test("--at in the future: refused before the WAL switch", async () => {
    const result = await refused(
      (args) => (args[0] === "inspect" ? { stdout: "true\n" } : undefined),
      PGBACKREST,
      { at: "2099-01-01T00:00:00Z" },
    );
    expect(result.calls.filter((call) => !isPreflight(call))).toEqual([]);
    expect(result.err).toBe(
      "[restore] postgres: --at 2099-01-01T00:00:00Z is in the future: Postgres would replay to the archive's end and then refuse to start short of the target; give a past time or --latest; nothing was changed\n",
    );
  });

  test("a Redis restore that failed while replacing files (exit 4) leaves Redis stopped and says so", async () => {
    const id = "20261130T031500Z-rdb";
    const result = await run(REDIS, id, (args) =>
      args[0] === "exec"
        ? {
            code: 4,
            stderr: `[orchestra-backup] ERROR: redis ${id}: replacing the files in /data failed: mv: x; look at /data and /data/before-restore-20261130T031600Z before starting Redis\n`,
          }
        : healthy(args),
    );
    expect(result.calls).toEqual([
      "docker stop orchestra-staging-stores-redis",
      `docker exec ${BACKUP} orchestra-backup restore redis ${id}`,
    ]);
    expect(result.err).toBe(
      `[restore] redis: the job failed: ERROR: redis ${id}: replacing the files in /data failed: mv: x; look at /data and /data/before-restore-20261130T031600Z before starting Redis; orchestra-staging-stores-redis is left stopped: its volume may hold part of the old and part of the restored files (the job's lines above say where)\n`,
    );
  });
});
