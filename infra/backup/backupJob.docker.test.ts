/**
 * Services tier: the backup job (images/backup, `orchestra-backup`) on a real Docker engine against
 * a real S3-compatible server (versitygw, infra/testing/s3Server.ts). Redis and Postgres run from
 * the stand-in images exactly as components/dataServicesPlan.ts plans them (Redis's password in its
 * stdin config, `appendonly yes`); each job is a one-off container of orchestra-backup:test with
 * the planner's environment names and the secrets as 0600 files mounted read-only at /run/secrets.
 * Every container is on the host's network (versitygw listens on 127.0.0.1), on free ports.
 *
 * While each job runs, a watcher in its container (python3, polling /proc every millisecond)
 * records every process's command line, so the test can show no secret was ever on one.
 * What the job wrote is read back through the project's S3BackupStore (list, verify). The steps
 * run in order. Timings are printed at the end (measured, not asserted).
 */
import { execFileSync, spawnSync } from "child_process";
import { createHash, randomBytes } from "crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";
import { CreateBucketCommand, ListMultipartUploadsCommand, S3Client } from "@aws-sdk/client-s3";
import { DATABASE_NAME, DATABASE_USER, planDataServices } from "../../components/dataServicesPlan";
import type { ContainerSpec } from "../../components/containerSpec";
import { newestComplete, S3BackupStore, type BackupListing } from "./backupStore";
import type { BackupSettings } from "./layout";
import type { Manifest } from "./manifest";
import { freePorts, removeRunObjects, runObjects, uniqueRunId } from "../testing/dockerCli";
import { STANDIN_IMAGES } from "../testing/standinImages";
import { installS3Server, startS3Server, stopS3Server } from "../testing/s3Server";
import {
  argvWatcher,
  BACKUP_SECRETS_MOUNT,
  BACKUP_TEST_IMAGE,
  ageIdentity,
  buildBackupImage,
  writeSecretsDir,
} from "../testing/backupImage";

jest.setTimeout(15 * 60 * 1000);

const RUN = uniqueRunId("bkjob");
const BUCKET = `orchestra-backups-${process.pid}`;
const STACK = "svc";
const PREFIX = "orchestra";
const REDIS_KEYS = 50_000;
const REDIS_TTL_KEYS = 5_000;
const PG_ROWS = 300_000;

let serverDir: string;
let secretsDir: string;
let watchDir: string;
let server: Record<string, string>;
let admin: S3Client;
let store: S3BackupStore;
let secrets: Record<string, string>;
let redisSpec: ContainerSpec;
let pgSpec: ContainerSpec;
let redisPort: number;
let pgPort: number;
const savedEnv: Record<string, string | undefined> = {};
/** Every command line seen in any job container, and what was measured. */
const cmdlines = new Set<string>();
const measured: Record<string, number | string> = {};

// --- docker ---------------------------------------------------------------------------------------

/** `docker <args>`; `env` adds variables for `-e NAME` (value from the CLI's environment, not argv). */
function docker(args: string[], options: { env?: Record<string, string>; input?: string } = {}): string {
  return execFileSync("docker", args, {
    encoding: "utf8",
    env: { ...process.env, ...options.env },
    input: options.input,
    stdio: [options.input === undefined ? "ignore" : "pipe", "pipe", "pipe"],
    maxBuffer: 64 * 1024 * 1024,
  });
}

/** `docker run -d` of a planned store on the host network, its secrets passed by name only. */
function startStore(spec: ContainerSpec, command?: readonly string[]): void {
  const env = Object.entries(spec.env).flatMap(([name, value]) => ["-e", `${name}=${value}`]);
  const secretEnv = Object.fromEntries(
    Object.entries(spec.secretEnv).map(([name, secret]) => [name, secrets[secret]]),
  );
  const volumes = spec.volumes.flatMap((volume) => ["-v", `${volume.volumeName}:${volume.containerPath}`]);
  docker(
    [
      "run",
      "-d",
      "--name",
      spec.containerName,
      "--network",
      "host",
      ...env,
      ...Object.keys(secretEnv).flatMap((name) => ["-e", name]),
      ...volumes,
      spec.image,
      ...(command ?? spec.command ?? []),
    ],
    { env: secretEnv },
  );
}

