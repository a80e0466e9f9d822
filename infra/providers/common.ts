/**
 * Pieces every Lambda dynamic provider shares: stack-config handling in `configure`, the preview
 * placeholder for unknown values, diffs that ignore `__provider`, and naming the instances in
 * Lambda's in-use errors. Process-wide state is infra/processWide.ts (the listings shared per kind
 * are in listingMemo.ts).
 */
import type * as pulumi from "@pulumi/pulumi";
import { LambdaClient } from "../lambda/client";
import { rememberConfiguredSettings } from "../lambda/settings";
import type { Instance } from "../lambda/schemas";

/** During preview, unknown inputs arrive as this string, even where a number is expected. */
export const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

export function isUnknown(value: unknown): boolean {
  if (value === UNKNOWN) return true;
  if (Array.isArray(value)) return value.some(isUnknown);
  if (value !== null && typeof value === "object") return Object.values(value).some(isUnknown);
  return false;
}

/** `configure` for every provider: remember the API URL and key from stack config (never on `this`). */
export async function configureFromStack(req: pulumi.dynamic.ConfigureRequest): Promise<void> {
  rememberConfiguredSettings({
    apiUrl: req.config.get("orchestra:lambdaApiUrl"),
    apiKey: req.config.get("orchestra:lambdaApiKey"),
  });
}

export function lambdaClient(): LambdaClient {
  return new LambdaClient();
}

/**
 * Stable JSON for comparing input values (key order does not matter). Keys sort by code point, not
 * `localeCompare`: the launch token hashes this text, and it must not depend on the machine's locale.
 */
export function stableJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableJson).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([key, v]) => key !== "__provider" && v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([key, v]) => `${JSON.stringify(key)}:${stableJson(v)}`).join(",")}}`;
  }
  return JSON.stringify(value ?? null);
}

/** Keys whose values differ between olds and news (never `__provider`). */
export function changedKeys(
  olds: Record<string, unknown>,
  news: Record<string, unknown>,
  keys: readonly string[],
): string[] {
  return keys.filter((key) => stableJson(olds[key]) !== stableJson(news[key]));
}

export function diffByKeys(
  olds: Record<string, unknown>,
  news: Record<string, unknown>,
  keys: { readonly replace: readonly string[]; readonly update: readonly string[] },
  deleteBeforeReplace: boolean,
): pulumi.dynamic.DiffResult {
  const replaces = changedKeys(olds, news, keys.replace);
  const updates = changedKeys(olds, news, keys.update);
  const changes = replaces.length + updates.length > 0;
  return {
    changes,
    replaces,
    deleteBeforeReplace: replaces.length > 0 ? deleteBeforeReplace : undefined,
    stables: changes ? undefined : [...keys.replace, ...keys.update],
  };
}

/**
 * `update` for a resource whose every identity input is a replace key: nothing to call, but the
 * stored outputs (ids, mount points) must survive: without an `update` the engine would keep only
 * the new inputs. The new inputs win; undefined ones and `__provider` do not overwrite anything.
 */
export function keepOutputs(
  olds: Record<string, unknown>,
  news: Record<string, unknown>,
): Record<string, unknown> {
  const inputs = Object.entries(news).filter(([key, value]) => key !== "__provider" && value !== undefined);
  const { __provider: _code, ...outputs } = olds;
  return { ...outputs, ...Object.fromEntries(inputs) };
}

/** "gpu-a (id 0920…, active), gpu-b (id 77ab…, booting)" */
export function describeInstances(instances: Instance[]): string {
  return instances
    .map((instance) => `${instance.name ?? "(unnamed)"} (id ${instance.id}, ${instance.status})`)
    .join(", ");
}

export const LIVE_STATUSES: ReadonlyArray<Instance["status"]> = ["booting", "active", "unhealthy"];

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
