/** Pure tier: the drill's docker command lines, its comparison and its clean-up, over a fake docker CLI. */
import { createHash } from "crypto";
import {
  compareRedis,
  drillReport,
  idsSummary,
  TABLE_CHECKSUMS,
  WEAVIATE_REQUEST,
  weaviateRequestArgs,
} from "./backupCompare";
import { DRILL_LABEL, drillStore, parseInspect } from "./backupDrill";
import { psqlArgs } from "./backupRestore";
import type { StoreTarget } from "./backupTargets";
import { fakeClock, fakeDocker, fakeEnvFiles, type Answer } from "./backupTesting";
import { renderTable } from "./costFormat";

const STAMP = "20261130T221500Z";
const BACKUP = "orchestra-staging-backups-data";
const REDIS_PASSWORD = 'rd-s3cr3t "q\\x';
const PG_PASSWORD = "pg-s3cr3t:pw\\ 'y";
const REDIS: StoreTarget = {
  store: "redis",
  container: "orchestra-staging-stores-redis",
  port: 6379,
  method: "redis-rdb",
};
const PG: StoreTarget = {
  store: "postgres",
  container: "orchestra-staging-stores-postgres",
  port: 5432,
  method: "pg_dump",
};

/** `docker inspect` JSON as the engine prints it, with what the drill reads. */
function inspectJson(spec: {
  image: string;
  cmd: string[] | null;
  env: string[];
  volumes: [string, string][];
  health?: string[];
}): string {
  return JSON.stringify([
    {
      Config: {
        Image: spec.image,
        Cmd: spec.cmd,
        Env: spec.env,
        ...(spec.health !== undefined ? { Healthcheck: { Test: spec.health } } : {}),
      },
      HostConfig: { NetworkMode: "orchestra-staging-stores-net" },
      Mounts: [
        ...spec.volumes.map(([name, path]) => ({ Type: "volume", Name: name, Destination: path })),
        { Type: "bind", Source: "/etc/hosts", Destination: "/etc/hosts" },
      ],
    },
  ]);
}

const REDIS_INSPECT = inspectJson({
  image: "redis:7.0.15",
  cmd: ["sh", "-c", "printf ... | redis-server -"],
  env: [`REDIS_PASSWORD=${REDIS_PASSWORD}`, "PATH=/usr/bin:/bin"],
  volumes: [["orchestra-staging-stores-redis-data", "/data"]],
  health: ["CMD-SHELL", 'REDISCLI_AUTH="$REDIS_PASSWORD" redis-cli -p 6379 ping | grep -q PONG'],
});
const PG_INSPECT = inspectJson({
  image: "postgres:15.8",
  cmd: ["postgres"],
  env: [
    `POSTGRES_PASSWORD=${PG_PASSWORD}`,
    "POSTGRES_USER=orchestra",
    "POSTGRES_DB=orchestra",
    "PGPORT=5432",
  ],
  volumes: [["orchestra-staging-stores-postgres-data", "/var/lib/postgresql/data"]],
  health: ["CMD-SHELL", 'pg_isready -U "$POSTGRES_USER" -d "$POSTGRES_DB" -h 127.0.0.1'],
});
const BACKUP_INSPECT = inspectJson({
  image: "ghcr.io/ai-cherry/orchestra-backup:1.0.0",
  cmd: ["orchestra-backup", "schedule", "/etc/orchestra-backup/crontab"],
  env: [
    "BACKUP_STACK=staging",
    "REDIS_HOST=orchestra-staging-stores-redis",
    "REDIS_PORT=6379",
    "PGHOST=orchestra-staging-stores-postgres",
  ],
  volumes: [["orchestra-staging-stores-redis-data", "/data"]],
});

const DIGEST = "a2e75f90dd6ee0a5d628612c0dd8ed0f7b8e1156";

