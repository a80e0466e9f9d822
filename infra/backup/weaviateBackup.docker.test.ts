/**
 * Services tier: the backup job's Weaviate snapshot (images/backup/lib/weaviate.sh) against a real
 * Weaviate 1.27.0 (infra/testing/weaviateImage.ts) and a real S3-compatible server (versitygw).
 * Weaviate runs as components/dataServicesPlan.ts plans it (environment, API key, command, data
 * volume); the job is a one-off container of the backup image with the environment and volumes
 * components/backupsPlan.ts plans for the backup container, but for WEAVIATE_URL: the job is on the
 * host's network (versitygw listens on 127.0.0.1) and reaches Weaviate at its published port.
 *
 * The exact check after a restore is a vector search, not only a count: a backup taken right after
 * an import was once seen to restore every object with an empty vector index (issue 11), so the
 * backup here runs the moment the import returns. A watcher in each job container records every
 * command line (no secret on any). The steps run in order; timings are printed at the end.
 */
import { execFileSync, spawnSync } from "child_process";
import { createHash, randomBytes } from "crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";
import { CreateBucketCommand, S3Client } from "@aws-sdk/client-s3";
import { planBackups } from "../../components/backupsPlan";
import type { ContainerSpec } from "../../components/containerSpec";
import { planDataServices } from "../../components/dataServicesPlan";
import type { BackupSettings as PlanSettings } from "../../stacks/configBackup";
import { S3BackupStore } from "./backupStore";
import type { Manifest } from "./manifest";
import { freePorts, removeRunObjects, runObjects, uniqueRunId } from "../testing/dockerCli";
import { STANDIN_IMAGES } from "../testing/standinImages";
import { installS3Server, startS3Server, stopS3Server } from "../testing/s3Server";
import {
  ageIdentity,
  argvWatcher,
  BACKUP_SECRETS_MOUNT,
  buildBackupImage,
  writeSecretsDir,
} from "../testing/backupImage";
import {
  buildWeaviateImage,
  weaviateClient,
  WEAVIATE_TEST_IMAGE,
  WEAVIATE_TEST_VERSION,
} from "../testing/weaviateImage";

jest.setTimeout(10 * 60 * 1000);

const RUN = uniqueRunId("wvbk");
/** Its own tag: another test's build cannot retag it mid-run. */
const IMAGE = `orchestra-backup:${RUN}`;
const BUCKET = `orchestra-backups-${process.pid}`;
const STACK = "svc";
const PREFIX = "orchestra";
const CLASS = "Doc";
const OBJECTS = 3_000;
const DIMENSIONS = 32;
const OBJECT_KEY = "snapshot.tar.age";
const SNAPSHOTS = "/var/lib/weaviate/backups";

let serverDir: string;
let secretsDir: string;
let watchDir: string;
let server: Record<string, string>;
let admin: S3Client;
let store: S3BackupStore;
let secrets: Record<string, string>;
let weaviateSpec: ContainerSpec;
let backupSpec: ContainerSpec;
let port: number;
const savedEnv: Record<string, string | undefined> = {};
const cmdlines = new Set<string>();
const measured: Record<string, number> = {};

// --- docker and Weaviate --------------------------------------------------------------------------

function docker(args: string[], env: Record<string, string> = {}): string {
  return execFileSync("docker", args, {
    encoding: "utf8",
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
    maxBuffer: 64 * 1024 * 1024,
  });
}

