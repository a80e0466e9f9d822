/**
 * Pure tier: the backups plan of each layer from its committed Pulumi.<layer>.yaml: which stores
 * are backed up where and how, their UTC schedules, retention and RPO, the backup container (its
 * environment, volumes, files and restart policy), pgBackRest's configuration, the Postgres side
 * of WAL archiving, and the stack outputs. Every secret reaches the container only as a
 * `{secret:<name>}` file of mode 0600: never in its environment, its command or another file.
 */
import { validateStackConfig } from "../stacks/config";
import { stackValues } from "../stacks/configFiles";
import { planLayer } from "../stacks/layerPlan";
import { backupOutputs, type BackupsPlan } from "./backupsPlan";
import { fileSecrets, renderFileSecrets, SECRET_NAMES, type ContainerSpec } from "./containerSpec";

type Edit = (values: Record<string, unknown>) => Record<string, unknown>;

function backupsOf(layer: string, edit: Edit = (values) => values): BackupsPlan | undefined {
  const config = validateStackConfig(edit(stackValues(layer)));
  return planLayer(config, { project: "orchestra", stack: layer }).containers?.backups;
}

function planned(layer: string, edit?: Edit): BackupsPlan {
  const plan = backupsOf(layer, edit);
  if (plan === undefined) throw new Error(`${layer} planned no backups`);
  return plan;
}

/** The one backup container of a plan, on `node`. */
function containerOf(plan: BackupsPlan, node: string): ContainerSpec {
  expect(Object.keys(plan.containers)).toEqual([node]);
  expect(plan.containers[node].length).toBe(1);
  return plan.containers[node][0];
}

const fileAt = (spec: ContainerSpec, path: string) => spec.files?.find((file) => file.path === path);

const withBackup =
  (backup: Record<string, unknown>): Edit =>
  (values) => ({
    ...values,
    backup: { ...(values.backup as Record<string, unknown>), ...backup },
  });

const secretFile = (name: string) => ({
  path: `/run/secrets/${name}`,
  content: `{secret:${name}}`,
  mode: "0600",
});
const BUCKET_SECRETS = ["backupAccessKeyId", "backupSecretAccessKey", "backupEncryptionKey"].map(secretFile);

