/**
 * Services tier: `npm run backup -- restore --at T` (in place) and `drill` (scripts/backup.ts
 * runBackup, the real docker CLI on the local engine) for a pgBackRest Postgres, on a stack planned
 * from Pulumi.production.yaml (stacks/layerPlan.ts planLayer): Postgres from the stand-in image with
 * production's archiving command as withWalArchiving gives it, the backup container with the
 * planner's environment, volumes (the data volume read-only), command, pgbackrest.conf and secret
 * files, and versitygw over TLS with its `localhost` certificate (pgBackRest speaks S3 only over TLS
 * and checks the host name).
 *
 * One departure from the plan: the backup container runs on the host's network, not the stores'
 * (pgBackRest must reach versitygw on loopback as `localhost`; it talks to Postgres over the shared
 * socket volume, so the stores' network is not needed), and it gets BACKUP_CA_FILE under
 * /etc/pgbackrest, which the drill copies into its scratch job with pgBackRest's config.
 *
 * Steps in order: one full backup of a small table, batch A, time T, batch B; the restore's plan
 * (exit 2); the restore to T in place (the same container and volume hold exactly the rows before
 * T, out of recovery, writable); the drill (the live store against the newest backup plus the
 * archive). The restore's and the drill's durations are printed as `[pitr-cli measured]`.
 */
import { psqlArgs } from "../../scripts/backupRestore";
import { execFileSync, spawnSync } from "child_process";
import { Agent } from "https";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";
import { CreateBucketCommand, S3Client } from "@aws-sdk/client-s3";
import type { ContainerSpec } from "../../components/containerSpec";
import { validateStackConfig } from "../../stacks/config";
import { SECRET_KEYS } from "../../stacks/configSchema";
import { planLayer } from "../../stacks/layerPlan";
import { runBackup } from "../../scripts/backup";
import { stackFileConfig } from "../../scripts/cost";
import { newestComplete, S3BackupStore } from "./backupStore";
import { healthCmdString, removeRunObjects, runObjects, uniqueRunId } from "../testing/dockerCli";
import { STANDIN_IMAGES } from "../testing/standinImages";
import { installS3Server } from "../testing/s3Server";
import { ageIdentity, buildBackupImage } from "../testing/backupImage";

jest.setTimeout(10 * 60 * 1000);

const ROOT = join(__dirname, "..", "..");
const STACK = uniqueRunId("pitrcli");
/** Every object of the run starts with this (the planner's `orchestra-<stack>`). */
const RUN = `orchestra-${STACK}`;
const IMAGE = "orchestra-backup:pitr-cli-test";
const BUCKET = `orchestra-pitr-cli-${process.pid}`;
/** Where the test's CA certificate goes in the backup container (copied with pgBackRest's config). */
const CA_PATH = "/etc/pgbackrest/ca.crt";

let root: string;
let serverDir: string;
let server: Record<string, string>;
let secrets: Record<string, string>;
let specs: { postgres: ContainerSpec; backup: ContainerSpec };
let network: string;
const measured: Record<string, number> = {};

function docker(args: string[], options: { env?: Record<string, string>; input?: string } = {}): string {
  return execFileSync("docker", args, {
    encoding: "utf8",
    env: { ...process.env, ...options.env },
    input: options.input,
    stdio: [options.input === undefined ? "ignore" : "pipe", "pipe", "pipe"],
    maxBuffer: 64 * 1024 * 1024,
  });
}

function s3Client(): S3Client {
  return new S3Client({
    endpoint: server.S3_ENDPOINT,
    region: server.AWS_REGION,
    forcePathStyle: true,
    responseChecksumValidation: "WHEN_REQUIRED",
    credentials: { accessKeyId: server.AWS_ACCESS_KEY_ID, secretAccessKey: server.AWS_SECRET_ACCESS_KEY },
    requestHandler: { httpsAgent: new Agent({ ca: readFileSync(server.S3_CA_FILE) }) },
  });
}

