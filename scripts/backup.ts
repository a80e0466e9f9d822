/**
 * `npm run backup -- list|verify|prune|restore|drill --stack <name> [--store postgres|redis|weaviate]
 *   [--backup <backupId>] [--at <ISO time> | --latest] [--yes] [--docker-host <url>]`
 *
 * Reads a stack's backups in its bucket (`orchestra:backup` in Pulumi.<stack>.yaml: region, bucket,
 * optional endpoint and prefix) with the credentials in AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY
 * (or any source of the AWS SDK's default chain), which are never printed. Every store, or the one
 * named by --store:
 * - list: a table per store of its backups, oldest first: backupId, finishedAt, objects, bytes and
 *   state (complete, or incomplete with the reason: such a backup is never restored);
 * - verify: re-reads every object of each store's newest complete backup (what a restore would
 *   pick) through SHA-256 and prints `verified <store> <backupId>: N objects, B bytes`, or names the
 *   object that does not match: `<store> <backupId>: object <key>: sha256 <got> does not match the
 *   manifest's <want>`. A store with no backup at all is reported and skipped, unless named.
 * - prune: applies retention (infra/backup/retention.ts) to each store: keeps the newest complete
 *   backup that verifies, whatever its age, and deletes complete backups older than the layer's
 *   retention days and incomplete folders last written over 24 hours ago, one line per deletion:
 *   `<store>: deleted <backupId>: <reason>`, then `<store>: kept <backupId> (newest verified)`. A
 *   newer backup that fails verify is named (exit 1); like any backup, it goes once past the days.
 *   The backups workflow runs it daily for staging and production; pgBackRest expires its own
 *   repository after each backup.
 * - restore (one --store): verifies the backup (--backup, default the newest complete) as verify
 *   does and refuses with its line; without --yes prints what it would run and exits 2; with --yes
 *   drives the backup container's job on the data node through the docker CLI (backupRestore.ts).
 *   A pgBackRest Postgres is restored to --at <time> or --latest instead of a backup.
 * - drill: per store, the newest complete backup (verified) restored into scratch containers on the
 *   node and compared with the live store, the scratch objects removed after (backupDrill.ts).
 * restore and drill reach the node's Docker engine through DOCKER_HOST (ssh://<sshUser>@<data node
 * ip>) or --docker-host, else the local engine; container names come from the stack's own plan
 * (backupTargets.ts), so Pulumi.<stack>.yaml must validate as for preview.
 *
 * Exit codes: 0 listed, every backup verified, pruned, restored, or every drilled store equal; 1 a
 * verify failed (in prune, restore and drill too), a store had backups but none complete (or was
 * named and had none), nothing was backed up at all, the settings or the layer were invalid, S3
 * failed, a restore or drill step failed, or a drill found a difference; 2 bad arguments, restore
 * without --yes, or no Pulumi.<stack>.yaml.
 */
import { existsSync, readFileSync } from "fs";
import { join } from "path";
import {
  newestComplete,
  S3BackupStore,
  type BackupListing,
  type RetentionResult,
  type VerifyOutcome,
} from "../infra/backup/backupStore";
import type { BackupSettings, Store } from "../infra/backup/layout";
import { dockerCli, writeEnvFile, type DockerCli, type EnvFile } from "./backupDocker";
import { drillStamp, drillStore } from "./backupDrill";
import { elapsed, restorePlanText, restoreStore } from "./backupRestore";
import { restoreTargetsFromStackFile, type RestoreTargets } from "./backupTargets";
import {
  backupSettingsFromStackFile,
  BACKUP_USAGE,
  BackupUsageError,
  parseBackupArgs,
  retentionDaysFromStackFile,
  type BackupArgs,
} from "./backupArgs";
import { renderTable } from "./costFormat";

/** What the tool needs of a backup store; S3BackupStore in use, a fake in tests. */
export interface BackupReader {
  list(stack: string, store: Store): Promise<BackupListing>;
  verify(stack: string, store: Store, backupId: string): Promise<VerifyOutcome>;
  applyRetention(stack: string, store: Store, retentionDays: number, now: Date): Promise<RetentionResult>;
  destroy(): void;
}

export interface BackupDeps {
  readonly out: (text: string) => void;
  readonly err: (text: string) => void;
  /** The project directory, where Pulumi.<stack>.yaml is. */
  readonly root: string;
  readonly openStore: (settings: BackupSettings) => BackupReader;
  /** The time retention is judged at, and restore and drill time their steps by. @default the clock */
  readonly now?: () => Date;
  /** restore and drill: the docker CLI on the engine given (undefined: DOCKER_HOST, else local). @default dockerCli */
  readonly openDocker?: (host: string | undefined) => DockerCli;
  /** restore and drill: waits between polls. @default setTimeout */
  readonly sleep?: (ms: number) => Promise<void>;
  /** drill: writes a scratch container's 0600 env file. @default backupDocker.ts writeEnvFile */
  readonly writeEnvFile?: (env: Readonly<Record<string, string>>) => EnvFile;
}

