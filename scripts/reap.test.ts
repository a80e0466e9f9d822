/**
 * Provider tier: `npm run reap` against the emulator over real HTTP. Instances are launched with
 * and without the stack and expiry tags; exactly the stack's expired ones are terminated, each on
 * its own, so one that vanished or failed never keeps the others running.
 */
import { execFile } from "child_process";
import { join } from "path";
import { promisify } from "util";
import { LambdaClient } from "../infra/lambda/client";
import type { RunningEmulator } from "../infra/emulator/server";
import { setFaults, startTestEmulator, TEST_API_KEY } from "../infra/testing/emulatorHarness";
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

async function reap(argv: string[], client: () => LambdaClient = () => new LambdaClient()) {
  let out = "";
  let err = "";
  const code = await runReap(argv, {
    client,
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
    `2 expired instance(s) of orchestra/staging at ${NOW} (--now), $2.58/h. Dry run: nothing terminated; run again with --yes to terminate them (kept: 1 not yet expired, 1 without an expiry, 0 with an unreadable expiry).`,
  );
  expect(Object.values(await statuses()).every((status) => status === "active")).toBe(true);
  expect(emulator.stats().byOperation.terminateInstance).toBeUndefined();
});

test("--yes terminates exactly the expired ones of that stack and confirms", async () => {
  const result = await reap(["--stack", "staging", "--now", NOW, "--yes"]);
  expect(result.code).toBe(0);
  expect(result.err).toBe("");
  expect(result.out).toContain(`terminated ${ids.expiredA}\nterminated ${ids.expiredB}\n`);
  expect(result.out.trimEnd().split("\n").pop()).toBe(
    `2 expired instance(s) of orchestra/staging at ${NOW} (--now), $2.58/h: 2 terminated, 0 already gone, 0 failed (kept: 1 not yet expired, 1 without an expiry, 0 with an unreadable expiry).`,
  );
  // One terminate call per instance: one unknown id fails Lambda's whole list.
  expect(emulator.stats().byOperation.terminateInstance).toBe(2);
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
    clock: "--now",
    graceMinutes: 0,
    dryRun: false,
    expired: [],
    terminated: [],
    alreadyGone: [],
    failed: [],
    kept: { notYetExpired: 1, noExpiry: 1, unreadableExpiry: 0 },
    unreadable: [],
    unreadableElsewhere: 0,
  });
});