function openStore(): S3BackupStore {
  return new S3BackupStore(
    { endpoint: server.S3_ENDPOINT, region: server.AWS_REGION, bucket: BUCKET, prefix: "orchestra" },
    { client: s3Client() },
  );
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
        endpoint: server.S3_ENDPOINT,
        region: "us-east-1",
        bucket: BUCKET,
        prefix: "orchestra",
      });
      return openStore();
    },
  });
  return { code, out: out.join(""), err: err.join(""), seconds: (Date.now() - started) / 1000 };
}

/** Output lines without the job's own lines and progress lines, durations as `N s`. */
function steps(text: string): string[] {
  return text
    .split("\n")
    .filter((line) => line !== "" && !line.startsWith("[orchestra-backup] ") && !/: waiting for /.test(line))
    .map((line) => line.replace(/\d+\.\d s\b/g, "N s").replace(/-restore-\d{8}T\d{6}Z/g, "-restore-<stamp>"));
}

/**
 * A container's id and its volumes' names, sorted: the same container on the same volumes. Docker
 * lists .Mounts in no fixed order (seen to change across a stop and start).
 */
function containerAndVolumes(container: string): { id: string; volumes: string[] } {
  const [id, ...volumes] = docker([
    "inspect",
    "--format",
    "{{.Id}} {{range .Mounts}}{{.Name}} {{end}}",
    container,
  ])
    .trim()
    .split(/\s+/);
  return { id, volumes: volumes.sort() };
}

/** SQL on stdin to psql in the Postgres container, as the CLI runs it (backupRestore.ts psqlArgs). */
function psql(sql: string): string {
  return docker(psqlArgs(specs.postgres.containerName, specs.postgres.ports[0].internal), {
    input: sql,
  }).trim();
}

/** A container's log (the job logs to stderr). */
function logsOf(container: string): string {
  const result = spawnSync("docker", ["logs", container], { encoding: "utf8" });
  return `${result.stdout}${result.stderr}`;
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

/** Postgres as planned, on the stores' network: its env, the password by name only, a 1 s health check. */
function startPostgres(): void {
  const spec = specs.postgres;
  const health = spec.healthCheck as NonNullable<ContainerSpec["healthCheck"]>;
  docker(
    [
      "run",
      "-d",
      "--name",
      spec.containerName,
      "--network",
      network,
      ...Object.entries(spec.env).flatMap(([name, value]) => ["-e", `${name}=${value}`]),
      ...Object.keys(spec.secretEnv).flatMap((name) => ["-e", name]),
      ...spec.volumes.flatMap((volume) => ["-v", `${volume.volumeName}:${volume.containerPath}`]),
      ...["--health-cmd", healthCmdString(health.test), "--health-interval", "1s", "--health-retries", "30"],
      spec.image,
      ...(spec.command ?? []),
    ],
    {
      env: Object.fromEntries(
        Object.entries(spec.secretEnv).map(([name, secret]) => [name, secrets[secret]]),
      ),
    },
  );
}

/** The backup container as planned (host network, see above): env, volumes, files copied in, command. */
function startBackupContainer(): void {
  const spec = specs.backup;
  const files = mkdtempSync(join(tmpdir(), "orchestra-pitr-cli-files-"));
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
    writeFileSync(join(files, CA_PATH), readFileSync(server.S3_CA_FILE), { mode: 0o644 });
    docker([
      "create",
      "--name",
      spec.containerName,
      "--network",
      "host",
      ...Object.entries({ ...spec.env, BACKUP_CA_FILE: CA_PATH }).flatMap(([name, value]) => [
        "-e",
        `${name}=${value}`,
      ]),
      ...spec.volumes.flatMap((volume) => [
        "-v",
        `${volume.volumeName}:${volume.containerPath}${volume.readOnly === true ? ":ro" : ""}`,
      ]),
      spec.image,
      ...(spec.command ?? []),
    ]);
    docker(["cp", `${files}/.`, `${spec.containerName}:/`]);
    docker(["start", spec.containerName]);
  } finally {
    rmSync(files, { recursive: true, force: true });
  }
}

