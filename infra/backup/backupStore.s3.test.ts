/**
 * Services tier: S3BackupStore against a real S3-compatible server (versitygw from
 * scripts/s3-server.sh, serving a temporary directory). Credentials reach the store the way the
 * pipeline passes them, through AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (the SDK's default
 * chain). versitygw's posix backend keeps each object as the file DIR/data/<bucket>/<key>, so the
 * test damages a stored object, or ages it, by touching that file. The steps run in order.
 */
import { createHash, randomBytes } from "crypto";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import { dirname, join } from "path";
import { CreateBucketCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { BackupStoreError, newestComplete, S3BackupStore, type BackupListing } from "./backupStore";
import { backupIdFor, type BackupSettings, type Store } from "./layout";
import { retentionPlan } from "./retention";
import { installS3Server, startS3Server, stopS3Server } from "../testing/s3Server";

// A cold versitygw build takes about 5 minutes on 2 busy cores; the steps take seconds.
jest.setTimeout(20 * 60 * 1000);

const BUCKET = `orchestra-backups-${process.pid}`;
const STACK = "svc";
const HOUR_MS = 60 * 60 * 1000;
const DAY_MS = 24 * HOUR_MS;
const NOW = new Date();

let serverDir: string;
let workDir: string;
let server: Record<string, string>;
let admin: S3Client;
let store: S3BackupStore;
let settings: BackupSettings;
const savedEnv: Record<string, string | undefined> = {};

const sha256 = (bytes: Buffer) => createHash("sha256").update(bytes).digest("hex");

/** A file of `size` random bytes in the work dir. */
function file(name: string, size: number): { path: string; bytes: Buffer } {
  const path = join(workDir, name);
  mkdirSync(dirname(path), { recursive: true });
  const bytes = randomBytes(size);
  writeFileSync(path, bytes);
  return { path, bytes };
}

/** The file versitygw stores a key in. */
const storedPath = (key: string) => join(serverDir, "data", BUCKET, key);

/** Every key under `prefix`, sorted. */
async function keys(prefix: string): Promise<string[]> {
  const listed = await admin.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: prefix }));
  return (listed.Contents ?? []).map((object) => object.Key as string).sort();
}

/** Uploads a backup of `store` started at `startedAt` with the given files (name -> size). */
async function backup(store_: Store, kind: string, startedAt: Date, files: Record<string, number>) {
  const backupId = backupIdFor(store_, startedAt, kind);
  const made = Object.entries(files).map(([key, size]) => ({ key, ...file(`${backupId}/${key}`, size) }));
  const manifest = await store.upload({
    stack: STACK,
    store: store_,
    backupId,
    engineVersion: "1.0",
    startedAt,
    finishedAt: new Date(startedAt.getTime() + 60_000),
    encryption: "age",
    files: made.map(({ key, path }) => ({ key, path })),
  });
  return { backupId, manifest, files: made };
}

/** Puts an object straight into the bucket: a backup job killed before its manifest. */
async function putRaw(key: string, body: Buffer | string): Promise<void> {
  await admin.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: body }));
}

/** Ids and states of a listing: what the assertions compare. */
const states = (listing: BackupListing) =>
  listing.backups.map((entry) => [
    entry.backupId,
    entry.judgement.state === "complete" ? "complete" : `incomplete: ${entry.judgement.reason}`,
  ]);

beforeAll(() => {
  installS3Server();
  serverDir = mkdtempSync(join(tmpdir(), "orchestra-backup-s3-"));
  workDir = mkdtempSync(join(tmpdir(), "orchestra-backup-files-"));
  server = startS3Server(serverDir);
  for (const name of ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_REGION"]) {
    savedEnv[name] = process.env[name];
    process.env[name] = server[name];
  }
  admin = new S3Client({ endpoint: server.S3_ENDPOINT, region: server.AWS_REGION, forcePathStyle: true });
  settings = { endpoint: server.S3_ENDPOINT, region: server.AWS_REGION, bucket: BUCKET, prefix: "orchestra" };
  // No credentials given: the store takes them from the environment, as the CLI does.
  store = new S3BackupStore(settings);
});

afterAll(() => {
  store?.destroy();
  admin?.destroy();
  for (const [name, value] of Object.entries(savedEnv))
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  try {
    if (serverDir !== undefined) stopS3Server(serverDir);
  } finally {
    for (const dir of [serverDir, workDir])
      if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  }
});

const redisStart = new Date(Math.floor((NOW.getTime() - 2 * HOUR_MS) / 1000) * 1000);
let redis: Awaited<ReturnType<typeof backup>>;
let killedId: string;

