/**
 * Where backups live in the bucket, as pure functions: the one owner of the key layout (issue 11).
 *
 *   <prefix>/<stack>/<store>/<backupId>/<object key>   the backup's data objects
 *   <prefix>/<stack>/<store>/<backupId>/manifest.json  written LAST: a folder without it is incomplete
 *   <prefix>/<stack>/postgres/pgbackrest/...           pgBackRest's own repository (WAL, backup sets)
 *
 * A backupId is the backup's UTC start time plus its kind: `20261130T101500Z-full`. Names sort by
 * time as text, so a listing's order is the backups' order without parsing.
 */
import { z } from "zod";

/** The data stores that are backed up. */
export const STORES = ["postgres", "redis", "weaviate"] as const;
export type Store = (typeof STORES)[number];

/**
 * The kinds of backup each store takes, the suffix of its backupIds: pgBackRest's three types for
 * Postgres with WAL archiving, and `dump` (a `pg_dump -Fc`, standalone) without it; an RDB snapshot
 * for Redis; a backup-module snapshot for Weaviate.
 */
export const BACKUP_KINDS = {
  postgres: ["full", "diff", "incr", "dump"],
  redis: ["rdb"],
  weaviate: ["snapshot"],
} as const satisfies Record<Store, readonly string[]>;
export type BackupKind = (typeof BACKUP_KINDS)[Store][number];

/** The manifest's name inside a backup's folder. */
export const MANIFEST_NAME = "manifest.json";

/** The folder under `<prefix>/<stack>/postgres/` that pgBackRest owns: never a backupId. */
export const PGBACKREST_FOLDER = "pgbackrest";

/** @default prefix of every key when `orchestra:backup` sets none. */
export const DEFAULT_PREFIX = "orchestra";

/** Where a stack's backups go: `orchestra:backup` in Pulumi.<stack>.yaml, prefix defaulted. */
export interface BackupSettings {
  /** An S3-compatible server's https URL; absent means AWS S3 (the region's endpoint). */
  readonly endpoint?: string;
  /** The bucket's region (any non-empty name for a server that ignores it). */
  readonly region: string;
  /** The bucket, which must exist: backups never create it. */
  readonly bucket: string;
  /** The first segment(s) of every key, without leading or trailing "/". @default "orchestra" */
  readonly prefix: string;
}

/** A Pulumi stack name: letters, digits, "-", "_" and "." (so never a "/" that would shift the layout). */
const STACK_NAME = /^[A-Za-z0-9_.-]+$/;

/**
 * Why `prefix` cannot start keys (one or more "/"-separated segments, none empty, "." or ".."),
 * or undefined when it can.
 */
export function prefixProblem(prefix: string): string | undefined {
  const segments = prefix.split("/");
  if (segments.some((segment) => segment === "" || segment === "." || segment === ".."))
    return `"${prefix}" must be one or more folder names separated by "/", with no leading, trailing or doubled "/" and no "." or ".." (e.g. "orchestra" or "backups/orchestra")`;
  return undefined;
}

/**
 * Why `stack` cannot be a stack segment of a key (Pulumi's stack-name characters only, not "." or
 * ".."), or undefined when it can.
 */
export function stackNameProblem(stack: string): string | undefined {
  if (!STACK_NAME.test(stack) || stack === "." || stack === "..")
    return `"${stack}" is not a stack name (letters, digits, "-", "_" and "." only)`;
  return undefined;
}

/**
 * Why `key` cannot be an object's key relative to its backup's folder ("/"-separated segments,
 * none empty, "." or ".."; not the manifest's own name), or undefined when it can.
 */
export function objectKeyProblem(key: string): string | undefined {
  if (key === MANIFEST_NAME) return `"${key}" is the manifest's own name`;
  if (key.split("/").some((segment) => segment === "" || segment === "." || segment === ".."))
    return `"${key}" must be a relative path: segments separated by single "/", none empty, "." or ".."`;
  return undefined;
}

function must(problem: string | undefined): void {
  if (problem !== undefined) throw new Error(problem);
}

/** `<prefix>/<stack>/<store>/`: the folder holding a store's backups. Throws on a bad prefix or stack. */
export function storeFolder(prefix: string, stack: string, store: Store): string {
  must(prefixProblem(prefix));
  must(stackNameProblem(stack));
  return `${prefix}/${stack}/${store}/`;
}

