/**
 * Provider tier: one clock, Lambda's. The serialized LambdaInstance provider stamps the expiry and
 * `npm run reap` judges it by Lambda's clock (its HTTP `Date` header, skewed here through the
 * emulator's test control), never by the launcher's or the reaper's own clock.
 */
import { LambdaClient } from "../infra/lambda/client";
import type { RunningEmulator } from "../infra/emulator/server";
import { pointClientAt, setFaults, startTestEmulator } from "../infra/testing/emulatorHarness";
import { SerializedProvider, serializeProvider } from "../infra/testing/serializedProvider";
import { lambdaInstanceProvider } from "../infra/providers/instanceProvider";
import { runReap } from "./reap";

const HOUR = 3_600_000;
let emulator: RunningEmulator;
let provider: SerializedProvider["provider"];
let client: LambdaClient;

function inputs(ttlHours: number): Record<string, unknown> {
  return {
    name: "staging-app",
    launchToken: "0a1b2c3d",
    instanceType: "gpu_1x_a10",
    regions: ["us-west-1"],
    sshKeyNames: ["ops"],
    fileSystemNames: [],
    tags: { "orchestra-stack": "orchestra/staging" },
    firewallRulesetsByRegion: {},
    bootTimeoutMinutes: 1,
    pollIntervalSeconds: 0.02,
    ttlHours,
  };
}

/** Runs the reaper in process, this machine's clock reading `localOffsetMs` off the real time. */
async function reap(localOffsetMs: number, ...extra: string[]) {
  let out = "";
  let err = "";
  const code = await runReap(["--stack", "staging", "--yes", "--json", ...extra], {
    client: () => new LambdaClient(),
    out: (text) => (out += text),
    err: (text) => (err += text),
    now: new Date(Date.now() + localOffsetMs),
    project: "orchestra",
    pollMs: 20,
  });
  return { code, report: JSON.parse(out === "" ? "null" : out) as Record<string, unknown> | null, err };
}

async function status(id: string): Promise<string> {
  return (await client.getInstance(id)).status;
}

beforeAll(async () => {
  ({ provider } = await serializeProvider(lambdaInstanceProvider));
});

beforeEach(async () => {
  emulator = await startTestEmulator();
  client = new LambdaClient();
  await client.addSshKey("ops", "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGq9 ops@example.com");
});

afterEach(async () => {
  await emulator.close();
});

test("every emulator response carries Lambda's clock as a Date header, which a test can skew", async () => {
  const plain = await fetch(`${emulator.url}/api/v1/instances`);
  expect(plain.status).toBe(401); // error answers carry it too
  const plainAt = Date.parse(plain.headers.get("date") ?? "");
  expect(Math.abs(plainAt - Date.now())).toBeLessThan(2000);
  await setFaults(emulator, { clockSkewMs: -3 * HOUR });
  const skewed = Date.parse((await fetch(`${emulator.url}/api/v1/instances`)).headers.get("date") ?? "");
  expect(Math.abs(skewed - (Date.now() - 3 * HOUR))).toBeLessThan(2000);
  await client.listInstances();
  expect(Math.abs(client.serverNow().getTime() - (Date.now() - 3 * HOUR))).toBeLessThan(2000);
});

test("a launcher clock 3 h slow stamps by Lambda's clock: its fresh 2 h instance is not reaped", async () => {
  // Lambda's clock 3 h ahead of this machine's: the launcher is 3 h slow.
  await setFaults(emulator, { clockSkewMs: 3 * HOUR });
  const before = Date.now();
  const created = await provider.create(inputs(2));
  const after = Date.now();
  const expiresAt = Date.parse((created.outs as Record<string, string>).expiresAt);
  // Lambda's now + 2 h; the Date header's one-second resolution may make it up to 1 s earlier.
  expect(expiresAt).toBeGreaterThanOrEqual(before + 5 * HOUR - 1000);
  expect(expiresAt).toBeLessThanOrEqual(after + 5 * HOUR);
  // A reaper whose clock agrees with Lambda's: nothing has expired.
  const result = await reap(3 * HOUR);
  expect(await status(created.id)).toBe("active");
  expect(result.err).toBe("");
  expect(result.code).toBe(0);
  expect(result.report).toMatchObject({ clock: "lambda", expired: [], terminated: [] });
  expect(result.report?.kept).toEqual({ notYetExpired: 1, noExpiry: 0, unreadableExpiry: 0 });
});

test("a reaper clock 3 h fast judges by Lambda's clock: a fresh 2 h instance is not reaped, and the skew is noted", async () => {
  const created = await provider.create(inputs(2));
  const result = await reap(3 * HOUR);
  expect(await status(created.id)).toBe("active");
  expect(result.err).toBe(
    "note: this machine's clock is 3 h 0 min ahead of Lambda's; expiries are judged by Lambda's clock only.\n",
  );
  expect(result.code).toBe(0);
  expect(result.report).toMatchObject({ clock: "lambda", graceMinutes: 5, expired: [], terminated: [] });
});

test("by Lambda's clock an instance is reaped only after its expiry plus the 5 min grace, whatever this machine's clock says", async () => {
  const created = await provider.create(inputs(2));
  // Lambda's clock 2 h 4 min on: past the expiry, within the grace. This machine's is 3 h slow.
  await setFaults(emulator, { clockSkewMs: 2 * HOUR + 4 * 60_000 });
  const early = await reap(-3 * HOUR);
  expect(early.code).toBe(0);
  expect(early.report).toMatchObject({ expired: [], terminated: [] });
  expect(await status(created.id)).toBe("active");
  // 2 h 6 min on: past the grace.
  await setFaults(emulator, { clockSkewMs: 2 * HOUR + 6 * 60_000 });
  const late = await reap(-3 * HOUR);
  expect(await status(created.id)).toBe("terminated");
  expect(late.err).toMatch(/^note: this machine's clock is 5 h [5-6] min behind Lambda's; /);
  expect(late.code).toBe(0);
  expect(late.report).toMatchObject({ terminated: [created.id], alreadyGone: [], failed: [] });
});

test("without a Date header neither the launch nor the reaper falls back to a local clock", async () => {
  const created = await provider.create(inputs(2));
  await setFaults(emulator, { clockSkewMs: 10 * HOUR, omitDateHeader: true });
  pointClientAt(emulator.url); // forgets the readings taken so far, in both realms
  const unknown = `Lambda's clock is unknown: no response from ${emulator.url} has carried an HTTP Date header yet. Instance expiries are stamped and judged by Lambda's clock only, never this machine's; check that nothing between here and the API (a proxy) strips the Date header.`;
  await expect(provider.create({ ...inputs(2), name: "staging-gpu" })).rejects.toThrow(unknown);
  expect(emulator.stats().launchesAccepted).toBe(1);
  let err = "";
  const code = await runReap(["--stack", "staging", "--yes"], {
    client: () => new LambdaClient(),
    out: () => undefined,
    err: (text) => (err += text),
    now: new Date(Date.now() + 10 * HOUR),
    project: "orchestra",
  });
  expect(code).toBe(1);
  expect(err).toBe(`reap failed: ${unknown}\n`);
  expect(await status(created.id)).toBe("active");
  expect(emulator.stats().byOperation.terminateInstance).toBeUndefined();
});