test("1. an uploaded backup is stored byte for byte and lists as complete", async () => {
  await admin.send(new CreateBucketCommand({ Bucket: BUCKET }));
  redis = await backup("redis", "rdb", redisStart, {
    "dump.rdb.age": 3 * 1024 * 1024 + 17,
    "conf/redis.conf.age": 700,
    "empty.age": 0,
  });
  const folder = `orchestra/${STACK}/redis/${redis.backupId}/`;
  expect(await keys(folder)).toEqual([
    `${folder}conf/redis.conf.age`,
    `${folder}dump.rdb.age`,
    `${folder}empty.age`,
    `${folder}manifest.json`,
  ]);
  // No chunk framing or re-encoding on the way: the stored file is the local one.
  for (const made of redis.files)
    expect(readFileSync(storedPath(`${folder}${made.key}`)).equals(made.bytes)).toBe(true);
  expect(redis.manifest.objects).toEqual([
    { key: "conf/redis.conf.age", size: 700, sha256: sha256(redis.files[1].bytes) },
    { key: "dump.rdb.age", size: 3145745, sha256: sha256(redis.files[0].bytes) },
    { key: "empty.age", size: 0, sha256: "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" },
  ]);
  expect(await store.readManifest(STACK, "redis", redis.backupId)).toEqual(redis.manifest);

  const listing = await store.list(STACK, "redis");
  expect(listing).toEqual({
    store: "redis",
    location: `s3://${BUCKET}/orchestra/${STACK}/redis/`,
    backups: [
      {
        backupId: redis.backupId,
        startedAt: redisStart,
        lastWrittenAt: expect.any(Date),
        objects: 3,
        bytes: 3146445,
        judgement: { state: "complete", manifest: redis.manifest },
      },
    ],
    ignored: [],
  });
  expect(Math.abs(listing.backups[0].lastWrittenAt.getTime() - Date.now())).toBeLessThan(5 * 60_000);
});

test("2. verify re-reads every object and passes with the exact line", async () => {
  expect(await store.verify(STACK, "redis", redis.backupId)).toEqual({
    ok: true,
    objects: 3,
    bytes: 3146445,
    line: `verified redis ${redis.backupId}: 3 objects, 3146445 bytes`,
  });
});

test("3. one flipped byte on the server's disk: the listing still says complete, verify names the object", async () => {
  const path = storedPath(`orchestra/${STACK}/redis/${redis.backupId}/dump.rdb.age`);
  const bytes = readFileSync(path);
  bytes[2_000_000] ^= 0x01;
  writeFileSync(path, bytes);
  // Same size: only a re-read can tell.
  expect(states(await store.list(STACK, "redis"))).toEqual([[redis.backupId, "complete"]]);
  expect(await store.verify(STACK, "redis", redis.backupId)).toEqual({
    ok: false,
    line: `redis ${redis.backupId}: object dump.rdb.age: sha256 ${sha256(bytes)} does not match the manifest's ${redis.manifest.objects[1].sha256}`,
  });
  // Put back for the steps that follow.
  bytes[2_000_000] ^= 0x01;
  writeFileSync(path, bytes);
  expect((await store.verify(STACK, "redis", redis.backupId)).ok).toBe(true);
});

