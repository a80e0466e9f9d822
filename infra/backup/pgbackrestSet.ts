/**
 * `pgbackrest-set.json`, the record a pgBackRest backup leaves in its folder beside manifest.json
 * (images/backup/lib/pgbackrest.sh, pgbr_write_manifest): the set's label and type, the sets it
 * depends on, its WAL range, and the repository objects it added (its own files and the WAL from its
 * start to its stop), each with the size and SHA-256 of the stored bytes. The manifest can only list
 * this record (manifest keys are relative to the backup's folder); `verify` follows the record to
 * re-read the set's data itself.
 *
 * Shape (fields in this order; objects sorted by key, as the manifest's):
 *   { stanza, label, type: "full"|"diff"|"incr", reference: [labels], archiveId, archiveStart,
 *     archiveStop, repository: "<prefix>/<stack>/postgres/pgbackrest/",
 *     objects: [{ key (relative to repository), size (bytes), sha256 (hex) }] }
 */
import { z } from "zod";
import { objectKeyProblem, PGBACKREST_FOLDER, storeFolder } from "./layout";
import { fieldPath, objectsSchema, type ManifestObject } from "./manifest";

/** The record's name in a pgBackRest backup's folder. */
export const PGBACKREST_SET_NAME = "pgbackrest-set.json";

export interface PgbackrestSet {
  readonly stanza: string;
  readonly label: string;
  readonly type: "full" | "diff" | "incr";
  readonly reference: readonly string[];
  readonly archiveId: string;
  readonly archiveStart: string;
  readonly archiveStop: string;
  /** The repository's folder, `<prefix>/<stack>/postgres/pgbackrest/`. */
  readonly repository: string;
  /** Keys relative to `repository`. */
  readonly objects: readonly ManifestObject[];
}

const text = z.string().min(1);
const setSchema = z.strictObject({
  stanza: text,
  label: text,
  type: z.enum(["full", "diff", "incr"]),
  reference: z.array(text),
  archiveId: text,
  archiveStart: text,
  archiveStop: text,
  repository: text,
  objects: objectsSchema,
});

/** The repository folder a stack's record must name (components/backupsFiles.ts pgbackrestKeyPrefix). */
export function repositoryFolder(prefix: string, stack: string): string {
  return `${storeFolder(prefix, stack, "postgres")}${PGBACKREST_FOLDER}/`;
}

/**
 * The record's text -> the record, for stack `stack` under `prefix`. Throws Error naming the first
 * problem: `not JSON (...)`, `objects[3].sha256 ...`, `repository is "x/", not this stack's "y/"`,
 * `objects[0].key "../k" ...` (a key must stay inside the repository).
 */
export function parsePgbackrestSet(raw: string, prefix: string, stack: string): PgbackrestSet {
  let value: unknown;
  try {
    value = JSON.parse(raw) as unknown;
  } catch (error) {
    throw new Error(`not JSON (${(error as Error).message})`);
  }
  const parsed = setSchema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const field = fieldPath(issue.path);
    throw new Error(field === "" ? issue.message : `${field} ${issue.message}`);
  }
  const set = parsed.data as PgbackrestSet;
  const expected = repositoryFolder(prefix, stack);
  if (set.repository !== expected)
    throw new Error(`repository is "${set.repository}", not this stack's "${expected}"`);
  set.objects.forEach((object, index) => {
    const problem = objectKeyProblem(object.key);
    if (problem !== undefined) throw new Error(`objects[${index}].key ${problem}`);
  });
  return set;
}
