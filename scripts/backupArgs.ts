/**
 * What `npm run backup` is asked to do: its command line (scripts/cliArgs.ts readArgs, refused in
 * the tools' words with the usage line) and the stack's bucket settings from `Pulumi.<stack>.yaml`.
 */
import * as yaml from "js-yaml";
import {
  parseBackupSettings,
  stackNameProblem,
  STORES,
  type BackupSettings,
  type Store,
} from "../infra/backup/layout";
import { environmentPolicy } from "../stacks/policy";
import { LAYERS, type Layer } from "../stacks/configSchema";
import { readArgs } from "./cliArgs";

export const BACKUP_USAGE =
  "usage: npm run backup -- list|verify|prune --stack <name> [--store postgres|redis|weaviate]   (restore, drill and --at <time>: not built yet)";

/** restore and drill are part of issue 11 but not of this tool yet. */
export const NOT_BUILT = "not built yet: restore and drill come with the restore drills (issue 11)";

/** A refused command line: the message, then the usage line. The tool prints it and exits 2. */
export class BackupUsageError extends Error {
  constructor(problem: string) {
    super(`${problem}\n${BACKUP_USAGE}`);
    this.name = "BackupUsageError";
  }
}

export type BackupCommand = "list" | "verify" | "prune";

export interface BackupArgs {
  readonly command: BackupCommand;
  readonly stack: string;
  /** The stores named by --store, or all three (STORES order) when it is not given. */
  readonly stores: readonly Store[];
}

const FLAGS = {
  stack: { type: "string", twice: "one stack per run" },
  store: { type: "string", twice: "one store, or none for all three" },
  // Read only so that `restore ... --at <time>` is told restore is not built, not that --at is unknown.
  at: { type: "string" },
} as const;

const COMMANDS: readonly string[] = ["list", "verify", "prune"];

/**
 * `argv` (without node and the script) -> the command, stack and stores. Throws BackupUsageError
 * with the first problem (readArgs' for an unknown argument, a flag without its value or given
 * twice), then, in this order: `a command is needed: list, verify or prune`; for restore or
 * drill, NOT_BUILT; `unknown command "x": allowed are list, verify, prune`; `--stack is needed: ...`; a stack
 * name with characters Pulumi does not allow; `--store "x": allowed are postgres, redis,
 * weaviate`; `--at is for restore, which is not built yet`.
 */
export function parseBackupArgs(argv: readonly string[]): BackupArgs {
  const { values, positionals } = readArgs(argv, FLAGS, {
    positionals: 1,
    refuse: (problem) => new BackupUsageError(problem),
  });
  const command = positionals[0];
  if (command === undefined) throw new BackupUsageError("a command is needed: list, verify or prune");
  if (command === "restore" || command === "drill") throw new BackupUsageError(NOT_BUILT);
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
  if (values.at !== undefined) throw new BackupUsageError("--at is for restore, which is not built yet");
  return {
    command: command as BackupCommand,
    stack: values.stack,
    stores: values.store !== undefined ? [values.store as Store] : [...STORES],
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
  try {
    return parseBackupSettings(value);
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
