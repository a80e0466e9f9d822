/**
 * Pure planning for Backups: one backup container on the node the stores run on (the data node,
 * else the app node), whose scheduler runs every store's backups on the environment policy's UTC
 * schedule and uploads them, encrypted, to the stack's bucket. Postgres with WAL archiving
 * (production) is pgBackRest: Postgres copies each WAL segment into a spool volume the job pushes,
 * and weekly full and daily differential backups read the data volume read-only. Without WAL
 * archiving Postgres gets a daily `pg_dump`; Redis its RDB snapshot (`redis-cli --rdb`); Weaviate a
 * backup-filesystem snapshot; those three are encrypted with `age` before they leave the node.
 *
 * Secrets reach the container only as files under /run/secrets (mode 0600, `{secret:<name>}`);
 * its environment and command hold none. The Backups component and the image (the job) are later
 * steps: this plan is their contract.
 */
import type { BackupSettings } from "../stacks/configBackup";
import type { BackupStore, WalArchiving } from "../stacks/policy";
import {
  BACKUP_FILE_PATHS,
  crontab,
  pgbackrestConfig,
  pgbackrestKeyPrefix,
  postgresArchiveCommand,
  storeKeyPrefix,
  storeSchedule,
  type CronBackup,
} from "./backupsFiles";
import type { ContainerFile, ContainerSpec, SecretName, VolumeMount } from "./containerSpec";
import {
  DATA_HEALTH_TIMING,
  DATA_PATHS,
  DATABASE_NAME,
  DATABASE_USER,
  storePort,
  volumePlan,
  type DataServicesPlan,
  type VolumePlan,
} from "./dataServicesPlan";
import { DATA_SERVICES } from "./serviceCatalog";

export interface BackupsPlanSettings {
  readonly settings: BackupSettings;
  /** The stack's name: the key segment after the prefix, and the CLI's `--stack`. */
  readonly stack: string;
  /** The node the stores run on (the data node, else the app node). */
  readonly node: string;
  /** The backup job's pinned image (`orchestra:images.orchestra-backup`). */
  readonly image: string;
  /** The stores' plan: which run, their containers (names on the stores' network), volumes and ports. */
  readonly data: DataServicesPlan;
}

/** How a store is backed up. */
export type BackupMethod = "pgbackrest" | "pg_dump" | "redis-rdb" | "weaviate-snapshot";

export interface StoreBackupPlan {
  readonly store: BackupStore;
  /** The node whose backup container backs it up (where the store runs). */
  readonly node: string;
  readonly method: BackupMethod;
  /** Its scheduled backups, each a cron expression in UTC. */
  readonly schedule: readonly CronBackup[];
  readonly retentionDays: number;
  /** Postgres with point-in-time recovery: segments archived at least every archiveTimeoutSeconds. */
  readonly walArchiving?: WalArchiving;
  /**
   * The most committed data a restore may lose, in minutes: WAL archiving's promise, else the
   * interval between scheduled backups (plus one backup's own run time, which it cannot bound).
   */
  readonly rpoMinutes: number;
  /** `<prefix>/<stack>/<store>/`: the backups' folder in the bucket. */
  readonly keyPrefix: string;
  /** `<prefix>/<stack>/postgres/pgbackrest/`: pgBackRest's repository (method pgbackrest only). */
  readonly repositoryPrefix?: string;
  /** The manifest's `encryption`: pgBackRest's repository cipher, or `age` for the other dumps. */
  readonly encryption: "pgbackrest-aes-256-cbc" | "age";
}

/** What the Postgres container adds for WAL archiving (the DataServices step applies it). */
export interface PostgresArchiving {
  /** The container's command: `postgres -c archive_mode=on -c archive_timeout=... -c archive_command=...`. */
  readonly command: readonly string[];
  /** The spool and the socket directory, shared with the backup container. */
  readonly volumes: readonly VolumeMount[];
}

export interface BackupsPlan {
  readonly settings: BackupsPlanSettings;
  readonly stores: readonly StoreBackupPlan[];
  /** Node key -> its backup container (one, on the stores' node). */
  readonly containers: Readonly<Record<string, readonly ContainerSpec[]>>;
  /** The Docker network the backup container joins: the stores', to reach them by container name. */
  readonly networkName: string;
  /**
   * Volumes the backups add (the WAL spool and Postgres's socket directory, with WAL archiving).
   * DataServices declares them (withWalArchiving): the Postgres container mounts them first.
   */
  readonly volumes: readonly VolumePlan[];
  readonly postgresArchiving?: PostgresArchiving;
}

