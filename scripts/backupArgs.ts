/**
 * What `npm run backup` is asked to do: its command line (scripts/cliArgs.ts readArgs, refused in
 * the tools' words with the usage line) and the stack's bucket settings from `Pulumi.<stack>.yaml`.
 */
import * as yaml from "js-yaml";
import {
  parseBackupId,
  parseBackupSettings,
  stackNameProblem,
  STORES,
  type BackupSettings,
  type Store,
} from "../infra/backup/layout";
import { environmentPolicy } from "../stacks/policy";
import { LAYERS, type Layer } from "../stacks/configSchema";
import { plainKeyProblems } from "../stacks/configParse";
import { readArgs } from "./cliArgs";

export const BACKUP_USAGE =
  "usage: npm run backup -- list|verify|prune|restore|drill --stack <name> [--store postgres|redis|weaviate] [--backup <backupId>] [--at <ISO time> | --latest] [--yes] [--docker-host <url>]";

/** What --at takes: the exact form, as the refusal says it. */
export const AT_FORM =
  "an ISO 8601 time with seconds and a zone, YYYY-MM-DDTHH:MM:SS[.fraction of up to 6 digits] then Z or +HH:MM or -HH:MM, e.g. 2026-11-30T10:15:00Z";

/** A refused command line: the message, then the usage line. The tool prints it and exits 2. */
export class BackupUsageError extends Error {
  constructor(problem: string) {
    super(`${problem}\n${BACKUP_USAGE}`);
    this.name = "BackupUsageError";
  }
}

export type BackupCommand = "list" | "verify" | "prune" | "restore" | "drill";

/** Where a Postgres point-in-time restore goes: a time, or the end of the WAL archive. */
export type RecoveryTarget = { readonly at: string } | { readonly latest: true };

export interface BackupArgs {
  readonly command: BackupCommand;
  readonly stack: string;
  /** The stores named by --store, or all three (STORES order) when it is not given. restore: exactly one. */
  readonly stores: readonly Store[];
  /** restore: the backup to restore (--backup); undefined = the store's newest complete backup. */
  readonly backupId?: string;
  /** restore --store postgres on a pgBackRest layer: --at <time> (as written) or --latest. */
  readonly target?: RecoveryTarget;
  /** restore: --yes, do it (without: say what it would do, exit 2). */
  readonly yes: boolean;
  /** restore and drill: the Docker engine (--docker-host); undefined = DOCKER_HOST, else the local engine. */
  readonly dockerHost?: string;
}

const FLAGS = {
  stack: { type: "string", twice: "one stack per run" },
  store: { type: "string", twice: "one store, or none for all three" },
  backup: { type: "string", twice: "one backup per restore" },
  at: { type: "string", twice: "one time per restore" },
  latest: { type: "boolean" },
  yes: { type: "boolean" },
  "docker-host": { type: "string", twice: "one engine per run" },
} as const;

const COMMANDS: readonly string[] = ["list", "verify", "prune", "restore", "drill"];

// The job's PGBR_TIME_FORM (images/backup/lib/pgbackrest.sh) exactly: seconds required, at most
// microseconds (Postgres's precision). A time the job would refuse must be refused here, before the
// CLI stops anything.
const AT = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.\d{1,6})?(?:Z|([+-])(\d{2}):(\d{2}))$/;

/**
 * Whether `text` is a time --at takes (AT_FORM): the shape, a zone, and fields that exist (no
 * month 13, February 30, hour 24 or offset beyond 14:00). Pure.
 */
export function isRecoveryTime(text: string): boolean {
  const match = AT.exec(text);
  if (match === null) return false;
  const [year, month, day, hour, minute, second] = match.slice(1, 7).map((part) => Number(part ?? 0));
  const date = new Date(Date.UTC(year, month - 1, day, hour, minute, second));
  const fieldsExist =
    date.getUTCFullYear() === year &&
    date.getUTCMonth() === month - 1 &&
    date.getUTCDate() === day &&
    hour < 24 &&
    minute < 60 &&
    second < 60;
  const offsetOk = match[7] === undefined || Number(match[8]) * 60 + Number(match[9]) <= 14 * 60;
  return year >= 1970 && fieldsExist && offsetOk && Number(match[9] ?? 0) < 60;
}