/** Polls `check` every 250 ms until it returns true; throws after `seconds`. */
async function until(what: string, seconds: number, check: () => boolean | Promise<boolean>): Promise<void> {
  const deadline = Date.now() + seconds * 1000;
  for (;;) {
    try {
      if (await check()) return;
    } catch {
      // not yet
    }
    if (Date.now() > deadline) throw new Error(`${what}: not within ${seconds} s`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

const redisData = () => redisSpec.volumes[0].volumeName;

/** The stand-in Redis with the planner's command plus `enable-debug-command yes` (DEBUG DIGEST; test only). */
function startRedis(): void {
  const [shell, flag, script] = redisSpec.command as string[];
  const piped = " | redis-server -";
  if (!script.endsWith(piped)) throw new Error(`the planner's Redis command changed: ${script}`);
  const withDebug = `{ ${script.slice(0, -piped.length)}; printf 'enable-debug-command yes\\n'; }${piped}`;
  startStore(redisSpec, [shell, flag, withDebug]);
}

/** redis-cli in the Redis container, authenticated through REDISCLI_AUTH. */
function redis(...args: string[]): string {
  return docker(
    ["exec", "-e", "REDISCLI_AUTH", redisSpec.containerName, "redis-cli", "-p", String(redisPort), ...args],
    { env: { REDISCLI_AUTH: secrets.redisPassword } },
  ).trim();
}

async function waitRedis(): Promise<void> {
  await until("Redis answers PING", 60, () => redis("PING") === "PONG");
}

/** psql over the container's socket (trusted locally), unaligned, tuples only. */
function psql(sql: string): string {
  return docker(
    [
      "exec",
      "-i",
      pgSpec.containerName,
      "psql",
      "-X",
      "-v",
      "ON_ERROR_STOP=1",
      "-q",
      "-A",
      "-t",
      "-h",
      "/var/run/postgresql",
      "-p",
      String(pgPort),
      "-U",
      DATABASE_USER,
      "-d",
      DATABASE_NAME,
    ],
    { input: sql },
  ).trim();
}

async function waitPostgres(): Promise<void> {
  await until("Postgres accepts TCP connections", 120, () => {
    docker(["exec", pgSpec.containerName, "pg_isready", "-q", "-h", "127.0.0.1", "-p", String(pgPort)]);
    return true;
  });
}

/** A container's output, stdout and stderr. */
function logsOf(name: string): string {
  const result = spawnSync("docker", ["logs", name], { encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
  return `${result.stdout}${result.stderr}`;
}

/** Removes a container and its data volume. */
function destroy(spec: ContainerSpec): void {
  docker(["rm", "-f", "-v", spec.containerName]);
  docker(["volume", "rm", spec.volumes[0].volumeName]);
}

// --- the job --------------------------------------------------------------------------------------

const WATCHER = argvWatcher("/watch/cmdlines");
// The watcher starts first (its file appears once it runs), then the job replaces the shell.
const WATCHED = `python3 /watch/watch.py & until [ -e /watch/cmdlines ]; do sleep 0.01; done; exec orchestra-backup "$@"`;

/** The backup container's environment as components/backupsPlan.ts sets it (pg_dump and redis-rdb). */
function jobEnv(): Record<string, string> {
  return {
    TZ: "UTC",
    BACKUP_STACK: STACK,
    BACKUP_BUCKET: BUCKET,
    BACKUP_REGION: server.AWS_REGION,
    BACKUP_ENDPOINT: server.S3_ENDPOINT,
    BACKUP_PREFIX: PREFIX,
    BACKUP_RETENTION_DAYS: "7",
    BACKUP_STORES: "postgres:pg_dump redis:redis-rdb",
    BACKUP_SECRETS_DIR: BACKUP_SECRETS_MOUNT,
    PGHOST: "127.0.0.1",
    PGPORT: String(pgPort),
    PGUSER: DATABASE_USER,
    PGDATABASE: DATABASE_NAME,
    REDIS_HOST: "127.0.0.1",
    REDIS_PORT: String(redisPort),
  };
}

/** `docker run` arguments of a job container (before the image), watched, named `name`. */
function jobArgs(name: string, extra: readonly string[]): string[] {
  rmSync(join(watchDir, "cmdlines"), { force: true });
  return [
    "--name",
    name,
    "--network",
    "host",
    ...Object.entries(jobEnv()).flatMap(([key, value]) => ["-e", `${key}=${value}`]),
    "-v",
    `${secretsDir}:${BACKUP_SECRETS_MOUNT}:ro`,
    "-v",
    `${watchDir}:/watch`,
    ...extra,
    "--entrypoint",
    "bash",
  ];
}

/** The command lines the watcher saw in the last job, added to the run's set. */
function collectCmdlines(): string[] {
  const seen = readFileSync(join(watchDir, "cmdlines"), "utf8").split("\n").filter(Boolean);
  for (const line of seen) cmdlines.add(line);
  return seen;
}

interface JobRun {
  readonly status: number | null;
  readonly stderr: string;
  /** Wall time of the one-off container, start to exit, in seconds. */
  readonly seconds: number;
  readonly cmdlines: readonly string[];
}

let jobCount = 0;
/** `orchestra-backup <args>` in a one-off container; `extra` adds `docker run` options (volumes). */
function job(args: readonly string[], extra: readonly string[] = []): JobRun {
  const name = `${RUN}-job-${++jobCount}`;
  const started = Date.now();
  const result = spawnSync(
    "docker",
    ["run", "--rm", ...jobArgs(name, extra), BACKUP_TEST_IMAGE, "-c", WATCHED, "orchestra-backup", ...args],
    { encoding: "utf8", maxBuffer: 64 * 1024 * 1024 },
  );
  const seconds = (Date.now() - started) / 1000;
  return { status: result.status, stderr: result.stderr, seconds, cmdlines: collectCmdlines() };
}

/** The job's own lines (`[orchestra-backup] ...`), in order. */
const ownLines = (stderr: string) =>
  stderr.split("\n").filter((line) => line.startsWith("[orchestra-backup] "));

/** Asserts no secret's value is in `text` (none is shorter than 20 characters, so no chance match). */
function expectNoSecret(text: string): void {
  for (const [name, value] of Object.entries(secrets))
    expect({ name, found: text.includes(value) }).toEqual({ name, found: false });
}

// --- the bucket -----------------------------------------------------------------------------------

const sha256 = (bytes: Buffer) => createHash("sha256").update(bytes).digest("hex");
const storedPath = (key: string) => join(serverDir, "data", BUCKET, key);
const objectKey = (storeName: string, backupId: string, key: string) =>
  `${PREFIX}/${STACK}/${storeName}/${backupId}/${key}`;

/** Ids and states of a listing. */
const states = (listing: BackupListing) =>
  listing.backups.map((entry) => [
    entry.backupId,
    entry.judgement.state === "complete" ? "complete" : `incomplete: ${entry.judgement.reason}`,
  ]);

/** The one complete backup of a store's listing and its manifest. */
async function onlyBackup(
  storeName: "redis" | "postgres",
): Promise<{ backupId: string; manifest: Manifest }> {
  const listing = await store.list(STACK, storeName);
  expect(states(listing)).toEqual([[expect.any(String), "complete"]]);
  const [backup] = listing.backups;
  if (backup.judgement.state !== "complete") throw new Error("unreachable");
  return { backupId: backup.backupId, manifest: backup.judgement.manifest };
}

/** Flips one bit of the byte at `offset` of a stored object on versitygw's disk (same size). */
function flipByte(key: string, offset: number): Buffer {
  const bytes = readFileSync(storedPath(key));
  bytes[offset] ^= 0x01;
  writeFileSync(storedPath(key), bytes);
  return bytes;
}

// --- the data -------------------------------------------------------------------------------------

/** RESP for the Redis data set: strings (the first REDIS_TTL_KEYS with a day's TTL), hashes, lists, sets, zsets. */
function redisCommands(): string {
  const resp = (...words: string[]) =>
    `*${words.length}\r\n${words.map((word) => `$${Buffer.byteLength(word)}\r\n${word}\r\n`).join("")}`;
  const parts: string[] = [];
  const counts = { string: 40_000, hash: 4_000, list: 3_000, set: 2_000, zset: 1_000 };
  for (let i = 0; i < counts.string; i++) {
    const value = `value-${i}-${randomBytes(8).toString("hex")}`;
    parts.push(
      i < REDIS_TTL_KEYS ? resp("SET", `str:${i}`, value, "EX", "86400") : resp("SET", `str:${i}`, value),
    );
  }
  for (let i = 0; i < counts.hash; i++)
    parts.push(resp("HSET", `hash:${i}`, "a", String(i), "b", `b${i}`, "c", randomBytes(4).toString("hex")));
  for (let i = 0; i < counts.list; i++) parts.push(resp("RPUSH", `list:${i}`, "x", String(i), "y", "z"));
  for (let i = 0; i < counts.set; i++) parts.push(resp("SADD", `set:${i}`, "m1", `m${i}`, "m3"));
  for (let i = 0; i < counts.zset; i++) parts.push(resp("ZADD", `zset:${i}`, "1", "one", String(i), `v${i}`));
  return parts.join("");
}

/** What the exact comparison of Redis covers: DEBUG DIGEST, the keyspace line, one TTL'd key's TTL > 0. */
function redisState(): { digest: string; keyspace: string; ttlKept: boolean } {
  const keyspace = redis("INFO", "keyspace")
    .split("\n")
    .map((line) => line.trim())
    .find((line) => line.startsWith("db0:"));
  const ttl = Number(redis("TTL", `str:${REDIS_TTL_KEYS - 1}`));
  // avg_ttl moves with the clock; keys and expires are the counts.
  return {
    digest: redis("DEBUG", "DIGEST"),
    keyspace: (keyspace ?? "").replace(/,avg_ttl=\d+.*$/, ""),
    ttlKept: ttl > 0 && ttl <= 86400,
  };
}

const PG_CHECKSUM = `SELECT count(*) || ' ' || md5(string_agg(i::text, E'\\n' ORDER BY id)) FROM items i`;

// --- setup ----------------------------------------------------------------------------------------

beforeAll(
  async () => {
    buildBackupImage();
    installS3Server();
    serverDir = mkdtempSync(join(tmpdir(), "orchestra-backup-job-s3-"));
    watchDir = mkdtempSync(join(tmpdir(), "orchestra-backup-job-watch-"));
    writeFileSync(join(watchDir, "watch.py"), WATCHER);
    server = startS3Server(serverDir);
    for (const name of ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_REGION"]) {
      savedEnv[name] = process.env[name];
      process.env[name] = server[name];
    }
    admin = new S3Client({ endpoint: server.S3_ENDPOINT, region: server.AWS_REGION, forcePathStyle: true });
    await admin.send(new CreateBucketCommand({ Bucket: BUCKET }));
    const settings: BackupSettings = {
      endpoint: server.S3_ENDPOINT,
      region: server.AWS_REGION,
      bucket: BUCKET,
      prefix: PREFIX,
    };
    store = new S3BackupStore(settings);

    const hex = () => randomBytes(8).toString("hex");
    secrets = {
      backupAccessKeyId: server.AWS_ACCESS_KEY_ID,
      backupSecretAccessKey: server.AWS_SECRET_ACCESS_KEY,
      backupEncryptionKey: ageIdentity(),
      // Characters a careless quoting would break on: ":" and "\" (pgpass), a space and a quote.
      databasePassword: `pg-${hex()}:pw\\ '${hex()}`,
      redisPassword: `rd-${hex()} "q\\${hex()}`,
    };
    secretsDir = writeSecretsDir(secrets);

    [redisPort, pgPort] = await freePorts(2);
    const plan = planDataServices(RUN, {
      stores: ["postgres", "redis"],
      images: {
        postgres: STANDIN_IMAGES.postgres,
        redis: STANDIN_IMAGES.redis,
        weaviate: STANDIN_IMAGES.weaviate,
      },
      ports: { postgres: pgPort, redis: redisPort },
      bindAddress: "127.0.0.1",
    });
    const specOf = (service: string) =>
      plan.containers.find((spec) => spec.service === service) as ContainerSpec;
    redisSpec = specOf("redis");
    pgSpec = specOf("postgres");
    startRedis();
    startStore(pgSpec);
    await waitRedis();
    await waitPostgres();
  },
  15 * 60 * 1000,
);

afterAll(() => {
  process.stderr.write(`[backup-job measured] ${JSON.stringify(measured)}\n`);
  store?.destroy();
  admin?.destroy();
  for (const [name, value] of Object.entries(savedEnv))
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  removeRunObjects(RUN);
  try {
    if (serverDir !== undefined) stopS3Server(serverDir);
  } finally {
    for (const dir of [serverDir, secretsDir, watchDir])
      if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  }
  expect(runObjects(RUN)).toEqual({ containers: "", volumes: "" });
});

// --- the steps ------------------------------------------------------------------------------------

let redisBefore: ReturnType<typeof redisState>;
let pgBefore: string;
let redisBackup: { backupId: string; manifest: Manifest };
let pgBackup: { backupId: string; manifest: Manifest };

test("1. the stores hold the data set", () => {
  docker(
    [
      "exec",
      "-i",
      "-e",
      "REDISCLI_AUTH",
      redisSpec.containerName,
      "redis-cli",
      "-p",
      String(redisPort),
      "--pipe",
    ],
    { env: { REDISCLI_AUTH: secrets.redisPassword }, input: redisCommands() },
  );
  redisBefore = redisState();
  expect(redisBefore).toEqual({
    digest: expect.stringMatching(/^[0-9a-f]{40}$/),
    keyspace: `db0:keys=${REDIS_KEYS},expires=${REDIS_TTL_KEYS}`,
    ttlKept: true,
  });
  expect(redisBefore.digest).not.toBe("0".repeat(40));
  psql(`CREATE TABLE items (id bigint PRIMARY KEY, name text NOT NULL, payload jsonb, created timestamptz NOT NULL);
    INSERT INTO items SELECT g, 'item-' || g, jsonb_build_object('n', g, 'h', md5(g::text)),
      timestamptz '2026-01-01 00:00:00+00' + g * interval '1 second' FROM generate_series(1, ${PG_ROWS}) g;
    CREATE INDEX items_created ON items (created);`);
  pgBefore = psql(PG_CHECKSUM);
  expect(pgBefore).toMatch(new RegExp(`^${PG_ROWS} [0-9a-f]{32}$`));
});

test("2. the job backs up each store: objects then manifest, listed complete, verified, no secret anywhere", async () => {
  const redisRun = job(["run", "redis", "rdb"]);
  expect({ status: redisRun.status, stderr: redisRun.stderr }).toEqual({
    status: 0,
    stderr: expect.any(String),
  });
  const pgRun = job(["run", "postgres", "dump"]);
  expect({ status: pgRun.status, stderr: pgRun.stderr }).toEqual({ status: 0, stderr: expect.any(String) });

  redisBackup = await onlyBackup("redis");
  pgBackup = await onlyBackup("postgres");
  const redisVersion = redis("INFO", "server")
    .split("\n")
    .find((line) => line.startsWith("redis_version:"))
    ?.slice("redis_version:".length)
    .trim();
  const pgVersion = psql("SHOW server_version").split(" ")[0];
  const redisStored = readFileSync(storedPath(objectKey("redis", redisBackup.backupId, "dump.rdb.age")));
  const pgStored = readFileSync(storedPath(objectKey("postgres", pgBackup.backupId, "orchestra.dump.age")));
  expect(redisBackup.manifest).toEqual({
    version: 1,
    store: "redis",
    stack: STACK,
    backupId: expect.stringMatching(/^\d{8}T\d{6}Z-rdb$/),
    engine: { name: "redis", version: redisVersion },
    startedAt: expect.any(String),
    finishedAt: expect.any(String),
    encryption: "age",
    objects: [{ key: "dump.rdb.age", size: redisStored.length, sha256: sha256(redisStored) }],
  });
  expect(pgBackup.manifest).toEqual({
    version: 1,
    store: "postgres",
    stack: STACK,
    backupId: expect.stringMatching(/^\d{8}T\d{6}Z-dump$/),
    engine: { name: "postgres", version: pgVersion },
    startedAt: expect.any(String),
    finishedAt: expect.any(String),
    encryption: "age",
    objects: [{ key: "orchestra.dump.age", size: pgStored.length, sha256: sha256(pgStored) }],
  });
  // Encrypted before it left: age's header, and no trace of the plaintext formats.
  for (const stored of [redisStored, pgStored]) {
    expect(stored.subarray(0, 22).toString("latin1")).toBe("age-encryption.org/v1\n");
    expect(stored.includes("REDIS")).toBe(false);
    expect(stored.includes("PGDMP")).toBe(false);
  }
  expect(await store.verify(STACK, "redis", redisBackup.backupId)).toEqual({
    ok: true,
    objects: 1,
    bytes: redisStored.length,
    line: `verified redis ${redisBackup.backupId}: 1 objects, ${redisStored.length} bytes`,
  });
  expect(await store.verify(STACK, "postgres", pgBackup.backupId)).toEqual({
    ok: true,
    objects: 1,
    bytes: pgStored.length,
    line: `verified postgres ${pgBackup.backupId}: 1 objects, ${pgStored.length} bytes`,
  });

  const redisId = redisBackup.backupId;
  const snapshot = /^\[orchestra-backup\] redis \S+: snapshot of (\d+) bytes$/m.exec(redisRun.stderr);
  expect(ownLines(redisRun.stderr)).toEqual([
    `[orchestra-backup] redis ${redisId}: started; writing to s3://${BUCKET}/${PREFIX}/${STACK}/redis/${redisId}/`,
    `[orchestra-backup] redis ${redisId}: dumping (Redis ${redisVersion} at 127.0.0.1:${redisPort})`,
    `[orchestra-backup] redis ${redisId}: snapshot of ${snapshot?.[1]} bytes`,
    `[orchestra-backup] redis ${redisId}: uploading dump.rdb.age`,
    `[orchestra-backup] redis ${redisId}: uploaded dump.rdb.age (${redisStored.length} bytes, sha256 ${sha256(redisStored)})`,
    `[orchestra-backup] redis ${redisId}: complete: 1 objects, ${redisStored.length} bytes; manifest.json written`,
  ]);
  const pgId = pgBackup.backupId;
  expect(ownLines(pgRun.stderr)).toEqual([
    `[orchestra-backup] postgres ${pgId}: started; writing to s3://${BUCKET}/${PREFIX}/${STACK}/postgres/${pgId}/`,
    `[orchestra-backup] postgres ${pgId}: dumping orchestra (Postgres ${pgVersion} at 127.0.0.1:${pgPort})`,
    `[orchestra-backup] postgres ${pgId}: uploading orchestra.dump.age`,
    `[orchestra-backup] postgres ${pgId}: uploaded orchestra.dump.age (${pgStored.length} bytes, sha256 ${sha256(pgStored)})`,
    `[orchestra-backup] postgres ${pgId}: complete: 1 objects, ${pgStored.length} bytes; manifest.json written`,
  ]);

  // The watcher saw the tools at work, their secrets nowhere on a command line; nor in stderr.
  expect(redisRun.cmdlines).toContainEqual(
    expect.stringMatching(
      new RegExp(
        `^redis-cli -h 127\\.0\\.0\\.1 -p ${redisPort} --no-auth-warning --rdb /tmp/orchestra-backup\\.\\w+/dump\\.rdb$`,
      ),
    ),
  );
  expect(pgRun.cmdlines).toContainEqual(expect.stringMatching(/^\S*pg_dump -w -Fc$/));
  for (const run of [redisRun, pgRun]) {
    expect(run.cmdlines).toContainEqual(expect.stringMatching(/^age -r age1[0-9a-z]+$/));
    expect(run.cmdlines).toContainEqual(expect.stringMatching(/^rclone rcat backup:/));
    expectNoSecret(run.cmdlines.join("\n"));
    expectNoSecret(run.stderr);
  }

  const seconds = (manifest: Manifest) =>
    (Date.parse(manifest.finishedAt) - Date.parse(manifest.startedAt)) / 1000;
  Object.assign(measured, {
    redisBackupContainerSeconds: redisRun.seconds,
    redisBackupJobSeconds: seconds(redisBackup.manifest),
    redisRdbBytes: Number(snapshot?.[1]),
    redisStoredBytes: redisStored.length,
    pgBackupContainerSeconds: pgRun.seconds,
    pgBackupJobSeconds: seconds(pgBackup.manifest),
    pgStoredBytes: pgStored.length,
  });
});

test("3. stores and volumes destroyed, fresh ones restored by the job: the same data exactly", async () => {
  destroy(redisSpec);
  destroy(pgSpec);
  expect(docker(["volume", "ls", "-q", "--filter", `name=^${RUN}-`])).toBe("");

  // Postgres: a fresh, empty cluster, then the dump restored into its database.
  startStore(pgSpec);
  await waitPostgres();
  expect(psql("SELECT count(*) FROM pg_tables WHERE tablename = 'items'")).toBe("0");
  const pgRun = job(["restore", "postgres", pgBackup.backupId]);
  expect(ownLines(pgRun.stderr)).toEqual([
    `[orchestra-backup] postgres ${pgBackup.backupId}: downloading from s3://${BUCKET}/${PREFIX}/${STACK}/postgres/${pgBackup.backupId}/`,
    `[orchestra-backup] postgres ${pgBackup.backupId}: downloaded and checked 1 objects, ${pgBackup.manifest.objects[0].size} bytes`,
    `[orchestra-backup] postgres ${pgBackup.backupId}: restoring orchestra.dump.age into orchestra at 127.0.0.1:${pgPort}`,
    `[orchestra-backup] postgres ${pgBackup.backupId}: restored into orchestra`,
  ]);
  expect(pgRun.status).toBe(0);
  expect(psql(PG_CHECKSUM)).toBe(pgBefore);
  expect(psql("SELECT indexname FROM pg_indexes WHERE tablename = 'items' ORDER BY 1")).toBe(
    "items_created\nitems_pkey",
  );

  // Redis: restored into a new volume while no Redis runs, then Redis started on it.
  docker(["volume", "create", redisData()]);
  const redisRun = job(["restore", "redis", redisBackup.backupId], ["-v", `${redisData()}:/data`]);
  const rdbBytes = measured.redisRdbBytes;
  expect(ownLines(redisRun.stderr)).toEqual([
    `[orchestra-backup] redis ${redisBackup.backupId}: downloading from s3://${BUCKET}/${PREFIX}/${STACK}/redis/${redisBackup.backupId}/`,
    `[orchestra-backup] redis ${redisBackup.backupId}: downloaded and checked 1 objects, ${redisBackup.manifest.objects[0].size} bytes`,
    `[orchestra-backup] redis ${redisBackup.backupId}: restored into /data (${rdbBytes} bytes as dump.rdb and the AOF base); start Redis`,
  ]);
  expect(redisRun.status).toBe(0);
  startRedis();
  await waitRedis();
  expect(redisState()).toEqual(redisBefore);
  // Redis 7.0 with appendonly yes loaded the AOF base the restore wrote (a lone dump.rdb it ignores).
  expect(logsOf(redisSpec.containerName)).toContain(`DB loaded from base file appendonly.aof.1.base.rdb`);

  // A restore under a running Redis is refused before anything is read.
  const refused = job(["restore", "redis", redisBackup.backupId], ["-v", `${redisData()}:/data`]);
  expect({ status: refused.status, lines: ownLines(refused.stderr) }).toEqual({
    status: 1,
    lines: [
      `[orchestra-backup] ERROR: redis ${redisBackup.backupId}: Redis answers at 127.0.0.1:${redisPort}; stop it before a restore (it would overwrite the restored files)`,
    ],
  });
  for (const run of [pgRun, redisRun, refused]) {
    expectNoSecret(run.cmdlines.join("\n"));
    expectNoSecret(run.stderr);
  }
  Object.assign(measured, {
    pgRestoreContainerSeconds: pgRun.seconds,
    redisRestoreContainerSeconds: redisRun.seconds,
  });
});

/** sha256sum of every file in the Redis data volume, from a one-off container. */
function redisVolumeFiles(): string {
  return docker([
    "run",
    "--rm",
    "-v",
    `${redisData()}:/data`,
    "--entrypoint",
    "sh",
    BACKUP_TEST_IMAGE,
    "-c",
    "cd /data && find . -type f | sort | xargs sha256sum",
  ]);
}

test("4. one flipped byte: verify names the object, restore refuses with the same words and applies nothing", async () => {
  // Postgres: a row added after the backup; a restore that went ahead would remove it.
  psql(`INSERT INTO items VALUES (${PG_ROWS + 1}, 'after the backup', NULL, now())`);
  const changed = psql(PG_CHECKSUM);
  const pgKey = objectKey("postgres", pgBackup.backupId, "orchestra.dump.age");
  const pgDamaged = flipByte(pgKey, 100_000);
  const pgLine = `postgres ${pgBackup.backupId}: object orchestra.dump.age: sha256 ${sha256(pgDamaged)} does not match the manifest's ${pgBackup.manifest.objects[0].sha256}`;
  expect(await store.verify(STACK, "postgres", pgBackup.backupId)).toEqual({ ok: false, line: pgLine });
  const pgRun = job(["restore", "postgres", pgBackup.backupId]);
  expect({ status: pgRun.status, lines: ownLines(pgRun.stderr) }).toEqual({
    status: 1,
    lines: [
      `[orchestra-backup] postgres ${pgBackup.backupId}: downloading from s3://${BUCKET}/${PREFIX}/${STACK}/postgres/${pgBackup.backupId}/`,
      `[orchestra-backup] ERROR: ${pgLine}`,
    ],
  });
  expect(psql(PG_CHECKSUM)).toBe(changed);
  expect(changed).toMatch(new RegExp(`^${PG_ROWS + 1} `));

  // Redis: stopped (as a restore needs), the data volume's files the same after the refusal.
  docker(["stop", redisSpec.containerName]);
  const files = redisVolumeFiles();
  expect(files).toMatch(/appendonlydir\/appendonly\.aof\.1\.base\.rdb/);
  const redisKey = objectKey("redis", redisBackup.backupId, "dump.rdb.age");
  const redisDamaged = flipByte(redisKey, 500);
  const redisLine = `redis ${redisBackup.backupId}: object dump.rdb.age: sha256 ${sha256(redisDamaged)} does not match the manifest's ${redisBackup.manifest.objects[0].sha256}`;
  expect(await store.verify(STACK, "redis", redisBackup.backupId)).toEqual({ ok: false, line: redisLine });
  const redisRun = job(["restore", "redis", redisBackup.backupId], ["-v", `${redisData()}:/data`]);
  expect({ status: redisRun.status, lines: ownLines(redisRun.stderr) }).toEqual({
    status: 1,
    lines: [
      `[orchestra-backup] redis ${redisBackup.backupId}: downloading from s3://${BUCKET}/${PREFIX}/${STACK}/redis/${redisBackup.backupId}/`,
      `[orchestra-backup] ERROR: ${redisLine}`,
    ],
  });
  expect(redisVolumeFiles()).toBe(files);
  docker(["start", redisSpec.containerName]);
  await waitRedis();
  expect(redisState()).toEqual(redisBefore);

  // Put back: both verify again.
  flipByte(pgKey, 100_000);
  flipByte(redisKey, 500);
  expect((await store.verify(STACK, "postgres", pgBackup.backupId)).ok).toBe(true);
  expect((await store.verify(STACK, "redis", redisBackup.backupId)).ok).toBe(true);
});

test("5. a good backup restored over live stores replaces what was written since", async () => {
  expect(psql(PG_CHECKSUM)).not.toBe(pgBefore);
  const pgRun = job(["restore", "postgres", pgBackup.backupId]);
  expect(pgRun.status).toBe(0);
  expect(psql(PG_CHECKSUM)).toBe(pgBefore);

  redis("SET", "written-after-the-backup", "1");
  docker(["stop", redisSpec.containerName]);
  const redisRun = job(["restore", "redis", redisBackup.backupId], ["-v", `${redisData()}:/data`]);
  expect(redisRun.status).toBe(0);
  const moved = ownLines(redisRun.stderr).find((line) => line.includes("moved the previous"));
  expect(moved).toMatch(
    new RegExp(
      `^\\[orchestra-backup\\] redis ${redisBackup.backupId}: moved the previous dump\\.rdb and appendonlydir to /data/before-restore-\\d{8}T\\d{6}Z$`,
    ),
  );
  const aside = (moved as string).slice((moved as string).lastIndexOf("/") + 1);
  expect(redisVolumeFiles()).toContain(`./${aside}/appendonlydir/appendonly.aof.manifest`);
  docker(["start", redisSpec.containerName]);
  await waitRedis();
  expect(redis("EXISTS", "written-after-the-backup")).toBe("0");
  expect(redisState()).toEqual(redisBefore);
});

test("6. a backup killed mid-upload leaves nothing a restore would pick; no secret on any command line meanwhile", async () => {
  // rclone takes any option from RCLONE_<OPTION>: 1 MiB/s makes the dump's upload last seconds,
  // so the kill lands while its multipart upload is open, whatever the machine's speed.
  const name = `${RUN}-job-killed`;
  docker([
    "run",
    "-d",
    ...jobArgs(name, ["-e", "RCLONE_BWLIMIT=1M"]),
    BACKUP_TEST_IMAGE,
    "-c",
    WATCHED,
    "orchestra-backup",
    "run",
    "postgres",
    "dump",
  ]);
  let killedId = "";
  await until("the job says it is uploading", 120, () => {
    const match = /^\[orchestra-backup\] postgres (\S+): uploading orchestra\.dump\.age$/m.exec(logsOf(name));
    killedId = match?.[1] ?? "";
    return killedId !== "";
  });
  const uploadKey = objectKey("postgres", killedId, "orchestra.dump.age");
  const openUploads = async () =>
    ((await admin.send(new ListMultipartUploadsCommand({ Bucket: BUCKET }))).Uploads ?? []).map(
      (upload) => upload.Key,
    );
  await until("the multipart upload is open", 60, async () => (await openUploads()).includes(uploadKey));
  docker(["kill", name]);
  const stderr = logsOf(name);
  docker(["rm", name]);
  const seen = collectCmdlines();

  // Killed mid-upload: the upload is still open (never completed), its object absent.
  expect(await openUploads()).toContain(uploadKey);
  expect(stderr).not.toContain("manifest.json written");
  const listing = await store.list(STACK, "postgres");
  expect(states(listing)).toEqual([[pgBackup.backupId, "complete"]]);
  expect(newestComplete(listing)?.backupId).toBe(pgBackup.backupId);
  expect(await store.verify(STACK, "postgres", killedId)).toEqual({
    ok: false,
    line: `postgres ${killedId}: no manifest.json`,
  });
  const restore = job(["restore", "postgres", killedId]);
  expect({ status: restore.status, lines: ownLines(restore.stderr) }).toEqual({
    status: 1,
    lines: [
      `[orchestra-backup] postgres ${killedId}: downloading from s3://${BUCKET}/${PREFIX}/${STACK}/postgres/${killedId}/`,
      `[orchestra-backup] ERROR: postgres ${killedId}: no manifest.json`,
    ],
  });

  expect(seen).toContainEqual(expect.stringMatching(/^\S*pg_dump -w -Fc$/));
  expect(seen).toContainEqual(`rclone rcat backup:${BUCKET}/${uploadKey}`);
  expectNoSecret(seen.join("\n"));
  expectNoSecret(stderr);
});

test("7. across every job of the run, no command line held a secret", () => {
  expect(cmdlines.size).toBeGreaterThan(20);
  expectNoSecret([...cmdlines].join("\n"));
});
