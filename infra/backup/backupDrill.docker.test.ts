/**
 * Services tier: `npm run backup -- drill` and `restore` (scripts/backup.ts runBackup) on the local
 * Docker engine, against a real S3-compatible server (versitygw). A test stack's Pulumi file is
 * planned by the stack's own planner (planLayer): the stores and the backup container run under
 * the planner's names (`orchestra-<stack>-stores-redis`, `orchestra-<stack>-backups-data`) on
 * its network, Redis and Postgres from the stand-in images, Weaviate 1.27.0 built from source
 * (infra/testing/weaviateImage.ts), the job from images/backup. The CLI finds them by those names,
 * exactly as it would on a data node through DOCKER_HOST.
 *
 * The stack file names its bucket at a placeholder https endpoint (the config accepts only
 * https); the test's openStore serves that bucket from versitygw on loopback, and the containers
 * reach versitygw through a TCP relay on the stores' network gateway (a bridge network cannot
 * reach the host's loopback). Every docker argv the CLI runs is recorded: none holds a secret.
 * The steps run in order; the whole drill's duration and the Weaviate drill's are printed for the
 * README.
 */
import { psqlArgs } from "../../scripts/backupRestore";
import { execFileSync, spawn, type ChildProcess } from "child_process";
import { createHash, randomBytes } from "crypto";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";
import { CreateBucketCommand, S3Client } from "@aws-sdk/client-s3";
import type { ContainerSpec } from "../../components/containerSpec";
import { BACKUP_FILE_PATHS } from "../../components/backupsFiles";
import { storePort } from "../../components/dataServicesPlan";
import { validateStackConfig } from "../../stacks/config";
import { SECRET_KEYS } from "../../stacks/configSchema";
import { planLayer } from "../../stacks/layerPlan";
import { runBackup } from "../../scripts/backup";
import { dockerCli, writeEnvFile, type DockerCli } from "../../scripts/backupDocker";
import { stackFileConfig } from "../../scripts/cost";
import { newestComplete, S3BackupStore } from "./backupStore";
import { healthCmdString, removeRunObjects, runObjects, uniqueRunId } from "../testing/dockerCli";
import { STANDIN_IMAGES } from "../testing/standinImages";
import { installS3Server, startS3Server, stopS3Server } from "../testing/s3Server";
import { ageIdentity, buildBackupImage } from "../testing/backupImage";
import { buildWeaviateImage, weaviateClient, WEAVIATE_TEST_IMAGE } from "../testing/weaviateImage";

jest.setTimeout(15 * 60 * 1000);

const STACK = uniqueRunId("drill");
/** Every object of the run starts with this (the planner's `orchestra-<stack>`). */
const RUN = `orchestra-${STACK}`;
const IMAGE = "orchestra-backup:drill-test";
const BUCKET = `orchestra-drill-${process.pid}`;
const PLACEHOLDER_ENDPOINT = "https://s3.drill.test";
const REDIS_KEYS = 5_000;
const PG_ROWS = 50_000;
const WEAVIATE_CLASS = "Doc";
const WEAVIATE_OBJECTS = 1_000;
const DIMENSIONS = 32;

let root: string;
let serverDir: string;
let server: Record<string, string>;
let admin: S3Client;
let relay: ChildProcess;
let secrets: Record<string, string>;
let specs: { redis: ContainerSpec; postgres: ContainerSpec; weaviate: ContainerSpec; backup: ContainerSpec };
let network: string;
/** Weaviate's port published on loopback, for the test's own API calls (the CLI never uses it). */
let weaviatePort: number;
const savedEnv: Record<string, string | undefined> = {};
/** Every docker argv the CLI ran, and every env file it wrote (removed afterwards?). */
const argvs: string[][] = [];
const envFiles: string[] = [];
const measured: Record<string, number | string> = {};

function docker(args: string[], options: { env?: Record<string, string>; input?: string } = {}): string {
  return execFileSync("docker", args, {
    encoding: "utf8",
    env: { ...process.env, ...options.env },
    input: options.input,
    stdio: [options.input === undefined ? "ignore" : "pipe", "pipe", "pipe"],
    maxBuffer: 64 * 1024 * 1024,
  });
}