const DOCKER_HOST = /^(unix|tcp|ssh):\/\/\S+$/;

/**
 * `argv` (without node and the script) -> what to do. Throws BackupUsageError with the first
 * problem (readArgs' for an unknown argument, a flag without its value or given twice), then, in
 * this order: `a command is needed: ...`; `unknown command "x": allowed are ...`; `--stack is
 * needed: ...`; a stack name with characters Pulumi does not allow; `--store "x": allowed are
 * postgres, redis, weaviate`; flags of restore (--backup, --at, --latest, --yes) on another
 * command, --docker-host on list/verify/prune; restore without --store; --backup that is no
 * backupId of the store; --at or --latest on a store other than postgres, with --backup, or
 * together; --at that is not AT_FORM; --docker-host that is no unix://, tcp:// or ssh:// URL.
 */
export function parseBackupArgs(argv: readonly string[]): BackupArgs {
  const { values, positionals } = readArgs(argv, FLAGS, {
    positionals: 1,
    refuse: (problem) => new BackupUsageError(problem),
  });
  const command = positionals[0];
  if (command === undefined)
    throw new BackupUsageError("a command is needed: list, verify, prune, restore or drill");
  if (!COMMANDS.includes(command))
    throw new BackupUsageError(`unknown command "${command}": allowed are ${COMMANDS.join(", ")}`);
  if (values.stack === undefined)
    throw new BackupUsageError(
      "--stack is needed: the stack whose backups to read (its Pulumi.<stack>.yaml names the bucket)",
    );
  const stackProblem = stackNameProblem(values.stack);
  if (stackProblem !== undefined) throw new BackupUsageError(`--stack ${stackProblem}`);
  if (values.store !== undefined && !(STORES as readonly string[]).includes(values.store))
    throw new BackupUsageError(`--store "${values.store}": allowed are ${STORES.join(", ")}`);
  const store = values.store as Store | undefined;
  const restoreOnly = (["backup", "at", "latest", "yes"] as const).find((flag) => values[flag] !== undefined);
  if (command !== "restore" && restoreOnly !== undefined)
    throw new BackupUsageError(`--${restoreOnly} is for restore, not ${command}`);
  if (command !== "restore" && command !== "drill" && values["docker-host"] !== undefined)
    throw new BackupUsageError(`--docker-host is for restore and drill, not ${command}`);
  if (command === "restore" && store === undefined)
    throw new BackupUsageError("restore needs --store: one store at a time (postgres, redis or weaviate)");
  if (values.backup !== undefined && store !== undefined) {
    try {
      parseBackupId(values.backup, store);
    } catch (error) {
      throw new BackupUsageError(`--backup: ${(error as Error).message}`);
    }
  }
  const timeFlag = values.at !== undefined ? "--at" : values.latest !== undefined ? "--latest" : undefined;
  if (timeFlag !== undefined && store !== "postgres")
    throw new BackupUsageError(
      `${timeFlag} is for --store postgres (a point-in-time restore from the WAL archive), not ${store}`,
    );
  if (timeFlag !== undefined && values.backup !== undefined)
    throw new BackupUsageError(
      `${timeFlag} and --backup: a point-in-time restore picks its backup itself; give one of them`,
    );
  if (values.at !== undefined && values.latest !== undefined)
    throw new BackupUsageError("--at and --latest: give one (a time, or the end of the WAL archive)");
  if (values.at !== undefined && !isRecoveryTime(values.at))
    throw new BackupUsageError(`--at "${values.at}": allowed is ${AT_FORM}`);
  const dockerHost = values["docker-host"];
  if (dockerHost !== undefined && !DOCKER_HOST.test(dockerHost))
    throw new BackupUsageError(
      `--docker-host "${dockerHost}": allowed is a Docker engine URL, ssh://user@host, tcp://host:port or unix:///path`,
    );
  return {
    command: command as BackupCommand,
    stack: values.stack,
    stores: store !== undefined ? [store] : [...STORES],
    ...(values.backup !== undefined ? { backupId: values.backup } : {}),
    ...(values.at !== undefined
      ? { target: { at: values.at } }
      : values.latest !== undefined
        ? { target: { latest: true as const } }
        : {}),
    yes: values.yes === true,
    ...(dockerHost !== undefined ? { dockerHost } : {}),
  };
}

