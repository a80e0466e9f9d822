/**
 * Services tier: the backup container's long-running side (images/backup, `orchestra-backup
 * schedule` and `health`) on a real Docker engine against a real S3-compatible server (versitygw,
 * infra/testing/s3Server.ts) and the stand-in Redis started as components/dataServicesPlan.ts plans
 * it. The backup container is components/backupsPlan.ts's own spec, created through the Engine API
 * as the Docker provider creates it: its command, environment, exec-form healthcheck and timing,
 * restart policy and limits; its files (the crontab and the 0600 secret files) copied in at their
 * planned paths and modes before it starts. Two changes, both forced by the test: the crontab runs
 * every minute (`* * * * * orchestra-backup run redis rdb`), and REDIS_HOST is 127.0.0.1 (every
 * container is on the host's network, since versitygw listens on the host's loopback; the planned
 * value is the Redis container's name on the stores' network).
 *
 * A watcher in the container (python3, polling /proc every millisecond) records every process's
 * command line, so the test shows no secret was ever on one. What the schedule wrote is read back
 * through the project's S3BackupStore (list, verify). The steps run in order. Timings (how long
 * after the minute a scheduled run starts, a backup's duration) are printed at the end, not asserted.
 */
import { execFileSync, spawnSync } from "child_process";
import { createHash, randomBytes } from "crypto";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "fs";
import { request } from "http";
import { tmpdir } from "os";
import { dirname, join } from "path";
import { CreateBucketCommand, S3Client } from "@aws-sdk/client-s3";
import { planBackups } from "../../components/backupsPlan";
import { BACKUP_FILE_PATHS } from "../../components/backupsFiles";
import {
  fileSecrets,
  renderFileSecrets,
  type ContainerSpec,
  type SecretName,
} from "../../components/containerSpec";
import { planDataServices } from "../../components/dataServicesPlan";
import type { BackupSettings as PlanSettings } from "../../stacks/configBackup";
import { S3BackupStore, type BackupListing } from "./backupStore";
import type { Manifest } from "./manifest";
import { freePorts, removeRunObjects, runObjects, uniqueRunId } from "../testing/dockerCli";
import { STANDIN_IMAGES } from "../testing/standinImages";
import { installS3Server, startS3Server, stopS3Server } from "../testing/s3Server";
import { ageIdentity, argvWatcher, buildBackupImage } from "../testing/backupImage";

jest.setTimeout(20 * 60 * 1000);

const RUN = uniqueRunId("bksched");
/** This run's own tag: another test's build of orchestra-backup:test cannot change it mid-run. */
const IMAGE = `orchestra-backup:${RUN}`;
const BUCKET = `orchestra-sched-${process.pid}`;
const STACK = "svc";
const PREFIX = "orchestra";
const CRONTAB = "* * * * * orchestra-backup run redis rdb\n";
/** One line of the container's log from a scheduled job: `<ISO time, ms> [orchestra-backup] ...`. */
const STAMPED = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z) (\[orchestra-backup\] .*)$/;

let serverDir: string;
let filesDir: string;
let server: Record<string, string>;
let admin: S3Client;
let store: S3BackupStore;
let secrets: Record<string, string>;
let redisSpec: ContainerSpec;
let backupSpec: ContainerSpec;
let redisPort: number;
const savedEnv: Record<string, string | undefined> = {};
const measured: Record<string, number[]> = { secondsAfterMinute: [], backupSeconds: [], runSeconds: [] };

// --- docker ---------------------------------------------------------------------------------------

/** `docker <args>`; `env` adds variables for `-e NAME` (value from the CLI's environment, not argv). */
function docker(args: string[], options: { env?: Record<string, string> } = {}): string {
  return execFileSync("docker", args, {
    encoding: "utf8",
    env: { ...process.env, ...options.env },
    stdio: ["ignore", "pipe", "pipe"],
    maxBuffer: 64 * 1024 * 1024,
  });
}