/** One store's drill over the fake docker CLI; `backup` defaults to the store's staging backup. */
async function drill(
  target: StoreTarget,
  answer: Answer,
  backup = {
    backupId: target === REDIS ? "20261130T031500Z-rdb" : "20261130T030000Z-dump",
    finishedAt: "2026-11-30T03:15:04.120Z",
  },
) {
  const { calls, argvs, docker } = fakeDocker(answer);
  const envFiles = fakeEnvFiles();
  const out: string[] = [];
  const err: string[] = [];
  const code = await drillStore(
    {
      docker,
      out: (text) => out.push(text),
      err: (text) => err.push(text),
      ...fakeClock(),
      writeEnvFile: envFiles.write,
    },
    target,
    BACKUP,
    backup,
    STAMP,
  );
  return { code, calls, argvs, envFiles: envFiles.files, out: out.join(""), err: err.join("") };
}

const inspected: Answer = (args) => {
  if (args[0] !== "inspect" || args.length !== 2) return undefined;
  return {
    stdout: args[1] === BACKUP ? BACKUP_INSPECT : args[1] === REDIS.container ? REDIS_INSPECT : PG_INSPECT,
  };
};

const LABEL = `--label ${DRILL_LABEL}=${STAMP}`;
const redisCli = (container: string, command: string) =>
  `docker exec ${container} sh -c REDISCLI_AUTH="$REDIS_PASSWORD" redis-cli --no-auth-warning -p 6379 ${command}`;

test("redis: restore into a scratch volume, start a scratch Redis on it, compare, remove; secrets only in env files and the cp pipe", async () => {
  const result = await drill(REDIS, (args, input) => {
    const cmd = args.at(-1) ?? "";
    if (cmd.endsWith("DBSIZE")) return { stdout: "5000\n" };
    if (cmd.endsWith("DEBUG DIGEST")) return { stdout: `${DIGEST}\n` };
    if (args[0] === "start" && args[1] === "-a")
      return { stdout: "[orchestra-backup] redis 20261130T031500Z-rdb: restored into /data\n" };
    return inspected(args, input);
  });
  const scratch = `orchestra-staging-stores-redis-drill-${STAMP}`;
  const job = `${BACKUP}-drill-${STAMP}`;
  const volume = `orchestra-staging-stores-redis-data-drill-${STAMP}`;
  expect(result.calls).toEqual([
    "docker inspect orchestra-staging-stores-redis",
    `docker inspect ${BACKUP}`,
    `docker volume create ${LABEL} ${volume}`,
    `docker create --name ${job} --env-file /tmp/env-1 ${LABEL} --network orchestra-staging-stores-net -v ${volume}:/data ghcr.io/ai-cherry/orchestra-backup:1.0.0 orchestra-backup restore redis 20261130T031500Z-rdb`,
    `docker cp ${BACKUP}:/run/secrets - | docker cp - ${job}:/run/`,
    `docker start -a ${job}`,
    `docker create --name ${scratch} --env-file /tmp/env-2 ${LABEL} --network orchestra-staging-stores-net --network-alias redis-drill-${STAMP} -v ${volume}:/data redis:7.0.15 sh -c printf ... | redis-server -`,
    `docker start ${scratch}`,
    `docker exec ${scratch} sh -c REDISCLI_AUTH="$REDIS_PASSWORD" redis-cli -p 6379 ping | grep -q PONG`,
    redisCli("orchestra-staging-stores-redis", "DBSIZE"),
    redisCli(scratch, "DBSIZE"),
    redisCli("orchestra-staging-stores-redis", "DEBUG DIGEST"),
    redisCli(scratch, "DEBUG DIGEST"),
    `docker rm -f -v ${job}`,
    `docker rm -f -v ${scratch}`,
    `docker volume rm ${volume}`,
  ]);
  expect(result.envFiles).toEqual([
    {
      path: "/tmp/env-1",
      env: {
        BACKUP_STACK: "staging",
        REDIS_HOST: `redis-drill-${STAMP}`,
        REDIS_PORT: "6379",
        PGHOST: "orchestra-staging-stores-postgres",
      },
      removed: true,
    },
    { path: "/tmp/env-2", env: { REDIS_PASSWORD, PATH: "/usr/bin:/bin" }, removed: true },
  ]);
  expect(result.argvs.flat().some((word) => word.includes("s3cr3t"))).toBe(false);
  expect(result).toMatchObject({
    code: 0,
    err: "",
    out: [
      `[drill] redis: creating volume ${volume}`,
      `[drill] redis: restoring 20261130T031500Z-rdb with ${job}`,
      "[orchestra-backup] redis 20261130T031500Z-rdb: restored into /data",
      `[drill] redis: starting ${scratch} (redis:7.0.15)`,
      `[drill] redis: comparing ${scratch} with orchestra-staging-stores-redis`,
      "check         live                                      restored",
      "------------  ----------------------------------------  ----------------------------------------  -----",
      "DBSIZE        5000                                      5000                                      equal",
      `DEBUG DIGEST  ${DIGEST}  ${DIGEST}  equal`,
      "drill redis 20261130T031500Z-rdb: equal",
      `[drill] redis: removed ${job}, ${scratch}, ${volume}`,
      "[drill] redis: drill took 0.0 s",
      "",
    ].join("\n"),
  });
});

