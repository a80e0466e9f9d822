/**
 * A backup's manifest (`manifest.json`, written last into its folder) and the pure judgement of a
 * listed folder. A backup counts only when its manifest parses and every object it lists is there
 * with that size; `verify` (backupStore.ts) additionally re-reads each object for its SHA-256.
 *
 * The manifest, exactly (unknown keys refused at every level):
 *   { "version": 1, "store": "postgres"|"redis"|"weaviate", "stack": string, "backupId": string,
 *     "engine": { "name": <the store>, "version": string },
 *     "startedAt": ISO-8601 UTC, "finishedAt": ISO-8601 UTC,
 *     "encryption": "pgbackrest-aes-256-cbc" | "age",
 *     "objects": [ { "key": relative to the folder, "size": bytes, "sha256": lowercase hex } ] }
 * with objects non-empty, keys unique and sorted by their UTF-8 bytes (S3's listing order).
 */
import { z } from "zod";
import {
  MANIFEST_NAME,
  STORES,
  objectKeyProblem,
  parseBackupId,
  stackNameProblem,
  type Store,
} from "./layout";

export const MANIFEST_VERSION = 1;
export const ENCRYPTIONS = ["pgbackrest-aes-256-cbc", "age"] as const;
export type Encryption = (typeof ENCRYPTIONS)[number];

/** One data object of a backup. */
export interface ManifestObject {
  /** Relative to the backup's folder, e.g. `dump.rdb.age` or `pg_data/base/1/1259.gz`. */
  readonly key: string;
  /** Bytes as stored (after compression and encryption). */
  readonly size: number;
  /** SHA-256 of the stored bytes, 64 lowercase hex digits. */
  readonly sha256: string;
}

export interface Manifest {
  readonly version: 1;
  readonly store: Store;
  readonly stack: string;
  readonly backupId: string;
  readonly engine: { readonly name: Store; readonly version: string };
  /** ISO-8601 UTC with `Z`, e.g. `2026-11-30T10:15:00.000Z`. */
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly encryption: Encryption;
  readonly objects: readonly ManifestObject[];
}

/** A manifest that does not parse; the message lists every problem, each naming its field. */
export class ManifestError extends Error {
  constructor(problems: string) {
    super(problems);
    this.name = "ManifestError";
  }
}

/** A value as JSON, cut to about 60 characters: enough to recognise it in an error. */
function shown(value: unknown): string {
  if (typeof value === "string" && value.length > 60) return JSON.stringify(`${value.slice(0, 57)}...`);
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

/** "is missing" for an absent field, else `must be <what>, not <the value>`. */
const expected =
  (what: string) =>
  (issue: { input?: unknown }): string =>
    issue.input === undefined ? "is missing" : `must be ${what}, not ${shown(issue.input)}`;

/** A strict object's message for an unknown key or a value that is no object at all. */
const fieldsOf =
  (what: string, fields: string) =>
  (issue: { code?: string; input?: unknown }): string | undefined => {
    if (issue.code === "unrecognized_keys") return `is not a field of ${what} (it has ${fields})`;
    return expected(`an object { ${fields} }`)(issue);
  };

const nonEmptyText = (what: string) => z.string({ error: expected(what) }).min(1, { error: expected(what) });

const objectSchema = z.strictObject(
  {
    key: z.string({ error: expected("a relative key") }).superRefine((key, ctx) => {
      const problem = objectKeyProblem(key);
      if (problem !== undefined) ctx.addIssue({ code: "custom", message: `${problem}` });
    }),
    size: z
      .number({ error: expected("a whole number of bytes from 0") })
      .int({ error: expected("a whole number of bytes from 0") })
      .min(0, { error: expected("a whole number of bytes from 0") }),
    sha256: z
      .string({ error: expected("64 lowercase hex digits") })
      .regex(/^[0-9a-f]{64}$/, { error: expected("64 lowercase hex digits") }),
  },
  { error: fieldsOf("an object", "key, size, sha256") },
);

/** S3 lists keys in the order of their UTF-8 bytes; JavaScript's `<` compares UTF-16 units. */
export function compareKeys(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, "utf8"), Buffer.from(b, "utf8"));
}

