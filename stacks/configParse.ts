/**
 * Parsing raw stack config key by key into problems in the user's words: each names the key in
 * `pulumi config set --path` syntax, the value written, what is allowed and the command that fixes
 * it. A refused key hides nothing: the rules still run on every key that passed.
 */
import type { z } from "zod";
import { withoutPassword } from "../infra/lambda/settings";
import { describeValue } from "./configRead";
import type { Intact } from "./configRules";
import { ENTRY_SCHEMAS, rawConfigSchema, SECRET_KEYS, type RawConfig } from "./configSchema";

const PLAIN_KEYS = Object.keys(rawConfigSchema.shape) as (keyof RawConfig)[];

/**
 * A zod issue path in `pulumi config set --path` syntax, without the `orchestra:` namespace:
 * `nodes.app.regions[0]`. List items are `[n]` (`regions.0` would set a map key "0"), and a key
 * that `--path` would split (a `.`, `[`, `]`, `"` or space in it) is written `["key"]`.
 */
export function configPath(path: readonly PropertyKey[]): string {
  return path
    .map((part, index) => {
      if (typeof part === "number") return `[${part}]`;
      const name = String(part);
      if (/[.[\]"\s]/.test(name) || name === "") return `[${JSON.stringify(name)}]`;
      return index === 0 ? name : `.${name}`;
    })
    .join("");
}

/** A schema problem at `path`: the key, the value written, what is allowed and how to fix it. */
function schemaProblem(raw: Record<string, unknown>, path: readonly PropertyKey[], message: string): string {
  const value = path.reduce<unknown>(
    (current, part) => (current as Record<PropertyKey, unknown> | undefined)?.[part],
    raw,
  );
  const where = configPath(path);
  // A private key pasted into any key is never repeated (errors reach CI logs and pull requests).
  if (typeof value === "string" && /PRIVATE KEY/.test(value))
    return `orchestra:${where} = (a private key, not shown): a private key does not belong in plain config; give the public key line (the .pub file) here and the private key only as the secret sshPrivateKey; fix with \`pulumi config set --path '${where}' "$(cat key.pub)"\``;
  // A password written into a URL is not repeated in the error (it would reach CI logs).
  const url = where === "lambdaApiUrl" || where === "backup.endpoint";
  const shown = url && typeof value === "string" ? withoutPassword(value) : value;
  return `orchestra:${where} = ${describeValue(shown)}: ${message}; fix with \`pulumi config set --path '${where}' <value>\``;
}

/** An unknown key inside an object (a typo): named with its value, removed with `config rm --path`. */
function unknownKeyProblem(
  raw: Record<string, unknown>,
  path: readonly PropertyKey[],
  message: string,
): string {
  const value = path.reduce<unknown>((current, part) => (current as Record<PropertyKey, unknown>)[part], raw);
  const where = configPath(path);
  // A key mistyped into `backup` may well hold the bucket's credentials: its value is not repeated.
  const shown = path[0] === "backup" ? "(not shown: it may be a credential)" : describeValue(value);
  return `orchestra:${where} = ${shown}: ${message}; remove it with \`pulumi config rm --path '${where}'\``;
}

function issueProblems(
  raw: Record<string, unknown>,
  key: string,
  issues: readonly z.core.$ZodIssue[],
): string[] {
  return issues.flatMap((issue) => {
    const path = [key, ...issue.path];
    return issue.code === "unrecognized_keys"
      ? issue.keys.map((name) => unknownKeyProblem(raw, [...path, name], issue.message))
      : [schemaProblem(raw, path, issue.message)];
  });
}

/**
 * The problems of one plain key's value alone, in preview's words (`orchestra:backup.hourUtc = 25:
 * must be ...`), for a tool that reads only that key (npm run backup reads `backup`). [] when valid.
 */
export function plainKeyProblems(key: keyof RawConfig, value: unknown): string[] {
  const parsed = rawConfigSchema.shape[key].safeParse(value);
  return parsed.success ? [] : issueProblems({ [key]: value }, key, parsed.error.issues);
}

/** The entries of a list or map that pass `entry`, so the rules can still check them. */
function passingEntries(value: unknown, entry: z.ZodType, asList: boolean): unknown {
  if (asList) return Array.isArray(value) ? value.filter((item) => entry.safeParse(item).success) : [];
  if (value === null || typeof value !== "object" || Array.isArray(value)) return {};
  return Object.fromEntries(
    Object.entries(value).flatMap(([key, item]) => {
      const parsed = entry.safeParse(item);
      return parsed.success ? [[key, parsed.data]] : [];
    }),
  );
}

export interface ParsedKeys {
  readonly problems: string[];
  /** The keys that passed; a refused list or map keeps its passing entries, other refused keys are absent. */
  readonly config: RawConfig;
  readonly intact: Intact;
}

/**
 * Parses each key on its own, so a refused key hides nothing: the rules still run on every key
 * that passed (each rule says which keys it needs intact).
 */
export function parseKeys(raw: Record<string, unknown>): ParsedKeys {
  const problems: string[] = [];
  const config: Record<string, unknown> = {};
  const broken = new Set<keyof RawConfig>();
  for (const key of PLAIN_KEYS) {
    const parsed = rawConfigSchema.shape[key].safeParse(raw[key]);
    if (parsed.success) {
      if (parsed.data !== undefined) config[key] = parsed.data;
      continue;
    }
    broken.add(key);
    problems.push(...issueProblems(raw, key, parsed.error.issues));
    // A mistake elsewhere in `monitoring` or `backup` must not hide whether it runs: that decides
    // the ports checked and the secrets required.
    if (key === "monitoring" || key === "backup") {
      const enabled = (raw[key] as Record<string, unknown> | null | undefined)?.enabled;
      if (typeof enabled === "boolean") config[key] = { enabled };
    }
    if (key in ENTRY_SCHEMAS) {
      const entry = ENTRY_SCHEMAS[key as keyof typeof ENTRY_SCHEMAS] as z.ZodType;
      config[key] = passingEntries(raw[key], entry, key === "allowedCidrs" || key === "publicPorts");
    }
  }
  return {
    problems,
    config: config as RawConfig,
    intact: (...keys) => keys.every((key) => !broken.has(key)),
  };
}

/** Edit distance, for "did you mean" on a mistyped key. */
function distance(a: string, b: string): number {
  let row = Array.from({ length: b.length + 1 }, (_, index) => index);
  for (let i = 1; i <= a.length; i++) {
    const next = [i];
    for (let j = 1; j <= b.length; j++)
      next[j] = Math.min(row[j] + 1, next[j - 1] + 1, row[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    row = next;
  }
  return row[b.length];
}

/**
 * Keys the stack sets that the project does not declare (a typo is otherwise silently ignored).
 * Named without their value: a mistyped secret key holds a secret.
 */
export function undeclaredKeyProblems(setKeys: readonly string[]): string[] {
  const declared: string[] = [...PLAIN_KEYS, ...SECRET_KEYS];
  return setKeys
    .filter((key) => !declared.includes(key))
    .map((key) => {
      const near = declared.find(
        (name) => name.toLowerCase() === key.toLowerCase() || distance(name, key) <= 2,
      );
      return `orchestra:${key} is not a config key of this project${near !== undefined ? ` (did you mean ${near}?)` : ""}; Pulumi.yaml lists them all: remove it with \`pulumi config rm ${key}\``;
    });
}