describe("production: Postgres with WAL archiving, Redis and Weaviate hourly, kept 30 days", () => {
  const plan = planned("production");

  test("every store on the data node: method, UTC schedule, retention, RPO, key prefix and encryption", () => {
    expect(plan.stores).toEqual([
      {
        store: "postgres",
        node: "data",
        method: "pgbackrest",
        schedule: [
          { type: "full", cron: "0 3 * * 0" },
          { type: "diff", cron: "0 3 * * 1-6" },
        ],
        retentionDays: 30,
        walArchiving: { archiveTimeoutSeconds: 60, rpoMinutes: 5 },
        rpoMinutes: 5,
        keyPrefix: "orchestra/production/postgres/",
        repositoryPrefix: "orchestra/production/postgres/pgbackrest/",
        encryption: "pgbackrest-aes-256-cbc",
      },
      {
        store: "redis",
        node: "data",
        method: "redis-rdb",
        schedule: [{ type: "rdb", cron: "15 * * * *" }],
        retentionDays: 30,
        rpoMinutes: 60,
        keyPrefix: "orchestra/production/redis/",
        encryption: "age",
      },
      {
        store: "weaviate",
        node: "data",
        method: "weaviate-snapshot",
        schedule: [{ type: "snapshot", cron: "30 * * * *" }],
        retentionDays: 30,
        rpoMinutes: 60,
        keyPrefix: "orchestra/production/weaviate/",
        encryption: "age",
      },
    ]);
  });

  test("one backup container on the data node, on the stores' network, restarted after a reboot", () => {
    const spec = containerOf(plan, "data");
    expect(plan.networkName).toBe("orchestra-production-stores-net");
    expect([spec.service, spec.containerName, spec.image, spec.restart]).toEqual([
      "backup",
      "orchestra-production-backups-data",
      "ghcr.io/ai-cherry/orchestra-backup:1.1.0",
      "unless-stopped",
    ]);
    expect(spec.command).toEqual(["orchestra-backup", "schedule", "/etc/orchestra-backup/crontab"]);
    expect(spec.ports).toEqual([]);
    expect(spec.healthCheck).toEqual({
      test: ["CMD", "orchestra-backup", "health"],
      intervalSeconds: 30,
      timeoutSeconds: 5,
      retries: 3,
      startPeriodSeconds: 30,
    });
    expect([spec.memoryMiB, spec.cpus]).toEqual([1024, 2]);
    expect(spec.env).toEqual({
      TZ: "UTC",
      BACKUP_STACK: "production",
      BACKUP_BUCKET: "orchestra-backups-production",
      BACKUP_REGION: "us-east-1",
      BACKUP_PREFIX: "orchestra",
      BACKUP_RETENTION_DAYS: "30",
      BACKUP_STORES: "postgres:pgbackrest redis:redis-rdb weaviate:weaviate-snapshot",
      BACKUP_SECRETS_DIR: "/run/secrets",
      WAL_SPOOL: "/var/lib/orchestra-backup/pgbackrest-spool",
      WAL_PUSH_INTERVAL_SECONDS: "10",
      WAL_MAX_WAIT_SECONDS: "300",
      REDIS_HOST: "orchestra-production-stores-redis",
      REDIS_PORT: "6379",
      REDIS_DATA_DIR: "/data",
      WEAVIATE_URL: "http://orchestra-production-stores-weaviate:8080",
      WEAVIATE_BACKUP_PATH: "/var/lib/weaviate/backups",
    });
  });

  test("Postgres's data read-only, the WAL spool and socket shared with Postgres, Redis's and Weaviate's data", () => {
    expect(containerOf(plan, "data").volumes).toEqual([
      {
        volumeName: "orchestra-production-stores-postgres-data",
        containerPath: "/var/lib/postgresql/data",
        readOnly: true,
      },
      {
        volumeName: "orchestra-production-backups-wal-spool-data",
        containerPath: "/var/lib/orchestra-backup/pgbackrest-spool",
      },
      { volumeName: "orchestra-production-backups-postgres-socket", containerPath: "/var/run/postgresql" },
      // Redis's data, for a restore into the stopped store.
      { volumeName: "orchestra-production-stores-redis-data", containerPath: "/data" },
      // Weaviate's, where its backup-filesystem module writes the snapshots the job packs and removes.
      { volumeName: "orchestra-production-stores-weaviate-data", containerPath: "/var/lib/weaviate" },
    ]);
    // The spool beside the stores' data on the filesystem; the socket on the node (not over NFS).
    expect(plan.volumes).toEqual([
      {
        resourceName: "orchestra-production-backups-wal-spool-data",
        volumeName: "orchestra-production-backups-wal-spool-data",
        hostPath: "/lambda/nfs/orchestra-production-data/wal-spool",
      },
      {
        resourceName: "orchestra-production-backups-postgres-socket",
        volumeName: "orchestra-production-backups-postgres-socket",
      },
    ]);
    const spool = "/var/lib/orchestra-backup/pgbackrest-spool";
    expect(plan.postgresArchiving).toEqual({
      command: [
        "postgres",
        "-c",
        "archive_mode=on",
        "-c",
        "archive_timeout=60",
        "-c",
        `archive_command=cp %p ${spool}/%f.part && sync ${spool}/%f.part && mv ${spool}/%f.part ${spool}/%f`,
      ],
      volumes: [
        { volumeName: "orchestra-production-backups-wal-spool-data", containerPath: spool },
        { volumeName: "orchestra-production-backups-postgres-socket", containerPath: "/var/run/postgresql" },
      ],
    });
  });

  test("the crontab: full on Sunday, differential the other days, Redis and Weaviate hourly, no other line", () => {
    expect(fileAt(containerOf(plan, "data"), "/etc/orchestra-backup/crontab")).toEqual({
      path: "/etc/orchestra-backup/crontab",
      content: [
        "# Backups of stack production (planned by components/backupsPlan.ts); times in UTC.",
        "0 3 * * 0 orchestra-backup run postgres full",
        "0 3 * * 1-6 orchestra-backup run postgres diff",
        "15 * * * * orchestra-backup run redis rdb",
        "30 * * * * orchestra-backup run weaviate snapshot",
        "",
      ].join("\n"),
      mode: "0644",
    });
  });

  test("pgBackRest: the S3 repository under the stack's prefix, aes-256-cbc, 30 days, archive-timeout 60 s", () => {
    expect(fileAt(containerOf(plan, "data"), "/etc/pgbackrest/pgbackrest.conf")).toEqual({
      path: "/etc/pgbackrest/pgbackrest.conf",
      content: [
        "# pgBackRest for stack production (planned by components/backupsPlan.ts).",
        "# repo1-s3-key, repo1-s3-key-secret and repo1-cipher-pass come from the secret files (mode 0600)",
        "# as PGBACKREST_* variables of the job's own processes; they are never written here.",
        "[global]",
        "repo1-type=s3",
        "repo1-s3-bucket=orchestra-backups-production",
        "repo1-s3-endpoint=s3.us-east-1.amazonaws.com",
        "repo1-s3-region=us-east-1",
        "repo1-s3-uri-style=host",
        "repo1-path=/orchestra/production/postgres/pgbackrest",
        "repo1-cipher-type=aes-256-cbc",
        "repo1-retention-full-type=time",
        "repo1-retention-full=30",
        "archive-async=n",
        "archive-timeout=60",
        "compress-type=zst",
        "process-max=2",
        "start-fast=y",
        "log-level-console=info",
        "log-level-file=off",
        "",
        "[orchestra]",
        "pg1-path=/var/lib/postgresql/data",
        "pg1-port=5432",
        "pg1-socket-path=/var/run/postgresql",
        "pg1-user=orchestra",
        "",
      ].join("\n"),
      mode: "0644",
    });
  });

  test("secret files: the bucket's keys, the encryption key, and only the store secrets the clients need", () => {
    const files = containerOf(plan, "data").files ?? [];
    // pgBackRest reaches Postgres over its socket (the image trusts local connections): no password.
    expect(files.filter((file) => file.path.startsWith("/run/secrets/"))).toEqual([
      ...BUCKET_SECRETS,
      secretFile("redisPassword"),
      secretFile("weaviateApiKey"),
    ]);
  });

  test("the stack outputs: destination, schedule, retention, RPO and restore command per store", () => {
    expect(backupOutputs(plan)).toEqual({
      postgres: {
        destination: "s3://orchestra-backups-production/orchestra/production/postgres/",
        schedule:
          "WAL archived continuously (a segment at least every 60 s); full at 0 3 * * 0, differential at 0 3 * * 1-6 (cron, UTC)",
        retentionDays: 30,
        rpo: "at most 5 minutes (point-in-time recovery from the WAL archive)",
        restore:
          'DOCKER_HOST=ssh://<sshUser>@<data node ip> npm run backup -- restore --stack production --store postgres --at <ISO time with zone> | --latest --yes (README "Restoring a backup")',
      },
      redis: {
        destination: "s3://orchestra-backups-production/orchestra/production/redis/",
        schedule: "RDB snapshot at 15 * * * * (cron, UTC)",
        retentionDays: 30,
        rpo: "at most 1 hour plus one backup's run time",
        restore:
          'DOCKER_HOST=ssh://<sshUser>@<data node ip> npm run backup -- restore --stack production --store redis [--backup <backupId>] --yes (README "Restoring a backup")',
      },
      weaviate: {
        destination: "s3://orchestra-backups-production/orchestra/production/weaviate/",
        schedule: "snapshot at 30 * * * * (cron, UTC)",
        retentionDays: 30,
        rpo: "at most 1 hour plus one backup's run time",
        restore:
          'DOCKER_HOST=ssh://<sshUser>@<data node ip> npm run backup -- restore --stack production --store weaviate [--backup <backupId>] --yes (README "Restoring a backup")',
      },
    });
  });
});

