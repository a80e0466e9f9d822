/**
 * Provider tier: where prices come from. Live from the emulator's `GET /instance-types` over real
 * HTTP, the dated snapshot when the API cannot be asked (and why), config overrides over both.
 */
import type { RunningEmulator } from "../emulator/server";
import { EMULATED_INSTANCE_TYPES } from "../emulator/catalog";
import { TEST_API_KEY, setFaults, startTestEmulator, unsetEnv } from "../testing/emulatorHarness";
import { loadPriceBook, snapshotPriceBook, toCents } from "./priceBook";
import { SNAPSHOT_CENTS_PER_HOUR } from "./priceSnapshot";

let emulator: RunningEmulator;

beforeEach(async () => {
  emulator = await startTestEmulator();
});

afterEach(async () => {
  await emulator.close();
});

test("live: every price from GET /instance-types, dated the day it was read, overrides in cents", async () => {
  const loaded = await loadPriceBook({
    overridesUsdPerHour: { gpu_1x_a10: 1.1, gpu_new_type: 12.34 },
    today: new Date("2026-12-03T22:15:00Z"),
  });
  expect(loaded.fallbackReason).toBeUndefined();
  expect(loaded.book).toEqual({
    source: "lambda-api",
    asOf: "2026-12-03",
    centsPerHour: Object.fromEntries(
      EMULATED_INSTANCE_TYPES.map((type) => [type.name, type.price_cents_per_hour]),
    ),
    overrideCentsPerHour: { gpu_1x_a10: 110, gpu_new_type: 1234 },
  });
  expect(emulator.stats().byOperation.listInstanceTypes).toBe(1);
});

test("offline: the dated snapshot, and the reason", async () => {
  const loaded = await loadPriceBook({ offline: true });
  expect(loaded).toEqual({ book: snapshotPriceBook(), fallbackReason: "offline pricing requested" });
  expect(loaded.book.asOf).toBe("2026-11-25");
  expect(loaded.book.centsPerHour).toBe(SNAPSHOT_CENTS_PER_HOUR);
  expect(emulator.stats().byOperation.listInstanceTypes).toBeUndefined();
});

test("no API key: the snapshot, without calling the API", async () => {
  unsetEnv("LAMBDA_API_KEY");
  const loaded = await loadPriceBook({ lambda: { apiUrl: emulator.url } });
  expect(loaded.book.source).toBe("snapshot");
  expect(loaded.fallbackReason).toBe("no Lambda API key to ask");
  expect(emulator.stats().byOperation.listInstanceTypes).toBeUndefined();
});

test("the API refuses the key: the snapshot, and a reason that never carries the key", async () => {
  const loaded = await loadPriceBook({ lambda: { apiUrl: emulator.url, apiKey: "wrong-key-8c1f0e" } });
  expect(loaded.book.source).toBe("snapshot");
  expect(loaded.fallbackReason).toBe(
    "GET /instance-types failed: Lambda API listInstanceTypes failed: global/invalid-api-key (HTTP 401): API key was invalid, expired, or deleted. Check your API key or create a new one, then try again.",
  );
  expect(JSON.stringify(loaded)).not.toContain("wrong-key-8c1f0e");
  expect(JSON.stringify(loaded)).not.toContain(TEST_API_KEY);
});

test("a 5xx burst is retried by the client before falling back", async () => {
  await setFaults(emulator, { fail5xx: 2 });
  const loaded = await loadPriceBook();
  expect(loaded.book.source).toBe("lambda-api");
});

test("toCents rounds USD to whole cents", () => {
  expect(toCents({ a: 1.29, b: 0.2, c: 53.52 })).toEqual({ a: 129, b: 20, c: 5352 });
  expect(toCents()).toEqual({});
});