beforeAll(
  async () => {
    buildBackupImage(IMAGE);
    installS3Server();
    serverDir = mkdtempSync(join(tmpdir(), "orchestra-pitr-cli-s3-"));
    root = mkdtempSync(join(tmpdir(), "orchestra-pitr-cli-root-"));
    execFileSync("bash", [join(ROOT, "scripts", "s3-server.sh"), "start", serverDir, "--tls"], {
      stdio: ["ignore", "ignore", "inherit"],
    });
    server = Object.fromEntries(
      readFileSync(join(serverDir, "s3.env"), "utf8")
        .split("\n")
        .filter(Boolean)
        .map((line) => [line.slice(0, line.indexOf("=")), line.slice(line.indexOf("=") + 1)]),
    );
    // The CLI's S3 client takes its credentials from the SDK's chain, as on an operator's machine.
    process.env.AWS_ACCESS_KEY_ID = server.AWS_ACCESS_KEY_ID;
    process.env.AWS_SECRET_ACCESS_KEY = server.AWS_SECRET_ACCESS_KEY;
    const admin = s3Client();
    await admin.send(new CreateBucketCommand({ Bucket: BUCKET }));
    admin.destroy();

    // Production's file with this bucket on versitygw and the stand-in images.
    const production = readFileSync(join(ROOT, "Pulumi.production.yaml"), "utf8");
    const file = production
      .replace(
        /bucket: orchestra-backups-production/,
        `bucket: ${BUCKET}\n    endpoint: ${server.S3_ENDPOINT}`,
      )
      .concat(
        `  orchestra:images:\n    postgres: ${STANDIN_IMAGES.postgres}\n    orchestra-backup: ${IMAGE}\n`,
      );
    writeFileSync(join(root, `Pulumi.${STACK}.yaml`), file);
    const { raw, setKeys } = stackFileConfig(file);
    const plan = planLayer(validateStackConfig(raw, SECRET_KEYS, setKeys), {
      project: "orchestra",
      stack: STACK,
    });
    const data = plan.containers?.data;
    const backups = plan.containers?.backups;
    if (data === undefined || backups === undefined) throw new Error("the stack plans no stores or backups");
    specs = {
      postgres: data.containers.find((spec) => spec.service === "postgres") as ContainerSpec,
      backup: Object.values(backups.containers).flat()[0],
    };
    network = data.networkName;
    expect([
      specs.postgres.containerName,
      specs.backup.containerName,
      specs.backup.env.BACKUP_STORES,
    ]).toEqual([
      `${RUN}-stores-postgres`,
      `${RUN}-backups-data`,
      "postgres:pgbackrest redis:redis-rdb weaviate:weaviate-snapshot",
    ]);

    secrets = {
      backupAccessKeyId: server.AWS_ACCESS_KEY_ID,
      backupSecretAccessKey: server.AWS_SECRET_ACCESS_KEY,
      backupEncryptionKey: ageIdentity(IMAGE),
      databasePassword: `pg-${process.pid}:pw '${Date.now()}`,
      redisPassword: "unused",
      weaviateApiKey: "unused",
    };
    docker(["network", "create", network]);
    startPostgres();
    await until(
      "Postgres is healthy",
      120,
      () =>
        docker(["inspect", "--format", "{{.State.Health.Status}}", specs.postgres.containerName]).trim() ===
        "healthy",
    );
    startBackupContainer();
    // The job's scheduler creates the stanza, then starts the WAL pusher.
    await until("the WAL pusher runs", 120, () =>
      logsOf(specs.backup.containerName).includes("WAL pusher started"),
    ).catch((error: Error) => {
      throw new Error(`${error.message}; its log:\n${logsOf(specs.backup.containerName)}`);
    });
  },
  15 * 60 * 1000,
);

afterAll(() => {
  process.stderr.write(`[pitr-cli measured] ${JSON.stringify(measured)}\n`);
  removeRunObjects(RUN);
  if (network !== undefined) execFileSync("docker", ["network", "rm", network], { stdio: "ignore" });
  try {
    if (serverDir !== undefined)
      execFileSync("bash", [join(ROOT, "scripts", "s3-server.sh"), "stop", serverDir], { stdio: "ignore" });
  } finally {
    for (const dir of [serverDir, root]) if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  }
  expect(runObjects(RUN)).toEqual({ containers: "", volumes: "" });
});

