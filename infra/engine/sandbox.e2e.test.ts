/**
 * Engine tier: the real Pulumi engine driven through the Automation API, a file backend and this
 * project's program (the sandbox's staging topology) against the emulator over HTTP, with the
 * node readiness running over SSH to this machine's sandbox sshd. The steps build on each other and run in order.
 */
import { execFile } from "child_process";
import { readdirSync } from "fs";
import { promisify } from "util";
import type { RunningEmulator } from "../emulator/server";
import type { LambdaClient } from "../lambda/client";
import { engineProcesses, listProcesses } from "./leftovers";
import { EngineStack, settle } from "./engineStack";
import { withoutComponent } from "./preLayerState";
import { killTree } from "./processTree";
import { startSandboxFixture, type SandboxFixture } from "./sandboxFixture";
import { SSH_PORT, sandboxSshdPid } from "./sandboxSshd";
import { PROJECT_ROOT } from "./toolchain";

jest.setTimeout(15 * 60_000);

const NODE_KEYS = ["app", "data", "gpu-a"];

let fixture: SandboxFixture;
let emulator: RunningEmulator;
let stack: EngineStack;
let client: LambdaClient;
let API_KEY: string;
let DB_PASSWORD: string;
let stateWhileDeployed = "";

async function live() {
  return (await client.listInstances()).filter((instance) =>
    ["booting", "active", "unhealthy"].includes(instance.status),
  );
}

async function liveByNode(): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const instance of await live()) {
    const tag = instance.tags?.find((candidate) => candidate.key === "orchestra-node")?.value;
    const node = NODE_KEYS.find((key) => key === tag) ?? `unexpected:${instance.name}`;
    counts[node] = (counts[node] ?? 0) + 1;
  }
  return counts;
}

async function setFaults(faults: Record<string, unknown>): Promise<void> {
  await fetch(`${emulator.url}/_emulator/faults`, { method: "POST", body: JSON.stringify(faults) });
}

