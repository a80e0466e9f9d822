/**
 * Environment policy, decided in one place: protection, retention, TTLs, budgets and what each
 * layer runs. Stateful resources and the config defaults take their values from here.
 */
import type { McpServer } from "../components/serviceCatalog";
import type { Layer } from "./configSchema";

export type DataStore = "sqlite" | "postgres" | "redis" | "weaviate";

/** The stores a backup copies (SQLite lives on the operator's machine and has none). */
export type BackupStore = Exclude<DataStore, "sqlite">;

/** How often a scheduled backup runs (the planner turns it into a UTC cron expression). */
export type Cadence = "hourly" | "daily" | "weekly";

/**
 * One scheduled backup of a store: its type (pgBackRest's `full` and `diff`, or a `dump` (pg_dump)
 * where Postgres has no WAL archiving; Redis's `rdb` snapshot; Weaviate's `snapshot`) and how
 * often it runs. A daily `diff` runs on the days without a weekly `full`.
 */
export interface ScheduledBackup {
  readonly type: "full" | "diff" | "dump" | "rdb" | "snapshot";
  readonly cadence: Cadence;
}

/**
 * Continuous WAL archiving (pgBackRest), for point-in-time recovery. Postgres switches to a new WAL
 * segment at least every `archiveTimeoutSeconds` while it is written to, and the segment is then
 * uploaded: at most `rpoMinutes` of committed data is lost with the data node.
 */
export interface WalArchiving {
  /** Postgres's `archive_timeout` and pgBackRest's `archive-timeout`, in seconds. */
  readonly archiveTimeoutSeconds: number;
  /** The recovery point objective this promises, in minutes (the timeout plus one upload, with margin). */
  readonly rpoMinutes: number;
}

/**
 * Backups of a layer's data stores: `default` (on unless `backup.enabled` is false), `optional`
 * (off unless `backup.enabled` is true), or `unavailable` (refused: nothing to back up).
 */
export type BackupPolicy =
  | { readonly availability: "unavailable" }
  | {
      readonly availability: "default" | "optional";
      /** Days a backup is kept; retention never deletes a store's newest verified backup. */
      readonly retentionDays: number;
      /** Point-in-time recovery for Postgres; undefined: Postgres gets its scheduled dumps only. */
      readonly walArchiving?: WalArchiving;
      readonly schedule: Readonly<Record<BackupStore, readonly ScheduledBackup[]>>;
    };

/**
 * Issue 11: "production: Postgres continuous WAL archiving with point-in-time recovery, RPO at most
 * 5 minutes, plus scheduled full/differential backups; Redis and Weaviate at least hourly". A
 * segment is switched within 60 s (pgBackRest's own default archive-timeout, too) and one 16 MiB
 * segment uploads in seconds: 5 minutes leaves room for a slow upload and a retry.
 */
const PRODUCTION_BACKUPS: BackupPolicy = {
  availability: "default",
  // Production's layer is "full stack with backups"; a month back covers a bad migration found late.
  retentionDays: 30,
  walArchiving: { archiveTimeoutSeconds: 60, rpoMinutes: 5 },
  schedule: {
    // A weekly full bounds a restore's replay to a full, one differential and a day of WAL.
    postgres: [
      { type: "full", cadence: "weekly" },
      { type: "diff", cadence: "daily" },
    ],
    redis: [{ type: "rdb", cadence: "hourly" }],
    weaviate: [{ type: "snapshot", cadence: "hourly" }],
  },
};

/** Issue 11: "staging daily". A week back; no WAL archiving (no point-in-time promise there). */
const STAGING_BACKUPS: BackupPolicy = {
  availability: "default",
  retentionDays: 7,
  schedule: {
    postgres: [{ type: "dump", cadence: "daily" }],
    redis: [{ type: "rdb", cadence: "daily" }],
    weaviate: [{ type: "snapshot", cadence: "daily" }],
  },
};

