/**
 * What the backup job is given, rendered from the plan: the key layout in the bucket, the UTC cron
 * schedule of each store, the crontab the job's scheduler runs, and pgBackRest's configuration
 * file. Pure. Formats: cron's five fields (minute hour day-of-month month day-of-week, read in UTC:
 * the container's TZ is UTC), pgBackRest 2.45's INI configuration (its docs' option names).
 */
import type { BackupSettings } from "../stacks/configBackup";
import type { BackupStore, Cadence, ScheduledBackup, WalArchiving } from "../stacks/policy";

/** Where each file goes inside the backup container (the job's contract with its image). */
export const BACKUP_FILE_PATHS = {
  crontab: "/etc/orchestra-backup/crontab",
  /** pgBackRest's default path: no `--config` on any command line. */
  pgbackrestConfig: "/etc/pgbackrest/pgbackrest.conf",
  /** One file per secret, `<dir>/<secret name>`, mode 0600. */
  secretsDir: "/run/secrets",
  /**
   * Where Postgres's archive_command leaves WAL segments for the job to push (both containers).
   * "pgbackrest" in the path is needed: pgBackRest 2.45's backup refuses an archive_command without
   * it (`ERROR: [068]: archive_command '...' must contain pgbackrest`), a check that comes with
   * archive-check, which makes a backup wait until its WAL is in the repository.
   */
  walSpool: "/var/lib/orchestra-backup/pgbackrest-spool",
  /** Postgres's Unix socket directory (the official image's), shared with the job for pgBackRest. */
  postgresSocket: "/var/run/postgresql",
} as const;

/** The stanza pgBackRest keeps this stack's database under (one database cluster per stack). */
export const PGBACKREST_STANZA = "orchestra";

/**
 * The minute each store's scheduled backups start: staggered so two stores' jobs do not compete
 * for the node's disk and uplink at the same moment.
 */
const START_MINUTE: Readonly<Record<BackupStore, number>> = { postgres: 0, redis: 15, weaviate: 30 };

/** Weekly backups run on Sunday (cron's 0); a daily one beside a weekly runs the other days. */
const WEEKLY_DAY = "0";
const OTHER_DAYS = "1-6";

/** `<prefix>/<stack>/<store>/`: the folder a store's backups (`<backupId>/`, each with its manifest) live in. */
export function storeKeyPrefix(prefix: string, stack: string, store: BackupStore): string {
  return `${prefix}/${stack}/${store}/`;
}

/** `<prefix>/<stack>/postgres/pgbackrest/`: pgBackRest's own repository (WAL archive and backup sets). */
export function pgbackrestKeyPrefix(prefix: string, stack: string): string {
  return `${storeKeyPrefix(prefix, stack, "postgres")}pgbackrest/`;
}

/** A store's backups as planned: each type with its cron expression (UTC). */
export interface CronBackup {
  readonly type: ScheduledBackup["type"];
  readonly cron: string;
}

/** The cron expressions (UTC) of one store's scheduled backups, in policy order. */
export function storeSchedule(
  store: BackupStore,
  backups: readonly ScheduledBackup[],
  hourUtc: number,
): CronBackup[] {
  const minute = START_MINUTE[store];
  const weekly = backups.some((backup) => backup.cadence === "weekly");
  const cronOf = (cadence: Cadence): string => {
    switch (cadence) {
      case "hourly":
        return `${minute} * * * *`;
      case "daily":
        // The day of the weekly backup has that one instead (a full makes the day's diff moot).
        return `${minute} ${hourUtc} * * ${weekly ? OTHER_DAYS : "*"}`;
      case "weekly":
        return `${minute} ${hourUtc} * * ${WEEKLY_DAY}`;
    }
  };
  return backups.map((backup) => ({ type: backup.type, cron: cronOf(backup.cadence) }));
}

/**
 * The crontab the job's scheduler runs (in the container, so schedules survive a node reboot with
 * the container's restart policy): one `orchestra-backup run <store> <type>` line per scheduled
 * backup, nothing else (`orchestra-backup schedule` refuses any other line). Retention is not
 * here: `npm run backup -- prune` applies it from the scheduled workflow, and pgBackRest expires
 * its own repository after each backup. No secret: the job reads them from files.
 */
export function crontab(
  stackName: string,
  schedules: readonly { store: BackupStore; schedule: readonly CronBackup[] }[],
): string {
  const lines = schedules.flatMap(({ store, schedule }) =>
    schedule.map((backup) => `${backup.cron} orchestra-backup run ${store} ${backup.type}`),
  );
  return [
    `# Backups of stack ${stackName} (planned by components/backupsPlan.ts); times in UTC.`,
    ...lines,
    "",
  ].join("\n");
}