test("postgres (pg_dump): a scratch Postgres first, the job's pg_restore into it, per-table checksums compared", async () => {
  const scratch = `orchestra-staging-stores-postgres-drill-${STAMP}`;
  let ready = 0;
  const result = await drill(PG, (args, input) => {
    if (input === TABLE_CHECKSUMS)
      return {
        stdout:
          args[2] === PG.container
            ? "public.items|300001|aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\npublic.notes|3|bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\n"
            : "public.items|300000|cccccccccccccccccccccccccccccccc\npublic.notes|3|bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\n",
      };
    if (args[0] === "exec" && args[1] === scratch)
      return ++ready < 3 ? { code: 2, stderr: "127.0.0.1:5432 - no response\n" } : undefined;
    return inspected(args, input);
  });
  const job = `${BACKUP}-drill-${STAMP}`;
  const volume = `orchestra-staging-stores-postgres-data-drill-${STAMP}`;
  const health = `docker exec ${scratch} sh -c pg_isready -U "$POSTGRES_USER" -d "$POSTGRES_DB" -h 127.0.0.1`;
  expect(result.calls).toEqual([
    "docker inspect orchestra-staging-stores-postgres",
    `docker inspect ${BACKUP}`,
    `docker volume create ${LABEL} ${volume}`,
    `docker create --name ${scratch} --env-file /tmp/env-1 ${LABEL} --network orchestra-staging-stores-net --network-alias postgres-drill-${STAMP} -v ${volume}:/var/lib/postgresql/data postgres:15.8 postgres`,
    `docker start ${scratch}`,
    health,
    health,
    health,
    // The live backup container's own volume (Redis's) is not the scratch job's.
    `docker create --name ${job} --env-file /tmp/env-2 ${LABEL} --network orchestra-staging-stores-net ghcr.io/ai-cherry/orchestra-backup:1.0.0 orchestra-backup restore postgres 20261130T030000Z-dump`,
    `docker cp ${BACKUP}:/run/secrets - | docker cp - ${job}:/run/`,
    `docker start -a ${job}`,
    `docker ${psqlArgs(PG.container, 5432).join(" ")} <<< ${TABLE_CHECKSUMS.trim()}`,
    `docker ${psqlArgs(scratch, 5432).join(" ")} <<< ${TABLE_CHECKSUMS.trim()}`,
    `docker rm -f -v ${scratch}`,
    `docker rm -f -v ${job}`,
    `docker volume rm ${volume}`,
  ]);
  expect(result.envFiles.map((file) => [file.env.PGHOST, file.env.POSTGRES_PASSWORD, file.removed])).toEqual([
    [undefined, PG_PASSWORD, true],
    [`postgres-drill-${STAMP}`, undefined, true],
  ]);
  expect(result.code).toBe(1);
  expect(result.out).toContain(
    `check         live                                               restored
------------  -------------------------------------------------  -------------------------------------------------  -------
public.items  300001 rows, md5 aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa  300000 rows, md5 cccccccccccccccccccccccccccccccc  DIFFERS
public.notes  3 rows, md5 bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb       3 rows, md5 bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb       equal
drill postgres 20261130T030000Z-dump: differs in public.items (a live store written after the backup finished, 2026-11-30T03:15:04.120Z, differs by those writes; one without writes since must be equal)
`,
  );
});

