/**
 * Provider tier: `npm run reap` against the emulator over real HTTP. Instances are launched with
 * and without the stack and expiry tags; exactly the stack's expired ones are terminated.
 */
import { LambdaClient } from "../infra/lambda/client";
import type { RunningEmulator } from "../infra/emulator/server";
import { startTestEmulator, TEST_API_KEY } from "../infra/testing/emulatorHarness";
import { projectName, runReap } from "./reap";
import { REAP_USAGE } from "./reapPlan";

let emulator: RunningEmulator;
let client: LambdaClient;
const NOW = "2026-12-01T12:00:00.000Z";

async function launch(name: string, tags: Record<string, string>): Promise<string> {
  return client.launchInstance({
    region_name: "us-west-1",
    instance_type_name: "gpu_1x_a10",
    ssh_key_names: ["ops"],
    file_system_names: [],
    name,
    tags: Object.entries(tags).map(([key, value]) => ({ key, value })),
  });
}

async function reap(argv: string[]) {
  let out = "";
  let err = "";
  const code = await runReap(argv, {
    client: () => new LambdaClient(),
    out: (text) => (out += text),
    err: (text) => (err += text),
    now: new Date(NOW),
    project: "orchestra",
    pollMs: 20,
  });
  return { code, out, err };
}

async function statuses(): Promise<Record<string, string>> {
  return Object.fromEntries(
    (await client.listInstances()).map((instance) => [instance.name ?? "", instance.status]),
  );
}

let ids: Record<string, string>;

beforeEach(async () => {
  emulator = await startTestEmulator();
  client = new LambdaClient();
  await client.addSshKey("ops", "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGq9 ops@example.com");
  ids = {
    expiredA: await launch("staging-app", {
      "orchestra-stack": "orchestra/staging",
      "orchestra-expires-at": "2026-12-01T08:00:00.000Z",
    }),
    expiredB: await launch("staging-gpu-a", {
      "orchestra-stack": "orchestra/staging",
      "orchestra-expires-at": NOW,
    }),
    fresh: await launch("staging-data", {
      "orchestra-stack": "orchestra/staging",
      "orchestra-expires-at": "2026-12-04T12:00:00.000Z",
    }),
    noExpiry: await launch("staging-manual", { "orchestra-stack": "orchestra/staging" }),
    otherStack: await launch("integration-app", {
      "orchestra-stack": "orchestra/integration",
      "orchestra-expires-at": "2026-11-01T00:00:00.000Z",
    }),
    untagged: await launch("someone-elses", { "orchestra-expires-at": "2026-11-01T00:00:00.000Z" }),
  };
  await new Promise((resolve) => setTimeout(resolve, 300));
});

afterEach(async () => {
  await emulator.close();
});

test("a dry run lists exactly the stack's expired instances and terminates nothing", async () => {
  const result = await reap(["--stack", "staging", "--now", NOW]);
  expect(result.code).toBe(0);
  expect(result.err).toBe("");
  const lines = result.out.trimEnd().split("\n");
  expect(lines).toHaveLength(5);
  expect(lines[2]).toMatch(
    new RegExp(`^${ids.expiredA}  staging-app    gpu_1x_a10  us-west-1  2026-12-01T08:00:00.000Z   \\$1.29$`),
  );
  expect(lines[3]).toMatch(
    new RegExp(`^${ids.expiredB}  staging-gpu-a  gpu_1x_a10  us-west-1  ${NOW}   \\$1.29$`),
  );
  expect(lines[4]).toBe(
    `2 expired instance(s) of orchestra/staging at ${NOW}, $2.58/h. Dry run: nothing terminated; run again with --yes to terminate them (kept: 1 not yet expired, 1 without an expiry, 0 with an unreadable expiry).`,
  );
  expect(Object.values(await statuses()).every((status) => status === "active")).toBe(true);
  expect(emulator.stats().byOperation.terminateInstance).toBeUndefined();
});

test("--yes terminates exactly the expired ones of that stack and confirms", async () => {
  const result = await reap(["--stack", "staging", "--now", NOW, "--yes"]);
  expect(result.code).toBe(0);
  expect(result.out).toContain(`terminated ${ids.expiredA}\nterminated ${ids.expiredB}\n`);
  expect(result.out.trimEnd().split("\n").pop()).toBe(
    `2 expired instance(s) of orchestra/staging at ${NOW}, $2.58/h: 2 terminated (kept: 1 not yet expired, 1 without an expiry, 0 with an unreadable expiry).`,
  );
  expect(await statuses()).toEqual({
    "staging-app": "terminated",
    "staging-gpu-a": "terminated",
    "staging-data": "active",
    "staging-manual": "active",
    "integration-app": "active",
    "someone-elses": "active",
  });
  // Run again: nothing left to do, nothing else touched.
  const again = await reap(["--stack", "staging", "--now", NOW, "--yes", "--json"]);
  expect(again.code).toBe(0);
  expect(JSON.parse(again.out)).toEqual({
    stack: "orchestra/staging",
    now: NOW,
    dryRun: false,
    expired: [],
    terminated: [],
    unconfirmed: [],
    kept: { notYetExpired: 1, noExpiry: 1, unreadableExpiry: 0 },
  });
});

test("bad arguments exit 2 without calling the API; an API failure exits 1 without the key", async () => {
  const usage = await reap(["--yes"]);
  expect(usage.code).toBe(2);
  expect(usage.err).toBe(
    `--stack is required: the reaper only ever touches one stack's instances\n${REAP_USAGE}\n`,
  );
  expect(emulator.stats().byOperation.listInstances).toBeUndefined();

  let failingErr = "";
  const failing = await runReap(["--stack", "staging"], {
    client: () => new LambdaClient({ apiUrl: emulator.url, apiKey: "wrong-key-31337" }),
    out: () => undefined,
    err: (text) => (failingErr += text),
    now: new Date(NOW),
    project: "orchestra",
  });
  // Asserted after the call: a run that never reports the failure fails here.
  expect(failing).toBe(1);
  expect(failingErr).toBe(
    "reap failed: Lambda API listInstances failed: global/invalid-api-key (HTTP 401): API key was invalid, expired, or deleted. Check your API key or create a new one, then try again.\n",
  );
  expect(failingErr).not.toContain("wrong-key-31337");
  expect(failingErr).not.toContain(TEST_API_KEY);
});

test("the project name comes from Pulumi.yaml", () => {
  expect(projectName()).toBe("orchestra");
});
