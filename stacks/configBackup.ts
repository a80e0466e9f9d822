/**
 * `orchestra:backup`: whether the layer backs up its data stores (the environment policy's default,
 * or the stack's `enabled`), the rules on that choice and on where backups go, and the settings the
 * Backups planner gets.
 */
import { BACKUP_DEFAULTS, deploysContainers, type RawConfig } from "./configSchema";
import type { Intact } from "./configRules";
import { environmentPolicy, type BackupStore, type ScheduledBackup, type WalArchiving } from "./policy";

/** The secrets every layer that backs up needs: the bucket's credentials and the encryption key. */
export const BACKUP_SECRETS = ["backupAccessKeyId", "backupSecretAccessKey", "backupEncryptionKey"] as const;

/** What the Backups planner is given (every key resolved). */
export interface BackupSettings {
  /** The S3-compatible server, `https://<host>[:<port>]`; undefined: AWS S3 in `region`. */
  readonly endpoint?: string;
  readonly region: string;
  readonly bucket: string;
  /** Key prefix every backup of every stack lives under (no leading or trailing "/"). */
  readonly prefix: string;
  /** The UTC hour daily and weekly backups start. */
  readonly hourUtc: number;
  /** The cost report's storage row: estimated GiB stored and the price per GiB-month in USD. */
  readonly storage: { readonly estimateGiB: number; readonly usdPerGiBMonth: number };
  /** Days a backup is kept (the environment policy's). */
  readonly retentionDays: number;
  /** Continuous WAL archiving for Postgres (production); undefined: scheduled dumps only. */
  readonly walArchiving?: WalArchiving;
  readonly schedule: Readonly<Record<BackupStore, readonly ScheduledBackup[]>>;
}

/** Whether the layer backs up its stores: `backup.enabled` when set, else the policy's default. */
export function backupsOn(config: RawConfig): boolean {
  const policy = environmentPolicy(config.layer).backups;
  if (policy.availability === "unavailable") return false;
  // The stores run in containers: a fleet-only stack has nothing to back up.
  if (!deploysContainers(config)) return false;
  return config.backup?.enabled ?? policy.availability === "default";
}

const rmPath = (key: string) => `\`pulumi config rm --path 'backup.${key}'\``;

/** Problems with `orchestra:backup` against the layer and the containers choice. */
export function backupConfigRules(config: RawConfig, intact: Intact = () => true): string[] {
  if (!intact("layer", "deployContainers")) return [];
  const own = config.backup ?? {};
  const unavailable = environmentPolicy(config.layer).backups.availability === "unavailable";
  if (own.enabled === true && unavailable)
    return [
      `orchestra:backup.enabled = true: the ${config.layer} layer keeps no backups (its SQLite file stays on the operator's machine; production and staging back up by default, integration when enabled); remove it with ${rmPath("enabled")}`,
    ];
  if (own.enabled === true && !deploysContainers(config))
    return [
      `orchestra:backup.enabled = true but orchestra:deployContainers = false: backups run in a container beside the stores; set deployContainers to true or remove backup.enabled with ${rmPath("enabled")}`,
    ];
  const settings = Object.keys(own).filter((key) => key !== "enabled");
  if (!backupsOn(config)) {
    // Settings for backups that do not run would be silently ignored.
    if (settings.length === 0) return [];
    const why = unavailable
      ? `the ${config.layer} layer keeps no backups`
      : own.enabled === false
        ? "backups are off here (backup.enabled is false)"
        : !deploysContainers(config)
          ? "backups are off here (orchestra:deployContainers is false: no store runs)"
          : `the ${config.layer} layer keeps backups only with backup.enabled true`;
    const one = settings.length === 1;
    return [
      `orchestra:backup sets ${settings.join(", ")} but ${why}, so ${one ? "it does" : "they do"} nothing: set backup.enabled true where the layer allows it, or remove ${one ? "it" : "them"} with ${settings.map(rmPath).join(" and ")}`,
    ];
  }
  // A refused `backup` is reported by the schema; a missing key is only known on a parsed one.
  if (!intact("backup")) return [];
  const runs =
    own.enabled === true
      ? `the ${config.layer} layer keeps backups (backup.enabled is true)`
      : `the ${config.layer} layer keeps backups by default`;
  const off =
    own.enabled === true
      ? `remove backup.enabled with ${rmPath("enabled")}`
      : "turn backups off with `pulumi config set --path 'backup.enabled' false`";
  const missing: [key: "bucket" | "region", what: string, example: string][] = [
    ["bucket", "a bucket", `orchestra-backups-${config.layer}`],
    ["region", "a region", "us-east-1"],
  ];
  return missing
    .filter(([key]) => own[key] === undefined)
    .map(
      ([key, what, example]) =>
        `orchestra:backup.${key} is not set; ${runs} and they need ${what}: set it with \`pulumi config set --path 'backup.${key}' ${example}\`, or ${off}`,
    );
}

/** The resolved settings, or undefined when the layer keeps no backups. */
export function backupSettings(config: RawConfig): BackupSettings | undefined {
  if (!backupsOn(config)) return undefined;
  const policy = environmentPolicy(config.layer).backups;
  const own = config.backup ?? {};
  // validateStackConfig refuses a config without them (backupConfigRules): a miss is a bug here.
  if (policy.availability === "unavailable" || own.bucket === undefined || own.region === undefined)
    throw new Error("backupSettings: backups run without a bucket and region; validate the config first");
  return Object.freeze({
    ...(own.endpoint !== undefined ? { endpoint: own.endpoint } : {}),
    region: own.region,
    bucket: own.bucket,
    prefix: own.prefix ?? BACKUP_DEFAULTS.prefix,
    hourUtc: own.hourUtc ?? BACKUP_DEFAULTS.hourUtc,
    storage: {
      estimateGiB: own.estimateGiB ?? BACKUP_DEFAULTS.estimateGiB,
      usdPerGiBMonth: own.usdPerGiBMonth ?? BACKUP_DEFAULTS.usdPerGiBMonth,
    },
    retentionDays: policy.retentionDays,
    ...(policy.walArchiving !== undefined ? { walArchiving: policy.walArchiving } : {}),
    schedule: policy.schedule,
  });
}