/** The backup container's limits: pgBackRest compresses with process-max 2; the rest stream. */
const LIMITS = { memoryMiB: 1024, cpus: 2 };

/** How often the job pushes the WAL spool: well inside pgBackRest's archive-timeout and the RPO. */
export const WAL_PUSH_INTERVAL_SECONDS = 10;

/** The backup job's credentials and encryption key; every layer that backs up has them. */
const BACKUP_SECRET_FILES: readonly SecretName[] = [
  "backupAccessKeyId",
  "backupSecretAccessKey",
  "backupEncryptionKey",
];

/** The store secret each method's client needs (pgBackRest uses the socket: the image trusts local). */
const STORE_SECRET: Readonly<Record<BackupMethod, SecretName | undefined>> = {
  pgbackrest: undefined,
  pg_dump: "databasePassword",
  "redis-rdb": "redisPassword",
  "weaviate-snapshot": "weaviateApiKey",
};

/** A secret as a file of its own: `{secret:<name>}`, readable by the container's root only. */
function secretFile(name: SecretName): ContainerFile {
  return { path: `${BACKUP_FILE_PATHS.secretsDir}/${name}`, content: `{secret:${name}}`, mode: "0600" };
}

function methodOf(store: BackupStore, wal: WalArchiving | undefined): BackupMethod {
  switch (store) {
    case "postgres":
      return wal !== undefined ? "pgbackrest" : "pg_dump";
    case "redis":
      return "redis-rdb";
    case "weaviate":
      return "weaviate-snapshot";
  }
}

const CADENCE_MINUTES = { hourly: 60, daily: 24 * 60, weekly: 7 * 24 * 60 } as const;

