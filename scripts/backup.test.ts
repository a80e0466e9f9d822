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
import { runBackup, type BackupReader } from "./backup";
import { BACKUP_USAGE } from "./backupArgs";

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

async function run(argv: string[], store = fakeStore({})) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runBackup(argv, {
    out: (text) => out.push(text),
    err: (text) => err.push(text),
    root,
    openStore: store.open,
    now: () => new Date("2026-11-30T12:00:00.000Z"),
  });
  return { code, out: out.join(""), err: err.join("") };
}

test("list: a table per store, oldest first, with the state and why a backup is incomplete", async () => {
  const store = fakeStore({
    postgres: [complete("20261129T020000Z-full", "postgres", "2026-11-29T02:10:00.000Z", 123456789)],
    redis: [
      complete("20261130T020000Z-rdb", "redis", "2026-11-30T02:00:05.000Z", 42),
      incomplete("20261130T030000Z-rdb", 1, 7),
    ],
  });
  expect(await run(["list", "--stack", "staging"], store)).toEqual({
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
  expect(await run(["verify", "--stack", "staging"], store)).toEqual({
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
  expect(await run(["verify", "--stack", "staging", "--store", "redis"], broken)).toEqual({
    code: 1,
    out: "",
    err: `${line}\n`,
  });

  const killed = fakeStore({ weaviate: [incomplete("20261130T030000Z-snapshot", 2, 9)] });
  expect(await run(["verify", "--stack", "staging", "--store", "weaviate"], killed)).toEqual({
    code: 1,
    out: "",
    err: "weaviate: no complete backup to verify in s3://orchestra-backups/orchestra/staging/weaviate/ (1 incomplete)\n",
  });
  expect(await run(["verify", "--stack", "staging", "--store", "redis"])).toEqual({
    code: 1,
    out: "",
    err: "redis: no complete backup to verify in s3://orchestra-backups/orchestra/staging/redis/ (0 incomplete)\n",
  });
  expect(await run(["verify", "--stack", "staging"])).toEqual({
    code: 1,
    out:
      "postgres: no backups in s3://orchestra-backups/orchestra/staging/postgres/\n" +
      "redis: no backups in s3://orchestra-backups/orchestra/staging/redis/\n" +
      "weaviate: no backups in s3://orchestra-backups/orchestra/staging/weaviate/\n",
    err: "no backups of stack staging to verify\n",
  });
});

test("exit 2 for bad arguments, restore or drill, and a stack with no stack file; 1 for missing settings or an S3 failure", async () => {
  expect(await run(["drill", "--stack", "staging"])).toEqual({
    code: 2,
    out: "",
    err: `not built yet: restore and drill come with the restore drills (issue 11)\n${BACKUP_USAGE}\n`,
  });
  expect(await run(["list", "--stack", "nope"])).toEqual({
    code: 2,
    out: "",
    err: `no Pulumi.nope.yaml in ${root}: --stack names a stack of this project\n`,
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
  expect(await run(["list", "--stack", "staging"], failing)).toEqual({
    code: 1,
    out: "",
    err: "backup list failed: listing s3://orchestra-backups/orchestra/staging/postgres/ failed: AccessDenied: Access Denied\n",
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
  expect(await run(["prune", "--stack", "staging"], store)).toEqual({
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
  expect(await run(["prune", "--stack", "laptop"], store)).toEqual({
    code: 1,
    out: "",
    err: "Pulumi.laptop.yaml: the local layer keeps no backups, so there is nothing to prune\n",
  });
  expect(await run(["prune", "--stack", "odd"], store)).toEqual({
    code: 1,
    out: "",
    err: 'Pulumi.odd.yaml: orchestra:layer is "qa"; it must be one of local, integration, staging, production (the layer\'s policy says how long backups are kept)\n',
  });
  expect(store.calls).toEqual([]);
});