/** The docker CLI the tool gets: the real one, every argv recorded. */
function recordingDocker(host: string | undefined): DockerCli {
  const real = dockerCli(host);
  return {
    run: (args, input) => (argvs.push([...args]), real.run(args, input)),
    pipe: (from, to) => (argvs.push([...from], [...to]), real.pipe(from, to)),
  };
}

async function backup(argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const started = Date.now();
  const code = await runBackup(argv, {
    out: (text) => out.push(text),
    err: (text) => err.push(text),
    root,
    openStore: (settings) => {
      expect(settings).toEqual({
        endpoint: PLACEHOLDER_ENDPOINT,
        region: "us-east-1",
        bucket: BUCKET,
        prefix: "orchestra",
      });
      return new S3BackupStore({ ...settings, endpoint: server.S3_ENDPOINT });
    },
    openDocker: recordingDocker,
    writeEnvFile: (env) => {
      const file = writeEnvFile(env);
      envFiles.push(file.path);
      return file;
    },
  });
  return { code, out: out.join(""), err: err.join(""), seconds: (Date.now() - started) / 1000 };
}

/** Output lines with durations as `N s` and the job's own lines and progress lines left out. */
function steps(text: string): string[] {
  return text
    .split("\n")
    .filter((line) => line !== "" && !line.startsWith("[orchestra-backup] ") && !/: waiting for /.test(line))
    .map((line) => line.replace(/\d+\.\d s\b/g, "N s"));
}

/**
 * `docker run -d` of a planned store on the stores' network, secrets by name only, a 1 s health
 * check; `extra` options before the image.
 */
function startStore(spec: ContainerSpec, command?: readonly string[], extra: readonly string[] = []): void {
  const env = Object.entries(spec.env).flatMap(([name, value]) => ["-e", `${name}=${value}`]);
  const secretEnv = Object.fromEntries(
    Object.entries(spec.secretEnv).map(([name, secret]) => [name, secrets[secret]]),
  );
  const health = spec.healthCheck;
  docker(
    [
      "run",
      "-d",
      "--name",
      spec.containerName,
      "--network",
      network,
      ...env,
      ...Object.keys(secretEnv).flatMap((name) => ["-e", name]),
      ...spec.volumes.flatMap((volume) => ["-v", `${volume.volumeName}:${volume.containerPath}`]),
      ...(health !== undefined
        ? ["--health-cmd", healthCmdString(health.test), "--health-interval", "1s", "--health-retries", "30"]
        : []),
      ...extra,
      spec.image,
      ...(command ?? spec.command ?? []),
    ],
    { env: secretEnv },
  );
}

/** The planner's Redis command plus `enable-debug-command yes` (DEBUG DIGEST; see the report). */
function redisCommand(): string[] {
  const [shell, flag, script] = specs.redis.command as string[];
  const piped = " | redis-server -";
  if (!script.endsWith(piped)) throw new Error(`the planner's Redis command changed: ${script}`);
  return [
    shell,
    flag,
    `{ ${script.slice(0, -piped.length)}; printf 'enable-debug-command yes\\n'; }${piped}`,
  ];
}

function redis(...args: string[]): string {
  return docker(["exec", "-e", "REDISCLI_AUTH", specs.redis.containerName, "redis-cli", ...args], {
    env: { REDISCLI_AUTH: secrets.redisPassword },
  }).trim();
}

/** SQL on stdin to psql in the Postgres container, as the CLI runs it (backupRestore.ts psqlArgs). */
function psql(sql: string): string {
  return docker(psqlArgs(specs.postgres.containerName, specs.postgres.ports[0].internal), {
    input: sql,
  }).trim();
}

const { api: weaviate, graphql } = weaviateClient(
  () => weaviatePort,
  () => secrets.weaviateApiKey,
);

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

const random = generator(7);
const VECTORS = Array.from({ length: WEAVIATE_OBJECTS }, () =>
  Array.from({ length: DIMENSIONS }, () => Math.round((random() * 2 - 1) * 1e6) / 1e6),
);
const objectId = (i: number) => `00000000-0000-4000-8000-${i.toString(16).padStart(12, "0")}`;

