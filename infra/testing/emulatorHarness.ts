/**
 * Test harness: a fresh emulator per test file, on a free loopback port, with the client pointed
 * at it through the same environment variables an operator would use.
 */
import { resetPacer } from "../lambda/pacer";
import { forgetServerClock } from "../lambda/serverClock";
import { forgetConfiguredSettings } from "../lambda/settings";
import { forgetListings, LISTING_MEMO_KEY } from "../providers/listingMemo";
import type { EmulatorOptions } from "../emulator/options";
import { RunningEmulator, startEmulator } from "../emulator/server";
import { hostGlobal, hostProcess } from "./serializedProvider";

export const TEST_API_KEY = "test-key-7d1c9a";

/** Emulator fast enough for tests: no rate limits, 150 ms boots, 50 ms terminations. */
export async function startTestEmulator(overrides: Partial<EmulatorOptions> = {}): Promise<RunningEmulator> {
  const emulator = await startEmulator({
    port: 0,
    apiKey: TEST_API_KEY,
    requestIntervalMs: 0,
    launchIntervalMs: 0,
    bootDelayMs: 150,
    terminateDelayMs: 50,
    terminatedRetentionMs: 60_000,
    quiet: true,
    ...overrides,
  });
  pointClientAt(emulator.url);
  return emulator;
}

export const TEST_CLIENT_ENV: Readonly<Record<string, string>> = {
  LAMBDA_API_KEY: TEST_API_KEY,
  LAMBDA_REQUEST_INTERVAL_MS: "0",
  LAMBDA_LAUNCH_INTERVAL_MS: "0",
  LAMBDA_RETRY_BASE_MS: "20",
  LAMBDA_LIST_CACHE_MS: "0",
};

/**
 * Points the client at `url`, in this test's process object and in the host's, where serialized
 * providers run, and clears both realms' process-wide state (pacer, settings, listing cache).
 */
export function pointClientAt(url: string): void {
  const host = hostGlobal();
  for (const env of [process.env, hostProcess().env])
    Object.assign(env, TEST_CLIENT_ENV, { LAMBDA_API_URL: url });
  for (const key of [
    "__orchestraLambdaPacer",
    "__orchestraLambdaConfigured",
    LISTING_MEMO_KEY,
    "__orchestraLambdaNoCapacity",
    "__orchestraLambdaLaunchTurn",
    "__orchestraLambdaServerClock",
  ]) {
    host[key] = undefined;
  }
  resetPacer();
  forgetServerClock();
  forgetConfiguredSettings();
  forgetListings();
}

/** Removes a variable from both realms' environments. */
export function unsetEnv(name: string): void {
  delete process.env[name];
  delete hostProcess().env[name];
}

/** Sets emulator faults while it runs (the same control API the e2e suite uses). */
export async function setFaults(emulator: RunningEmulator, faults: Partial<EmulatorOptions>): Promise<void> {
  const response = await fetch(`${emulator.url}/_emulator/faults`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(faults),
  });
  if (!response.ok) throw new Error(`setting faults failed: ${response.status} ${await response.text()}`);
}