/** Where pgBackRest reaches the bucket: the endpoint's host and port, or AWS S3 in the region. */
function s3Location(settings: BackupSettings): { host: string; port?: string; uriStyle: "host" | "path" } {
  // A bucket name with a dot cannot be a host name under AWS's wildcard certificate
  // (*.s3.<region>.amazonaws.com matches one label): pgBackRest, which checks it, names it in the path.
  if (settings.endpoint === undefined)
    return {
      host: `s3.${settings.region}.amazonaws.com`,
      uriStyle: settings.bucket.includes(".") ? "path" : "host",
    };
  const url = new URL(settings.endpoint);
  // An S3-compatible server names buckets in the path (the CLI's forcePathStyle, too).
  return { host: url.hostname, ...(url.port !== "" ? { port: url.port } : {}), uriStyle: "path" };
}

export interface PgbackrestTarget {
  readonly stack: string;
  /** Postgres's port (its socket file is named after it). */
  readonly port: number;
  /** The database superuser pgBackRest connects as, over the socket. */
  readonly user: string;
  /** Where the Postgres data volume is mounted in the backup container (read-only). */
  readonly dataPath: string;
  readonly wal: WalArchiving;
}

/**
 * pgBackRest's configuration: the S3 repository under `<prefix>/<stack>/postgres/pgbackrest`,
 * encrypted with aes-256-cbc, full backups kept `retentionDays` days (their differentials and the
 * WAL needed to replay them with them). No secret: the job reads the bucket's keys and the cipher
 * passphrase from their files into PGBACKREST_REPO1_S3_KEY, PGBACKREST_REPO1_S3_KEY_SECRET and
 * PGBACKREST_REPO1_CIPHER_PASS (pgBackRest reads options from PGBACKREST_* variables), never argv.
 */
export function pgbackrestConfig(settings: BackupSettings, target: PgbackrestTarget): string {
  const s3 = s3Location(settings);
  return [
    `# pgBackRest for stack ${target.stack} (planned by components/backupsPlan.ts).`,
    "# repo1-s3-key, repo1-s3-key-secret and repo1-cipher-pass come from the secret files (mode 0600)",
    "# as PGBACKREST_* variables of the job's own processes; they are never written here.",
    "[global]",
    "repo1-type=s3",
    `repo1-s3-bucket=${settings.bucket}`,
    `repo1-s3-endpoint=${s3.host}`,
    `repo1-s3-region=${settings.region}`,
    `repo1-s3-uri-style=${s3.uriStyle}`,
    ...(s3.port !== undefined ? [`repo1-storage-port=${s3.port}`] : []),
    `repo1-path=/${pgbackrestKeyPrefix(settings.prefix, target.stack).replace(/\/$/, "")}`,
    // Encrypted before it leaves the node: a leaked bucket leaks nothing.
    "repo1-cipher-type=aes-256-cbc",
    // Time-based: full backups (and what depends on them) are expired after this many days.
    "repo1-retention-full-type=time",
    `repo1-retention-full=${settings.retentionDays}`,
    // Postgres never waits on S3: its archive_command only copies a segment into the spool, and
    // the job pushes the spool with synchronous archive-push (pgBackRest's async mode reads
    // pg_wal/archive_status, which is in the Postgres container, not here).
    "archive-async=n",
    // How long `backup` and `check` wait for a segment to reach the repository.
    `archive-timeout=${target.wal.archiveTimeoutSeconds}`,
    "compress-type=zst",
    "process-max=2",
    // Start the backup with an immediate checkpoint instead of waiting for the next one.
    "start-fast=y",
    "log-level-console=info",
    "log-level-file=off",
    "",
    `[${PGBACKREST_STANZA}]`,
    `pg1-path=${target.dataPath}`,
    `pg1-port=${target.port}`,
    `pg1-socket-path=${BACKUP_FILE_PATHS.postgresSocket}`,
    `pg1-user=${target.user}`,
    "",
  ].join("\n");
}

/**
 * Postgres's WAL archiving, as `postgres -c` arguments: every finished segment copied into the
 * spool (flushed, then renamed, so the job never pushes half a file and a crash loses no segment
 * Postgres counted as archived), and a segment switch at least every `archiveTimeoutSeconds`.
 */
export function postgresArchiveCommand(wal: WalArchiving): string[] {
  const spool = BACKUP_FILE_PATHS.walSpool;
  return [
    "postgres",
    "-c",
    "archive_mode=on",
    "-c",
    `archive_timeout=${wal.archiveTimeoutSeconds}`,
    "-c",
    `archive_command=cp %p ${spool}/%f.part && sync ${spool}/%f.part && mv ${spool}/%f.part ${spool}/%f`,
  ];
}