test("4. an upload cut off before its manifest leaves an incomplete folder, never the newest complete", async () => {
  killedId = backupIdFor("redis", new Date(redisStart.getTime() + HOUR_MS), "rdb");
  // The connection drops from the second PutObject on (every retry too): the job dies mid-upload.
  const client = new S3Client({ endpoint: settings.endpoint, region: settings.region, forcePathStyle: true });
  let puts = 0;
  client.middlewareStack.add(
    (next, context) => async (args) => {
      if (context.commandName === "PutObjectCommand" && ++puts >= 2) throw new Error("connection reset");
      return next(args);
    },
    { step: "initialize" },
  );
  const cut = new S3BackupStore(settings, { client });
  const dump = file(`${killedId}/dump.rdb.age`, 4096);
  const conf = file(`${killedId}/redis.conf.age`, 100);
  try {
    await expect(
      cut.upload({
        stack: STACK,
        store: "redis",
        backupId: killedId,
        engineVersion: "7.2.4",
        startedAt: new Date(redisStart.getTime() + HOUR_MS),
        finishedAt: new Date(redisStart.getTime() + HOUR_MS + 1000),
        encryption: "age",
        files: [
          { key: "dump.rdb.age", path: dump.path },
          { key: "redis.conf.age", path: conf.path },
        ],
      }),
    ).rejects.toThrow(
      new BackupStoreError(
        `uploading s3://${BUCKET}/orchestra/${STACK}/redis/${killedId}/redis.conf.age failed: connection reset`,
      ),
    );
  } finally {
    cut.destroy();
  }
  // Three tries of the second object, then nothing more: the manifest was never sent.
  expect(puts).toBe(4);
  expect(await keys(`orchestra/${STACK}/redis/${killedId}/`)).toEqual([
    `orchestra/${STACK}/redis/${killedId}/dump.rdb.age`,
  ]);
  // Keys that are no backup: a stray object, a folder that is no backupId, pgBackRest's repository.
  await putRaw(`orchestra/${STACK}/redis/notes.txt`, "hand-written");
  await putRaw(`orchestra/${STACK}/redis/latest/dump.rdb`, "x");
  await putRaw(`orchestra/${STACK}/postgres/pgbackrest/archive/main/000000010000000000000001`, "wal");

  const listing = await store.list(STACK, "redis");
  expect(states(listing)).toEqual([
    [redis.backupId, "complete"],
    [killedId, "incomplete: no manifest.json (a backup stopped before its end, or one still running)"],
  ]);
  expect(listing.backups[1]).toMatchObject({ objects: 1, bytes: 4096 });
  expect(listing.ignored).toEqual([`orchestra/${STACK}/redis/notes.txt`, `orchestra/${STACK}/redis/latest/`]);
  expect(newestComplete(listing)?.backupId).toBe(redis.backupId);
  expect(await store.verify(STACK, "redis", killedId)).toEqual({
    ok: false,
    line: `redis ${killedId}: no manifest.json`,
  });
  expect(await store.list(STACK, "postgres")).toEqual({
    store: "postgres",
    location: `s3://${BUCKET}/orchestra/${STACK}/postgres/`,
    backups: [],
    ignored: [],
  });
});

test("5. retention through the store deletes exactly what the pure function says", async () => {
  const day = (days: number) => new Date(Math.floor((NOW.getTime() - days * DAY_MS) / 1000) * 1000);
  const files = { "snapshot/backup_config.json.age": 300, "snapshot/node1.tar.age": 2048 };
  const old1 = await backup("weaviate", "snapshot", day(40), files);
  const old2 = await backup("weaviate", "snapshot", day(20), files);
  const good = await backup("weaviate", "snapshot", day(10), files);
  const corrupt = await backup("weaviate", "snapshot", day(2), files);
  const fresh = await backup("weaviate", "snapshot", day(1), files);
  // The two newest fail verify; the newest verified is `good`, older than the retention.
  for (const damaged of [corrupt, fresh]) {
    const path = storedPath(`orchestra/${STACK}/weaviate/${damaged.backupId}/snapshot/node1.tar.age`);
    const bytes = readFileSync(path);
    bytes[0] ^= 0xff;
    writeFileSync(path, bytes);
  }
  // Killed uploads: one last written 3 days ago (its file's time on the server's disk), one just now.
  const staleId = backupIdFor("weaviate", day(3), "snapshot");
  const staleKey = `orchestra/${STACK}/weaviate/${staleId}/snapshot/node1.tar.age`;
  await putRaw(staleKey, randomBytes(10));
  utimesSync(storedPath(staleKey), day(3), day(3));
  const runningId = backupIdFor("weaviate", new Date(NOW.getTime() - 60_000), "snapshot");
  await putRaw(`orchestra/${STACK}/weaviate/${runningId}/snapshot/node1.tar.age`, randomBytes(10));

  const before = await store.list(STACK, "weaviate");
  // Listed 2 keys a page, the listing is the same: 4 pages of 7 folders, then 2 pages for each
  // complete folder (3 keys) and 1 for each incomplete one (1 key).
  const client = new S3Client({ endpoint: settings.endpoint, region: settings.region, forcePathStyle: true });
  let pages = 0;
  client.middlewareStack.add(
    (next, context) => async (args) => {
      if (context.commandName === "ListObjectsV2Command") pages++;
      return next(args);
    },
    { step: "initialize" },
  );
  const paged = new S3BackupStore(settings, { client, pageSize: 2 });
  try {
    expect(await paged.list(STACK, "weaviate")).toEqual(before);
    expect(pages).toBe(4 + 5 * 2 + 2 * 1);
  } finally {
    paged.destroy();
  }
  expect(before.backups.map((entry) => entry.backupId)).toEqual([
    old1.backupId,
    old2.backupId,
    good.backupId,
    staleId,
    corrupt.backupId,
    fresh.backupId,
    runningId,
  ]);
  expect(before.backups[3].lastWrittenAt).toEqual(day(3));
  const plan = retentionPlan({
    store: "weaviate",
    folders: before.backups.map((entry) => ({
      backupId: entry.backupId,
      state: entry.judgement.state,
      lastWrittenAt: entry.lastWrittenAt,
    })),
    retentionDays: 7,
    newestVerified: good.backupId,
    now: NOW,
  });
  expect(plan.map((entry) => entry.backupId)).toEqual([old1.backupId, old2.backupId, staleId]);

  const result = await store.applyRetention(STACK, "weaviate", 7, NOW);
  expect(result).toEqual({
    newestVerified: good.backupId,
    failedVerify: [fresh, corrupt].map(
      (damaged) =>
        `weaviate ${damaged.backupId}: object snapshot/node1.tar.age: sha256 ${sha256(
          readFileSync(storedPath(`orchestra/${STACK}/weaviate/${damaged.backupId}/snapshot/node1.tar.age`)),
        )} does not match the manifest's ${damaged.manifest.objects[1].sha256}`,
    ),
    deleted: plan,
  });
  const after = await store.list(STACK, "weaviate");
  expect(after.backups.map((entry) => entry.backupId)).toEqual([
    good.backupId,
    corrupt.backupId,
    fresh.backupId,
    runningId,
  ]);
  // Nothing of a deleted backup is left behind.
  for (const gone of [old1.backupId, old2.backupId, staleId])
    expect(await keys(`orchestra/${STACK}/weaviate/${gone}/`)).toEqual([]);
  // Other stores are untouched.
  expect((await store.list(STACK, "redis")).backups.map((entry) => entry.backupId)).toEqual([
    redis.backupId,
    killedId,
  ]);
});