/** Row count and an MD5 over every row in id order. */
const DIGEST = "SELECT count(*) || ' ' || md5(string_agg(id || ':' || v, ',' ORDER BY id)) FROM items;";

let target: string;
let digestAtT: string;
let verifyLine: string;

test("1. a full backup of a small table, batch A, the time T, batch B", async () => {
  psql(`CREATE TABLE items (id int PRIMARY KEY, v text NOT NULL);
    INSERT INTO items SELECT g, 'base' || g FROM generate_series(1, 5000) g;`);
  docker(["exec", specs.backup.containerName, "orchestra-backup", "run", "postgres", "full"]);
  const store = openStore();
  try {
    const newest = newestComplete(await store.list(STACK, "postgres"));
    if (newest === undefined) throw new Error("no complete postgres backup");
    verifyLine = (await store.verify(STACK, "postgres", newest.backupId)).line;
    expect(verifyLine).toMatch(
      new RegExp(
        `^verified postgres ${newest.backupId}: 1 objects, \\d+ bytes; pgBackRest set \\d{8}-\\d{6}F: \\d+ repository objects, \\d+ bytes$`,
      ),
    );
  } finally {
    store.destroy();
  }
  psql("INSERT INTO items SELECT g, 'A' || g FROM generate_series(5001, 5100) g;");
  // T after A committed, then a pause: every commit of B is later than T.
  target = psql(`SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"');`);
  digestAtT = psql(DIGEST);
  expect(digestAtT.split(" ")[0]).toBe("5100");
  await new Promise((resolve) => setTimeout(resolve, 1500));
  psql("INSERT INTO items SELECT g, 'B' || g FROM generate_series(5101, 5200) g;");
});

const postgres = () => specs.postgres.containerName;
const job = () => specs.backup.containerName;

test("2a. restore --at T without --yes: the plan, exit 2, nothing touched", async () => {
  const startedAt = docker(["inspect", "--format", "{{.State.StartedAt}}", postgres()]).trim();
  const plan = await backup(["restore", "--stack", STACK, "--store", "postgres", "--at", target]);
  expect({ code: plan.code, err: plan.err, out: plan.out }).toEqual({
    code: 2,
    err: "",
    out: [
      `[restore] postgres: ${verifyLine}`,
      `restore postgres to ${target} on stack ${STACK} would run, on the node's Docker engine:`,
      `  SELECT pg_switch_wal() in ${postgres()}, and wait until the segment is in the spool`,
      `  docker exec ${job()} orchestra-backup wal-push --once`,
      `  docker stop ${postgres()}`,
      `  a one-off container ${job()}-restore-<UTC stamp> (its image, environment, secret files, pgBackRest's config and volumes, all read-write): orchestra-backup restore postgres --at ${target} --in-place`,
      `  docker start ${postgres()}, wait until it is healthy and out of recovery, then CHECKPOINT`,
      "Postgres is down meanwhile; everything committed after the target time is gone from the live database.",
      "Nothing was changed. Run it again with --yes to restore.",
      "",
    ].join("\n"),
  });
  expect(docker(["inspect", "--format", "{{.State.StartedAt}}", postgres()]).trim()).toBe(startedAt);
  expect(psql("SELECT count(*) FROM items;")).toBe("5200");
});