/**
 * One store's listing as text: `<store>  <location>`, the table (right-aligned numbers; an
 * incomplete backup's state says why), then a line per key that is no backup.
 */
export function formatListing(listing: BackupListing): string {
  const rows = listing.backups.map((backup) => {
    const { judgement } = backup;
    return [
      backup.backupId,
      judgement.state === "complete" ? judgement.manifest.finishedAt : "",
      String(backup.objects),
      String(backup.bytes),
      judgement.state === "complete" ? "complete" : `incomplete: ${judgement.reason}`,
    ];
  });
  const table = renderTable(["backupId", "finishedAt", "objects", "bytes", "state"], rows, [2, 3]);
  const ignored = listing.ignored.map((key) => `ignored (not a backup): ${key}`);
  return [`${listing.store}  ${listing.location}`, table, ...ignored].join("\n");
}

async function list(args: BackupArgs, store: BackupReader, deps: BackupDeps): Promise<number> {
  const blocks: string[] = [];
  for (const name of args.stores) blocks.push(formatListing(await store.list(args.stack, name)));
  deps.out(`${blocks.join("\n\n")}\n`);
  return 0;
}

async function verify(args: BackupArgs, store: BackupReader, deps: BackupDeps): Promise<number> {
  let failed = false;
  let found = false;
  const named = args.stores.length === 1;
  for (const name of args.stores) {
    const listing = await store.list(args.stack, name);
    const newest = newestComplete(listing);
    if (newest === undefined) {
      if (listing.backups.length === 0 && !named) {
        deps.out(`${name}: no backups in ${listing.location}\n`);
        continue;
      }
      found = true;
      failed = true;
      deps.err(
        `${name}: no complete backup to verify in ${listing.location} (${listing.backups.length} incomplete)\n`,
      );
      continue;
    }
    found = true;
    const outcome = await store.verify(args.stack, name, newest.backupId);
    if (outcome.ok) deps.out(`${outcome.line}\n`);
    else {
      deps.err(`${outcome.line}\n`);
      failed = true;
    }
  }
  if (!found) {
    deps.err(`no backups of stack ${args.stack} to verify\n`);
    return 1;
  }
  return failed ? 1 : 0;
}

async function prune(
  args: BackupArgs,
  store: BackupReader,
  deps: BackupDeps,
  retentionDays: number,
): Promise<number> {
  let failed = false;
  const now = (deps.now ?? (() => new Date()))();
  for (const name of args.stores) {
    const result = await store.applyRetention(args.stack, name, retentionDays, now);
    for (const line of result.failedVerify) {
      deps.err(`${name}: newer than the kept backup, but it fails verify: ${line}\n`);
      failed = true;
    }
    for (const deletion of result.deleted)
      deps.out(`${name}: deleted ${deletion.backupId}: ${deletion.reason}\n`);
    deps.out(
      result.newestVerified !== undefined
        ? `${name}: kept ${result.newestVerified} (newest verified), ${retentionDays} days retention\n`
        : `${name}: no verified backup to keep; nothing complete deleted\n`,
    );
  }
  return failed ? 1 : 0;
}

/** The store's target, or the line that says why the stack has none (exit 1). */
function targetOf(targets: RestoreTargets, store: Store) {
  const target = targets.stores[store];
  if (target !== undefined) return { target };
  return { problem: `${store} does not run on stack ${targets.stack}` };
}

async function restore(
  args: BackupArgs,
  store: BackupReader,
  deps: BackupDeps,
  targets: RestoreTargets,
): Promise<number> {
  const name = args.stores[0];
  const found = targetOf(targets, name);
  if (found.target === undefined) {
    deps.err(`${found.problem}\n`);
    return 1;
  }
  const { target } = found;
  if (target.method === "pgbackrest" && args.target === undefined) {
    deps.err(
      `postgres on stack ${args.stack} is backed up by pgBackRest with WAL archiving: it is restored to a time, --at <ISO time> or --latest${args.backupId !== undefined ? " (not --backup)" : ""}\n${BACKUP_USAGE}\n`,
    );
    return 2;
  }
  if (target.method !== "pgbackrest" && args.target !== undefined) {
    deps.err(
      `${"at" in args.target ? "--at" : "--latest"}: postgres on stack ${args.stack} is backed up with pg_dump, so it is restored from a backup (--backup <backupId>, default the newest complete), not to a time\n${BACKUP_USAGE}\n`,
    );
    return 2;
  }
  // A point-in-time restore picks its own backup set; the newest complete record is still checked.
  let backupId = target.method === "pgbackrest" ? undefined : args.backupId;
  if (backupId === undefined) {
    const listing = await store.list(args.stack, name);
    backupId = newestComplete(listing)?.backupId;
    if (backupId === undefined) {
      deps.err(
        `${name}: no complete backup to restore in ${listing.location} (${listing.backups.length} incomplete)\n`,
      );
      return 1;
    }
  }
  const outcome = await store.verify(args.stack, name, backupId);
  if (!outcome.ok) {
    deps.err(`${outcome.line}\n`);
    return 1;
  }
  deps.out(`[restore] ${name}: ${outcome.line}\n`);
  if (!args.yes) {
    deps.out(restorePlanText(target, targets.backupContainer, args.stack, backupId, args.target));
    return 2;
  }
  return restoreStore(nodeDeps(deps, args), target, targets.backupContainer, backupId, args.target);
}