/** Runs one of the project's scripts (tsx) with the stack's environment; never throws on exit codes. */
async function runScript(
  script: string,
  args: string[],
  extraEnv: Record<string, string> = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(
      `${PROJECT_ROOT}/node_modules/.bin/tsx`,
      [`${PROJECT_ROOT}/scripts/${script}`, ...args],
      { cwd: PROJECT_ROOT, env: { ...stack.commandEnv(), ...extraEnv }, maxBuffer: 16 * 1024 * 1024 },
    );
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

/** The sandbox fleet (Pulumi.sandbox.yaml): node key -> instance type, and its filesystem row. */
const FLEET_TYPES: Record<string, string> = {
  app: "gpu_1x_a10",
  data: "cpu_4x_general",
  "gpu-a": "gpu_1x_a100_sxm4",
};

function instanceIdOf(outputs: Record<string, unknown>, node: string): string {
  return (outputs.nodes as Record<string, { instanceId: string }>)[node].instanceId;
}

// The fleet and its readiness only: the containers' engine cases are sandboxContainers.e2e.test.ts.
beforeAll(async () => {
  fixture = await startSandboxFixture("e2e", { deployContainers: false });
  ({ emulator, stack, client } = fixture);
  API_KEY = fixture.secrets.lambdaApiKey;
  DB_PASSWORD = fixture.secrets.databasePassword;
});

// Everything this tier started stops here, whether the steps passed or not: a pulumi command a
// failed or timed-out step left running (with its plugins), the emulator, the agent and the sshd.
afterAll(async () => {
  await fixture?.close();
});

test("00. the sandbox sshd listens on 127.0.0.1 only, never on the machine's other addresses", () => {
  const pid = sandboxSshdPid();
  expect(pid).toBeDefined();
  expect(listProcesses().find((info) => info.pid === pid)?.listening).toEqual([`127.0.0.1:${SSH_PORT}`]);
});

test("0a. bad config fails preview with every problem listed at once, before anything is created", async () => {
  await stack.setConfig("nodes.gpu-a.instanceType", "gpu_9x_nope", { path: true });
  // A list set element by element (--path), as an operator would; the sandbox otherwise takes the default.
  // The sandbox's frontend and API ports, then its Postgres port (Pulumi.sandbox.yaml's port map).
  for (const [index, port] of [13000, 18000, 15432].entries()) {
    await stack.setConfig(`publicPorts[${index}]`, String(port), { path: true });
  }
  try {
    const preview = await settle(stack.preview());
    expect(preview.code).not.toBe(0);
    const output = preview.stdout + preview.stderr;
    expect(output).toContain("Stack config has 2 problems:");
    expect(output).toContain(
      'orchestra:nodes.gpu-a.instanceType = "gpu_9x_nope": not a Lambda instance type; allowed: cpu_4x_general, ',
    );
    expect(output).toContain("orchestra:publicPorts contains 15432, the postgres port");
    expect(emulator.stats().requests).toBe(0); // not even a price lookup: config fails first
  } finally {
    await stack.setConfig("nodes.gpu-a.instanceType", "gpu_1x_a100_sxm4", { path: true });
    await stack.removeConfig("publicPorts");
  }
});

test("0. over budget, preview and up fail with the budget message and create nothing", async () => {
  await stack.setConfig("monthlyBudgetUsd", "1000");
  const today = new Date().toISOString().slice(0, 10);
  const expected = [
    `Projected cost $2,560.40/month (730 h) is 256.04% of the monthly budget $1,000.00; deployments fail at 100%. Prices: Lambda's GET /instance-types (read ${today}).`,
    "Top cost items:",
    "  1. gpu-a (gpu_1x_a100_sxm4, us-west-1): $1,452.70/month, $1.99/h",
    "  2. app (gpu_1x_a10, us-west-1): $941.70/month, $1.29/h",
    "  3. data (cpu_4x_general, us-west-1): $146.00/month, $0.20/h",
  ].join("\n");
  // The CLI indents diagnostics: compare line by line without the indentation.
  const unindented = (text: string) =>
    text
      .split("\n")
      .map((line) => line.trim())
      .join("\n");
  try {
    const preview = await settle(stack.preview());
    expect(preview.code).not.toBe(0);
    expect(unindented(preview.stdout + preview.stderr)).toContain(unindented(expected));
    const up = await settle(stack.up());
    expect(up.code).not.toBe(0);
    expect(unindented(up.stdout + up.stderr)).toContain(unindented(expected));
  } finally {
    await stack.setConfig("monthlyBudgetUsd", "3000");
  }
  // Nothing was created: no launch, no key, no ruleset, no filesystem.
  expect(emulator.stats().launchesAccepted).toBe(0);
  expect(await client.listSshKeys()).toEqual([]);
  expect(await client.listFirewallRulesets()).toEqual([]);
  expect(await client.listFilesystems()).toEqual([]);
});

test("1. pulumi up creates the fleet and the readiness commands run over SSH", async () => {
  await stack.up();
  const outputs = await stack.outputs();
  expect(outputs.nodeReadiness).toEqual({
    app: "node orchestra-e2e-app ready: ssh, docker, nvidia-smi",
    data: "node orchestra-e2e-data ready: ssh, docker",
    "gpu-a": "node orchestra-e2e-gpu-a ready: ssh, docker, nvidia-smi",
  });
  expect(await liveByNode()).toEqual({ app: 1, data: 1, "gpu-a": 1 });
  expect((await client.listSshKeys()).map((key) => key.name)).toEqual(["orchestra-e2e-ssh"]);
  expect((await client.listFilesystems()).map((fs) => [fs.name, fs.region.name, fs.is_in_use])).toEqual([
    ["orchestra-sandbox-data", "us-west-1", true],
  ]);
  expect((await client.listFirewallRulesets()).map((ruleset) => ruleset.name).sort()).toEqual([
    "orchestra-e2e-fw-us-east-1",
    "orchestra-e2e-fw-us-south-1",
    "orchestra-e2e-fw-us-west-1",
  ]);
  expect(outputs.fleetHourlyUsd).toBe(3.48);
  expect(emulator.stats().rateLimited).toBe(0);
  // The file backend writes no gocloud sidecar, whose in-place rewrite raced the cost gate's read
  // of its own stack (fileBackendUrl): only checkpoints, their backups, history and the meta file.
  expect(
    readdirSync(stack.backendDir, { recursive: true, encoding: "utf8" }).filter((f) => f.endsWith(".attrs")),
  ).toEqual([]);
});

test("1b. the costReport output is the emulator's prices times the fleet, and npm run cost prints it", async () => {
  const outputs = await stack.outputs();
  const types = await client.listInstanceTypes();
  const centsPerHour = (node: string) => types[FLEET_TYPES[node]].instance_type.price_cents_per_hour;
  const report = outputs.costReport as {
    priceSource: string;
    status: string;
    totalMonthlyUsd: number;
    rows: { name: string; type: string; hourlyUsd: number; monthlyUsd: number; billing: string }[];
  };
  expect(report.priceSource).toBe("lambda-api");
  expect(report.rows.map((row) => [row.name, row.type, row.billing, row.hourlyUsd, row.monthlyUsd])).toEqual([
    ...Object.keys(FLEET_TYPES).map((node) => [
      node,
      FLEET_TYPES[node],
      "always-on",
      centsPerHour(node) / 100,
      (centsPerHour(node) * 730) / 100,
    ]),
    // The filesystem: the configured 100 GiB estimate at $0.20 per GiB-month.
    ["orchestra-sandbox-data", "filesystem", "usage", 0.03, 20],
  ]);
  const instanceCents = Object.keys(FLEET_TYPES).reduce((sum, node) => sum + centsPerHour(node) * 730, 0);
  expect(report.totalMonthlyUsd).toBe((instanceCents + 2000) / 100);
  expect(report.status).toBe("WARNING"); // 85.34 % of $3,000: over the 80 % warning.

  const printed = await runScript("cost.ts", ["--stack", "e2e", "--format", "json"]);
  expect(printed.code).toBe(0);
  const fromCli = JSON.parse(printed.stdout) as { stacks: { stack: string; report: unknown }[] };
  expect(fromCli.stacks.map((entry) => [entry.stack, entry.report])).toEqual([["e2e", report]]);
  const table = await runScript("cost.ts", ["--stack", "e2e"]);
  expect(table.stdout).toContain("orchestra-sandbox-data");
  expect(table.stdout).toContain("$2,560.40");
});

test("2. a second preview reports no changes", async () => {
  // Engine and provider logs at -v=6 go into the transcript that step 7 searches for secrets. (From -v=7
  // the 3.248 engine traces the default provider's inputs, which hold the stack's secret config in
  // plain text: an engine behaviour this project cannot change; see the README.)
  const result = await settle(
    stack.preview({ expectNoChanges: true, logToStdErr: true, logVerbosity: 6, logFlow: true }),
  );
  expect(result.code).toBe(0);
});

test("2b. a stack deployed before the Layer component plans no replacement: the aliases carry every resource over", async () => {
  const before = (await stack.resources()).map((resource) => resource.urn).sort();
  await stack.rewriteState((exported) => withoutComponent(exported, "orchestra:stack:Layer"));
  const rewritten = (await stack.resources()).map((resource) => resource.type);
  expect(rewritten).not.toContain("orchestra:stack:Layer");
  const plan = await stack.preview();
  const byOp = (op: string) => plan.steps.filter((step) => step.op === op).map((step) => step.urn);
  expect(byOp("create")).toEqual([before.find((urn) => urn.includes("::orchestra:stack:Layer::"))]);
  // "read" is the cost report's StackReference to this stack's last outputs: not a change.
  expect(plan.steps.filter((step) => !["same", "create", "read"].includes(step.op))).toEqual([]);
  // The engine's count agrees: one create, and nothing replaced, updated or deleted (every other
  // resource kept its state: its alias matched the URN it had before the Layer).
  expect(plan.changeSummary.create).toBe(1);
  expect(Object.keys(plan.changeSummary).filter((op) => !["same", "create", "read"].includes(op))).toEqual(
    [],
  );
  await stack.up();
  expect((await stack.resources()).map((resource) => resource.urn).sort()).toEqual(before);
  expect((await settle(stack.preview({ expectNoChanges: true }))).code).toBe(0);
});

test("3. a new instance name is an in-place update; a new instance type is a replacement", async () => {
  const before = await stack.outputs();
  await stack.setConfig("nodes.app.name", "orchestra-e2e-api", { path: true });
  const renamePlan = await stack.preview();
  // "read" is the cost report's StackReference to this stack's last outputs: not a change.
  const renameSteps = renamePlan.steps.filter((step) => step.op !== "same" && step.op !== "read");
  expect(renameSteps.map((step) => [step.op, step.urn.split("::").pop()])).toEqual([
    ["update", "orchestra-e2e-app"],
  ]);
  const [oldInputs, newInputs] = [
    renameSteps[0].oldState?.inputs ?? {},
    renameSteps[0].newState?.inputs ?? {},
  ];
  const changedInputs = Object.keys({ ...oldInputs, ...newInputs }).filter(
    (key) => JSON.stringify(oldInputs[key]) !== JSON.stringify(newInputs[key]),
  );
  expect(changedInputs).toEqual(["name"]);
  expect(newInputs.name).toBe("orchestra-e2e-api");

  // A cheaper type, so the plan is not stopped by the budget gate (the a100 would be 102 % of $3,000).
  await stack.setConfig("nodes.app.instanceType", "gpu_1x_a6000", { path: true });
  const typePlan = await stack.preview();
  const appSteps = typePlan.steps.filter((step) => step.urn.endsWith("::orchestra-e2e-app"));
  expect(appSteps.map((step) => step.op)).toContain("replace");
  expect(appSteps.find((step) => step.op === "replace")?.replaceReasons).toEqual(
    expect.arrayContaining(["instanceType"]),
  );
  // The new node's readiness step is planned too (its trigger, the node's id, is unknown until then).
  expect(
    typePlan.steps.filter((step) => step.urn.endsWith("::orchestra-e2e-app-ready")).map((step) => step.op),
  ).toContain("replace");

  // Apply only the rename: same instance, new name.
  await stack.setConfig("nodes.app.instanceType", "gpu_1x_a10", { path: true });
  await stack.up();
  const after = await stack.outputs();
  expect(instanceIdOf(after, "app")).toBe(instanceIdOf(before, "app"));
  expect((await client.getInstance(instanceIdOf(after, "app"))).name).toMatch(
    /^orchestra-e2e-api-[0-9a-f]{8}$/,
  );
});

test("4. an instance terminated out of band is seen gone by refresh and re-created by up", async () => {
  const before = instanceIdOf(await stack.outputs(), "gpu-a");
  await fetch(`${emulator.url}/_emulator/instances/${before}/terminate`, { method: "POST" });
  await stack.refresh();
  expect(
    (await stack.resources())
      .filter((resource) => resource.type === "pulumi-nodejs:dynamic/lambda:Instance")
      .map((resource) => resource.urn.split("::").pop())
      .sort(),
  ).toEqual(["orchestra-e2e-app", "orchestra-e2e-data"]);
  await stack.up();
  const after = instanceIdOf(await stack.outputs(), "gpu-a");
  expect(after).not.toBe(before);
  expect(await liveByNode()).toEqual({ app: 1, data: 1, "gpu-a": 1 });
});

test("5. killing pulumi up in the middle of a launch, then running it again, leaves one instance per node", async () => {
  const data = instanceIdOf(await stack.outputs(), "data");
  await fetch(`${emulator.url}/_emulator/instances/${data}/terminate`, { method: "POST" });
  await stack.refresh();
  // Slow boots, so that the kill lands after the launch and before `active`.
  await setFaults({ bootDelayMs: 60_000 });
  const launchesBefore = emulator.stats().launchesAccepted;
  const up = settle(stack.up());
  for (let i = 0; i < 600 && emulator.stats().launchesAccepted === launchesBefore; i++)
    await new Promise((resolve) => setTimeout(resolve, 100));
  expect(emulator.stats().launchesAccepted).toBe(launchesBefore + 1);
  // The one `pulumi up` the Automation API started (it keeps the process handle to itself).
  const running = stack.commandPids();
  expect(running).toHaveLength(1);
  killTree(running[0]);
  expect((await up).code).toBeNull(); // killed, not exited
  // The whole run is gone: the CLI, and its plugins in their own process groups (the dynamic
  // provider, mid-create, used to live on, orphaned, long after the CLI).
  expect(await engineProcesses(PROJECT_ROOT)).toEqual([]);
  await setFaults({ bootDelayMs: 1500 });
  await settle(stack.cancel());
  await stack.up();
  expect(emulator.stats().launchesAccepted).toBe(launchesBefore + 1);
  expect(await liveByNode()).toEqual({ app: 1, data: 1, "gpu-a": 1 });
  stateWhileDeployed = await stack.stateText();
});

test("5b. npm run reap terminates exactly the stack's expired instances and nothing else", async () => {
  const outputs = await stack.outputs();
  const expiresAt = (node: string) =>
    Date.parse((outputs.nodes as Record<string, { expiresAt: string }>)[node].expiresAt);
  // app was launched in step 1; gpu-a and data were re-launched in steps 4 and 5, so they expire later.
  expect(expiresAt("gpu-a")).toBeGreaterThan(expiresAt("app"));
  expect(expiresAt("data")).toBeGreaterThan(expiresAt("app"));
  // An expired instance of another stack: the reaper must leave it alone.
  const foreign = await client.launchInstance({
    region_name: "us-east-1",
    instance_type_name: "gpu_1x_a10",
    ssh_key_names: ["orchestra-e2e-ssh"],
    name: "another-stack-node",
    tags: [
      { key: "orchestra-stack", value: "orchestra/another" },
      { key: "orchestra-expires-at", value: "2000-01-01T00:00:00.000Z" },
    ],
  });
  const now = new Date(expiresAt("app") + 1000).toISOString();
  const reapEnv = { LAMBDA_API_URL: emulator.url, LAMBDA_API_KEY: API_KEY };

  const dryRun = await runScript("reap.ts", ["--stack", "e2e", "--now", now, "--json"], reapEnv);
  expect(dryRun.code).toBe(0);
  const planned = JSON.parse(dryRun.stdout) as {
    dryRun: boolean;
    expired: { id: string }[];
    terminated: string[];
  };
  expect(planned.dryRun).toBe(true);
  expect(planned.expired.map((row) => row.id)).toEqual([instanceIdOf(outputs, "app")]);
  expect(planned.terminated).toEqual([]);
  expect(await liveByNode()).toEqual({ app: 1, data: 1, "gpu-a": 1, "unexpected:another-stack-node": 1 });

  const reaped = await runScript("reap.ts", ["--stack", "e2e", "--now", now, "--yes", "--json"], reapEnv);
  expect(reaped.code).toBe(0);
  expect((JSON.parse(reaped.stdout) as { terminated: string[] }).terminated).toEqual([
    instanceIdOf(outputs, "app"),
  ]);
  expect(await liveByNode()).toEqual({ data: 1, "gpu-a": 1, "unexpected:another-stack-node": 1 });
  await client.terminateInstances([foreign]);
  expect(dryRun.stdout + dryRun.stderr + reaped.stdout + reaped.stderr).not.toContain(API_KEY);
});

test("6. pulumi destroy leaves the emulator with no instance, key, filesystem or ruleset of the stack", async () => {
  await stack.destroy();
  expect(await live()).toEqual([]);
  expect(await client.listSshKeys()).toEqual([]);
  expect(await client.listFilesystems()).toEqual([]);
  expect(await client.listFirewallRulesets()).toEqual([]);
});

test("7. neither the state nor the engine's logs hold the API key or the database password", async () => {
  expect(stateWhileDeployed).toContain("orchestra-e2e-gpu-a");
  expect(stateWhileDeployed).not.toContain(API_KEY);
  expect(stateWhileDeployed).not.toContain(DB_PASSWORD);
  expect(stateWhileDeployed).not.toContain("BEGIN OPENSSH PRIVATE KEY");
  const everything = stack.transcript.join("\n");
  expect(everything.length).toBeGreaterThan(10_000);
  expect(everything).not.toContain(API_KEY);
  expect(everything).not.toContain(DB_PASSWORD);
});