describe("staging: every store daily, kept 7 days, no WAL archiving", () => {
  const plan = planned("staging");

  test("Postgres is a daily dump over the network; the schedules are staggered within the hour", () => {
    expect(
      plan.stores.map((store) => [
        store.store,
        store.method,
        store.schedule,
        store.retentionDays,
        store.rpoMinutes,
        store.encryption,
      ]),
    ).toEqual([
      ["postgres", "pg_dump", [{ type: "dump", cron: "0 3 * * *" }], 7, 1440, "age"],
      ["redis", "redis-rdb", [{ type: "rdb", cron: "15 3 * * *" }], 7, 1440, "age"],
      ["weaviate", "weaviate-snapshot", [{ type: "snapshot", cron: "30 3 * * *" }], 7, 1440, "age"],
    ]);
    expect([plan.postgresArchiving, plan.volumes]).toEqual([undefined, []]);
  });

  test("the container: Postgres reached by name with its password file, no pgBackRest configuration", () => {
    const spec = containerOf(plan, "data");
    expect(spec.env).toEqual({
      TZ: "UTC",
      BACKUP_STACK: "staging",
      BACKUP_BUCKET: "orchestra-backups-staging",
      BACKUP_REGION: "us-east-1",
      BACKUP_PREFIX: "orchestra",
      BACKUP_RETENTION_DAYS: "7",
      BACKUP_STORES: "postgres:pg_dump redis:redis-rdb weaviate:weaviate-snapshot",
      BACKUP_SECRETS_DIR: "/run/secrets",
      PGHOST: "orchestra-staging-stores-postgres",
      PGPORT: "5432",
      PGUSER: "orchestra",
      PGDATABASE: "orchestra",
      REDIS_HOST: "orchestra-staging-stores-redis",
      REDIS_PORT: "6379",
      REDIS_DATA_DIR: "/data",
      WEAVIATE_URL: "http://orchestra-staging-stores-weaviate:8080",
      WEAVIATE_BACKUP_PATH: "/var/lib/weaviate/backups",
    });
    expect(spec.volumes).toEqual([
      { volumeName: "orchestra-staging-stores-redis-data", containerPath: "/data" },
      { volumeName: "orchestra-staging-stores-weaviate-data", containerPath: "/var/lib/weaviate" },
    ]);
    expect(spec.files?.map((file) => [file.path, file.mode])).toEqual([
      ["/etc/orchestra-backup/crontab", "0644"],
      ...[
        ...BUCKET_SECRETS,
        secretFile("databasePassword"),
        secretFile("redisPassword"),
        secretFile("weaviateApiKey"),
      ].map((file) => [file.path, "0600"]),
    ]);
    expect(fileAt(spec, "/etc/orchestra-backup/crontab")?.content).toBe(
      [
        "# Backups of stack staging (planned by components/backupsPlan.ts); times in UTC.",
        "0 3 * * * orchestra-backup run postgres dump",
        "15 3 * * * orchestra-backup run redis rdb",
        "30 3 * * * orchestra-backup run weaviate snapshot",
        "",
      ].join("\n"),
    );
  });

  test("outputs: daily, RPO a day", () => {
    expect(backupOutputs(plan).postgres).toEqual({
      destination: "s3://orchestra-backups-staging/orchestra/staging/postgres/",
      schedule: "logical dump (pg_dump) at 0 3 * * * (cron, UTC)",
      retentionDays: 7,
      rpo: "at most 24 hours plus one backup's run time",
      restore:
        'DOCKER_HOST=ssh://<sshUser>@<data node ip> npm run backup -- restore --stack staging --store postgres [--backup <backupId>] --yes (README "Restoring a backup")',
    });
    expect(backupOutputs(plan).weaviate).toEqual({
      destination: "s3://orchestra-backups-staging/orchestra/staging/weaviate/",
      schedule: "snapshot at 30 3 * * * (cron, UTC)",
      retentionDays: 7,
      rpo: "at most 24 hours plus one backup's run time",
      restore:
        'DOCKER_HOST=ssh://<sshUser>@<data node ip> npm run backup -- restore --stack staging --store weaviate [--backup <backupId>] --yes (README "Restoring a backup")',
    });
  });
});