test("a failed step still removes what was created, and says what is left when removal fails", async () => {
  const volume = `orchestra-staging-stores-redis-data-drill-${STAMP}`;
  const job = `${BACKUP}-drill-${STAMP}`;
  const result = await drill(REDIS, (args, input) => {
    if (args[0] === "start" && args[1] === "-a")
      return {
        code: 1,
        stderr: "[orchestra-backup] ERROR: redis 20261130T031500Z-rdb: object dump.rdb.age: missing\n",
      };
    if (args[0] === "volume" && args[1] === "rm") return { code: 1, stderr: "Error: volume is in use\n" };
    return inspected(args, input);
  });
  expect(result.calls.slice(-2)).toEqual([`docker rm -f -v ${job}`, `docker volume rm ${volume}`]);
  expect(result.code).toBe(1);
  expect(result.err).toBe(
    "[drill] redis: the job failed: ERROR: redis 20261130T031500Z-rdb: object dump.rdb.age: missing\n" +
      `[drill] redis: could not remove ${volume}: remove them by hand (docker ps -a --filter label=${DRILL_LABEL}=${STAMP}; docker volume ls --filter label=${DRILL_LABEL}=${STAMP})\n`,
  );
});

test("an environment value with a line break is refused before any container is created", async () => {
  const result = await drill(REDIS, (args) =>
    args[0] === "inspect" && args[1] === BACKUP
      ? { stdout: inspectJson({ image: "i", cmd: null, env: ["X=a\nb"], volumes: [] }) }
      : inspected(args),
  );
  expect(result.err).toBe(
    `[drill] redis: the environment for ${BACKUP}-drill-${STAMP}: X has a line break, which --env-file cannot carry\n`,
  );
  expect(result.calls.filter((call) => call.startsWith("docker create"))).toEqual([]);
});

describe("drillReport", () => {
  const backup = { backupId: "20261130T031500Z-rdb", finishedAt: "2026-11-30T03:15:04.120Z" };
  test("a check that could not be read is never equal, even when both sides answer alike", () => {
    const refused =
      'refused: ERR DEBUG command not allowed. If the enable-debug-command option is set to "no"';
    expect(
      drillReport("redis", backup, [
        { check: "DBSIZE", live: "5", restored: "5" },
        { check: "DEBUG DIGEST", live: refused, restored: refused },
      ])
        .split("\n")
        .at(-2),
    ).toBe("drill redis 20261130T031500Z-rdb: could not read DEBUG DIGEST");
  });
  test("redis-cli's error answers (it exits 0 on NOAUTH) are refused, not compared as values", async () => {
    const { docker } = fakeDocker(() => ({ stdout: "NOAUTH Authentication required.\n" }));
    const deps = {
      docker,
      out: () => undefined,
      err: () => undefined,
      now: () => new Date(0),
      sleep: async () => undefined,
    };
    const rows = await compareRedis(deps, 6379, "live", "scratch");
    expect(rows).toEqual([
      {
        check: "DBSIZE",
        live: "refused: NOAUTH Authentication required.",
        restored: "refused: NOAUTH Authentication required.",
      },
      {
        check: "DEBUG DIGEST",
        live: "refused: NOAUTH Authentication required.",
        restored: "refused: NOAUTH Authentication required.",
      },
    ]);
    expect(drillReport("redis", backup, rows).split("\n").at(-2)).toBe(
      "drill redis 20261130T031500Z-rdb: could not read DBSIZE, DEBUG DIGEST",
    );
  });
  test("nothing to compare", () => {
    expect(drillReport("postgres", backup, [])).toBe(
      "check  live  restored\n-----  ----  --------  -\ndrill postgres 20261130T031500Z-rdb: nothing to compare\n",
    );
  });
});