/** The object count and, for the first 3 objects by id (the drill's query vectors), the top-10 ids. */
async function weaviateState(): Promise<{ count: number; nearest: string[][] }> {
  const aggregate = await graphql(`{ Aggregate { ${WEAVIATE_CLASS} { meta { count } } } }`);
  const count = (aggregate.Aggregate as Record<string, { meta: { count: number } }[]>)[WEAVIATE_CLASS][0].meta
    .count;
  const nearest: string[][] = [];
  for (const i of [0, 1, 2]) {
    const data = await graphql(
      `{ Get { ${WEAVIATE_CLASS}(nearVector: { vector: ${JSON.stringify(VECTORS[i])} }, limit: 10) { _additional { id } } } }`,
    );
    nearest.push(
      (data.Get as Record<string, { _additional: { id: string } }[]>)[WEAVIATE_CLASS].map(
        (hit) => hit._additional.id,
      ),
    );
  }
  return { count, nearest };
}

async function until(what: string, seconds: number, check: () => boolean): Promise<void> {
  const deadline = Date.now() + seconds * 1000;
  for (;;) {
    try {
      if (check()) return;
    } catch {
      // not yet
    }
    if (Date.now() > deadline) throw new Error(`${what}: not within ${seconds} s`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

const health = (name: string) => docker(["inspect", "--format", "{{.State.Health.Status}}", name]).trim();

/** The backup container as planned: its env (the bucket through the relay), files copied in, its schedule. */
function startBackupContainer(relayUrl: string): void {
  const spec = specs.backup;
  const env = { ...spec.env, BACKUP_ENDPOINT: relayUrl };
  const files = mkdtempSync(join(tmpdir(), "orchestra-drill-files-"));
  try {
    chmodSync(files, 0o700);
    for (const file of spec.files ?? []) {
      const secret = /^\{secret:(\w+)\}$/.exec(file.content);
      const path = join(files, file.path);
      mkdirSync(join(path, ".."), { recursive: true });
      writeFileSync(path, secret !== null ? secrets[secret[1]] : file.content, {
        mode: Number.parseInt(file.mode ?? "0644", 8),
      });
    }
    docker([
      "create",
      "--name",
      spec.containerName,
      "--network",
      network,
      ...Object.entries(env).flatMap(([name, value]) => ["-e", `${name}=${value}`]),
      ...spec.volumes.flatMap((volume) => [
        "-v",
        `${volume.volumeName}:${volume.containerPath}${volume.readOnly === true ? ":ro" : ""}`,
      ]),
      IMAGE,
      ...(spec.command ?? []),
    ]);
    docker(["cp", `${files}/.`, `${spec.containerName}:/`]);
    docker(["start", spec.containerName]);
  } finally {
    rmSync(files, { recursive: true, force: true });
  }
}

/** A TCP relay: listens on argv[1] (a free port), forwards to 127.0.0.1:argv[2], prints its port. */
const RELAY = `
const net = require("net");
const [host, port] = process.argv.slice(1);
const server = net.createServer((socket) => {
  const upstream = net.createConnection({ host: "127.0.0.1", port: Number(port) });
  socket.pipe(upstream).pipe(socket);
  socket.on("error", () => upstream.destroy());
  upstream.on("error", () => socket.destroy());
});
server.listen(0, host, () => console.log(server.address().port));
`;

const PG_CHECKSUM = `SELECT count(*) || ' ' || md5(string_agg(i::text, E'\\n' ORDER BY id)) FROM items i`;

beforeAll(
  async () => {
    buildBackupImage(IMAGE);
    buildWeaviateImage();
    installS3Server();
    serverDir = mkdtempSync(join(tmpdir(), "orchestra-drill-s3-"));
    root = mkdtempSync(join(tmpdir(), "orchestra-drill-root-"));
    server = startS3Server(serverDir);
    for (const name of ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_REGION"]) {
      savedEnv[name] = process.env[name];
      process.env[name] = server[name];
    }
    admin = new S3Client({ endpoint: server.S3_ENDPOINT, region: server.AWS_REGION, forcePathStyle: true });
    await admin.send(new CreateBucketCommand({ Bucket: BUCKET }));

    // The test stack: staging's file with this bucket and the stand-in images.
    const staging = readFileSync(join(__dirname, "..", "..", "Pulumi.staging.yaml"), "utf8");
    const file = staging
      .replace(
        /bucket: orchestra-backups-staging/,
        `bucket: ${BUCKET}\n    endpoint: ${PLACEHOLDER_ENDPOINT}`,
      )
      .concat(
        `  orchestra:images:\n    postgres: ${STANDIN_IMAGES.postgres}\n    redis: ${STANDIN_IMAGES.redis}\n    weaviate: ${WEAVIATE_TEST_IMAGE}\n    orchestra-backup: ${IMAGE}\n`,
      );
    writeFileSync(join(root, `Pulumi.${STACK}.yaml`), file);
    const { raw, setKeys } = stackFileConfig(file);
    const plan = planLayer(validateStackConfig(raw, SECRET_KEYS, setKeys), {
      project: "orchestra",
      stack: STACK,
    });
    const data = plan.containers?.data;
    const backups = plan.containers?.backups;
    if (data === undefined || backups === undefined)
      throw new Error("the test stack plans no stores or backups");
    const of = (service: string) => data.containers.find((spec) => spec.service === service) as ContainerSpec;
    specs = {
      redis: of("redis"),
      postgres: of("postgres"),
      weaviate: of("weaviate"),
      backup: Object.values(backups.containers).flat()[0],
    };
    network = data.networkName;
    expect([
      specs.redis.containerName,
      specs.postgres.containerName,
      specs.weaviate.containerName,
      specs.backup.containerName,
      network,
    ]).toEqual([
      `${RUN}-stores-redis`,
      `${RUN}-stores-postgres`,
      `${RUN}-stores-weaviate`,
      `${RUN}-backups-data`,
      `${RUN}-stores-net`,
    ]);

    const hex = () => randomBytes(8).toString("hex");
    secrets = {
      backupAccessKeyId: server.AWS_ACCESS_KEY_ID,
      backupSecretAccessKey: server.AWS_SECRET_ACCESS_KEY,
      backupEncryptionKey: ageIdentity(IMAGE),
      databasePassword: `pg-${hex()}:pw\\ '${hex()}`,
      redisPassword: `rd-${hex()} "q\\${hex()}`,
      // Weaviate splits its allowed keys on ",": any other character will do.
      weaviateApiKey: `wv-${hex()} "q'\\${hex()}`,
    };

    docker(["network", "create", network]);
    const gateway = docker([
      "network",
      "inspect",
      "--format",
      "{{(index .IPAM.Config 0).Gateway}}",
      network,
    ]).trim();
    // In a process of its own: this one blocks in execFileSync while a job uploads through it.
    relay = spawn(process.execPath, ["-e", RELAY, gateway, new URL(server.S3_ENDPOINT).port], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    const relayPort = await new Promise<string>((resolve, reject) => {
      relay.stdout?.once("data", (chunk: Buffer) => resolve(chunk.toString().trim()));
      relay.once("exit", (code) => reject(new Error(`the relay exited (${code})`)));
    });

    startStore(specs.redis, redisCommand());
    startStore(specs.postgres);
    // DISABLE_TELEMETRY is the test's own (no way out from here); the drill's scratch copy inherits it.
    const port = storePort(data.settings.ports, "weaviate");
    startStore(specs.weaviate, undefined, ["-e", "DISABLE_TELEMETRY=true", "-p", `127.0.0.1::${port}`]);
    weaviatePort = Number(
      /:(\d+)$/m.exec(docker(["port", specs.weaviate.containerName, `${port}/tcp`]))?.[1],
    );
    startBackupContainer(`http://${gateway}:${relayPort}`);
    await until("the stores are healthy", 120, () =>
      [specs.redis, specs.postgres, specs.weaviate].every((spec) => health(spec.containerName) === "healthy"),
    );
  },
  15 * 60 * 1000,
);

afterAll(() => {
  process.stderr.write(`[backup-drill measured] ${JSON.stringify(measured)}\n`);
  admin?.destroy();
  relay?.kill();
  for (const [name, value] of Object.entries(savedEnv))
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  removeRunObjects(RUN);
  if (network !== undefined) execFileSync("docker", ["network", "rm", network], { stdio: "ignore" });
  try {
    if (serverDir !== undefined) stopS3Server(serverDir);
  } finally {
    for (const dir of [serverDir, root]) if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  }
  expect(runObjects(RUN)).toEqual({ containers: "", volumes: "" });
});

let redisBefore: { digest: string; dbsize: string };
let pgBefore: string;
let weaviateBefore: Awaited<ReturnType<typeof weaviateState>>;
type Drilled = "redis" | "postgres" | "weaviate";
let ids: Record<Drilled, string>;
let verifyLines: Record<Drilled, string>;

const redisState = () => ({ digest: redis("DEBUG", "DIGEST"), dbsize: redis("DBSIZE") });

test("1. data written and backed up by the backup container's own job", async () => {
  const resp = (...words: string[]) =>
    `*${words.length}\r\n${words.map((word) => `$${Buffer.byteLength(word)}\r\n${word}\r\n`).join("")}`;
  const commands = Array.from({ length: REDIS_KEYS }, (_, i) =>
    i % 5 === 0 ? resp("SET", `k:${i}`, hexOf(i), "EX", "86400") : resp("HSET", `h:${i}`, "a", hexOf(i)),
  ).join("");
  docker(["exec", "-i", "-e", "REDISCLI_AUTH", specs.redis.containerName, "redis-cli", "--pipe"], {
    env: { REDISCLI_AUTH: secrets.redisPassword },
    input: commands,
  });
  psql(`CREATE TABLE items (id bigint PRIMARY KEY, name text NOT NULL, created timestamptz NOT NULL);
    INSERT INTO items SELECT g, 'item-' || g, timestamptz '2026-01-01 00:00:00+00' + g * interval '1 second'
      FROM generate_series(1, ${PG_ROWS}) g;
    CREATE TABLE notes (id serial PRIMARY KEY, body text);
    INSERT INTO notes (body) VALUES ('one'), ('two'), (NULL);`);
  await weaviate("POST", "/v1/schema", {
    class: WEAVIATE_CLASS,
    vectorizer: "none",
    properties: [{ name: "n", dataType: ["int"] }],
  });
  for (let start = 0; start < WEAVIATE_OBJECTS; start += 500) {
    const objects = VECTORS.slice(start, start + 500).map((vector, offset) => ({
      class: WEAVIATE_CLASS,
      id: objectId(start + offset),
      properties: { n: start + offset },
      vector,
    }));
    const results = (await weaviate("POST", "/v1/batch/objects", { objects })) as {
      result: { errors?: unknown };
    }[];
    expect(results.flatMap((result) => result.result.errors ?? [])).toEqual([]);
  }
  redisBefore = redisState();
  pgBefore = psql(PG_CHECKSUM);
  weaviateBefore = await weaviateState();
  expect(redisBefore.dbsize).toBe(String(REDIS_KEYS));
  expect(weaviateBefore.count).toBe(WEAVIATE_OBJECTS);
  // Each query vector is an object's own: it finds itself first.
  expect(weaviateBefore.nearest.map((nearest) => [nearest.length, nearest[0]])).toEqual(
    [0, 1, 2].map((i) => [10, objectId(i)]),
  );

  for (const [store, kind] of [
    ["redis", "rdb"],
    ["postgres", "dump"],
    ["weaviate", "snapshot"],
  ])
    docker(["exec", specs.backup.containerName, "orchestra-backup", "run", store, kind]);
  const s3 = new S3BackupStore({
    endpoint: server.S3_ENDPOINT,
    region: "us-east-1",
    bucket: BUCKET,
    prefix: "orchestra",
  });
  try {
    const newest = async (store: Drilled) => newestComplete(await s3.list(STACK, store))?.backupId as string;
    ids = {
      redis: await newest("redis"),
      postgres: await newest("postgres"),
      weaviate: await newest("weaviate"),
    };
    const line = async (store: Drilled) => {
      const outcome = await s3.verify(STACK, store, ids[store]);
      return outcome.line;
    };
    verifyLines = {
      redis: await line("redis"),
      postgres: await line("postgres"),
      weaviate: await line("weaviate"),
    };
  } finally {
    s3.destroy();
  }
  expect(verifyLines.redis).toMatch(new RegExp(`^verified redis ${ids.redis}: 1 objects, \\d+ bytes$`));
});

function hexOf(i: number): string {
  return createHash("sha256").update(String(i)).digest("hex").slice(0, 16);
}

/** The stamp of a drill's scratch objects, from its output. */
const stampOf = (out: string) => /-drill-(\d{8}T\d{6}Z)/.exec(out)?.[1] as string;

function drillLines(store: Drilled, stamp: string): string[] {
  const live = specs[store].containerName;
  const scratch = `${live}-drill-${stamp}`;
  const job = `${specs.backup.containerName}-drill-${stamp}`;
  const volume = `${specs[store].volumes[0].volumeName}-drill-${stamp}`;
  const image = {
    redis: STANDIN_IMAGES.redis,
    postgres: STANDIN_IMAGES.postgres,
    weaviate: WEAVIATE_TEST_IMAGE,
  }[store];
  const start = [`[drill] ${store}: starting ${scratch} (${image})`];
  const restore = [`[drill] ${store}: restoring ${ids[store]} with ${job}`];
  return [
    `[drill] ${store}: ${verifyLines[store]}`,
    `[drill] ${store}: creating volume ${volume}`,
    ...(store === "redis" ? [...restore, ...start] : [...start, ...restore]),
    `[drill] ${store}: comparing ${scratch} with ${live}`,
  ];
}

/** The drill's summary of a top-10 list: `10 ids, first <id>, sha256 <first 12 hex of the ids joined by \n>`. */
const idsSummary = (nearest: string[]) =>
  `${nearest.length} ids, first ${nearest[0]}, sha256 ${createHash("sha256").update(nearest.join("\n")).digest("hex").slice(0, 12)}`;

test("2. drill: the three stores restored into scratch containers, equal, scratch objects removed; no secret on any argv", async () => {
  const result = await backup(["drill", "--stack", STACK]);
  expect({ code: result.code, err: result.err, out: result.code === 0 ? "" : result.out }).toEqual({
    code: 0,
    err: "",
    out: "",
  });
  const stamp = stampOf(result.out);
  const pgTable = (rows: number, table: string) => {
    const [count, md5] = psql(
      `SELECT count(*) || ' ' || md5(coalesce(string_agg(t::text, E'\\n' ORDER BY t::text), '')) FROM public.${table} t`,
    ).split(" ");
    expect(Number(count)).toBe(rows);
    return `${count} rows, md5 ${md5}`;
  };
  const items = pgTable(PG_ROWS, "items");
  const notes = pgTable(3, "notes");
  const pad = (cells: string[], widths: number[]) =>
    cells
      .map((cell, i) => cell.padEnd(widths[i]))
      .join("  ")
      .trimEnd();
  const table = (rows: string[][]) => {
    const all = [["check", "live", "restored", ""], ...rows];
    const widths = all[0].map((_, i) => Math.max(...all.map((row) => row[i].length)));
    return [
      pad(all[0], widths),
      pad(
        widths.map((w) => "-".repeat(w)),
        widths,
      ),
      ...rows.map((row) => pad(row, widths)),
    ];
  };
  expect(steps(result.out)).toEqual([
    ...drillLines("postgres", stamp),
    ...table([
      ["public.items", items, items, "equal"],
      ["public.notes", notes, notes, "equal"],
    ]),
    `drill postgres ${ids.postgres}: equal`,
    `[drill] postgres: removed ${specs.postgres.containerName}-drill-${stamp}, ${specs.backup.containerName}-drill-${stamp}, ${specs.postgres.volumes[0].volumeName}-drill-${stamp}`,
    "[drill] postgres: drill took N s",
    ...drillLines("redis", stamp),
    ...table([
      ["DBSIZE", redisBefore.dbsize, redisBefore.dbsize, "equal"],
      ["DEBUG DIGEST", redisBefore.digest, redisBefore.digest, "equal"],
    ]),
    `drill redis ${ids.redis}: equal`,
    `[drill] redis: removed ${specs.backup.containerName}-drill-${stamp}, ${specs.redis.containerName}-drill-${stamp}, ${specs.redis.volumes[0].volumeName}-drill-${stamp}`,
    "[drill] redis: drill took N s",
    ...drillLines("weaviate", stamp),
    ...table([
      [`${WEAVIATE_CLASS} objects`, String(WEAVIATE_OBJECTS), String(WEAVIATE_OBJECTS), "equal"],
      ...weaviateBefore.nearest.map((nearest, i) => [
        `${WEAVIATE_CLASS} nearVector ${objectId(i)}`,
        idsSummary(nearest),
        idsSummary(nearest),
        "equal",
      ]),
    ]),
    `drill weaviate ${ids.weaviate}: equal`,
    `[drill] weaviate: removed ${specs.weaviate.containerName}-drill-${stamp}, ${specs.backup.containerName}-drill-${stamp}, ${specs.weaviate.volumes[0].volumeName}-drill-${stamp}`,
    "[drill] weaviate: drill took N s",
    "[drill] 3 stores drilled in N s",
  ]);
  // The scratch job's own lines came through (restore of each backup).
  expect(result.out).toContain(`[orchestra-backup] redis ${ids.redis}: downloaded and checked 1 objects`);
  expect(docker(["ps", "-a", "-q", "--filter", `label=org.orchestra.drill=${stamp}`])).toBe("");
  expect(docker(["volume", "ls", "-q", "--filter", `label=org.orchestra.drill=${stamp}`])).toBe("");
  expect(envFiles.length).toBeGreaterThan(0);
  for (const path of envFiles) expect({ path, exists: existsSync(path) }).toEqual({ path, exists: false });
  measured.wholeDrillSeconds = result.seconds;
  measured.drillLines = result.out
    .split("\n")
    .filter((line) => / drill took | stores drilled in /.test(line))
    .join("; ");
});

test("3. drill after live writes: differs, says why, exit 1; scratch objects still removed", async () => {
  redis("SET", "written-after-the-backup", "1");
  psql("INSERT INTO notes (body) VALUES ('after the backup')");
  const result = await backup(["drill", "--stack", STACK, "--store", "postgres"]);
  expect(result.code).toBe(1);
  const verdict = steps(result.out).find((line) => line.startsWith("drill postgres"));
  expect(verdict).toMatch(
    new RegExp(
      `^drill postgres ${ids.postgres}: differs in public\\.notes \\(a live store written after the backup finished, \\S+, differs by those writes; one without writes since must be equal\\)$`,
    ),
  );
  const stamp = stampOf(result.out);
  expect(docker(["ps", "-a", "-q", "--filter", `label=org.orchestra.drill=${stamp}`])).toBe("");
});

test("4. restore redis: without --yes the plan (exit 2, nothing touched); with --yes stop, restore, start, healthy", async () => {
  const startedAt = docker(["inspect", "--format", "{{.State.StartedAt}}", specs.redis.containerName]).trim();
  const plan = await backup(["restore", "--stack", STACK, "--store", "redis"]);
  expect(plan).toEqual({
    code: 2,
    err: "",
    out: [
      `[restore] redis: ${verifyLines.redis}`,
      `restore redis ${ids.redis} on stack ${STACK} would run, on the node's Docker engine:`,
      `  docker stop ${specs.redis.containerName}`,
      `  docker exec ${specs.backup.containerName} orchestra-backup restore redis ${ids.redis}`,
      `  docker start ${specs.redis.containerName}, then wait until it is healthy`,
      "Redis is down meanwhile; the files it replaces are kept in before-restore-<UTC time>/ in its volume.",
      "Nothing was changed. Run it again with --yes to restore.",
      "",
    ].join("\n"),
    seconds: expect.any(Number),
  });
  expect(docker(["inspect", "--format", "{{.State.StartedAt}}", specs.redis.containerName]).trim()).toBe(
    startedAt,
  );

  const result = await backup(["restore", "--stack", STACK, "--store", "redis", "--yes"]);
  expect(result.err).toBe("");
  expect(result.code).toBe(0);
  expect(steps(result.out)).toEqual([
    `[restore] redis: ${verifyLines.redis}`,
    `[restore] redis: stopping ${specs.redis.containerName}`,
    `[restore] redis: restoring ${ids.redis} in ${specs.backup.containerName}`,
    `[restore] redis: starting ${specs.redis.containerName}`,
    `[restore] redis: ${specs.redis.containerName} is healthy`,
    `[restore] redis: restored ${ids.redis} in N s`,
  ]);
  expect(redis("EXISTS", "written-after-the-backup")).toBe("0");
  expect(redisState()).toEqual(redisBefore);
  measured.redisRestoreSeconds = result.seconds;
});

test("5. restore postgres (pg_dump) into the live database; a damaged backup is refused with verify's line, nothing touched", async () => {
  const result = await backup([
    "restore",
    "--stack",
    STACK,
    "--store",
    "postgres",
    "--backup",
    ids.postgres,
    "--yes",
  ]);
  expect({ code: result.code, err: result.err }).toEqual({ code: 0, err: "" });
  expect(steps(result.out)).toEqual([
    `[restore] postgres: ${verifyLines.postgres}`,
    `[restore] postgres: restoring ${ids.postgres} into the live database in ${specs.backup.containerName}`,
    `[restore] postgres: restored ${ids.postgres} in N s`,
  ]);
  expect(psql(PG_CHECKSUM)).toBe(pgBefore);
  measured.pgRestoreSeconds = result.seconds;

  // One flipped byte: the CLI's own verify refuses before any docker command.
  const key = `orchestra/${STACK}/redis/${ids.redis}/dump.rdb.age`;
  const path = join(serverDir, "data", BUCKET, key);
  const bytes = readFileSync(path);
  bytes[200] ^= 0x01;
  writeFileSync(path, bytes);
  const sha = createHash("sha256").update(bytes).digest("hex");
  const ran = argvs.length;
  const refused = await backup(["restore", "--stack", STACK, "--store", "redis", "--yes"]);
  expect({ code: refused.code, out: refused.out }).toEqual({ code: 1, out: "" });
  expect(refused.err).toMatch(
    new RegExp(
      `^redis ${ids.redis}: object dump\\.rdb\\.age: sha256 ${sha} does not match the manifest's [0-9a-f]{64}\\n$`,
    ),
  );
  expect(argvs.length).toBe(ran);
  bytes[200] ^= 0x01;
  writeFileSync(path, bytes);
});

test("5b. restore weaviate: the class deleted, then the job's restore through the CLI brings back the same count and top-10s", async () => {
  await weaviate("DELETE", `/v1/schema/${WEAVIATE_CLASS}`);
  expect(((await weaviate("GET", "/v1/schema")) as { classes: unknown[] }).classes).toEqual([]);
  const result = await backup(["restore", "--stack", STACK, "--store", "weaviate", "--yes"]);
  expect({ code: result.code, err: result.err }).toEqual({ code: 0, err: "" });
  expect(steps(result.out)).toEqual([
    `[restore] weaviate: ${verifyLines.weaviate}`,
    `[restore] weaviate: restoring ${ids.weaviate} into ${specs.weaviate.containerName} in ${specs.backup.containerName}`,
    `[restore] weaviate: restored ${ids.weaviate} in N s`,
  ]);
  expect(await weaviateState()).toEqual(weaviateBefore);
  measured.weaviateRestoreSeconds = result.seconds;
});

test("6. no argv the CLI ran held a secret; env files and secret files went by file and pipe", () => {
  expect(argvs.length).toBeGreaterThan(20);
  const all = argvs.map((argv) => argv.join(" ")).join("\n");
  for (const [name, value] of Object.entries(secrets))
    expect({ name, found: all.includes(value) }).toEqual({ name, found: false });
  expect(argvs).toContainEqual(["cp", `${specs.backup.containerName}:${BACKUP_FILE_PATHS.secretsDir}`, "-"]);
  expect(argvs.some((argv) => argv.includes("--env-file"))).toBe(true);
  expect(argvs.some((argv) => argv.includes("-e"))).toBe(false);
});