test("6. an S3 failure names the action and the key, and no credential", async () => {
  const wrongSecret = `wrong${"0".repeat(35)}`;
  const denied = new S3BackupStore(settings, {
    client: new S3Client({
      endpoint: settings.endpoint,
      region: settings.region,
      forcePathStyle: true,
      credentials: { accessKeyId: server.AWS_ACCESS_KEY_ID, secretAccessKey: wrongSecret },
    }),
  });
  try {
    const failure = await denied.list(STACK, "redis").then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(failure).toBeInstanceOf(BackupStoreError);
    const message = (failure as Error).message;
    expect(message).toMatch(
      new RegExp(`^listing s3://${BUCKET}/orchestra/${STACK}/redis/ failed: SignatureDoesNotMatch: `),
    );
    for (const secret of [server.AWS_ACCESS_KEY_ID, server.AWS_SECRET_ACCESS_KEY, wrongSecret])
      expect(message).not.toContain(secret);
  } finally {
    denied.destroy();
  }
});

test("7. the preview's bucket check: writes, reads back and deletes; names what failed, never a key", async () => {
  const credentials = {
    accessKeyId: server.AWS_ACCESS_KEY_ID,
    secretAccessKey: server.AWS_SECRET_ACCESS_KEY,
  };
  const checked = new S3BackupStore(settings, { credentials, failFast: true });
  await checked.checkWritable(STACK);
  // Nothing is left behind where the backups are listed.
  expect(await keys(`orchestra/${STACK}/.write-check`)).toEqual([]);
  checked.destroy();

  const failure = async (store_: S3BackupStore) => {
    try {
      await store_.checkWritable(STACK);
      return "no error";
    } catch (error) {
      return `${(error as Error).name}: ${(error as Error).message}`;
    } finally {
      store_.destroy();
    }
  };
  const missing = await failure(
    new S3BackupStore({ ...settings, bucket: `${BUCKET}-missing` }, { credentials, failFast: true }),
  );
  expect(missing).toBe(
    `BackupStoreError: writing s3://${BUCKET}-missing/orchestra/${STACK}/.write-check failed: NoSuchBucket: The specified bucket does not exist.`,
  );
  const wrongSecret = await failure(
    new S3BackupStore(settings, {
      credentials: { ...credentials, secretAccessKey: "not-the-secret" },
      failFast: true,
    }),
  );
  expect(wrongSecret).toBe(
    `BackupStoreError: writing s3://${BUCKET}/orchestra/${STACK}/.write-check failed: SignatureDoesNotMatch: The request signature we calculated does not match the signature you provided. Check your key and signing method.`,
  );
  expect(wrongSecret.includes(credentials.accessKeyId)).toBe(false);
  // Nothing listens on port 9 (discard) here: refused at once, one attempt.
  const closed = await failure(
    new S3BackupStore({ ...settings, endpoint: "http://127.0.0.1:9" }, { credentials, failFast: true }),
  );
  expect(closed).toBe(
    `BackupStoreError: writing s3://${BUCKET}/orchestra/${STACK}/.write-check failed: connect ECONNREFUSED 127.0.0.1:9`,
  );
});