async function until(what: string, seconds: number, check: () => Promise<boolean>): Promise<void> {
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

/**
 * Weaviate as planned, on a fresh or existing volume, its port published on loopback; the API key
 * passed by name (`-e NAME`, the value from the CLI's environment). DISABLE_TELEMETRY is the
 * test's own: this machine has no way out to Weaviate's telemetry endpoint.
 */
async function startWeaviate(): Promise<void> {
  const secretEnv = Object.fromEntries(
    Object.entries(weaviateSpec.secretEnv).map(([name, secret]) => [name, secrets[secret]]),
  );
  docker(
    [
      "run",
      "-d",
      "--name",
      weaviateSpec.containerName,
      "-p",
      `127.0.0.1:${port}:${port}`,
      ...Object.entries({ ...weaviateSpec.env, DISABLE_TELEMETRY: "true" }).flatMap(([name, value]) => [
        "-e",
        `${name}=${value}`,
      ]),
      ...Object.keys(secretEnv).flatMap((name) => ["-e", name]),
      ...weaviateSpec.volumes.flatMap((volume) => ["-v", `${volume.volumeName}:${volume.containerPath}`]),
      weaviateSpec.image,
      ...(weaviateSpec.command ?? []),
    ],
    secretEnv,
  );
  // The readiness path needs no key; api() sends it anyway.
  await until("Weaviate is ready", 120, async () => (await api("GET", "/v1/.well-known/ready")) === null);
}

/** Removes Weaviate's container and its data volume. */
function destroyWeaviate(): void {
  docker(["rm", "-f", "-v", weaviateSpec.containerName]);
  docker(["volume", "rm", weaviateSpec.volumes[0].volumeName]);
}

const { api, graphql } = weaviateClient(
  () => port,
  () => secrets.weaviateApiKey,
);

/** The classes Weaviate has, by name. */
async function classes(): Promise<string[]> {
  const schema = (await api("GET", "/v1/schema")) as { classes: { class: string }[] };
  return schema.classes.map((entry) => entry.class);
}

async function objectCount(): Promise<number> {
  const data = await graphql(`{ Aggregate { ${CLASS} { meta { count } } } }`);
  return (data.Aggregate as Record<string, { meta: { count: number } }[]>)[CLASS][0].meta.count;
}

/** The ids of the 10 nearest objects to `vector` (nearVector, Weaviate's HNSW index), nearest first. */
async function nearest(vector: readonly number[]): Promise<string[]> {
  const data = await graphql(
    `{ Get { ${CLASS}(nearVector: { vector: ${JSON.stringify(vector)} }, limit: 10) { n _additional { id } } } }`,
  );
  return (data.Get as Record<string, { _additional: { id: string } }[]>)[CLASS].map(
    (hit) => hit._additional.id,
  );
}

/** What the exact comparison covers: the object count and each query vector's top 10, in order. */
async function weaviateState(): Promise<{ count: number; nearest: string[][] }> {
  return { count: await objectCount(), nearest: await Promise.all(QUERIES.map(nearest)) };
}

/** The snapshot folders in Weaviate's backup-filesystem path (none once the job is done). */
const snapshotFolders = () =>
  docker(["exec", weaviateSpec.containerName, "ls", "-A", SNAPSHOTS]).split("\n").filter(Boolean);

// --- the data -------------------------------------------------------------------------------------

/** A deterministic generator (mulberry32): the same vectors every run. */
function generator(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const random = generator(11);
const vectorOf = () => Array.from({ length: DIMENSIONS }, () => Math.round((random() * 2 - 1) * 1e6) / 1e6);
const idOf = (i: number) => `00000000-0000-4000-8000-${i.toString(16).padStart(12, "0")}`;
const VECTORS = Array.from({ length: OBJECTS }, vectorOf);
/** Three objects' own vectors (each must find itself first) and three others. */
const OWN = [7, 1234, OBJECTS - 1];
const QUERIES = [...OWN.map((i) => VECTORS[i]), vectorOf(), vectorOf(), vectorOf()];

// --- the job --------------------------------------------------------------------------------------

const WATCHED = `python3 /watch/watch.py & until [ -e /watch/cmdlines ]; do sleep 0.01; done; exec orchestra-backup "$@"`;

/** The planner's environment for the backup container, Weaviate reached at its published port. */
function jobEnv(): Record<string, string> {
  return { ...backupSpec.env, WEAVIATE_URL: `http://127.0.0.1:${port}` };
}

interface JobRun {
  readonly status: number | null;
  readonly stderr: string;
  readonly seconds: number;
  readonly cmdlines: readonly string[];
}

let jobCount = 0;
/** `orchestra-backup <args>` in a one-off container with the planner's environment and volumes. */
function job(args: readonly string[]): JobRun {
  rmSync(join(watchDir, "cmdlines"), { force: true });
  const started = Date.now();
  const result = spawnSync(
    "docker",
    [
      "run",
      "--rm",
      "--name",
      `${RUN}-job-${++jobCount}`,
      "--network",
      "host",
      ...Object.entries(jobEnv()).flatMap(([key, value]) => ["-e", `${key}=${value}`]),
      ...backupSpec.volumes.flatMap((volume) => ["-v", `${volume.volumeName}:${volume.containerPath}`]),
      "-v",
      `${secretsDir}:${BACKUP_SECRETS_MOUNT}:ro`,
      "-v",
      `${watchDir}:/watch`,
      "--entrypoint",
      "bash",
      IMAGE,
      "-c",
      WATCHED,
      "orchestra-backup",
      ...args,
    ],
    { encoding: "utf8", maxBuffer: 64 * 1024 * 1024 },
  );
  const seconds = (Date.now() - started) / 1000;
  const seen = readFileSync(join(watchDir, "cmdlines"), "utf8").split("\n").filter(Boolean);
  for (const line of seen) cmdlines.add(line);
  return { status: result.status, stderr: result.stderr, seconds, cmdlines: seen };
}

/** The job's own lines, without its progress lines (`...: STARTED after 0 s`), whose count depends on timing. */
const ownLines = (stderr: string) =>
  stderr
    .split("\n")
    .filter((line) => line.startsWith("[orchestra-backup] "))
    .filter((line) => !/: [A-Z]+ after \d+ s$/.test(line));

function expectNoSecret(text: string): void {
  for (const [name, value] of Object.entries(secrets))
    expect({ name, found: text.includes(value) }).toEqual({ name, found: false });
}

const sha256 = (bytes: Buffer) => createHash("sha256").update(bytes).digest("hex");
const objectKey = (backupId: string) => `${PREFIX}/${STACK}/weaviate/${backupId}/${OBJECT_KEY}`;
const storedPath = (backupId: string) => join(serverDir, "data", BUCKET, objectKey(backupId));

function flipByte(backupId: string, offset: number): Buffer {
  const bytes = readFileSync(storedPath(backupId));
  bytes[offset] ^= 0x01;
  writeFileSync(storedPath(backupId), bytes);
  return bytes;
}

// --- setup ----------------------------------------------------------------------------------------

beforeAll(
  async () => {
    buildBackupImage(IMAGE);
    buildWeaviateImage();
    installS3Server();
    serverDir = mkdtempSync(join(tmpdir(), "orchestra-weaviate-backup-s3-"));
    watchDir = mkdtempSync(join(tmpdir(), "orchestra-weaviate-backup-watch-"));
    writeFileSync(join(watchDir, "watch.py"), argvWatcher("/watch/cmdlines"));
    server = startS3Server(serverDir);
    for (const name of ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_REGION"]) {
      savedEnv[name] = process.env[name];
      process.env[name] = server[name];
    }
    admin = new S3Client({ endpoint: server.S3_ENDPOINT, region: server.AWS_REGION, forcePathStyle: true });
    await admin.send(new CreateBucketCommand({ Bucket: BUCKET }));
    store = new S3BackupStore({
      endpoint: server.S3_ENDPOINT,
      region: server.AWS_REGION,
      bucket: BUCKET,
      prefix: PREFIX,
    });
    secrets = {
      backupAccessKeyId: server.AWS_ACCESS_KEY_ID,
      backupSecretAccessKey: server.AWS_SECRET_ACCESS_KEY,
      backupEncryptionKey: ageIdentity(IMAGE),
      // Weaviate splits its allowed keys on ",": any other character will do.
      weaviateApiKey: `wv-${randomBytes(8).toString("hex")} "q'\\${randomBytes(8).toString("hex")}`,
    };
    secretsDir = writeSecretsDir(secrets);

    [port] = await freePorts(1);
    const data = planDataServices(RUN, {
      stores: ["weaviate"],
      images: {
        postgres: STANDIN_IMAGES.postgres,
        redis: STANDIN_IMAGES.redis,
        weaviate: WEAVIATE_TEST_IMAGE,
      },
      ports: { weaviate: port },
      bindAddress: "127.0.0.1",
    });
    weaviateSpec = data.containers[0];
    const settings: PlanSettings = {
      endpoint: server.S3_ENDPOINT,
      region: server.AWS_REGION,
      bucket: BUCKET,
      prefix: PREFIX,
      hourUtc: 3,
      storage: { estimateGiB: 1, usdPerGiBMonth: 0.023 },
      retentionDays: 7,
      schedule: { postgres: [], redis: [], weaviate: [{ type: "snapshot", cadence: "hourly" }] },
    };
    backupSpec = planBackups(`${RUN}-backups`, { settings, stack: STACK, node: "data", image: IMAGE, data })
      .containers.data[0];
    // What the test replaces: the planner's URL names the container on the stores' network.
    expect(backupSpec.env.WEAVIATE_URL).toBe(`http://${weaviateSpec.containerName}:${port}`);
    expect([backupSpec.env.WEAVIATE_BACKUP_PATH, backupSpec.volumes]).toEqual([
      SNAPSHOTS,
      [{ volumeName: weaviateSpec.volumes[0].volumeName, containerPath: "/var/lib/weaviate" }],
    ]);
    await startWeaviate();
  },
  10 * 60 * 1000,
);

afterAll(() => {
  process.stderr.write(`[weaviate-backup measured] ${JSON.stringify(measured)}\n`);
  store?.destroy();
  admin?.destroy();
  for (const [name, value] of Object.entries(savedEnv))
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  removeRunObjects(RUN);
  spawnSync("docker", ["image", "rm", IMAGE]);
  try {
    if (serverDir !== undefined) stopS3Server(serverDir);
  } finally {
    for (const dir of [serverDir, secretsDir, watchDir])
      if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  }
  expect(runObjects(RUN)).toEqual({ containers: "", volumes: "" });
});

// --- the steps ------------------------------------------------------------------------------------

let before: Awaited<ReturnType<typeof weaviateState>>;
let backupId: string;
let manifest: Manifest;

test("0. a Weaviate with no class yet: the run succeeds, says so and stores nothing", async () => {
  const run = job(["run", "weaviate", "snapshot"]);
  expect(run.status).toBe(0);
  const started = /weaviate (\d{8}T\d{6}Z-snapshot): started/.exec(run.stderr)?.[1];
  expect(ownLines(run.stderr)).toEqual([
    `[orchestra-backup] weaviate ${started}: started; writing to s3://${BUCKET}/${PREFIX}/${STACK}/weaviate/${started}/`,
    `[orchestra-backup] weaviate ${started}: Weaviate ${WEAVIATE_TEST_VERSION} has no classes yet: nothing to back up, nothing stored`,
  ]);
  expect((await store.list(STACK, "weaviate")).backups).toEqual([]);
  expect(snapshotFolders()).toEqual([]);
});

test("1. Weaviate holds a class of objects with vectors, imported in batches", async () => {
  await api("POST", "/v1/schema", {
    class: CLASS,
    vectorizer: "none",
    properties: [{ name: "n", dataType: ["int"] }],
  });
  for (let start = 0; start < OBJECTS; start += 500) {
    const objects = VECTORS.slice(start, start + 500).map((vector, offset) => ({
      class: CLASS,
      id: idOf(start + offset),
      properties: { n: start + offset },
      vector,
    }));
    const results = (await api("POST", "/v1/batch/objects", { objects })) as {
      result: { errors?: unknown };
    }[];
    expect(results.length).toBe(objects.length);
    expect(results.flatMap((result) => result.result.errors ?? [])).toEqual([]);
  }
  before = await weaviateState();
  expect(before.count).toBe(OBJECTS);
  expect(before.nearest.map((ids) => ids.length)).toEqual(QUERIES.map(() => 10));
  expect(before.nearest.slice(0, OWN.length).map((ids) => ids[0])).toEqual(OWN.map(idOf));
});

test("2. the job backs up right after the import: Weaviate's snapshot packed, encrypted, uploaded, removed from the node", async () => {
  const run = job(["run", "weaviate", "snapshot"]);
  expect({ status: run.status, stderr: run.stderr }).toEqual({ status: 0, stderr: expect.any(String) });
  const listing = await store.list(STACK, "weaviate");
  expect(listing.backups.map((entry) => [entry.backupId, entry.judgement.state])).toEqual([
    [expect.stringMatching(/^\d{8}T\d{6}Z-snapshot$/), "complete"],
  ]);
  const [entry] = listing.backups;
  if (entry.judgement.state !== "complete") throw new Error("unreachable");
  backupId = entry.backupId;
  manifest = entry.judgement.manifest;
  const stored = readFileSync(storedPath(backupId));
  expect(manifest).toEqual({
    version: 1,
    store: "weaviate",
    stack: STACK,
    backupId,
    engine: { name: "weaviate", version: WEAVIATE_TEST_VERSION },
    startedAt: expect.any(String),
    finishedAt: expect.any(String),
    encryption: "age",
    objects: [{ key: OBJECT_KEY, size: stored.length, sha256: sha256(stored) }],
  });
  expect(stored.subarray(0, 22).toString("latin1")).toBe("age-encryption.org/v1\n");
  expect(stored.includes("backup_config")).toBe(false);
  expect(await store.verify(STACK, "weaviate", backupId)).toEqual({
    ok: true,
    objects: 1,
    bytes: stored.length,
    line: `verified weaviate ${backupId}: 1 objects, ${stored.length} bytes`,
  });

  const id = backupId.toLowerCase();
  const wrote = /: Weaviate wrote (\d+) bytes in /.exec(run.stderr);
  expect(ownLines(run.stderr)).toEqual([
    `[orchestra-backup] weaviate ${backupId}: started; writing to s3://${BUCKET}/${PREFIX}/${STACK}/weaviate/${backupId}/`,
    `[orchestra-backup] weaviate ${backupId}: Weaviate ${WEAVIATE_TEST_VERSION} at http://127.0.0.1:${port} writing backup ${id} to ${SNAPSHOTS}/${id}`,
    `[orchestra-backup] weaviate ${backupId}: Weaviate wrote ${wrote?.[1]} bytes in ${SNAPSHOTS}/${id}`,
    `[orchestra-backup] weaviate ${backupId}: uploading ${OBJECT_KEY}`,
    `[orchestra-backup] weaviate ${backupId}: uploaded ${OBJECT_KEY} (${stored.length} bytes, sha256 ${sha256(stored)})`,
    `[orchestra-backup] weaviate ${backupId}: complete: 1 objects, ${stored.length} bytes; manifest.json written`,
  ]);
  // Nothing left on the node's disk; Weaviate itself untouched.
  expect(snapshotFolders()).toEqual([]);
  expect(await weaviateState()).toEqual(before);

  // The key reached wget through its startup file only.
  const work = "/tmp/orchestra-backup\\.\\w+";
  expect(run.cmdlines).toContainEqual(
    expect.stringMatching(
      new RegExp(
        `^wget --config=${work}/wgetrc -nv -S -O ${work}/response --content-on-error --method=POST ` +
          `--header=Content-Type: application/json --body-data=\\{"id":"${id}"\\} http://127\\.0\\.0\\.1:${port}/v1/backups/filesystem$`,
      ),
    ),
  );
  expect(run.cmdlines).toContainEqual(`tar -C ${SNAPSHOTS} -cf - ${id}`);
  expect(run.cmdlines).toContainEqual(expect.stringMatching(/^age -r age1[0-9a-z]+$/));
  expectNoSecret(run.cmdlines.join("\n"));
  expectNoSecret(run.stderr);
  Object.assign(measured, {
    backupJobSeconds: (Date.parse(manifest.finishedAt) - Date.parse(manifest.startedAt)) / 1000,
    backupContainerSeconds: run.seconds,
    snapshotBytes: Number(wrote?.[1]),
    storedBytes: stored.length,
  });
});

test("3. Weaviate and its volume destroyed; on a new empty one, a flipped byte makes the restore refuse and apply nothing", async () => {
  destroyWeaviate();
  expect(docker(["volume", "ls", "-q", "--filter", `name=^${RUN}-`])).toBe("");
  await startWeaviate();
  expect(await classes()).toEqual([]);

  const damaged = flipByte(backupId, 1_000);
  const line = `weaviate ${backupId}: object ${OBJECT_KEY}: sha256 ${sha256(damaged)} does not match the manifest's ${manifest.objects[0].sha256}`;
  expect(await store.verify(STACK, "weaviate", backupId)).toEqual({ ok: false, line });
  const run = job(["restore", "weaviate", backupId]);
  expect({ status: run.status, lines: ownLines(run.stderr) }).toEqual({
    status: 1,
    lines: [
      `[orchestra-backup] weaviate ${backupId}: downloading from s3://${BUCKET}/${PREFIX}/${STACK}/weaviate/${backupId}/`,
      `[orchestra-backup] ERROR: ${line}`,
    ],
  });
  expect(await classes()).toEqual([]);
  expect(snapshotFolders()).toEqual([]);
  flipByte(backupId, 1_000);
  expect((await store.verify(STACK, "weaviate", backupId)).ok).toBe(true);
  expectNoSecret(run.cmdlines.join("\n"));
  expectNoSecret(run.stderr);
});

test("4. the job restores into the new Weaviate: the same objects and the same nearest neighbours, in order", async () => {
  const id = backupId.toLowerCase();
  const run = job(["restore", "weaviate", backupId]);
  expect({ status: run.status, lines: ownLines(run.stderr) }).toEqual({
    status: 0,
    lines: [
      `[orchestra-backup] weaviate ${backupId}: downloading from s3://${BUCKET}/${PREFIX}/${STACK}/weaviate/${backupId}/`,
      `[orchestra-backup] weaviate ${backupId}: downloaded and checked 1 objects, ${manifest.objects[0].size} bytes`,
      `[orchestra-backup] weaviate ${backupId}: unpacked into ${SNAPSHOTS}/${id}; restoring backup ${id} through Weaviate at http://127.0.0.1:${port}`,
      `[orchestra-backup] weaviate ${backupId}: restored into Weaviate at http://127.0.0.1:${port}`,
    ],
  });
  expect(await classes()).toEqual([CLASS]);
  expect(await weaviateState()).toEqual(before);
  expect(snapshotFolders()).toEqual([]);
  expectNoSecret(run.cmdlines.join("\n"));
  expectNoSecret(run.stderr);
  measured.restoreContainerSeconds = run.seconds;
});

test("5. a restore over a Weaviate that has the class is refused with Weaviate's words and the way out", async () => {
  const id = backupId.toLowerCase();
  const run = job(["restore", "weaviate", backupId]);
  expect({ status: run.status, lines: ownLines(run.stderr) }).toEqual({
    status: 1,
    lines: [
      `[orchestra-backup] weaviate ${backupId}: downloading from s3://${BUCKET}/${PREFIX}/${STACK}/weaviate/${backupId}/`,
      `[orchestra-backup] weaviate ${backupId}: downloaded and checked 1 objects, ${manifest.objects[0].size} bytes`,
      `[orchestra-backup] weaviate ${backupId}: unpacked into ${SNAPSHOTS}/${id}; restoring backup ${id} through Weaviate at http://127.0.0.1:${port}`,
      `[orchestra-backup] ERROR: weaviate ${backupId}: restore ${id}: Weaviate says FAILED: could not restore classes: ["${CLASS}": class name ${CLASS} already exists] (delete the classes or restore into an empty Weaviate)`,
    ],
  });
  expect(await weaviateState()).toEqual(before);
  expect(snapshotFolders()).toEqual([]);
});

test("6. across every job of the run, no command line held a secret", () => {
  expect(cmdlines.size).toBeGreaterThan(10);
  expectNoSecret([...cmdlines].join("\n"));
});