describe("integration and local", () => {
  test("integration backs up nothing unless enabled; enabled, its Postgres daily on the app node, kept 3 days", () => {
    expect(backupsOf("integration")).toBeUndefined();
    const plan = planned("integration", () => ({
      ...stackValues("integration"),
      backup: { enabled: true, region: "us-east-1", bucket: "orchestra-backups-integration" },
    }));
    expect(plan.stores).toEqual([
      {
        store: "postgres",
        node: "app",
        method: "pg_dump",
        schedule: [{ type: "dump", cron: "0 3 * * *" }],
        retentionDays: 3,
        rpoMinutes: 1440,
        keyPrefix: "orchestra/integration/postgres/",
        encryption: "age",
      },
    ]);
    const spec = containerOf(plan, "app");
    expect(spec.containerName).toBe("orchestra-integration-backups-app");
    expect(plan.networkName).toBe("orchestra-integration-stores-net");
    expect(spec.files?.filter((file) => file.mode === "0600").map((file) => file.path)).toEqual([
      "/run/secrets/backupAccessKeyId",
      "/run/secrets/backupSecretAccessKey",
      "/run/secrets/backupEncryptionKey",
      "/run/secrets/databasePassword",
    ]);
  });

  test("local plans none (nothing runs on a node), nor do the committed sandbox and a production with backups off", () => {
    expect(backupsOf("local")).toBeUndefined();
    expect(backupsOf("sandbox")).toBeUndefined();
    expect(
      backupsOf("production", () => ({ ...stackValues("production"), backup: { enabled: false } })),
    ).toBeUndefined();
  });
});