/** Makes one instance report odd fields from now on (the emulator's control API). */
async function setFields(id: string, body: unknown): Promise<void> {
  const response = await fetch(`${emulator.url}/_emulator/instances/${id}/fields`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  if (!response.ok) throw new Error(`setting fields failed: ${response.status} ${await response.text()}`);
}

/** Every listed instance's raw status by name, the unreadable ones included. */
async function rawStatuses(): Promise<Record<string, string>> {
  const response = await fetch(`${emulator.url}/api/v1/instances`, {
    headers: { Authorization: `Bearer ${TEST_API_KEY}` },
  });
  const body = (await response.json()) as { data: { name: string; status: string }[] };
  return Object.fromEntries(body.data.map((instance) => [instance.name, instance.status]));
}

test("an expired instance of the stack that cannot be read is named, never terminated, and the run exits 1; the rest are reaped", async () => {
  await setFields(ids.expiredA, { set: { ssh_key_names: null } });
  await setFields(ids.otherStack, { set: { ssh_key_names: null } });
  const result = await reap(["--stack", "staging", "--now", NOW, "--yes"]);
  expect(result.code).toBe(1);
  expect(result.err).toBe(
    [
      "Not judged by this run: 1 instance(s) of orchestra/staging could not be read (they may still bill; never terminated unread):",
      `  ${ids.expiredA} (staging-app), status active: ssh_key_names: Invalid input: expected array, received null`,
      "  inspect them with `npm run lambda -- instances`; terminate one that should go with `npm run lambda -- terminate <id>`",
      "note: 1 unreadable instance(s) of other stacks or without a readable orchestra-stack tag were left alone.",
      "",
    ].join("\n"),
  );
  expect(result.out.trimEnd().split("\n").pop()).toBe(
    `1 expired instance(s) of orchestra/staging at ${NOW} (--now), $1.29/h: 1 terminated, 0 already gone, 0 failed (kept: 1 not yet expired, 1 without an expiry, 0 with an unreadable expiry). 1 instance(s) of orchestra/staging could not be read and were not judged (see stderr).`,
  );
  expect(emulator.stats().byOperation.terminateInstance).toBe(1);
  expect(await rawStatuses()).toEqual({
    "staging-app": "active",
    "staging-gpu-a": "terminated",
    "staging-data": "active",
    "staging-manual": "active",
    "integration-app": "active",
    "someone-elses": "active",
  });

  // Nothing else expired: still exit 1 (not "No expired instances", exit 0), and the JSON names it.
  const json = await reap(["--stack", "staging", "--now", NOW, "--yes", "--json"]);
  expect(json.code).toBe(1);
  expect(JSON.parse(json.out)).toMatchObject({
    expired: [],
    terminated: [],
    unreadable: [
      {
        id: ids.expiredA,
        name: "staging-app",
        status: "active",
        problem: "ssh_key_names: Invalid input: expected array, received null",
      },
    ],
    unreadableElsewhere: 1,
  });
  expect((await rawStatuses())["staging-app"]).toBe("active");
});

const TSX = join(__dirname, "..", "node_modules", ".bin", "tsx");

/** `npm run reap` as an operator runs it: its own process, the API from the environment. */
async function reapProcess(argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(TSX, [join(__dirname, "reap.ts"), ...argv], {
      env: process.env, // LAMBDA_API_URL and LAMBDA_API_KEY point at this test's emulator
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

test("npm run reap with one instance vanishing mid-run terminates every other expired one and exits 3 naming it", async () => {
  await setFaults(emulator, { vanishAfterListing: [ids.expiredA] });
  const result = await reapProcess(["--stack", "staging", "--now", NOW, "--yes", "--json"]);
  expect(await statuses()).toEqual({
    "staging-gpu-a": "terminated",
    "staging-data": "active",
    "staging-manual": "active",
    "integration-app": "active",
    "someone-elses": "active",
  });
  expect(result.code).toBe(3);
  expect(result.stderr).toBe(
    `Not terminated by this run (1):\n  ${ids.expiredA} (staging-app): already gone: Lambda answered 404 when it was to be terminated, so it no longer bills; something else terminated it after the listing (another reaper, a destroy, the console)\n`,
  );
  expect(JSON.parse(result.stdout)).toMatchObject({
    now: NOW,
    clock: "--now",
    graceMinutes: 0,
    terminated: [ids.expiredB],
    alreadyGone: [ids.expiredA],
    failed: [],
  });
});

test("a termination Lambda refuses for one instance fails only that one: the rest are terminated, exit 1 names it", async () => {
  // Every attempt (7) of the first instance's terminate answers 500; the next instance's is served.
  const victim = ids.expiredA;
  class RefusesOne extends LambdaClient {
    override async terminateInstances(batch: string[]) {
      if (batch.includes(victim)) await setFaults(emulator, { fail5xx: 7 });
      return super.terminateInstances(batch);
    }
  }
  const result = await reap(["--stack", "staging", "--now", NOW, "--yes"], () => new RefusesOne());
  expect((await statuses())["staging-gpu-a"]).toBe("terminated");
  expect((await statuses())["staging-app"]).toBe("active");
  expect(result.code).toBe(1);
  expect(result.err).toBe(
    `Not terminated by this run (1):\n  ${victim} (staging-app): NOT terminated: Lambda API terminateInstance failed after 7 attempts: global/unknown (HTTP 500): Internal server error.; it may still bill: check it with \`npm run lambda -- instances\` and run the reaper again\n`,
  );
  expect(result.out).toContain(`terminated ${ids.expiredB}\n`);
  expect(result.out.trimEnd().split("\n").pop()).toBe(
    `2 expired instance(s) of orchestra/staging at ${NOW} (--now), $2.58/h: 1 terminated, 0 already gone, 1 failed (kept: 1 not yet expired, 1 without an expiry, 0 with an unreadable expiry).`,
  );
});

test("each instance whose termination is not confirmed in time is named, with its last status", async () => {
  await setFaults(emulator, { terminateDelayMs: 60_000 });
  let err = "";
  const code = await runReap(["--stack", "staging", "--now", NOW, "--yes"], {
    client: () => new LambdaClient(),
    out: () => undefined,
    err: (text) => (err += text),
    now: new Date(NOW),
    project: "orchestra",
    pollMs: 20,
    confirmTimeoutMs: 300,
  });
  expect(code).toBe(1);
  expect(err).toBe(
    [
      "Not terminated by this run (2):",
      `  ${ids.expiredA} (staging-app): NOT terminated: not confirmed terminated within 0.3 s (last status terminating); it may still bill: check it with \`npm run lambda -- instances\` and run the reaper again`,
      `  ${ids.expiredB} (staging-gpu-a): NOT terminated: not confirmed terminated within 0.3 s (last status terminating); it may still bill: check it with \`npm run lambda -- instances\` and run the reaper again`,
      "",
    ].join("\n"),
  );
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
