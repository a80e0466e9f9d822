/** Pure tier: `npm run backup` over a fake store (the S3 store has its own services-tier test). */
import { mkdtempSync, rmSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";
import type {
  BackupListing,
  RetentionResult,
  StoredBackup,
  VerifyOutcome,
} from "../infra/backup/backupStore";
import type { BackupSettings, Store } from "../infra/backup/layout";
import type { Manifest } from "../infra/backup/manifest";
import { readFileSync } from "fs";
import { runBackup, type BackupReader } from "./backup";
import { BACKUP_USAGE } from "./backupArgs";
import { fakeClock, fakeDocker, type Answer } from "./backupTesting";

const STACK_FILE = `config:
  orchestra:layer: staging
  orchestra:backup:
    region: us-east-1
    bucket: orchestra-backups
`;

let root: string;
beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), "backup-cli-"));
  writeFileSync(join(root, "Pulumi.staging.yaml"), STACK_FILE);
  writeFileSync(join(root, "Pulumi.bare.yaml"), "config:\n  orchestra:layer: local\n");
  // Whole stack files, as restore and drill plan them: staging (pg_dump) and production (pgBackRest).
  for (const stack of ["staging", "production"])
    writeFileSync(
      join(root, `Pulumi.${stack}-copy.yaml`),
      readFileSync(join(__dirname, "..", `Pulumi.${stack}.yaml`)),
    );
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

function complete(backupId: string, store: Store, finishedAt: string, bytes: number): StoredBackup {
  const manifest = {
    finishedAt,
    objects: [{ key: "a", size: bytes, sha256: "0".repeat(64) }],
  } as unknown as Manifest;
  return {
    backupId,
    startedAt: new Date(0),
    lastWrittenAt: new Date(0),
    objects: 1,
    bytes,
    judgement: { state: "complete", manifest },
  };
}

function incomplete(backupId: string, objects: number, bytes: number): StoredBackup {
  return {
    backupId,
    startedAt: new Date(0),
    lastWrittenAt: new Date(0),
    objects,
    bytes,
    judgement: {
      state: "incomplete",
      reason: "no manifest.json (a backup stopped before its end, or one still running)",
    },
  };
}

/** A store whose listings and verify outcomes are given; records what it was asked. */
function fakeStore(
  backups: Partial<Record<Store, StoredBackup[]>>,
  outcomes: Record<string, VerifyOutcome> = {},
  retention: Partial<Record<Store, RetentionResult>> = {},
) {
  const calls: string[] = [];
  const opened: BackupSettings[] = [];
  const reader: BackupReader = {
    list: async (stack, store): Promise<BackupListing> => {
      calls.push(`list ${stack} ${store}`);
      return {
        store,
        location: `s3://orchestra-backups/orchestra/${stack}/${store}/`,
        backups: backups[store] ?? [],
        ignored: store === "redis" ? ["orchestra/staging/redis/stray.txt"] : [],
      };
    },
    verify: async (stack, store, backupId) => {
      calls.push(`verify ${stack} ${store} ${backupId}`);
      return (
        outcomes[backupId] ?? {
          ok: true,
          objects: 1,
          bytes: 10,
          line: `verified ${store} ${backupId}: 1 objects, 10 bytes`,
        }
      );
    },
    applyRetention: async (stack, store, days, now) => {
      calls.push(`applyRetention ${stack} ${store} ${days} ${now.toISOString()}`);
      return retention[store] ?? { newestVerified: undefined, failedVerify: [], deleted: [] };
    },
    destroy: () => calls.push("destroy"),
  };
  return { calls, opened, open: (settings: BackupSettings) => (opened.push(settings), reader) };
}