test("parseInspect keeps named volumes only and drops a NONE health check", () => {
  expect(
    parseInspect(
      inspectJson({ image: "i", cmd: null, env: ["A=b=c"], volumes: [["v", "/d"]], health: ["NONE"] }),
      "c",
    ),
  ).toEqual({
    image: "i",
    cmd: [],
    env: { A: "b=c" },
    network: "orchestra-staging-stores-net",
    volumes: [{ name: "v", path: "/d" }],
  });
});

test("postgres (pgBackRest): restore --latest into scratch data and spool volumes with pgBackRest's config, then the scratch Postgres replays and leaves recovery", async () => {
  const target: StoreTarget = {
    store: "postgres",
    container: "orchestra-production-stores-postgres",
    port: 5432,
    method: "pgbackrest",
  };
  const backup = "orchestra-production-backups-data";
  const spool = "/var/lib/orchestra-backup/pgbackrest-spool";
  const volumes: [string, string][] = [
    ["orchestra-production-stores-postgres-data", "/var/lib/postgresql/data"],
    ["orchestra-production-backups-wal-spool-data", spool],
    ["orchestra-production-backups-postgres-socket", "/var/run/postgresql"],
  ];
  const live = inspectJson({
    image: "postgres:15.8",
    cmd: ["postgres", "-c", "archive_mode=on"],
    env: [`POSTGRES_PASSWORD=${PG_PASSWORD}`],
    volumes,
    health: ["CMD-SHELL", "pg_isready -h 127.0.0.1"],
  });
  const job = inspectJson({
    image: "ghcr.io/ai-cherry/orchestra-backup:1.0.0",
    cmd: null,
    env: ["BACKUP_STACK=production", `WAL_SPOOL=${spool}`],
    volumes: [...volumes, ["orchestra-production-stores-redis-data", "/data"]],
  });
  let recovery = 0;
  const { calls, docker } = fakeDocker((args, input) => {
    if (args[0] === "inspect") return { stdout: args[1] === backup ? job : live };
    if (input === "SELECT pg_is_in_recovery();\n") return { stdout: ++recovery < 3 ? "t\n" : "f\n" };
    if (input === TABLE_CHECKSUMS) return { stdout: "public.items|3|dddddddddddddddddddddddddddddddd\n" };
    return undefined;
  });
  const envFiles = fakeEnvFiles();
  const out: string[] = [];
  const code = await drillStore(
    {
      docker,
      out: (text) => out.push(text),
      err: (text) => out.push(text),
      ...fakeClock(),
      writeEnvFile: envFiles.write,
    },
    target,
    backup,
    { backupId: "20261129T030000Z-full", finishedAt: "2026-11-29T03:10:00.000Z" },
    STAMP,
  );
  const scratch = `orchestra-production-stores-postgres-drill-${STAMP}`;
  const scratchJob = `${backup}-drill-${STAMP}`;
  const mounts = volumes.map(([name, path]) => `-v ${name}-drill-${STAMP}:${path}`).join(" ");
  const psql = (container: string) => `docker ${psqlArgs(container, 5432).join(" ")}`;
  expect(calls).toEqual([
    "docker inspect orchestra-production-stores-postgres",
    `docker inspect ${backup}`,
    ...volumes.map(([name]) => `docker volume create ${LABEL} ${name}-drill-${STAMP}`),
    `docker create --name ${scratchJob} --env-file /tmp/env-1 ${LABEL} --network orchestra-staging-stores-net ${mounts} ghcr.io/ai-cherry/orchestra-backup:1.0.0 orchestra-backup restore postgres --latest`,
    `docker cp ${backup}:/run/secrets - | docker cp - ${scratchJob}:/run/`,
    `docker cp ${backup}:/etc/pgbackrest - | docker cp - ${scratchJob}:/etc/`,
    `docker start -a ${scratchJob}`,
    `docker create --name ${scratch} --env-file /tmp/env-2 ${LABEL} --network orchestra-staging-stores-net --network-alias postgres-drill-${STAMP} ${mounts} postgres:15.8 postgres -c archive_mode=on`,
    `docker start ${scratch}`,
    `docker exec ${scratch} sh -c pg_isready -h 127.0.0.1`,
    `${psql(scratch)} <<< SELECT pg_is_in_recovery();`,
    `${psql(scratch)} <<< SELECT pg_is_in_recovery();`,
    `${psql(scratch)} <<< SELECT pg_is_in_recovery();`,
    `${psql(target.container)} <<< ${TABLE_CHECKSUMS.trim()}`,
    `${psql(scratch)} <<< ${TABLE_CHECKSUMS.trim()}`,
    `docker rm -f -v ${scratchJob}`,
    `docker rm -f -v ${scratch}`,
    ...volumes.map(([name]) => `docker volume rm ${name}-drill-${STAMP}`),
  ]);
  expect(envFiles.files[0].env).toEqual({ BACKUP_STACK: "production", WAL_SPOOL: spool });
  expect(code).toBe(0);
  expect(out.join("")).toContain("drill postgres 20261129T030000Z-full: equal\n");
});