/** Issue 11: "integration optional". Daily when enabled, kept 3 days (the fleet lives 24 hours). */
const INTEGRATION_BACKUPS: BackupPolicy = {
  availability: "optional",
  retentionDays: 3,
  schedule: STAGING_BACKUPS.schedule,
};

export interface EnvironmentPolicy {
  /** `protect` on stateful resources and instances: `pulumi destroy` refuses until lifted. */
  readonly protect: boolean;
  /** Keep data volumes and the filesystem when the stack is destroyed. */
  readonly retainOnDelete: boolean;
  /** Instances must carry a TTL (and `npm run reap` terminates them after it). */
  readonly ttlRequired: boolean;
  /** A TTL is refused (production fleets are never reaped). */
  readonly ttlForbidden: boolean;
  /** TTL used when the stack config sets none. */
  readonly defaultTtlHours?: number;
  /** Monthly budget when the stack config sets none. Cost: the failure threshold guards it. */
  readonly defaultMonthlyBudgetUsd: number;
  readonly dataStores: readonly DataStore[];
  /** MCP servers run by default (the `mcpServers` key overrides). */
  readonly defaultMcpServers: readonly McpServer[];
  /** Whether and how the layer's data stores are backed up (`orchestra:backup` configures where). */
  readonly backups: BackupPolicy;
  /**
   * Prometheus, Alertmanager and the exporters: `default` on (production), `optional` (off unless
   * `monitoring.enabled` is true: staging), `unavailable` (local and integration refuse it).
   */
  readonly monitoring: "default" | "optional" | "unavailable";
  /** Days Prometheus keeps samples (`monitoring.retentionDays` overrides); 0 where monitoring is unavailable. */
  readonly metricsRetentionDays: number;
}

const BASIC_MCP_SERVERS: readonly McpServer[] = ["memory", "tools"];
const ALL_MCP_SERVERS: readonly McpServer[] = ["memory", "tools", "code", "git", "infrastructure", "unified"];

const POLICIES: Readonly<Record<Layer, EnvironmentPolicy>> = {
  local: {
    protect: false,
    retainOnDelete: false,
    ttlRequired: false,
    ttlForbidden: false,
    defaultMonthlyBudgetUsd: 0,
    dataStores: ["sqlite"],
    defaultMcpServers: [],
    // SQLite lives on the operator's own machine: nothing on a node to back up.
    backups: { availability: "unavailable" },
    monitoring: "unavailable",
    metricsRetentionDays: 0,
  },
  integration: {
    protect: false,
    retainOnDelete: false,
    ttlRequired: true,
    ttlForbidden: false,
    defaultTtlHours: 24,
    defaultMonthlyBudgetUsd: 300,
    dataStores: ["postgres"],
    defaultMcpServers: BASIC_MCP_SERVERS,
    backups: INTEGRATION_BACKUPS,
    monitoring: "unavailable",
    metricsRetentionDays: 0,
  },
  staging: {
    protect: false,
    retainOnDelete: false,
    ttlRequired: true,
    ttlForbidden: false,
    defaultTtlHours: 72,
    defaultMonthlyBudgetUsd: 3000,
    dataStores: ["postgres", "redis", "weaviate"],
    defaultMcpServers: ALL_MCP_SERVERS,
    backups: STAGING_BACKUPS,
    monitoring: "optional",
    metricsRetentionDays: 15,
  },
  production: {
    protect: true,
    retainOnDelete: true,
    ttlRequired: false,
    ttlForbidden: true,
    defaultMonthlyBudgetUsd: 6000,
    dataStores: ["postgres", "redis", "weaviate"],
    defaultMcpServers: ALL_MCP_SERVERS,
    backups: PRODUCTION_BACKUPS,
    monitoring: "default",
    metricsRetentionDays: 30,
  },
};

export function environmentPolicy(layer: Layer): EnvironmentPolicy {
  return POLICIES[layer];
}