async function run(argv: string[], store = fakeStore({}), docker = fakeDocker()) {
  const out: string[] = [];
  const err: string[] = [];
  const hosts: (string | undefined)[] = [];
  const clock = fakeClock("2026-11-30T12:00:00.000Z");
  const code = await runBackup(argv, {
    out: (text) => out.push(text),
    err: (text) => err.push(text),
    root,
    openStore: store.open,
    ...clock,
    openDocker: (host) => (hosts.push(host), docker.docker),
  });
  return { code, out: out.join(""), err: err.join(""), hosts };
}

test("list: a table per store, oldest first, with the state and why a backup is incomplete", async () => {
  const store = fakeStore({
    postgres: [complete("20261129T020000Z-full", "postgres", "2026-11-29T02:10:00.000Z", 123456789)],
    redis: [
      complete("20261130T020000Z-rdb", "redis", "2026-11-30T02:00:05.000Z", 42),
      incomplete("20261130T030000Z-rdb", 1, 7),
    ],
  });
  expect(await run(["list", "--stack", "staging"], store)).toMatchObject({
    code: 0,
    err: "",
    out: `postgres  s3://orchestra-backups/orchestra/staging/postgres/
backupId               finishedAt                objects      bytes  state
---------------------  ------------------------  -------  ---------  --------
20261129T020000Z-full  2026-11-29T02:10:00.000Z        1  123456789  complete

redis  s3://orchestra-backups/orchestra/staging/redis/
backupId              finishedAt                objects  bytes  state
--------------------  ------------------------  -------  -----  ------------------------------------------------------------------------------------
20261130T020000Z-rdb  2026-11-30T02:00:05.000Z        1     42  complete
20261130T030000Z-rdb                                  1      7  incomplete: no manifest.json (a backup stopped before its end, or one still running)
ignored (not a backup): orchestra/staging/redis/stray.txt

weaviate  s3://orchestra-backups/orchestra/staging/weaviate/
backupId  finishedAt  objects  bytes  state
--------  ----------  -------  -----  -----
`,
  });
  expect(store.opened).toEqual([{ region: "us-east-1", bucket: "orchestra-backups", prefix: "orchestra" }]);
  expect(store.calls).toEqual([
    "list staging postgres",
    "list staging redis",
    "list staging weaviate",
    "destroy",
  ]);
});

test("verify: the newest complete backup of each store; an empty store is reported, not failed", async () => {
  const store = fakeStore({
    postgres: [
      complete("20261128T020000Z-full", "postgres", "x", 1),
      complete("20261129T020000Z-diff", "postgres", "x", 1),
    ],
    redis: [complete("20261130T020000Z-rdb", "redis", "x", 1), incomplete("20261130T030000Z-rdb", 1, 7)],
  });
  expect(await run(["verify", "--stack", "staging"], store)).toMatchObject({
    code: 0,
    err: "",
    out:
      "verified postgres 20261129T020000Z-diff: 1 objects, 10 bytes\n" +
      "verified redis 20261130T020000Z-rdb: 1 objects, 10 bytes\n" +
      "weaviate: no backups in s3://orchestra-backups/orchestra/staging/weaviate/\n",
  });
  expect(store.calls).toEqual([
    "list staging postgres",
    "verify staging postgres 20261129T020000Z-diff",
    "list staging redis",
    "verify staging redis 20261130T020000Z-rdb",
    "list staging weaviate",
    "destroy",
  ]);
});