describe("settings", () => {
  test("an S3-compatible endpoint: path-style addressing, its port, and the destination's prefix", () => {
    const plan = planned(
      "production",
      withBackup({
        endpoint: "https://localhost:9443",
        region: "local-1",
        prefix: "team/orchestra",
        hourUtc: 22,
      }),
    );
    const spec = containerOf(plan, "data");
    const config = fileAt(spec, "/etc/pgbackrest/pgbackrest.conf")?.content ?? "";
    expect(config.split("\n").filter((line) => /^repo1-(s3|storage|path)/.test(line))).toEqual([
      "repo1-s3-bucket=orchestra-backups-production",
      "repo1-s3-endpoint=localhost",
      "repo1-s3-region=local-1",
      "repo1-s3-uri-style=path",
      "repo1-storage-port=9443",
      "repo1-path=/team/orchestra/production/postgres/pgbackrest",
    ]);
    expect([spec.env.BACKUP_ENDPOINT, spec.env.BACKUP_PREFIX, spec.env.BACKUP_REGION]).toEqual([
      "https://localhost:9443",
      "team/orchestra",
      "local-1",
    ]);
    expect(
      plan.stores.map((store) => [store.keyPrefix, store.schedule.map((backup) => backup.cron)]),
    ).toEqual([
      ["team/orchestra/production/postgres/", ["0 22 * * 0", "0 22 * * 1-6"]],
      ["team/orchestra/production/redis/", ["15 * * * *"]],
      ["team/orchestra/production/weaviate/", ["30 * * * *"]],
    ]);
    expect(fileAt(spec, "/etc/orchestra-backup/crontab")?.content).toBe(
      [
        "# Backups of stack production (planned by components/backupsPlan.ts); times in UTC.",
        "0 22 * * 0 orchestra-backup run postgres full",
        "0 22 * * 1-6 orchestra-backup run postgres diff",
        "15 * * * * orchestra-backup run redis rdb",
        "30 * * * * orchestra-backup run weaviate snapshot",
        "",
      ].join("\n"),
    );
    expect(backupOutputs(plan).redis).toMatchObject({
      destination: "s3://orchestra-backups-production/team/orchestra/production/redis/",
    });
  });

  test("an endpoint without a port leaves pgBackRest's (443)", () => {
    const config = fileAt(
      containerOf(planned("production", withBackup({ endpoint: "https://s3.example.test" })), "data"),
      "/etc/pgbackrest/pgbackrest.conf",
    )?.content;
    expect(config).toContain(
      "\nrepo1-s3-endpoint=s3.example.test\nrepo1-s3-region=us-east-1\nrepo1-s3-uri-style=path\nrepo1-path=",
    );
  });
});

describe("a bucket name with a dot on AWS S3", () => {
  test("pgBackRest names it in the path: AWS's wildcard certificate matches one label of a host name", () => {
    const config = fileAt(
      containerOf(planned("production", withBackup({ bucket: "backups.example.com" })), "data"),
      "/etc/pgbackrest/pgbackrest.conf",
    )?.content;
    expect(config).toContain(
      "\nrepo1-s3-bucket=backups.example.com\nrepo1-s3-endpoint=s3.us-east-1.amazonaws.com\nrepo1-s3-region=us-east-1\nrepo1-s3-uri-style=path\n",
    );
  });
});

describe("secrets reach the container only as {secret:...} files of mode 0600", () => {
  const SECRET_VALUE = "s3cr3t-value";
  const AGE_IDENTITY = `AGE-SECRET-KEY-1${"QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L".repeat(2).slice(0, 58)}`;
  test.each(["production", "staging"])("%s", (layer) => {
    const spec = containerOf(planned(layer), "data");
    expect([spec.secretEnv, spec.secretEnvTemplates]).toEqual([{}, {}]);
    // No placeholder, secret name with a value, or key material in the environment or the command.
    const plain = [
      ...Object.entries(spec.env).map(([key, value]) => `${key}=${value}`),
      ...(spec.command ?? []),
    ];
    for (const text of plain) {
      expect([text, /\{secret:|\{\w+\}/.test(text)]).toEqual([text, false]);
      for (const name of SECRET_NAMES)
        expect([text, text.toLowerCase().includes(name.toLowerCase())]).toEqual([text, false]);
    }
    for (const file of spec.files ?? []) {
      const names = fileSecrets(file.content);
      if (names.length === 0) {
        expect([file.path, file.mode]).toEqual([file.path, "0644"]);
        continue;
      }
      // A secret file holds one secret and nothing else, readable by its owner only.
      expect(file).toEqual(secretFile(names[0]));
      // The file is the bare value: the job reads it as is.
      // The encryption key must be an age identity (checked when rendered); the others are free text.
      const value = names[0] === "backupEncryptionKey" ? AGE_IDENTITY : SECRET_VALUE;
      expect(renderFileSecrets(file.content, { [names[0]]: value })).toBe(value);
    }
  });
});
