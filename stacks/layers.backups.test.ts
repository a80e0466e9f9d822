/**
 * Mock tier, backups: the Backups component's container on production's data node (its image,
 * schedule, restart policy, network and mounts), Postgres's side of WAL archiving, every backup
 * secret only as a 0600 file inside a secret envelope and none on any command line, and the
 * outputs per store.
 */
import { build, inputsOf, registered, secretValue, setLayerMocks, TEST_SECRETS } from "./layerMocks";

beforeAll(setLayerMocks);

const CONTAINER = "docker:index/container:Container";
const BACKUP = "orchestra-production-backups-data";

interface Upload {
  readonly file: string;
  readonly content: unknown;
  readonly permissions?: string;
}

/** The engine sends a container's whole `uploads` list enveloped when one file holds a secret. */
function uploadsOf(inputs: Record<string, unknown>): Upload[] {
  const envelope = inputs.uploads as { value: Upload[] };
  expect(envelope).toEqual(secretValue(expect.any(Array)));
  return envelope.value;
}

describe("production (backups on by default)", () => {
  test("the backup container: pinned image, its schedule, restart after a reboot, the stores' network", async () => {
    await build("production");
    const backup = inputsOf(CONTAINER, BACKUP);
    expect(backup.name).toBe(BACKUP);
    expect(backup.command).toEqual(["orchestra-backup", "schedule", "/etc/orchestra-backup/crontab"]);
    expect(backup.restart).toBe("unless-stopped");
    expect(backup.networksAdvanced).toEqual([
      { name: "orchestra-production-stores-net", aliases: ["backup"] },
    ]);
    expect(backup.ports).toEqual([]);
    expect(backup.volumes).toEqual([
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
      { volumeName: "orchestra-production-stores-redis-data", containerPath: "/data" },
      { volumeName: "orchestra-production-stores-weaviate-data", containerPath: "/var/lib/weaviate" },
    ]);
    const uploads = uploadsOf(backup);
    expect(uploads[0]).toEqual({
      file: "/etc/orchestra-backup/crontab",
      content: [
        "# Backups of stack production (planned by components/backupsPlan.ts); times in UTC.",
        "0 3 * * 0 orchestra-backup run postgres full",
        "0 3 * * 1-6 orchestra-backup run postgres diff",
        "15 * * * * orchestra-backup run redis rdb",
        "30 * * * * orchestra-backup run weaviate snapshot",
        "",
      ].join("\n"),
      permissions: "0644",
    });
  });

  test("every backup secret is a file inside a secret envelope; none in the environment or on a command line", async () => {
    await build("production");
    const backup = inputsOf(CONTAINER, BACKUP);
    const uploads = uploadsOf(backup);
    const secretFiles = uploads.filter((upload) => upload.file.startsWith("/run/secrets/"));
    expect(secretFiles).toEqual(
      [
        "backupAccessKeyId",
        "backupSecretAccessKey",
        "backupEncryptionKey",
        "redisPassword",
        "weaviateApiKey",
      ].map((name) => ({
        file: `/run/secrets/${name}`,
        content: TEST_SECRETS[name as keyof typeof TEST_SECRETS],
        // Readable by the container's root only.
        permissions: "0600",
      })),
    );
    const config = uploads.find((upload) => upload.file === "/etc/pgbackrest/pgbackrest.conf");
    expect(typeof config?.content).toBe("string");
    // Every argv of every container (command, entrypoint, health check) and every plain value.
    const plain = JSON.stringify([
      backup.envs,
      config?.content,
      registered
        .filter((resource) => resource.type === CONTAINER)
        .map((resource) => [
          resource.inputs.command,
          resource.inputs.entrypoints,
          resource.inputs.healthcheck,
        ]),
    ]);
    expect(Object.values(TEST_SECRETS).filter((secret) => plain.includes(secret))).toEqual([]);
  });

  test("Postgres archives each WAL segment into the spool it shares with the backup container", async () => {
    await build("production");
    const postgres = inputsOf(CONTAINER, "orchestra-production-stores-postgres");
    expect(postgres.command).toEqual([
      "postgres",
      "-c",
      "archive_mode=on",
      "-c",
      "archive_timeout=60",
      "-c",
      "archive_command=cp %p /var/lib/orchestra-backup/pgbackrest-spool/%f.part && sync /var/lib/orchestra-backup/pgbackrest-spool/%f.part && mv /var/lib/orchestra-backup/pgbackrest-spool/%f.part /var/lib/orchestra-backup/pgbackrest-spool/%f",
    ]);
    expect((postgres.volumes as { containerPath: string }[]).map((volume) => volume.containerPath)).toEqual([
      "/var/lib/postgresql/data",
      "/var/lib/orchestra-backup/pgbackrest-spool",
      "/var/run/postgresql",
    ]);
  });

  test("the outputs say where each store's backups go, when, for how long, and how to restore", async () => {
    const built = await build("production");
    expect(built.backups?.outputs.postgres).toEqual({
      destination: "s3://orchestra-backups-production/orchestra/production/postgres/",
      schedule:
        "WAL archived continuously (a segment at least every 60 s); full at 0 3 * * 0, differential at 0 3 * * 1-6 (cron, UTC)",
      retentionDays: 30,
      rpo: "at most 5 minutes (point-in-time recovery from the WAL archive)",
      restore:
        'DOCKER_HOST=ssh://<sshUser>@<data node ip> npm run backup -- restore --stack production --store postgres --at <ISO time with zone> | --latest --yes (README "Restoring a backup")',
    });
    expect(built.backups?.outputs.redis).toEqual({
      destination: "s3://orchestra-backups-production/orchestra/production/redis/",
      schedule: "RDB snapshot at 15 * * * * (cron, UTC)",
      retentionDays: 30,
      rpo: "at most 1 hour plus one backup's run time",
      restore:
        'DOCKER_HOST=ssh://<sshUser>@<data node ip> npm run backup -- restore --stack production --store redis [--backup <backupId>] --yes (README "Restoring a backup")',
    });
    expect(built.backups?.outputs.weaviate).toEqual({
      destination: "s3://orchestra-backups-production/orchestra/production/weaviate/",
      schedule: "snapshot at 30 * * * * (cron, UTC)",
      retentionDays: 30,
      rpo: "at most 1 hour plus one backup's run time",
      restore:
        'DOCKER_HOST=ssh://<sshUser>@<data node ip> npm run backup -- restore --stack production --store weaviate [--backup <backupId>] --yes (README "Restoring a backup")',
    });
  });
});