test("verify fails (exit 1) naming the object, when only incomplete backups exist, or when nothing was backed up", async () => {
  const line = "redis 20261130T020000Z-rdb: object dump.rdb.age: sha256 ab does not match the manifest's cd";
  const broken = fakeStore(
    { redis: [complete("20261130T020000Z-rdb", "redis", "x", 1)] },
    { "20261130T020000Z-rdb": { ok: false, line } },
  );
  expect(await run(["verify", "--stack", "staging", "--store", "redis"], broken)).toMatchObject({
    code: 1,
    out: "",
    err: `${line}\n`,
  });

  const killed = fakeStore({ weaviate: [incomplete("20261130T030000Z-snapshot", 2, 9)] });
  expect(await run(["verify", "--stack", "staging", "--store", "weaviate"], killed)).toMatchObject({
    code: 1,
    out: "",
    err: "weaviate: no complete backup to verify in s3://orchestra-backups/orchestra/staging/weaviate/ (1 incomplete)\n",
  });
  expect(await run(["verify", "--stack", "staging", "--store", "redis"])).toMatchObject({
    code: 1,
    out: "",
    err: "redis: no complete backup to verify in s3://orchestra-backups/orchestra/staging/redis/ (0 incomplete)\n",
  });
  expect(await run(["verify", "--stack", "staging"])).toMatchObject({
    code: 1,
    out:
      "postgres: no backups in s3://orchestra-backups/orchestra/staging/postgres/\n" +
      "redis: no backups in s3://orchestra-backups/orchestra/staging/redis/\n" +
      "weaviate: no backups in s3://orchestra-backups/orchestra/staging/weaviate/\n",
    err: "no backups of stack staging to verify\n",
  });
});

test("exit 2 for bad arguments and a stack with no stack file; 1 for missing settings or an S3 failure", async () => {
  expect(await run(["restore", "--stack", "staging", "--store", "postgres", "--at", "noon"])).toMatchObject({
    code: 2,
    out: "",
    err: `--at "noon": allowed is an ISO 8601 time with seconds and a zone, YYYY-MM-DDTHH:MM:SS[.fraction of up to 6 digits] then Z or +HH:MM or -HH:MM, e.g. 2026-11-30T10:15:00Z\n${BACKUP_USAGE}\n`,
    hosts: [],
  });
  expect(await run(["list", "--stack", "nope"])).toMatchObject({
    code: 2,
    out: "",
    err: `no Pulumi.nope.yaml in ${root}: --stack names a stack of this project\n`,
    hosts: [],
  });
  const bare = await run(["list", "--stack", "bare"]);
  expect(bare.code).toBe(1);
  expect(bare.err).toMatch(
    /^Pulumi\.bare\.yaml sets no orchestra:backup, so there is no bucket to read: add it, e\.g\.\n/,
  );

  const failing = fakeStore({});
  failing.open({ region: "r", bucket: "b", prefix: "p" }).list = async () => {
    throw new Error(
      "listing s3://orchestra-backups/orchestra/staging/postgres/ failed: AccessDenied: Access Denied",
    );
  };
  expect(await run(["list", "--stack", "staging"], failing)).toMatchObject({
    code: 1,
    out: "",
    err: "backup list failed: listing s3://orchestra-backups/orchestra/staging/postgres/ failed: AccessDenied: Access Denied\n",
    hosts: [],
  });
  expect(failing.calls).toEqual(["destroy"]);
});

test("prune: the layer's retention per store, each deletion and what is kept; a newer backup that fails verify is exit 1", async () => {
  const store = fakeStore(
    {},
    {},
    {
      redis: {
        newestVerified: "20261130T101500Z-rdb",
        failedVerify: [],
        deleted: [
          {
            backupId: "20261101T101500Z-rdb",
            reason: "older than 7 days (started 2026-11-01T10:15:00.000Z)",
          },
          {
            backupId: "20261128T101500Z-rdb",
            reason: "incomplete, last written 2026-11-28T10:16:00.000Z (over 24 h ago)",
          },
        ],
      },
      postgres: {
        newestVerified: "20261129T030000Z-dump",
        failedVerify: [
          "postgres 20261130T030000Z-dump: object orchestra.dump.age: sha256 00 does not match the manifest's 11",
        ],
        deleted: [],
      },
    },
  );
  expect(await run(["prune", "--stack", "staging"], store)).toMatchObject({
    code: 1,
    out: [
      "postgres: kept 20261129T030000Z-dump (newest verified), 7 days retention",
      "redis: deleted 20261101T101500Z-rdb: older than 7 days (started 2026-11-01T10:15:00.000Z)",
      "redis: deleted 20261128T101500Z-rdb: incomplete, last written 2026-11-28T10:16:00.000Z (over 24 h ago)",
      "redis: kept 20261130T101500Z-rdb (newest verified), 7 days retention",
      "weaviate: no verified backup to keep; nothing complete deleted",
      "",
    ].join("\n"),
    err: "postgres: newer than the kept backup, but it fails verify: postgres 20261130T030000Z-dump: object orchestra.dump.age: sha256 00 does not match the manifest's 11\n",
  });
  // Staging keeps 7 days (stacks/policy.ts), judged at the given time.
  expect(store.calls).toEqual([
    "applyRetention staging postgres 7 2026-11-30T12:00:00.000Z",
    "applyRetention staging redis 7 2026-11-30T12:00:00.000Z",
    "applyRetention staging weaviate 7 2026-11-30T12:00:00.000Z",
    "destroy",
  ]);
});