/** A stack file's `config` map (empty when it has none). Throws naming `file` for text that is not YAML. */
function stackFileConfig(text: string, file: string): Record<string, unknown> {
  let document: unknown;
  try {
    document = yaml.load(text);
  } catch (error) {
    throw new Error(`${file} is not YAML: ${(error as Error).message.split("\n")[0]}`);
  }
  return (document as { config?: Record<string, unknown> } | null)?.config ?? {};
}

const EXAMPLE = `e.g.
  orchestra:backup:
    region: us-east-1
    bucket: my-orchestra-backups
(endpoint: an S3-compatible server's https URL, omitted for AWS S3; prefix: default "orchestra")`;

/** The keys of `orchestra:backup` that say where the backups are (layout.ts BackupSettings). */
const LOCATION_KEYS = ["endpoint", "region", "bucket", "prefix"] as const;

/**
 * `Pulumi.<stack>.yaml`'s text -> its `orchestra:backup` settings (layout.ts parseBackupSettings:
 * an object, or its JSON text). Throws an Error that names the file, the key and the fix: no such
 * key, a secret value (the settings are plain; the credentials are the secrets), text that is not
 * YAML, or each invalid setting.
 */
export function backupSettingsFromStackFile(text: string, stack: string): BackupSettings {
  const file = `Pulumi.${stack}.yaml`;
  const value = stackFileConfig(text, file)["orchestra:backup"];
  if (value === undefined || value === null)
    throw new Error(`${file} sets no orchestra:backup, so there is no bucket to read: add it, ${EXAMPLE}`);
  if (typeof value === "object" && Object.hasOwn(value, "secure"))
    throw new Error(
      `${file}: orchestra:backup is a secret; set it as plain values (the bucket is no secret; the credentials come from AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY), ${EXAMPLE}`,
    );
  let data: unknown = value;
  if (typeof value === "string") {
    try {
      data = JSON.parse(value) as unknown;
    } catch {
      // parseBackupSettings refuses the text with its own words.
    }
  }
  if (typeof data === "object" && data !== null && !Array.isArray(data)) {
    // The whole value is checked as preview checks it (configSchema.ts backupSchema owns its keys:
    // enabled, hourUtc and the cost estimate too); the bucket's location is the part read here.
    const problems = plainKeyProblems("backup", data);
    if (problems.length > 0) throw new Error(problems.map((problem) => `${file}: ${problem}`).join("\n"));
    data = Object.fromEntries(
      Object.entries(data).filter(([key]) => (LOCATION_KEYS as readonly string[]).includes(key)),
    );
  }
  try {
    return parseBackupSettings(data);
  } catch (error) {
    throw new Error(`${file}: ${(error as Error).message.split("\n").join(`\n${file}: `)}`);
  }
}

/**
 * How many days `prune` keeps a stack's backups: its layer's policy (stacks/policy.ts, the one
 * owner), from `orchestra:layer` in `Pulumi.<stack>.yaml`'s text. Throws an Error naming the file
 * for text that is not YAML, a missing or unknown layer, or a layer that keeps no backups.
 */
export function retentionDaysFromStackFile(text: string, stack: string): number {
  const file = `Pulumi.${stack}.yaml`;
  const layer = stackFileConfig(text, file)["orchestra:layer"];
  if (typeof layer !== "string" || !(LAYERS as readonly string[]).includes(layer))
    throw new Error(
      `${file}: orchestra:layer is ${JSON.stringify(layer) ?? "not set"}; it must be one of ${LAYERS.join(", ")} (the layer's policy says how long backups are kept)`,
    );
  const policy = environmentPolicy(layer as Layer).backups;
  if (policy.availability === "unavailable")
    throw new Error(`${file}: the ${layer} layer keeps no backups, so there is nothing to prune`);
  return policy.retentionDays;
}