test("2b. restore --at T --yes: in place, the live Postgres holds exactly the rows before T, out of recovery, writable", async () => {
  const before = containerAndVolumes(postgres());
  const result = await backup(["restore", "--stack", STACK, "--store", "postgres", "--at", target, "--yes"]);
  expect({ code: result.code, err: result.err }).toEqual({ code: 0, err: "" });
  measured.restoreSeconds = result.seconds;
  expect(steps(result.out)).toEqual([
    `[restore] postgres: ${verifyLine}`,
    `[restore] postgres: switching the WAL in ${postgres()}`,
    "[restore] postgres: pushing the spool (wal-push --once)",
    `[restore] postgres: stopping ${postgres()}`,
    `[restore] postgres: restoring --at ${target} in place with ${job()}-restore-<stamp>`,
    `[restore] postgres: starting ${postgres()}`,
    `[restore] postgres: ${postgres()} is healthy`,
    "[restore] postgres: out of recovery; CHECKPOINT",
    `[restore] postgres: restored --at ${target} in N s`,
  ]);
  expect(containerAndVolumes(postgres())).toEqual(before);
  expect(docker(["ps", "-a", "-q", "--filter", `name=${job()}-restore-`])).toBe("");
  expect(psql(DIGEST)).toBe(digestAtT);
  expect(
    psql(
      "SELECT count(*) FILTER (WHERE v LIKE 'B%') || ' ' || count(*) FILTER (WHERE v LIKE 'A%') FROM items;",
    ),
  ).toBe("0 100");
  expect(psql("SELECT pg_is_in_recovery();")).toBe("f");
  psql("INSERT INTO items VALUES (9001, 'after the restore');");
  expect(psql("SELECT v FROM items WHERE id = 9001;")).toBe("after the restore");
});

test("2c. drill: the live store equals the newest backup plus the archive; scratch objects removed", async () => {
  // The live store's last writes are in the archive once their segment is pushed (as archive_timeout
  // does within a minute): switched and pushed here so the drill compares a quiet store.
  const segment = psql("SELECT pg_walfile_name(pg_switch_wal());");
  await until(
    `segment ${segment} in the spool`,
    120,
    () => psql("SELECT coalesce(last_archived_wal, '') FROM pg_stat_archiver;") >= segment,
  );
  docker(["exec", job(), "orchestra-backup", "wal-push", "--once"]);
  const result = await backup(["drill", "--stack", STACK, "--store", "postgres"]);
  measured.drillSeconds = result.seconds;
  expect({ code: result.code, err: result.err }).toEqual({ code: 0, err: "" });
  const stamp = /-drill-(\d{8}T\d{6}Z)/.exec(result.out)?.[1] as string;
  const items = psql(
    "SELECT count(*) || ' rows, md5 ' || md5(coalesce(string_agg(t::text, E'\\n' ORDER BY t::text), '')) FROM public.items t;",
  );
  const volumes = specs.postgres.volumes.map((volume) => `${volume.volumeName}-drill-${stamp}`);
  const lines = steps(result.out);
  // docker inspect lists a container's mounts in no fixed order.
  const creating = lines.filter((line) => line.includes(": creating volume "));
  expect(creating.sort()).toEqual(
    volumes.map((volume) => `[drill] postgres: creating volume ${volume}`).sort(),
  );
  const id = verifyLine.split(" ")[2].replace(/:$/, "");
  const scratch = `${postgres()}-drill-${stamp}`;
  expect(lines.filter((line) => !line.includes(": creating volume "))).toEqual([
    `[drill] postgres: ${verifyLine}`,
    `[drill] postgres: restoring ${id} with ${job()}-drill-${stamp}`,
    `[drill] postgres: starting ${scratch} (${STANDIN_IMAGES.postgres})`,
    `[drill] postgres: comparing ${scratch} with ${postgres()}`,
    expect.stringMatching(/^check +live +restored$/),
    expect.stringMatching(/^-+ +-+ +-+ +-+$/),
    expect.stringMatching(new RegExp(`^public\\.items +${items} +${items} +equal$`)),
    `drill postgres ${id}: equal`,
    expect.stringMatching(new RegExp(`^\\[drill\\] postgres: removed ${job()}-drill-${stamp}, ${scratch}, `)),
    "[drill] postgres: drill took N s",
    "[drill] 1 store drilled in N s",
  ]);
  expect(items).toMatch(/^5101 rows, md5 [0-9a-f]{32}$/);
  expect(docker(["ps", "-a", "-q", "--filter", `label=org.orchestra.drill=${stamp}`])).toBe("");
  expect(docker(["volume", "ls", "-q", "--filter", `label=org.orchestra.drill=${stamp}`])).toBe("");
});