/** `<prefix>/<stack>/<store>/<backupId>/`. Throws on a bad prefix, stack or backupId. */
export function backupFolder(prefix: string, stack: string, store: Store, backupId: string): string {
  parseBackupId(backupId, store);
  return `${storeFolder(prefix, stack, store)}${backupId}/`;
}

/** The full key of an object of a backup (`folder` from backupFolder). Throws on a bad object key. */
export function objectKeyIn(folder: string, key: string): string {
  must(objectKeyProblem(key));
  return `${folder}${key}`;
}

/** The full key of a backup's manifest. */
export function manifestKeyIn(folder: string): string {
  return `${folder}${MANIFEST_NAME}`;
}

/** The parts of a backupId. */
export interface BackupIdParts {
  /** The backup's start, whole seconds, UTC. */
  readonly startedAt: Date;
  readonly kind: BackupKind;
}

const BACKUP_ID = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z-([a-z]+)$/;

/**
 * `startedAt` (its whole seconds, UTC) and `kind` -> `YYYYMMDDTHHMMSSZ-kind`. Throws when `kind` is
 * not one of `store`'s (BACKUP_KINDS) or the time is not from year 1970 to 9999 (the id's 4 digits).
 */
export function backupIdFor(store: Store, startedAt: Date, kind: string): string {
  const kinds: readonly string[] = BACKUP_KINDS[store];
  if (!kinds.includes(kind)) throw new Error(`a ${store} backup is ${kinds.join(", ")}, not "${kind}"`);
  const year = startedAt.getUTCFullYear();
  if (!(year >= 1970 && year <= 9999))
    throw new Error(`backup start ${String(startedAt)}: a backupId needs a time from year 1970 to 9999`);
  return `${utcStamp(startedAt)}-${kind}`;
}

/** "2026-11-30T10:15:00.123Z" -> "20261130T101500Z": the ISO digits without separators or fraction. */
function utcStamp(time: Date): string {
  return `${time.toISOString().slice(0, 19).replace(/[-:]/g, "")}Z`;
}

/**
 * `YYYYMMDDTHHMMSSZ-kind` -> its start time and kind. With `store`, the kind must be one of that
 * store's. Throws an Error naming the id and the expected form for anything else, including a date
 * that does not exist (`20260230T...`).
 */
export function parseBackupId(backupId: string, store?: Store): BackupIdParts {
  const match = BACKUP_ID.exec(backupId);
  const form = "YYYYMMDDTHHMMSSZ-<kind> (UTC start time, e.g. 20261130T101500Z-full)";
  if (match === null) throw new Error(`backupId "${backupId}" is not ${form}`);
  const [year, month, day, hour, minute, second] = match.slice(1, 7).map(Number);
  const startedAt = new Date(Date.UTC(year, month - 1, day, hour, minute, second));
  // Date.UTC rolls over (month 13, February 30, 24:00): a real time reads back as written.
  if (year < 1970 || utcStamp(startedAt) !== backupId.slice(0, 16))
    throw new Error(`backupId "${backupId}" names no UTC time from 1970 on: ${form}`);
  const kind = match[7];
  const kinds: readonly string[] =
    store === undefined ? Object.values(BACKUP_KINDS).flat() : BACKUP_KINDS[store];
  if (!kinds.includes(kind))
    throw new Error(
      `backupId "${backupId}": kind "${kind}" is not ${store === undefined ? "a backup kind" : `a ${store} backup kind`} (${kinds.join(", ")})`,
    );
  return { startedAt, kind: kind as BackupKind };
}

/** A full key taken apart by parseBackupKey. */
export interface BackupKeyParts {
  readonly stack: string;
  readonly store: Store;
  readonly backupId: string;
  /** The object's key relative to the backup's folder (`manifest.json` for the manifest). */
  readonly object: string;
}

/**
 * A full key `<prefix>/<stack>/<store>/<backupId>/<object>` -> its parts. Throws an Error saying
 * what does not fit: not under `<prefix>/`, no store segment, pgBackRest's repository (not a backup
 * folder), a bad backupId for the store, or a bad object key.
 */