/** A container's output, stdout and stderr. */
function logsOf(name: string): string {
  const result = spawnSync("docker", ["logs", name], { encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
  return `${result.stdout}${result.stderr}`;
}

/** One call of the Docker Engine API on its socket (what the Docker provider speaks); the parsed JSON answer. */
function engine(method: string, path: string, body?: unknown): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const req = request(
      { socketPath: "/var/run/docker.sock", method, path, headers: { "Content-Type": "application/json" } },
      (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => (text += chunk));
        res.on("end", () => {
          if ((res.statusCode ?? 500) >= 300)
            reject(new Error(`${method} ${path}: ${res.statusCode} ${text}`));
          else resolve(text === "" ? {} : JSON.parse(text));
        });
      },
    );
    req.on("error", reject);
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

const NANOS = 1_000_000_000;

/**
 * Creates (not starts) the planned backup container as the Docker provider would, on the host's
 * network; `restart: false` leaves Docker's default ("no"), for a container meant to exit once.
 */
async function createBackupContainer(name: string, restart = true): Promise<void> {
  const check = backupSpec.healthCheck;
  if (check === undefined) throw new Error("the planned backup container has no healthcheck");
  const env = { ...backupSpec.env, REDIS_HOST: "127.0.0.1" };
  await engine("POST", `/containers/create?name=${encodeURIComponent(name)}`, {
    Image: IMAGE,
    Cmd: backupSpec.command,
    Env: Object.entries(env).map(([key, value]) => `${key}=${value}`),
    Healthcheck: {
      Test: check.test,
      Interval: check.intervalSeconds * NANOS,
      Timeout: check.timeoutSeconds * NANOS,
      Retries: check.retries,
      StartPeriod: check.startPeriodSeconds * NANOS,
    },
    HostConfig: {
      NetworkMode: "host",
      RestartPolicy: { Name: restart ? backupSpec.restart : "no" },
      Memory: backupSpec.memoryMiB * 1024 * 1024,
      MemorySwap: backupSpec.memoryMiB * 1024 * 1024,
      NanoCpus: backupSpec.cpus * NANOS,
    },
  });
}

/**
 * Copies files into container `name` at their paths with their modes (the planned files, secrets
 * rendered; `content` overrides a path's content). Parent folders are created 0755.
 */
function copyFiles(name: string, files: readonly { path: string; content: string; mode: string }[]): void {
  const tree = mkdtempSync(join(filesDir, "tree-"));
  chmodSync(tree, 0o755);
  for (const file of files) {
    const local = join(tree, file.path);
    mkdirSync(dirname(local), { recursive: true, mode: 0o755 });
    writeFileSync(local, file.content);
    chmodSync(local, Number.parseInt(file.mode, 8));
  }
  docker(["cp", `${tree}/.`, `${name}:/`]);
  rmSync(tree, { recursive: true, force: true });
}

/** The planned files with their secrets rendered, the crontab's content replaced by `crontab`. */
function plannedFiles(crontab: string): { path: string; content: string; mode: string }[] {
  return (backupSpec.files ?? []).map((file) => ({
    path: file.path,
    mode: file.mode ?? "0644",
    content:
      file.path === BACKUP_FILE_PATHS.crontab
        ? crontab
        : fileSecrets(file.content).length > 0
          ? renderFileSecrets(file.content, secrets as Record<SecretName, string>)
          : file.content,
  }));
}

const WATCHER = argvWatcher("/tmp/cmdlines");

/** Starts the watcher in the running container `name` (again after a restart). */
function watch(name: string): void {
  docker(["exec", "-d", name, "python3", "/tmp/watch.py"]);
}

/** Polls `check` every 500 ms until it returns true; throws after `seconds`. */
async function until(what: string, seconds: number, check: () => boolean | Promise<boolean>): Promise<void> {
  const deadline = Date.now() + seconds * 1000;
  for (;;) {
    try {
      if (await check()) return;
    } catch {
      // not yet
    }
    if (Date.now() > deadline) throw new Error(`${what}: not within ${seconds} s`);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

interface Health {
  readonly status: string;
  /** The last check's output. */
  readonly output: string;
}

function healthOf(name: string): Health {
  const state = JSON.parse(docker(["inspect", "--format", "{{json .State.Health}}", name])) as {
    Status: string;
    Log: { Output: string }[] | null;
  };
  const log = state.Log ?? [];
  return { status: state.Status, output: log.length > 0 ? log[log.length - 1].Output : "" };
}

/** Asserts no secret's value is in `text` (none is shorter than 20 characters, so no chance match). */
function expectNoSecret(text: string): void {
  for (const [name, value] of Object.entries(secrets))
    expect({ name, found: text.includes(value) }).toEqual({ name, found: false });
}

// --- the bucket and the log -----------------------------------------------------------------------

const sha256 = (bytes: Buffer) => createHash("sha256").update(bytes).digest("hex");
const storedPath = (key: string) => join(serverDir, "data", BUCKET, key);

/** The complete backups of the Redis listing, oldest first, with their manifests. */
async function completeBackups(): Promise<{ backupId: string; manifest: Manifest }[]> {
  const listing: BackupListing = await store.list(STACK, "redis");
  return listing.backups.flatMap((entry) =>
    entry.judgement.state === "complete"
      ? [{ backupId: entry.backupId, manifest: entry.judgement.manifest }]
      : [],
  );
}

/**
 * The lines of the scheduled run that wrote `backupId`, in the container's log, each split into
 * its time and its text; from the run's "started" line to its "exit" line.
 */
function runLines(log: string, backupId: string): { time: string; text: string }[] {
  const stamped = log
    .split("\n")
    .map((line) => STAMPED.exec(line))
    .flatMap((match) => (match === null ? [] : [{ time: match[1], text: match[2] }]));
  const own = stamped.findIndex((line) => line.text.includes(` redis ${backupId}: started;`));
  if (own < 1) throw new Error(`no scheduled run of ${backupId} in the log:\n${log}`);
  const end = stamped.findIndex(
    (line, index) => index > own && line.text.startsWith("[orchestra-backup] scheduled run redis rdb: exit"),
  );
  return stamped.slice(own - 1, end + 1);
}

/** Records when the run of `backupId` started after its minute, how long the backup and the run took. */
function measure(lines: readonly { time: string; text: string }[], manifest: Manifest): void {
  const started = Date.parse(lines[0].time);
  measured.secondsAfterMinute.push((started % 60_000) / 1000);
  measured.backupSeconds.push((Date.parse(manifest.finishedAt) - Date.parse(manifest.startedAt)) / 1000);
  measured.runSeconds.push(Number(/after ([\d.]+) s$/.exec(lines[lines.length - 1].text)?.[1]));
}

// --- setup ----------------------------------------------------------------------------------------

beforeAll(
  async () => {
    buildBackupImage(IMAGE);
    installS3Server();
    serverDir = mkdtempSync(join(tmpdir(), "orchestra-backup-sched-s3-"));
    filesDir = mkdtempSync(join(tmpdir(), "orchestra-backup-sched-files-"));
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

    const hex = () => randomBytes(8).toString("hex");
    secrets = {
      backupAccessKeyId: server.AWS_ACCESS_KEY_ID,
      backupSecretAccessKey: server.AWS_SECRET_ACCESS_KEY,
      backupEncryptionKey: ageIdentity(IMAGE),
      redisPassword: `rd-${hex()} "q\\${hex()}`,
    };

    [redisPort] = await freePorts(1);
    const data = planDataServices(RUN, {
      stores: ["redis"],
      images: {
        postgres: STANDIN_IMAGES.postgres,
        redis: STANDIN_IMAGES.redis,
        weaviate: STANDIN_IMAGES.weaviate,
      },
      ports: { redis: redisPort },
      bindAddress: "127.0.0.1",
    });
    redisSpec = data.containers.find((spec) => spec.service === "redis") as ContainerSpec;
    const settings: PlanSettings = {
      endpoint: server.S3_ENDPOINT,
      region: server.AWS_REGION,
      bucket: BUCKET,
      prefix: PREFIX,
      hourUtc: 3,
      storage: { estimateGiB: 1, usdPerGiBMonth: 0.023 },
      retentionDays: 7,
      schedule: { postgres: [], redis: [{ type: "rdb", cadence: "hourly" }], weaviate: [] },
    };
    const plan = planBackups(`${RUN}-backups`, { settings, stack: STACK, node: "data", image: IMAGE, data });
    backupSpec = plan.containers.data[0];

    // Redis as planned (its password in its stdin config), on the host's network.
    docker(
      [
        "run",
        "-d",
        "--name",
        redisSpec.containerName,
        "--network",
        "host",
        ...Object.entries(redisSpec.env).flatMap(([key, value]) => ["-e", `${key}=${value}`]),
        ...Object.keys(redisSpec.secretEnv).flatMap((key) => ["-e", key]),
        ...redisSpec.volumes.flatMap((volume) => ["-v", `${volume.volumeName}:${volume.containerPath}`]),
        redisSpec.image,
        ...(redisSpec.command ?? []),
      ],
      {
        env: Object.fromEntries(
          Object.entries(redisSpec.secretEnv).map(([key, secret]) => [key, secrets[secret]]),
        ),
      },
    );
    await until("Redis answers PING", 60, () => redis("PING") === "PONG");
    for (let i = 0; i < 100; i++) redis("SET", `key:${i}`, `value-${i}`);
  },
  15 * 60 * 1000,
);

/** redis-cli in the Redis container, authenticated through REDISCLI_AUTH. */
function redis(...args: string[]): string {
  return docker(
    ["exec", "-e", "REDISCLI_AUTH", redisSpec.containerName, "redis-cli", "-p", String(redisPort), ...args],
    { env: { REDISCLI_AUTH: secrets.redisPassword } },
  ).trim();
}

afterAll(() => {
  process.stderr.write(`[backup-schedule measured] ${JSON.stringify(measured)}\n`);
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
    for (const dir of [serverDir, filesDir])
      if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  }
  expect(runObjects(RUN)).toEqual({ containers: "", volumes: "" });
});

// --- the steps ------------------------------------------------------------------------------------

const name = () => backupSpec.containerName;
/** Every command line the watcher saw in the backup container, across its restarts. */
const cmdlines = new Set<string>();
function collectCmdlines(): void {
  const seen = docker(["exec", name(), "cat", "/tmp/cmdlines"]).split("\n").filter(Boolean);
  for (const line of seen) cmdlines.add(line);
}
let first: { backupId: string; manifest: Manifest };

test("1. the planned container: schedule runs the crontab's job on time; a complete backup, healthy, the job's lines in the log with times", async () => {
  expect(backupSpec.command).toEqual(["orchestra-backup", "schedule", "/etc/orchestra-backup/crontab"]);
  expect(backupSpec.healthCheck?.test).toEqual(["CMD", "orchestra-backup", "health"]);
  expect(backupSpec.restart).toBe("unless-stopped");
  expect(backupSpec.files?.map((file) => [file.path, file.mode])).toEqual([
    ["/etc/orchestra-backup/crontab", "0644"],
    ["/run/secrets/backupAccessKeyId", "0600"],
    ["/run/secrets/backupSecretAccessKey", "0600"],
    ["/run/secrets/backupEncryptionKey", "0600"],
    ["/run/secrets/redisPassword", "0600"],
  ]);
  await createBackupContainer(name());
  copyFiles(name(), [...plannedFiles(CRONTAB), { path: "/tmp/watch.py", content: WATCHER, mode: "0644" }]);
  docker(["start", name()]);
  watch(name());
  expect(
    docker(["exec", name(), "stat", "-c", "%a %U %n", ...(backupSpec.files ?? []).map((file) => file.path)])
      .split("\n")
      .filter(Boolean),
  ).toEqual([
    "644 root /etc/orchestra-backup/crontab",
    "600 root /run/secrets/backupAccessKeyId",
    "600 root /run/secrets/backupSecretAccessKey",
    "600 root /run/secrets/backupEncryptionKey",
    "600 root /run/secrets/redisPassword",
  ]);

  // The settings cron's jobs source: the planned environment and the image's PATH and LANG, root's only.
  await until("schedule wrote the jobs' settings", 30, () => {
    docker(["exec", name(), "test", "-s", "/run/orchestra-backup/env"]);
    return true;
  });
  expect(docker(["exec", name(), "stat", "-c", "%a %U", "/run/orchestra-backup/env"]).trim()).toBe(
    "600 root",
  );
  expect(
    docker(["exec", name(), "sed", "s/=.*//", "/run/orchestra-backup/env"]).split("\n").filter(Boolean),
  ).toEqual([...Object.keys(backupSpec.env), "LANG", "PATH"].sort().map((key) => `export ${key}`));
  await until("a complete backup in the bucket", 150, async () => (await completeBackups()).length === 1);
  [first] = await completeBackups();
  const stored = readFileSync(storedPath(`${PREFIX}/${STACK}/redis/${first.backupId}/dump.rdb.age`));
  expect(first.manifest.objects).toEqual([
    { key: "dump.rdb.age", size: stored.length, sha256: sha256(stored) },
  ]);
  expect(await store.verify(STACK, "redis", first.backupId)).toEqual({
    ok: true,
    objects: 1,
    bytes: stored.length,
    line: `verified redis ${first.backupId}: 1 objects, ${stored.length} bytes`,
  });
  await until("the status file says ok", 30, () =>
    docker(["exec", name(), "cat", "/var/lib/orchestra-backup/status/redis"]).startsWith("ok "),
  );
  expect(docker(["exec", name(), "cat", "/var/lib/orchestra-backup/status/redis"])).toBe(
    `ok ${first.backupId} ${first.manifest.finishedAt}\n`,
  );
  await until("docker reports the container healthy", 90, () => healthOf(name()).status === "healthy");
  expect(healthOf(name())).toEqual({ status: "healthy", output: "health: ok\n" });

  const log = logsOf(name());
  const lines = runLines(log, first.backupId);
  const id = first.backupId;
  const snapshot = /: snapshot of (\d+) bytes$/m.exec(lines.map((line) => line.text).join("\n"));
  expect(lines.map((line) => line.text)).toEqual([
    "[orchestra-backup] scheduled run redis rdb: started",
    `[orchestra-backup] redis ${id}: started; writing to s3://${BUCKET}/${PREFIX}/${STACK}/redis/${id}/`,
    `[orchestra-backup] redis ${id}: dumping (Redis ${first.manifest.engine.version} at 127.0.0.1:${redisPort})`,
    `[orchestra-backup] redis ${id}: snapshot of ${snapshot?.[1]} bytes`,
    `[orchestra-backup] redis ${id}: uploading dump.rdb.age`,
    `[orchestra-backup] redis ${id}: uploaded dump.rdb.age (${stored.length} bytes, sha256 ${sha256(stored)})`,
    `[orchestra-backup] redis ${id}: complete: 1 objects, ${stored.length} bytes; manifest.json written`,
    expect.stringMatching(/^\[orchestra-backup\] scheduled run redis rdb: exit 0 after \d+\.\d s$/),
  ]);
  // What schedule said at start, before any job.
  expect(log.split("\n").slice(0, 1)).toEqual([
    `[orchestra-backup] schedule: 1 job(s) from /etc/orchestra-backup/crontab handed to cron (pid ${docker(["exec", name(), "cat", "/run/orchestra-backup/cron.pid"]).trim()}, times in UTC)`,
  ]);
  measure(lines, first.manifest);
});

test("2. docker restart: the schedule resumes and a second backup appears", async () => {
  collectCmdlines();
  docker(["restart", name()]);
  const restartedAt = Date.now();
  watch(name());
  // A backup started after the restart (one started before it may have completed meanwhile).
  const afterRestart = async () =>
    (await completeBackups()).filter((backup) => Date.parse(backup.manifest.startedAt) > restartedAt);
  await until(
    "a complete backup started after the restart",
    150,
    async () => (await afterRestart()).length > 0,
  );
  const [second] = await afterRestart();
  expect(second.backupId > first.backupId).toBe(true);
  expect((await store.verify(STACK, "redis", second.backupId)).ok).toBe(true);
  const log = logsOf(name());
  // Two starts of the schedule in the one container's log, the second before this run's lines.
  const starts = log.split("\n").filter((line) => line.includes("handed to cron"));
  expect(starts.length).toBe(2);
  expect(log.lastIndexOf(starts[1]) < log.indexOf(` redis ${second.backupId}: started;`)).toBe(true);
  const lines = runLines(log, second.backupId);
  expect(lines[lines.length - 1].text).toMatch(
    /^\[orchestra-backup\] scheduled run redis rdb: exit 0 after \d+\.\d s$/,
  );
  await until("the status file names the second backup", 30, () =>
    docker(["exec", name(), "cat", "/var/lib/orchestra-backup/status/redis"]).includes(second.backupId),
  );
  measure(lines, second.manifest);
});

const WRONG_KEY = `wrong-${randomBytes(16).toString("hex")}`;

test("3. a wrong bucket key: the next run fails, health turns unhealthy with the exact reason, then healthy once fixed", async () => {
  const secretPath = "/run/secrets/backupSecretAccessKey";
  copyFiles(name(), [{ path: secretPath, content: WRONG_KEY, mode: "0600" }]);
  // Every status line seen while waiting: the health output must be one of them, in its words.
  const statuses = new Set<string>();
  const status = () => {
    const line = docker(["exec", name(), "cat", "/var/lib/orchestra-backup/status/redis"]).trim();
    statuses.add(line);
    return line;
  };
  await until("a failed run in the status file", 150, () => status().startsWith("failed "));
  await until("docker reports the container unhealthy", 240, () => {
    status();
    return healthOf(name()).status === "unhealthy";
  });
  const health = healthOf(name());
  const reasons = [...statuses]
    .map((line) => /^failed (\S+) (\d+)$/.exec(line))
    .flatMap((match) =>
      match === null ? [] : [`health: redis: last run failed at ${match[1]} (exit ${match[2]})\n`],
    );
  expect(reasons.length).toBeGreaterThan(0);
  expect(reasons).toContain(health.output);
  expect(health.output).toMatch(
    /^health: redis: last run failed at \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z \(exit 1\)\n$/,
  );
  expect(logsOf(name())).toMatch(
    /^\S+Z \[orchestra-backup\] scheduled run redis rdb: exit 1 after \d+\.\d s$/m,
  );

  const before = (await completeBackups()).length;
  copyFiles(name(), [{ path: secretPath, content: secrets.backupSecretAccessKey, mode: "0600" }]);
  await until(
    "a complete backup after the fix",
    150,
    async () => (await completeBackups()).length === before + 1,
  );
  await until("docker reports the container healthy again", 90, () => healthOf(name()).status === "healthy");
  expect(healthOf(name())).toEqual({ status: "healthy", output: "health: ok\n" });
  expect(status()).toMatch(/^ok \d{8}T\d{6}Z-rdb \S+Z$/);
});

test("4. two runs of one store never overlap: a run that finds the store's lock held says so, exits 75 and records it", async () => {
  const lock = "/var/lib/orchestra-backup/locks/redis";
  const statusFile = "/var/lib/orchestra-backup/status/redis";
  // Holds Redis's lock as a run does (flock on the same file); -n: not behind a scheduled run.
  await until("the test holds the lock", 90, async () => {
    docker([
      "exec",
      "-d",
      name(),
      "flock",
      "-n",
      lock,
      "sh",
      "-c",
      "touch /tmp/held; sleep 20; rm /tmp/held",
    ]);
    await new Promise((resolve) => setTimeout(resolve, 500));
    docker(["exec", name(), "test", "-e", "/tmp/held"]);
    return true;
  });
  const refused = spawnSync("docker", ["exec", name(), "orchestra-backup", "run", "redis", "rdb"], {
    encoding: "utf8",
  });
  expect({ status: refused.status, stdout: refused.stdout, stderr: refused.stderr }).toEqual({
    status: 75,
    stdout: "",
    stderr: `[orchestra-backup] ERROR: redis rdb: another run of redis holds its lock (${lock}); this run is skipped\n`,
  });
  // While the test holds the lock no run can write another status.
  const line = docker(["exec", name(), "cat", statusFile]);
  expect(line).toMatch(/^failed \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z 75\n$/);
  const health = spawnSync("docker", ["exec", name(), "orchestra-backup", "health"], { encoding: "utf8" });
  expect({ status: health.status, stdout: health.stdout }).toEqual({
    status: 1,
    stdout: `health: redis: last run failed at ${line.split(" ")[1]} (exit 75)\n`,
  });
  // Once the lock is free the next scheduled run takes it and records its backup.
  await until("the lock is free again", 30, () => {
    docker(["exec", name(), "flock", "-n", lock, "true"]);
    return true;
  });
  await until("the next scheduled run records ok", 120, () =>
    docker(["exec", name(), "cat", statusFile]).startsWith("ok "),
  );
});

test("5. a bad crontab line: schedule exits 1 at start naming each bad line; nothing runs", async () => {
  const bad = `${RUN}-badcron`;
  await createBackupContainer(bad, false);
  copyFiles(bad, [
    ...plannedFiles(
      [
        "# Backups (test)",
        "* * * * * orchestra-backup run redis rdb",
        "61 * * * * orchestra-backup run redis rdb",
        "15 3 * * * orchestra-backup prune",
        "* * * * * orchestra-backup run redis aof",
        "",
      ].join("\n"),
    ),
  ]);
  docker(["start", bad]);
  expect(docker(["wait", bad]).trim()).toBe("1");
  const file = "/etc/orchestra-backup/crontab";
  expect(logsOf(bad).split("\n").filter(Boolean)).toEqual([
    `[orchestra-backup] ERROR: schedule: ${file} line 3: "61 * * * * orchestra-backup run redis rdb": bad minute (cron)`,
    `[orchestra-backup] ERROR: schedule: ${file} line 4: "15 3 * * * orchestra-backup prune": not five cron fields then "orchestra-backup run <store> <kind>"`,
    `[orchestra-backup] ERROR: schedule: ${file} line 5: "* * * * * orchestra-backup run redis aof": no 'aof' backup of store 'redis' in this image`,
    `[orchestra-backup] ERROR: schedule: ${file}: 3 bad line(s); nothing is scheduled`,
  ]);
  docker(["rm", bad]);
});

test("6. no secret on any command line in the container, in its log, its environment or its command", () => {
  collectCmdlines();
  const seen = [...cmdlines];
  expect(seen).toContain("bash /usr/local/bin/orchestra-backup schedule /etc/orchestra-backup/crontab");
  expect(seen).toContain("cron -f");
  expect(seen).toContainEqual(expect.stringMatching(/cron-run redis rdb$/));
  expect(seen).toContainEqual(
    expect.stringMatching(/^redis-cli -h 127\.0\.0\.1 -p \d+ --no-auth-warning --rdb /),
  );
  expect(seen).toContainEqual(expect.stringMatching(/^rclone rcat backup:/));
  const everything = [
    seen.join("\n"),
    logsOf(name()),
    docker(["inspect", "--format", "{{json .Config}}", name()]),
  ].join("\n");
  expectNoSecret(everything);
  expect(everything.includes(WRONG_KEY)).toBe(false);
});