/** A sorted list of objects, each listed once (also pgBackRest's set record: pgbackrestSet.ts). */
export const objectsSchema = z
  .array(objectSchema, { error: expected("a list of objects") })
  .min(1, { error: "must list at least one object" })
  .superRefine((objects, ctx) => {
    const seen = new Map<string, number>();
    objects.forEach((object, index) => {
      const earlier = seen.get(object.key);
      if (earlier !== undefined)
        ctx.addIssue({
          code: "custom",
          path: [index, "key"],
          message: `repeats "${object.key}" (objects[${earlier}].key): each object is listed once`,
        });
      else seen.set(object.key, index);
      const before = objects[index - 1];
      if (before !== undefined && compareKeys(before.key, object.key) > 0)
        ctx.addIssue({
          code: "custom",
          path: [index, "key"],
          message: `"${object.key}" sorts before objects[${index - 1}].key "${before.key}": objects are listed sorted by key`,
        });
    });
  });

const utcTime = () =>
  z.iso.datetime({ error: expected("an ISO-8601 UTC time such as 2026-11-30T10:15:00.000Z") });

const manifestSchema = z
  .strictObject(
    {
      version: z.literal(MANIFEST_VERSION, { error: expected(`${MANIFEST_VERSION} (the only version)`) }),
      store: z.enum(STORES, { error: expected(STORES.join(", ")) }),
      stack: z.string({ error: expected("a stack name") }).superRefine((stack, ctx) => {
        const problem = stackNameProblem(stack);
        if (problem !== undefined) ctx.addIssue({ code: "custom", message: `${problem}` });
      }),
      backupId: z.string({ error: expected("a backupId such as 20261130T101500Z-full") }),
      engine: z.strictObject(
        {
          name: z.enum(STORES, { error: expected(STORES.join(", ")) }),
          version: nonEmptyText("the engine's version, e.g. 15.4"),
        },
        { error: fieldsOf("engine", "name, version") },
      ),
      startedAt: utcTime(),
      finishedAt: utcTime(),
      encryption: z.enum(ENCRYPTIONS, { error: expected(ENCRYPTIONS.join(", ")) }),
      objects: objectsSchema,
    },
    {
      error: fieldsOf(
        "a manifest",
        "version, store, stack, backupId, engine, startedAt, finishedAt, encryption, objects",
      ),
    },
  )
  .superRefine((manifest, ctx) => {
    // Fields that must agree with each other; each problem names the field that disagrees.
    if (manifest.engine.name !== manifest.store)
      ctx.addIssue({
        code: "custom",
        path: ["engine", "name"],
        message: `must be the manifest's store "${manifest.store}", not "${manifest.engine.name}"`,
      });
    let startedAt: Date;
    try {
      startedAt = parseBackupId(manifest.backupId, manifest.store).startedAt;
    } catch (error) {
      ctx.addIssue({ code: "custom", path: [], message: (error as Error).message });
      return;
    }
    // The id is the start time to the second: a manifest copied into another folder shows here.
    if (Math.floor(Date.parse(manifest.startedAt) / 1000) !== startedAt.getTime() / 1000)
      ctx.addIssue({
        code: "custom",
        path: ["backupId"],
        message: `"${manifest.backupId}" must start with startedAt's UTC time (${manifest.startedAt})`,
      });
    if (Date.parse(manifest.finishedAt) < Date.parse(manifest.startedAt))
      ctx.addIssue({
        code: "custom",
        path: ["finishedAt"],
        message: `${manifest.finishedAt} is before startedAt ${manifest.startedAt}`,
      });
  });

/** `objects[2].sha256`, `engine.name`, `` for the root. */
export function fieldPath(path: readonly PropertyKey[]): string {
  return path
    .map((part, index) =>
      typeof part === "number" ? `[${part}]` : `${index === 0 ? "" : "."}${String(part)}`,
    )
    .join("");
}

/**
 * Checks a parsed JSON value against the manifest schema. Throws ManifestError listing every
 * problem ("; "-separated), each starting with its field: `objects[1].size must be a whole number
 * of bytes from 0, not -1`; an unknown key is named as `objects[0].mtime is not a field of ...`.
 */
export function validateManifest(value: unknown): Manifest {
  const parsed = manifestSchema.safeParse(value);
  if (parsed.success) return parsed.data as Manifest;
  const problems = parsed.error.issues.flatMap((issue) => {
    const paths =
      issue.code === "unrecognized_keys" ? issue.keys.map((key) => [...issue.path, key]) : [issue.path];
    return paths.map((path) => {
      const field = fieldPath(path);
      return field === "" ? issue.message : `${field} ${issue.message}`;
    });
  });
  throw new ManifestError(problems.join("; "));
}

/**
 * `manifest.json`'s text -> the manifest. Throws ManifestError: `not JSON (<parser's words>)`, or
 * validateManifest's problems. JSON's own duplicate-key rule (last wins) is the parser's.
 */