function nodeDeps(deps: BackupDeps, args: BackupArgs) {
  return {
    docker: (deps.openDocker ?? dockerCli)(args.dockerHost),
    out: deps.out,
    err: deps.err,
    now: deps.now ?? (() => new Date()),
    sleep: deps.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))),
    writeEnvFile: deps.writeEnvFile ?? writeEnvFile,
  };
}

async function drill(
  args: BackupArgs,
  store: BackupReader,
  deps: BackupDeps,
  targets: RestoreTargets,
): Promise<number> {
  const node = nodeDeps(deps, args);
  const started = node.now();
  const stamp = drillStamp(started);
  const named = args.stores.length === 1;
  let failed = false;
  let drilled = 0;
  for (const name of args.stores) {
    const found = targetOf(targets, name);
    if (found.target === undefined) {
      if (named) {
        deps.err(`${found.problem}\n`);
        return 1;
      }
      deps.out(`[drill] skipped: ${found.problem}\n`);
      continue;
    }
    const listing = await store.list(args.stack, name);
    const newest = newestComplete(listing);
    if (newest === undefined || newest.judgement.state !== "complete") {
      deps.err(
        `${name}: no complete backup to drill in ${listing.location} (${listing.backups.length} incomplete)\n`,
      );
      failed = true;
      continue;
    }
    const outcome = await store.verify(args.stack, name, newest.backupId);
    if (!outcome.ok) {
      deps.err(`${outcome.line}\n`);
      failed = true;
      continue;
    }
    deps.out(`[drill] ${name}: ${outcome.line}\n`);
    const backup = { backupId: newest.backupId, finishedAt: newest.judgement.manifest.finishedAt };
    drilled += 1;
    if ((await drillStore(node, found.target, targets.backupContainer, backup, stamp)) !== 0) failed = true;
  }
  deps.out(
    `[drill] ${drilled} store${drilled === 1 ? "" : "s"} drilled in ${elapsed(started, node.now())}\n`,
  );
  return failed || drilled === 0 ? 1 : 0;
}

/** Runs the tool; resolves to its exit code. Rejects only for a programming error. */
export async function runBackup(argv: readonly string[], deps: BackupDeps): Promise<number> {
  let args: BackupArgs;
  try {
    args = parseBackupArgs(argv);
  } catch (error) {
    if (!(error instanceof BackupUsageError)) throw error;
    deps.err(`${error.message}\n`);
    return 2;
  }
  const file = join(deps.root, `Pulumi.${args.stack}.yaml`);
  if (!existsSync(file)) {
    deps.err(`no Pulumi.${args.stack}.yaml in ${deps.root}: --stack names a stack of this project\n`);
    return 2;
  }
  let settings: BackupSettings;
  let retentionDays = 0;
  let targets: RestoreTargets | undefined;
  try {
    const text = readFileSync(file, "utf8");
    settings = backupSettingsFromStackFile(text, args.stack);
    if (args.command === "prune") retentionDays = retentionDaysFromStackFile(text, args.stack);
    if (args.command === "restore" || args.command === "drill")
      targets = restoreTargetsFromStackFile(text, args.stack);
  } catch (error) {
    deps.err(`${(error as Error).message}\n`);
    return 1;
  }
  const store = deps.openStore(settings);
  try {
    switch (args.command) {
      case "list":
        return await list(args, store, deps);
      case "verify":
        return await verify(args, store, deps);
      case "prune":
        return await prune(args, store, deps, retentionDays);
      case "restore":
        return await restore(args, store, deps, targets as RestoreTargets);
      case "drill":
        return await drill(args, store, deps, targets as RestoreTargets);
    }
  } catch (error) {
    // BackupStoreError: the action, the s3:// key and the server's words, never a credential.
    deps.err(`backup ${args.command} failed: ${(error as Error).message}\n`);
    return 1;
  } finally {
    store.destroy();
  }
}

if (require.main === module) {
  runBackup(process.argv.slice(2), {
    out: (text) => process.stdout.write(text),
    err: (text) => process.stderr.write(text),
    root: join(__dirname, ".."),
    openStore: (settings) => new S3BackupStore(settings),
  }).then(
    (code) => (process.exitCode = code),
    (error: unknown) => {
      process.stderr.write(`backup failed: ${(error as Error).message}\n`);
      process.exitCode = 1;
    },
  );
}