test("prune refuses a stack whose layer keeps no backups or is not a layer, before touching the bucket", async () => {
  writeFileSync(
    join(root, "Pulumi.laptop.yaml"),
    "config:\n  orchestra:layer: local\n  orchestra:backup:\n    region: us-east-1\n    bucket: b-local\n",
  );
  writeFileSync(
    join(root, "Pulumi.odd.yaml"),
    "config:\n  orchestra:layer: qa\n  orchestra:backup:\n    region: us-east-1\n    bucket: b-odd\n",
  );
  const store = fakeStore({});
  expect(await run(["prune", "--stack", "laptop"], store)).toMatchObject({
    code: 1,
    out: "",
    err: "Pulumi.laptop.yaml: the local layer keeps no backups, so there is nothing to prune\n",
  });
  expect(await run(["prune", "--stack", "odd"], store)).toMatchObject({
    code: 1,
    out: "",
    err: 'Pulumi.odd.yaml: orchestra:layer is "qa"; it must be one of local, integration, staging, production (the layer\'s policy says how long backups are kept)\n',
  });
  expect(store.calls).toEqual([]);
});

describe("restore and drill", () => {
  const REDIS_ID = "20261130T031500Z-rdb";
  const redisBackups = { redis: [complete(REDIS_ID, "redis", "2026-11-30T03:15:04.000Z", 42)] };

  test("restore without --yes: the backup verified through S3, the plan, exit 2; no docker command", async () => {
    const store = fakeStore(redisBackups);
    const docker = fakeDocker();
    const result = await run(["restore", "--stack", "staging-copy", "--store", "redis"], store, docker);
    expect(result).toEqual({
      code: 2,
      err: "",
      hosts: [],
      out: `[restore] redis: verified redis ${REDIS_ID}: 1 objects, 10 bytes
restore redis ${REDIS_ID} on stack staging-copy would run, on the node's Docker engine:
  docker stop orchestra-staging-copy-stores-redis
  docker exec orchestra-staging-copy-backups-data orchestra-backup restore redis ${REDIS_ID}
  docker start orchestra-staging-copy-stores-redis, then wait until it is healthy
Redis is down meanwhile; the files it replaces are kept in before-restore-<UTC time>/ in its volume.
Nothing was changed. Run it again with --yes to restore.
`,
    });
    expect(store.calls).toEqual([
      "list staging-copy redis",
      `verify staging-copy redis ${REDIS_ID}`,
      "destroy",
    ]);
    expect(docker.calls).toEqual([]);
  });

  test("restore --yes on the engine named by --docker-host: the planner's containers", async () => {
    const docker = fakeDocker(((args) =>
      args[0] === "inspect"
        ? { stdout: args[2] === "{{.State.Running}}" ? "true\n" : "healthy\n" }
        : undefined) as Answer);
    const result = await run(
      [
        "restore",
        "--stack",
        "staging-copy",
        "--store",
        "redis",
        "--yes",
        "--docker-host",
        "ssh://ubuntu@10.0.0.5",
      ],
      fakeStore(redisBackups),
      docker,
    );
    expect(result).toMatchObject({ code: 0, err: "", hosts: ["ssh://ubuntu@10.0.0.5"] });
    expect(docker.calls.slice(0, 6)).toEqual([
      "docker inspect -f {{.State.Running}} orchestra-staging-copy-stores-redis",
      "docker inspect -f {{.State.Running}} orchestra-staging-copy-backups-data",
      "docker exec orchestra-staging-copy-backups-data sh -c mkdir -p /var/lib/orchestra-backup/locks && exec flock -n -E 75 /var/lib/orchestra-backup/locks/redis true",
      "docker stop orchestra-staging-copy-stores-redis",
      `docker exec orchestra-staging-copy-backups-data orchestra-backup restore redis ${REDIS_ID}`,
      "docker start orchestra-staging-copy-stores-redis",
    ]);
  });

  test("a backup that fails verify is refused with verify's line (exit 1), nothing on the node touched", async () => {
    const line = `redis ${REDIS_ID}: object dump.rdb.age: sha256 ab does not match the manifest's cd`;
    const docker = fakeDocker();
    const store = fakeStore(redisBackups, { [REDIS_ID]: { ok: false, line } });
    for (const argv of [
      ["restore", "--stack", "staging-copy", "--store", "redis", "--yes"],
      ["restore", "--stack", "staging-copy", "--store", "redis", "--backup", REDIS_ID, "--yes"],
    ])
      expect(await run(argv, store, docker)).toEqual({ code: 1, out: "", err: `${line}\n`, hosts: [] });
    expect(docker.calls).toEqual([]);
  });

  test("postgres: pgBackRest needs --at or --latest, pg_dump refuses them (exit 2); weaviate with no complete backup (exit 1)", async () => {
    expect(await run(["restore", "--stack", "production-copy", "--store", "postgres", "--yes"])).toEqual({
      code: 2,
      out: "",
      err: `postgres on stack production-copy is backed up by pgBackRest with WAL archiving: it is restored to a time, --at <ISO time> or --latest\n${BACKUP_USAGE}\n`,
      hosts: [],
    });
    expect(await run(["restore", "--stack", "staging-copy", "--store", "postgres", "--latest"])).toEqual({
      code: 2,
      out: "",
      err: `--latest: postgres on stack staging-copy is backed up with pg_dump, so it is restored from a backup (--backup <backupId>, default the newest complete), not to a time\n${BACKUP_USAGE}\n`,
      hosts: [],
    });
    expect(await run(["restore", "--stack", "staging-copy", "--store", "weaviate", "--yes"])).toEqual({
      code: 1,
      out: "",
      err: "weaviate: no complete backup to restore in s3://orchestra-backups/orchestra/staging-copy/weaviate/ (0 incomplete)\n",
      hosts: [],
    });
  });

  test("restore and drill refuse a stack file that does not validate as preview would, naming the file", async () => {
    expect(await run(["drill", "--stack", "staging"])).toEqual({
      code: 1,
      out: "",
      err: expect.stringMatching(/^Pulumi\.staging\.yaml: Stack config has \d+ problems?:\n/),
      hosts: [],
    });
  });

  test("drill: stores without a complete backup fail, each named, the total is printed", async () => {
    const result = await run(
      ["drill", "--stack", "staging-copy"],
      fakeStore({ redis: [incomplete("20261130T030000Z-rdb", 1, 7)] }),
    );
    expect(result).toEqual({
      code: 1,
      hosts: [undefined],
      err:
        "postgres: no complete backup to drill in s3://orchestra-backups/orchestra/staging-copy/postgres/ (0 incomplete)\n" +
        "redis: no complete backup to drill in s3://orchestra-backups/orchestra/staging-copy/redis/ (1 incomplete)\n" +
        "weaviate: no complete backup to drill in s3://orchestra-backups/orchestra/staging-copy/weaviate/ (0 incomplete)\n",
      out: "[drill] 0 stores drilled in 0.0 s\n",
    });
  });
});