/** Plans the backups of the stores on `input.node`. `prefix` is the component's name; child names derive from it. */
export function planBackups(prefix: string, input: BackupsPlanSettings): BackupsPlan {
  const { settings, stack, node, data } = input;
  const wal = settings.walArchiving;
  const running = data.settings.stores.filter((store): store is BackupStore =>
    (DATA_SERVICES as readonly string[]).includes(store),
  );
  if (running.length === 0) throw new Error(`Backups ${prefix}: the layer runs no store to back up`);
  const stores: StoreBackupPlan[] = running.map((store) => {
    const method = methodOf(store, wal);
    const backups = settings.schedule[store];
    return {
      store,
      node,
      method,
      schedule: storeSchedule(store, backups, settings.hourUtc),
      retentionDays: settings.retentionDays,
      ...(method === "pgbackrest" && wal !== undefined ? { walArchiving: wal } : {}),
      rpoMinutes:
        method === "pgbackrest" && wal !== undefined
          ? wal.rpoMinutes
          : Math.min(...backups.map((backup) => CADENCE_MINUTES[backup.cadence])),
      keyPrefix: storeKeyPrefix(settings.prefix, stack, store),
      ...(method === "pgbackrest" ? { repositoryPrefix: pgbackrestKeyPrefix(settings.prefix, stack) } : {}),
      encryption: method === "pgbackrest" ? "pgbackrest-aes-256-cbc" : "age",
    };
  });

  const storeSpec = (store: BackupStore) => {
    const spec = data.containers.find((container) => container.service === store);
    if (spec === undefined) throw new Error(`Backups ${prefix}: no ${store} container among the stores`);
    return spec;
  };
  const containerOf = (store: BackupStore) => storeSpec(store).containerName;
  /** The store's data volume, mounted at the same path as in the store's own container. */
  const dataMount = (store: BackupStore, readOnly: boolean): VolumeMount => {
    const mount = storeSpec(store).volumes.find((volume) => volume.containerPath === DATA_PATHS[store]);
    if (mount === undefined)
      throw new Error(`Backups ${prefix}: the ${store} container mounts no data volume`);
    return {
      volumeName: mount.volumeName,
      containerPath: mount.containerPath,
      ...(readOnly ? { readOnly } : {}),
    };
  };
  const port = (store: BackupStore) => String(storePort(data.settings.ports, store));
  const pgbackrest = stores.find((planned) => planned.method === "pgbackrest");
  // The spool keeps unsent segments beside the data (on the Lambda filesystem when it holds the
  // stores); a Unix socket does not work on a network filesystem, so the socket's is Docker's own.
  const spool = volumePlan(prefix, "wal-spool", data.settings.filesystemMountPath);
  const socket = { resourceName: `${prefix}-postgres-socket`, volumeName: `${prefix}-postgres-socket` };
  const archiveVolumes: VolumeMount[] = [
    { volumeName: spool.volumeName, containerPath: BACKUP_FILE_PATHS.walSpool },
    { volumeName: socket.volumeName, containerPath: BACKUP_FILE_PATHS.postgresSocket },
  ];

  const env: Record<string, string> = {
    TZ: "UTC",
    BACKUP_STACK: stack,
    BACKUP_BUCKET: settings.bucket,
    BACKUP_REGION: settings.region,
    ...(settings.endpoint !== undefined ? { BACKUP_ENDPOINT: settings.endpoint } : {}),
    BACKUP_PREFIX: settings.prefix,
    BACKUP_RETENTION_DAYS: String(settings.retentionDays),
    BACKUP_STORES: stores.map((planned) => `${planned.store}:${planned.method}`).join(" "),
    BACKUP_SECRETS_DIR: BACKUP_FILE_PATHS.secretsDir,
  };
  const volumes: VolumeMount[] = [];
  for (const planned of stores) {
    switch (planned.method) {
      case "pgbackrest":
        Object.assign(env, {
          WAL_SPOOL: BACKUP_FILE_PATHS.walSpool,
          WAL_PUSH_INTERVAL_SECONDS: String(WAL_PUSH_INTERVAL_SECONDS),
          // The health check's bound: a segment waiting longer breaks the RPO.
          WAL_MAX_WAIT_SECONDS: String(planned.rpoMinutes * 60),
        });
        // Read-only: a backup reads the cluster's files; pgBackRest runs as its owner (uid 999).
        volumes.push(dataMount("postgres", true), ...archiveVolumes);
        break;
      case "pg_dump":
        Object.assign(env, {
          PGHOST: containerOf("postgres"),
          PGPORT: port("postgres"),
          PGUSER: DATABASE_USER,
          PGDATABASE: DATABASE_NAME,
        });
        break;
      case "redis-rdb":
        Object.assign(env, {
          REDIS_HOST: containerOf("redis"),
          REDIS_PORT: port("redis"),
          REDIS_DATA_DIR: DATA_PATHS.redis,
        });
        // Read-write, for a restore only: `orchestra-backup restore redis` writes the snapshot into
        // the stopped Redis's data directory (a backup reads over the network, never this).
        volumes.push(dataMount("redis", false));
        break;
      case "weaviate-snapshot": {
        const snapshots = storeSpec("weaviate").env.BACKUP_FILESYSTEM_PATH;
        if (snapshots === undefined)
          throw new Error(`Backups ${prefix}: the weaviate container has no backup-filesystem path`);
        Object.assign(env, {
          WEAVIATE_URL: `http://${containerOf("weaviate")}:${port("weaviate")}`,
          // The store's backup-filesystem module writes here; the job packs, uploads, then removes it.
          WEAVIATE_BACKUP_PATH: snapshots,
        });
        // Read-write: the job removes each snapshot folder once it is uploaded (or the disk fills).
        volumes.push(dataMount("weaviate", false));
        break;
      }
    }
  }

  const secrets = [
    ...BACKUP_SECRET_FILES,
    ...stores.flatMap((planned) => STORE_SECRET[planned.method] ?? []),
  ];
  const files: ContainerFile[] = [
    {
      path: BACKUP_FILE_PATHS.crontab,
      content: crontab(
        stack,
        stores.map((planned) => ({ store: planned.store, schedule: planned.schedule })),
      ),
      mode: "0644",
    },
    ...(pgbackrest?.walArchiving !== undefined
      ? [
          {
            path: BACKUP_FILE_PATHS.pgbackrestConfig,
            content: pgbackrestConfig(settings, {
              stack,
              port: storePort(data.settings.ports, "postgres"),
              user: DATABASE_USER,
              dataPath: DATA_PATHS.postgres,
              wal: pgbackrest.walArchiving,
            }),
            mode: "0644",
          },
        ]
      : []),
    ...secrets.map(secretFile),
  ];

  const spec: ContainerSpec = {
    service: "backup",
    containerName: `${prefix}-${node}`,
    image: input.image,
    env,
    secretEnv: {},
    secretEnvTemplates: {},
    // It listens on nothing: it only connects to the stores and the bucket.
    ports: [],
    // The job's own check: its scheduler runs and no store's last scheduled backup failed.
    healthCheck: { test: ["CMD", "orchestra-backup", "health"], ...DATA_HEALTH_TIMING },
    // Back after a crash and after a node reboot: the schedule lives in this container.
    restart: "unless-stopped",
    ...LIMITS,
    volumes,
    command: ["orchestra-backup", "schedule", BACKUP_FILE_PATHS.crontab],
    files,
  };
  return {
    settings: input,
    stores,
    containers: { [node]: [spec] },
    networkName: data.networkName,
    volumes: pgbackrest !== undefined ? [spool, socket] : [],
    ...(pgbackrest?.walArchiving !== undefined
      ? {
          postgresArchiving: {
            command: postgresArchiveCommand(pgbackrest.walArchiving),
            volumes: archiveVolumes,
          },
        }
      : {}),
  };
}