export function parseBackupKey(prefix: string, key: string): BackupKeyParts {
  must(prefixProblem(prefix));
  if (!key.startsWith(`${prefix}/`)) throw new Error(`key "${key}" is not under "${prefix}/"`);
  const [stack, store, backupId, ...rest] = key.slice(prefix.length + 1).split("/");
  const shape = `<prefix>/<stack>/<store>/<backupId>/<object>`;
  if (stack === undefined || store === undefined || backupId === undefined || rest.length === 0)
    throw new Error(`key "${key}" is not ${shape}`);
  must(stackNameProblem(stack));
  if (!(STORES as readonly string[]).includes(store))
    throw new Error(`key "${key}": "${store}" is not a store (${STORES.join(", ")})`);
  if (store === "postgres" && backupId === PGBACKREST_FOLDER)
    throw new Error(`key "${key}" is in pgBackRest's repository, not a backup folder`);
  parseBackupId(backupId, store as Store);
  const object = rest.join("/");
  // The manifest's own name is allowed here: it is a key of the folder, just not a data object.
  if (object !== MANIFEST_NAME) must(objectKeyProblem(object));
  return { stack, store: store as Store, backupId, object };
}

/** `text` as the user typed it: `pulumi config set --path` turns `2024` or `true` into a number or boolean. */
const typed = () =>
  z.preprocess(
    (value) => (typeof value === "boolean" || Number.isSafeInteger(value) ? String(value) : value),
    z.string({ error: (issue) => (issue.input === undefined ? "is missing" : "must be a text") }),
  );

// S3's bucket naming rules (3-63 characters of lowercase letters, digits, "." and "-", starting and
// ending with a letter or digit); the stricter DNS form keeps virtual-host addressing possible.
const BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

const settingsSchema = z.strictObject(
  {
    endpoint: typed()
      // No user:password@: a credential in the stack file would be in every listing's output too.
      .refine((value) => /^https:\/\/[^/\s@]+\/?$/.test(value), {
        error: "must be an https URL with no path and no user, e.g. https://s3.example.net",
      })
      .optional(),
    region: typed().pipe(z.string().min(1, { error: "must not be empty" })),
    bucket: typed().refine((value) => BUCKET_NAME.test(value), {
      error:
        "must be an S3 bucket name: 3-63 lowercase letters, digits, '.' and '-', starting and ending with a letter or digit",
    }),
    prefix: typed()
      .superRefine((value, ctx) => {
        const problem = prefixProblem(value);
        if (problem !== undefined) ctx.addIssue({ code: "custom", message: problem });
      })
      .optional(),
  },
  {
    error: (issue) =>
      issue.code === "unrecognized_keys"
        ? `is not a backup setting (orchestra:backup has endpoint, region, bucket and prefix)`
        : issue.code === "invalid_type"
          ? "must be an object { endpoint?, region, bucket, prefix? }"
          : undefined,
  },
);

/**
 * The value of `orchestra:backup` (an object, or its JSON text as `pulumi config set` stores a
 * plain object) -> BackupSettings with the prefix defaulted. Throws one Error listing every problem,
 * one per line, each naming its key: `orchestra:backup.bucket must be an S3 bucket name: ...`.
 */
export function parseBackupSettings(value: unknown): BackupSettings {
  const where = "orchestra:backup";
  let data = value;
  if (typeof value === "string") {
    try {
      data = JSON.parse(value) as unknown;
    } catch {
      throw new Error(
        `${where} must be an object { endpoint?, region, bucket, prefix? }, not the text "${value}"`,
      );
    }
  }
  const parsed = settingsSchema.safeParse(data);
  if (!parsed.success) {
    const problems = parsed.error.issues.flatMap((issue) =>
      issue.code === "unrecognized_keys"
        ? issue.keys.map((key) => `${[where, ...issue.path, key].join(".")} ${issue.message}`)
        : [`${[where, ...issue.path].join(".")} ${issue.message}`],
    );
    throw new Error(problems.join("\n"));
  }
  const { endpoint, region, bucket, prefix } = parsed.data;
  return {
    ...(endpoint !== undefined ? { endpoint: endpoint.replace(/\/$/, "") } : {}),
    region,
    bucket,
    prefix: prefix ?? DEFAULT_PREFIX,
  };
}