export function parseManifest(text: string): Manifest {
  let value: unknown;
  try {
    value = JSON.parse(text) as unknown;
  } catch (error) {
    throw new ManifestError(`not JSON (${(error as Error).message})`);
  }
  return validateManifest(value);
}

/** What a backup job knows when its objects are stored: manifestFor turns it into the manifest. */
export interface ManifestInput {
  readonly store: Store;
  readonly stack: string;
  readonly backupId: string;
  readonly engineVersion: string;
  readonly startedAt: Date;
  readonly finishedAt: Date;
  readonly encryption: Encryption;
  /** In any order; the manifest lists them sorted by key. */
  readonly objects: readonly ManifestObject[];
}

/** The manifest for `input`, objects sorted by key; throws ManifestError as validateManifest does. */
export function manifestFor(input: ManifestInput): Manifest {
  return validateManifest({
    version: MANIFEST_VERSION,
    store: input.store,
    stack: input.stack,
    backupId: input.backupId,
    engine: { name: input.store, version: input.engineVersion },
    startedAt: input.startedAt.toISOString(),
    finishedAt: input.finishedAt.toISOString(),
    encryption: input.encryption,
    objects: [...input.objects]
      .sort((a, b) => compareKeys(a.key, b.key))
      .map(({ key, size, sha256 }) => ({ key, size, sha256 })),
  });
}

/** The text stored as `manifest.json`: the fields in the schema's order, 2-space indented, a final newline. */
export function manifestText(manifest: Manifest): string {
  return `${JSON.stringify(validateManifest(manifest), null, 2)}\n`;
}

/** An object as a listing gives it. */
export interface ListedObject {
  /** Relative to the backup's folder; the manifest is `manifest.json`. */
  readonly key: string;
  readonly size: number;
  readonly lastModified: Date;
}

/** One backup folder as listed: where it is and every object in it (the manifest included). */
export interface ListedFolder {
  readonly stack: string;
  readonly store: Store;
  readonly backupId: string;
  readonly objects: readonly ListedObject[];
}

/** What reading `manifest.json` gave: its text, or why it could not be read. */
export type ManifestRead = { readonly text: string } | { readonly error: string };

export type FolderJudgement =
  | { readonly state: "complete"; readonly manifest: Manifest }
  | { readonly state: "incomplete"; readonly reason: string };

/**
 * Whether a listed folder holds a backup that counts. Complete: `manifest.json` is listed, `read`
 * parses, names this folder's stack, store and backupId, and every object it lists is in the
 * listing with its size. Otherwise incomplete with the first reason found, one of:
 * - `no manifest.json (a backup stopped before its end, or one still running)`
 * - `unreadable manifest.json: <why>` (not read, not JSON, or a schema problem)
 * - `manifest.json is for <stack>/<store>/<backupId>, not this folder`
 * - `object <key> is missing`
 * - `object <key> is <listed> bytes, the manifest says <size>`
 * Objects in the folder that the manifest does not list are ignored (a retried upload's leftovers).
 */
export function judgeFolder(folder: ListedFolder, read?: ManifestRead): FolderJudgement {
  const incomplete = (reason: string): FolderJudgement => ({ state: "incomplete", reason });
  if (!folder.objects.some((object) => object.key === MANIFEST_NAME))
    return incomplete(`no ${MANIFEST_NAME} (a backup stopped before its end, or one still running)`);
  if (read === undefined) return incomplete(`unreadable ${MANIFEST_NAME}: not read`);
  if ("error" in read) return incomplete(`unreadable ${MANIFEST_NAME}: ${read.error}`);
  let manifest: Manifest;
  try {
    manifest = parseManifest(read.text);
  } catch (error) {
    return incomplete(`unreadable ${MANIFEST_NAME}: ${(error as Error).message}`);
  }
  const claimed = `${manifest.stack}/${manifest.store}/${manifest.backupId}`;
  if (claimed !== `${folder.stack}/${folder.store}/${folder.backupId}`)
    return incomplete(`${MANIFEST_NAME} is for ${claimed}, not this folder`);
  const listed = new Map(folder.objects.map((object) => [object.key, object.size]));
  for (const object of manifest.objects) {
    const size = listed.get(object.key);
    if (size === undefined) return incomplete(`object ${object.key} is missing`);
    if (size !== object.size)
      return incomplete(`object ${object.key} is ${size} bytes, the manifest says ${object.size}`);
  }
  return { state: "complete", manifest };
}