/** What the stack outputs say about one store's backups. */
export interface BackupOutput {
  /** `s3://<bucket>/<prefix>/<stack>/<store>/` (on the endpoint when one is set). */
  readonly destination: string;
  /** The schedule in words, with each cron expression (UTC). */
  readonly schedule: string;
  readonly retentionDays: number;
  /** The most committed data a restore may lose, in words. */
  readonly rpo: string;
  /** How to restore: the `npm run backup -- restore` command (restoreHow). */
  readonly restore: string;
}

const TYPE_WORDS = {
  full: "full",
  diff: "differential",
  dump: "logical dump (pg_dump)",
  rdb: "RDB snapshot",
  snapshot: "snapshot",
} as const;

function duration(minutes: number): string {
  if (minutes % (24 * 60) === 0) return minutes === 24 * 60 ? "24 hours" : `${minutes / (24 * 60)} days`;
  if (minutes % 60 === 0) return minutes === 60 ? "1 hour" : `${minutes / 60} hours`;
  return minutes === 1 ? "1 minute" : `${minutes} minutes`;
}

/** The `backups` stack output: per store, where its backups go, when, for how long, and how to restore. */
export function backupOutputs(plan: BackupsPlan): Partial<Record<BackupStore, BackupOutput>> {
  const { settings } = plan.settings;
  return Object.fromEntries(
    plan.stores.map((planned) => {
      const scheduled = planned.schedule
        .map((backup) => `${TYPE_WORDS[backup.type]} at ${backup.cron}`)
        .join(", ");
      const schedule =
        planned.walArchiving !== undefined
          ? `WAL archived continuously (a segment at least every ${planned.walArchiving.archiveTimeoutSeconds} s); ${scheduled} (cron, UTC)`
          : `${scheduled} (cron, UTC)`;
      const rpo =
        planned.walArchiving !== undefined
          ? `at most ${duration(planned.rpoMinutes)} (point-in-time recovery from the WAL archive)`
          : `at most ${duration(planned.rpoMinutes)} plus one backup's run time`;
      return [
        planned.store,
        {
          destination: `s3://${settings.bucket}/${planned.keyPrefix}`,
          schedule,
          retentionDays: planned.retentionDays,
          rpo,
          restore: restoreHow(plan.settings.stack, planned.store, planned.method),
        },
      ] as const;
    }),
  );
}

/**
 * The restore command of one store of `stack`, as the stack outputs give it: `npm run backup --
 * restore` run where Docker reaches the data node (DOCKER_HOST, README "Restoring a backup"); a
 * pgBackRest Postgres is restored to a time, the others from a backup (default the newest).
 */
export function restoreHow(stack: string, store: BackupStore, method: BackupMethod): string {
  const which = method === "pgbackrest" ? "--at <ISO time with zone> | --latest" : "[--backup <backupId>]";
  return `DOCKER_HOST=ssh://<sshUser>@<data node ip> npm run backup -- restore --stack ${stack} --store ${store} ${which} --yes (README "Restoring a backup")`;
}

/**
 * The stores' plan with Postgres's side of WAL archiving applied: its command gains the archive
 * settings and it mounts the spool and socket volumes it shares with the backup container, which
 * DataServices declares with the stores' own. Without WAL archiving: the plan unchanged.
 */
export function withWalArchiving(data: DataServicesPlan, backups: BackupsPlan): DataServicesPlan {
  const archiving = backups.postgresArchiving;
  if (archiving === undefined) return data;
  return {
    ...data,
    containers: data.containers.map((spec) =>
      spec.service === "postgres"
        ? { ...spec, command: [...archiving.command], volumes: [...spec.volumes, ...archiving.volumes] }
        : spec,
    ),
    volumes: [...data.volumes, ...backups.volumes],
  };
}
