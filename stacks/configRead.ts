/**
 * How stack config reaches the program, and reading it back into raw values for validation.
 *
 * The Pulumi engine (v3.248, sdk/go/common/resource/config) stores a top-level scalar of
 * Pulumi.<stack>.yaml as its text and an object or list as JSON, and hands the program a map of
 * those strings (PULUMI_CONFIG). So `sshUser: "true"` and `sshUser: true` arrive alike, as the
 * text "true": only the key's declared type can say what was meant. Inside an object JSON keeps
 * the types, so a quoted "2024" stays a string there (`pulumi config set --path` does coerce a
 * nested "true" or "2024", which the schema takes back for its name-like fields).
 */
import { rawConfigSchema, type RawConfig } from "./configSchema";

/** The project's config namespace: every key in a stack file and in PULUMI_CONFIG carries it. */
export const CONFIG_NAMESPACE = "orchestra:";

/** The project's keys among full config keys, without the namespace (`orchestra:ttlHours` -> `ttlHours`). */
export function projectKeys(fullKeys: Iterable<string>): string[] {
  return [...fullKeys]
    .filter((key) => key.startsWith(CONFIG_NAMESPACE))
    .map((key) => key.slice(CONFIG_NAMESPACE.length));
}

const PLAIN_KEYS = Object.keys(rawConfigSchema.shape) as (keyof RawConfig)[];

/** The zod type name of a key's schema, under `.optional()`. */
function schemaType(key: keyof RawConfig): string {
  let def = (
    rawConfigSchema.shape[key] as unknown as { _zod: { def: { type: string; innerType?: unknown } } }
  )._zod.def;
  while (def.type === "optional") def = (def.innerType as { _zod: { def: typeof def } })._zod.def;
  return def.type;
}

/** Keys whose value is text (strings and string enums): read as written, never JSON-parsed. */
export const TEXT_KEYS: ReadonlySet<keyof RawConfig> = new Set(
  PLAIN_KEYS.filter((key) => ["string", "enum"].includes(schemaType(key))),
);

/**
 * Reads plain values the way Pulumi hands them to the program: text keys as written, every other
 * key JSON-parsed (numbers, booleans, objects and lists), falling back to the text when it is not
 * JSON (the schema then names the type it expected). "" is Pulumi.yaml's "not set" default for
 * keys whose default the layer decides, and is left out.
 */
export function readRawConfig(read: (key: string) => string | undefined): Record<string, unknown> {
  const raw: Record<string, unknown> = {};
  for (const key of PLAIN_KEYS) {
    const text = read(key);
    if (text === undefined || text === "") continue;
    if (TEXT_KEYS.has(key)) {
      raw[key] = text;
      continue;
    }
    try {
      raw[key] = JSON.parse(text);
    } catch {
      raw[key] = text;
    }
  }
  return raw;
}

/** A value for an error message: JSON, except numbers JSON cannot carry (Infinity, NaN). */
export function describeValue(value: unknown): string {
  if (typeof value === "number" && !Number.isFinite(value)) return String(value);
  return JSON.stringify(value) ?? "(not set)";
}

/** The path of the first number in `value` that is not finite, e.g. ".gpu_1x_a10", or undefined. */
function nonFinitePath(value: unknown, path = ""): { path: string; value: number } | undefined {
  if (typeof value === "number") return Number.isFinite(value) ? undefined : { path, value };
  if (value === null || typeof value !== "object") return undefined;
  for (const [key, item] of Object.entries(value)) {
    const found = nonFinitePath(item, Array.isArray(value) ? `${path}[${key}]` : `${path}.${key}`);
    if (found !== undefined) return found;
  }
  return undefined;
}

/**
 * The text the engine stores for a value parsed from YAML: a string as is, a number or boolean as
 * its JSON text, an object or list as JSON. `where` (e.g. "orchestra:ttlHours") names it in errors.
 * @throws Error when a number in it is not finite: the engine cannot store one (Go's
 *   `json: unsupported value`), so no stack can hold it.
 */
export function engineConfigText(value: unknown, where: string): string {
  if (typeof value === "string") return value;
  const bad = nonFinitePath(value);
  if (bad !== undefined) {
    throw new Error(
      `${where}${bad.path} = ${bad.value}: Pulumi cannot store a number that is not finite (json: unsupported value); write a finite number`,
    );
  }
  return JSON.stringify(value);
}