describe("weaviate", () => {
  const KEY = 'wv-s3cr3t "q\\x';
  const target: StoreTarget = {
    store: "weaviate",
    container: "orchestra-staging-stores-weaviate",
    port: 8080,
    method: "weaviate-snapshot",
  };
  const volume: [string, string] = ["orchestra-staging-stores-weaviate-data", "/var/lib/weaviate"];
  const weaviateEnv = [
    `AUTHENTICATION_APIKEY_ALLOWED_KEYS=${KEY}`,
    "PERSISTENCE_DATA_PATH=/var/lib/weaviate",
    "BACKUP_FILESYSTEM_PATH=/var/lib/weaviate/backups",
  ];
  const live = (env = weaviateEnv) =>
    inspectJson({
      image: "semitechnologies/weaviate:1.22.4",
      cmd: ["--host", "0.0.0.0", "--port", "8080", "--scheme", "http"],
      env,
      volumes: [volume],
      health: ["CMD", "wget", "-q", "--spider", "http://127.0.0.1:8080/v1/.well-known/ready"],
    });
  const job = inspectJson({
    image: "ghcr.io/ai-cherry/orchestra-backup:1.0.0",
    cmd: null,
    env: [
      "BACKUP_STACK=staging",
      "WEAVIATE_URL=http://orchestra-staging-stores-weaviate:8080",
      "WEAVIATE_BACKUP_PATH=/var/lib/weaviate/backups",
    ],
    volumes: [["orchestra-staging-stores-redis-data", "/data"], volume],
  });
  const LIVE = "http://orchestra-staging-stores-weaviate:8080";
  const SCRATCH = `http://weaviate-drill-${STAMP}:8080`;
  const id = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, "0")}`;
  const top = (from: number) => Array.from({ length: 10 }, (_, i) => id(from + i));
  const hits = (ids: string[]) => ids.map((hit) => ({ _additional: { id: hit } }));
  const get = (vector: number[]) =>
    `{ Get { Doc(nearVector: { vector: ${JSON.stringify(vector)} }, limit: 10) { _additional { id } } } }`;
  const request = (url: string, query?: string) => {
    const body = query === undefined ? undefined : JSON.stringify({ query });
    return `docker ${weaviateRequestArgs(BACKUP, url, body !== undefined).join(" ")}${body !== undefined ? ` <<< ${body}` : ""}`;
  };

  function weaviateDrill(answer: Answer, liveInspect = live()) {
    return drill(
      target,
      (args, input) =>
        args[0] === "inspect" && args.length === 2
          ? { stdout: args[1] === BACKUP ? job : liveInspect }
          : answer(args, input),
      { backupId: "20261130T033000Z-snapshot", finishedAt: "2026-11-30T03:30:09.500Z" },
    );
  }

  test("a scratch Weaviate first, the job's restore into it, then per class the count and nearVector top-10s from the live backup container; the key on no argv", async () => {
    const result = await weaviateDrill((args, input) => {
      const url = args.at(-1) ?? "";
      if (!args.includes("weaviate-request")) return undefined;
      const query = input === undefined ? undefined : (JSON.parse(input) as { query: string }).query;
      if (url.endsWith("/v1/schema"))
        return {
          stdout: JSON.stringify({
            classes: [{ class: "Doc" }, ...(url.startsWith(LIVE) ? [{ class: "Note" }] : [])],
          }),
        };
      if (url.includes("/v1/objects?class=Doc"))
        return {
          stdout: JSON.stringify({
            objects: [
              { id: id(1), vector: [0.5, -1] },
              { id: id(2), vector: [] },
              { id: id(3), vector: [1e-7, 2] },
            ],
          }),
        };
      if (url.includes("/v1/objects?class=Note")) return { stdout: JSON.stringify({ objects: [] }) };
      if (query?.startsWith("{ Aggregate { Doc"))
        return { stdout: JSON.stringify({ data: { Aggregate: { Doc: [{ meta: { count: 1000 } }] } } }) };
      if (query?.startsWith("{ Aggregate { Note"))
        return { stdout: JSON.stringify({ data: { Aggregate: { Note: [{ meta: { count: 4 } }] } } }) };
      if (query === get([0.5, -1]))
        return { stdout: JSON.stringify({ data: { Get: { Doc: hits(top(1)) } } }) };
      if (query === get([1e-7, 2]))
        return url.startsWith(LIVE)
          ? { stdout: JSON.stringify({ data: { Get: { Doc: hits(top(3)) } } }) }
          : { stdout: JSON.stringify({ errors: [{ message: "vector search: shard not ready" }] }) };
      return { code: 1, stderr: `unexpected ${url}` };
    });
    const scratch = `orchestra-staging-stores-weaviate-drill-${STAMP}`;
    const scratchJob = `${BACKUP}-drill-${STAMP}`;
    const scratchVolume = `orchestra-staging-stores-weaviate-data-drill-${STAMP}`;
    expect(result.calls).toEqual([
      "docker inspect orchestra-staging-stores-weaviate",
      `docker inspect ${BACKUP}`,
      `docker volume create ${LABEL} ${scratchVolume}`,
      `docker create --name ${scratch} --env-file /tmp/env-1 ${LABEL} --network orchestra-staging-stores-net --network-alias weaviate-drill-${STAMP} -v ${scratchVolume}:/var/lib/weaviate semitechnologies/weaviate:1.22.4 --host 0.0.0.0 --port 8080 --scheme http`,
      `docker start ${scratch}`,
      `docker exec ${scratch} wget -q --spider http://127.0.0.1:8080/v1/.well-known/ready`,
      // Only the Weaviate volume is the scratch job's; the live Redis volume is not mounted.
      `docker create --name ${scratchJob} --env-file /tmp/env-2 ${LABEL} --network orchestra-staging-stores-net -v ${scratchVolume}:/var/lib/weaviate ghcr.io/ai-cherry/orchestra-backup:1.0.0 orchestra-backup restore weaviate 20261130T033000Z-snapshot`,
      `docker cp ${BACKUP}:/run/secrets - | docker cp - ${scratchJob}:/run/`,
      `docker start -a ${scratchJob}`,
      request(`${LIVE}/v1/schema`),
      request(`${SCRATCH}/v1/schema`),
      request(`${LIVE}/v1/graphql`, "{ Aggregate { Doc { meta { count } } } }"),
      request(`${SCRATCH}/v1/graphql`, "{ Aggregate { Doc { meta { count } } } }"),
      request(`${LIVE}/v1/objects?class=Doc&limit=3&include=vector`),
      request(`${LIVE}/v1/graphql`, get([0.5, -1])),
      request(`${SCRATCH}/v1/graphql`, get([0.5, -1])),
      request(`${LIVE}/v1/graphql`, get([1e-7, 2])),
      request(`${SCRATCH}/v1/graphql`, get([1e-7, 2])),
      request(`${LIVE}/v1/graphql`, "{ Aggregate { Note { meta { count } } } }"),
      request(`${LIVE}/v1/objects?class=Note&limit=3&include=vector`),
      `docker rm -f -v ${scratch}`,
      `docker rm -f -v ${scratchJob}`,
      `docker volume rm ${scratchVolume}`,
    ]);
    expect(result.envFiles).toEqual([
      {
        path: "/tmp/env-1",
        env: {
          AUTHENTICATION_APIKEY_ALLOWED_KEYS: KEY,
          PERSISTENCE_DATA_PATH: "/var/lib/weaviate",
          BACKUP_FILESYSTEM_PATH: "/var/lib/weaviate/backups",
        },
        removed: true,
      },
      {
        path: "/tmp/env-2",
        env: {
          BACKUP_STACK: "staging",
          WEAVIATE_URL: SCRATCH,
          WEAVIATE_BACKUP_PATH: "/var/lib/weaviate/backups",
        },
        removed: true,
      },
    ]);
    expect(result.argvs.flat().some((word) => word.includes("s3cr3t"))).toBe(false);
    const first = idsSummary(top(1));
    const third = idsSummary(top(3));
    const sha = createHash("sha256").update(top(1).join("\n")).digest("hex").slice(0, 12);
    expect(first).toBe(`10 ids, first ${id(1)}, sha256 ${sha}`);
    expect(result.code).toBe(1);
    expect(result.err).toBe("");
    expect(result.out).toBe(
      [
        `[drill] weaviate: creating volume ${scratchVolume}`,
        `[drill] weaviate: starting ${scratch} (semitechnologies/weaviate:1.22.4)`,
        `[drill] weaviate: restoring 20261130T033000Z-snapshot with ${scratchJob}`,
        `[drill] weaviate: comparing ${scratch} with orchestra-staging-stores-weaviate`,
        renderTable(
          ["check", "live", "restored", ""],
          [
            ["Doc objects", "1000", "1000", "equal"],
            [`Doc nearVector ${id(1)}`, first, first, "equal"],
            [`Doc nearVector ${id(3)}`, third, "refused: vector search: shard not ready", "NOT READ"],
            ["Note objects", "4", "(no class)", "DIFFERS"],
          ],
        ),
        "drill weaviate 20261130T033000Z-snapshot: differs in Note objects (a live store written after the backup finished, 2026-11-30T03:30:09.500Z, differs by those writes; one without writes since must be equal); could not read Doc nearVector 00000000-0000-4000-8000-000000000003",
        `[drill] weaviate: removed ${scratch}, ${scratchJob}, ${scratchVolume}`,
        "[drill] weaviate: drill took 0.0 s",
        "",
      ].join("\n"),
    );
  });

  test("the request script keeps the key in a 0600 wgetrc, off every argv", () => {
    expect(weaviateRequestArgs(BACKUP, `${LIVE}/v1/graphql`, true)).toEqual([
      "exec",
      "-i",
      BACKUP,
      "bash",
      "-c",
      WEAVIATE_REQUEST,
      "weaviate-request",
      `${LIVE}/v1/graphql`,
    ]);
    expect(WEAVIATE_REQUEST).toContain(`key="$(cat /run/secrets/weaviateApiKey)"`);
    expect(WEAVIATE_REQUEST).toContain(
      `(umask 077 && printf 'header = Authorization: Bearer %s\\n' "$key" >"$dir/wgetrc")`,
    );
    expect(WEAVIATE_REQUEST).not.toMatch(/wget [^\n]*\$key/);
  });

  test("a Weaviate without a backup-filesystem path, or one in no volume the backup container mounts, is refused before any volume", async () => {
    const withoutPath = await weaviateDrill(() => undefined, live(weaviateEnv.slice(0, 2)));
    expect(withoutPath.err).toBe(
      "[drill] weaviate: orchestra-staging-stores-weaviate has no BACKUP_FILESYSTEM_PATH: Weaviate has no backup-filesystem module\n",
    );
    const elsewhere = await weaviateDrill(
      () => undefined,
      live([...weaviateEnv.slice(0, 2), "BACKUP_FILESYSTEM_PATH=/backups"]),
    );
    expect(elsewhere.err).toBe(
      "[drill] weaviate: BACKUP_FILESYSTEM_PATH /backups of orchestra-staging-stores-weaviate is in no volume the backup container mounts at the same path\n",
    );
    expect([withoutPath.code, elsewhere.code, withoutPath.calls.length, elsewhere.calls.length]).toEqual([
      1, 1, 2, 2,
    ]);
  });
});
