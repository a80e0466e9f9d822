/**
 * Round-trips a dynamic provider through Pulumi's closure serializer and loads it back the way
 * the engine's `pulumi-resource-pulumi-nodejs` plugin does. Provider tests run the serialized
 * copy, so a provider that fails to serialize, or captures a secret, fails the provider tier.
 *
 * The copy runs in Node's own module system, outside jest's sandbox: it sees the host process's
 * environment and globalThis, which `hostProcess()` and `hostGlobal()` expose to the tests.
 */
import * as pulumi from "@pulumi/pulumi";
import type { ApiCallStats } from "../lambda/pacer";
// eslint-disable-next-line @typescript-eslint/no-require-imports
const requireFromString = require("require-from-string") as (code: string) => unknown;

export interface SerializedProvider {
  readonly text: string;
  readonly provider: Required<
    Pick<pulumi.dynamic.ResourceProvider, "check" | "diff" | "create" | "read" | "delete">
  > &
    pulumi.dynamic.ResourceProvider;
}

export async function serializeProvider(
  provider: pulumi.dynamic.ResourceProvider,
): Promise<SerializedProvider> {
  const serialized = await pulumi.runtime.serializeFunction(() => provider, { allowSecrets: true });
  const loaded = (requireFromString(serialized.text) as { handler: () => unknown }).handler();
  return { text: serialized.text, provider: loaded as SerializedProvider["provider"] };
}

export function hostProcess(): NodeJS.Process {
  return requireFromString("module.exports = process") as NodeJS.Process;
}

export function hostGlobal(): Record<string, unknown> {
  return requireFromString("module.exports = globalThis") as Record<string, unknown>;
}

/** API call counters kept by the serialized providers' pacer (zeros before the first call). */
export function providerProcessStats(): ApiCallStats {
  const state = hostGlobal().__orchestraLambdaPacer as { stats: ApiCallStats } | undefined;
  return state?.stats ?? { requests: 0, launches: 0, rateLimited: 0, retries: 0, byOperation: {} };
}
