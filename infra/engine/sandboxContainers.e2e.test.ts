/**
 * Engine tier, the whole staging topology: the real Pulumi engine (driven through the Automation
 * API) runs the project's program with `deployContainers: true` (Pulumi.sandbox.yaml) against the
 * emulator; each node's Docker provider reaches this machine's engine over SSH through the sandbox
 * sshd, with the key from an ssh-agent, through the offline-built Docker plugin. The steps build on each other and run in order.
 */
import { execFileSync } from "child_process";
import { randomBytes } from "crypto";
import { readFileSync, rmSync } from "fs";
import type { LambdaClient } from "../lambda/client";
import { settle, type EngineStack } from "./engineStack";
import { startSandboxFixture, type SandboxFixture } from "./sandboxFixture";
import { keygenFingerprint } from "./sshAgent";

jest.setTimeout(15 * 60_000);

const PREFIX = "orchestra-ctr";
const STORES = ["postgres", "redis", "weaviate"].map((store) => `${PREFIX}-stores-${store}`);
const MCP = ["memory", "tools", "code", "git", "infrastructure", "unified"];
const APPS = ["api", "frontend", ...MCP.map((server) => `mcp-${server}`)].map(
  (app) => `${PREFIX}-apps-${app}`,
);
/**
 * The data node's volumes bind directories on the Lambda filesystem's mount, which in the sandbox
 * is this machine's /lambda/nfs/<name>: a name of its own, so no earlier run's data (initialised
 * with other passwords) is found there. Removed in afterAll, as Lambda deletes a filesystem's data.
 */
const FILESYSTEM = `orchestra-ctr-${randomBytes(4).toString("hex")}`;
/** A second MCP stand-in image, for the image-change step (removed in afterAll). */
const OTHER_MCP_TAG = "orchestra-standin/mcp:e2e-other";

let fixture: SandboxFixture;
let stack: EngineStack;
let client: LambdaClient;
let stateWhileDeployed = "";

function docker(args: string[]): string {
  return execFileSync("docker", args, { encoding: "utf8" }).trim();
}

/** Name -> `state/health/restarts/id` of this stack's containers (any state). */
function containers(): Record<string, { state: string; health: string; restarts: number; id: string }> {
  const names = docker(["ps", "-a", "--filter", `name=^${PREFIX}-`, "--format", "{{.Names}}"])
    .split("\n")
    .filter(Boolean);
  return Object.fromEntries(
    names.map((name) => {
      const [state, health, restarts, id] = docker([
        "inspect",
        "--format",
        "{{.State.Status}} {{if .State.Health}}{{.State.Health.Status}}{{else}}none{{end}} {{.RestartCount}} {{.Id}}",
        name,
      ]).split(" ");
      return [name, { state, health, restarts: Number(restarts), id }];
    }),
  );
}

function namesOf(kind: "network" | "volume"): string[] {
  return docker([kind, "ls", "--filter", `name=${PREFIX}-`, "--format", "{{.Name}}"])
    .split("\n")
    .filter(Boolean)
    .sort();
}

async function until(what: string, check: () => boolean, seconds: number): Promise<void> {
  for (let waited = 0; waited < seconds * 10; waited++) {
    if (check()) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`timed out after ${seconds} s waiting for ${what}`);
}

async function plannedChanges(): Promise<string[][]> {
  const plan = await stack.preview();
  // "read" is the cost report's StackReference to this stack's last outputs: not a change.
  return plan.steps
    .filter((step) => step.op !== "same" && step.op !== "read")
    .map((step) => [step.op, step.urn.split("::").pop() as string]);
}

const GATE_PASSED = [
  `healthy: api (http://127.0.0.1:18000/api/health)`,
  ...["memory", "tools", "code", "git", "infrastructure", "unified"].map(
    (server) =>
      `healthy: mcp-${server} (http://APP_PRIVATE_IP:${{ memory: 18003, tools: 18006, code: 18007, git: 18008, infrastructure: 18009, unified: 18001 }[server]}/health)`,
  ),
  "health gate passed: 7 service(s) healthy",
];

async function expectGatePassed(): Promise<void> {
  const outputs = await stack.outputs();
  const appPrivateIp = (outputs.nodes as Record<string, { privateIp: string }>).app.privateIp;
  expect(appPrivateIp).toMatch(/^198\.18\.0\.\d+$/);
  // One line per service in the order they answered healthy, then the verdict.
  const lines = (outputs.healthGate as string).trim().split("\n");
  const expected = GATE_PASSED.map((line) => line.replace("APP_PRIVATE_IP", appPrivateIp));
  expect(lines.slice(0, -1).sort()).toEqual(expected.slice(0, -1).sort());
  expect(lines.at(-1)).toBe(expected.at(-1));
}

beforeAll(async () => {
  fixture = await startSandboxFixture("ctr", { deployContainers: true });
  ({ stack, client } = fixture);
  await stack.setConfig("filesystem.name", FILESYSTEM, { path: true });
  // Another image (a label makes its id differ; a second tag alone would be the same image).
  execFileSync("docker", ["build", "--quiet", "--network", "none", "--tag", OTHER_MCP_TAG, "-"], {
    input: "FROM orchestra-standin/mcp:test\nLABEL org.orchestra.e2e=other-mcp-image\n",
    stdio: ["pipe", "ignore", "inherit"],
  });
});

afterAll(async () => {
  await fixture?.close();
  // Whatever a failed step left on the engine: this stack's containers, networks and volumes.
  for (const name of Object.keys(containers())) docker(["rm", "-f", name]);
  for (const name of namesOf("network")) docker(["network", "rm", name]);
  for (const name of namesOf("volume")) docker(["volume", "rm", "-f", name]);
  docker(["rmi", OTHER_MCP_TAG]);
  rmSync(`/lambda/nfs/${FILESYSTEM}`, { recursive: true, force: true });
});

test("0. without the key in the ssh-agent, preview fails with the fix and creates nothing", async () => {
  fixture.agent.clear();
  try {
    const preview = await settle(stack.preview());
    expect(preview.code).not.toBe(0);
    const output = (preview.stdout + preview.stderr).replace(/\s+/g, " ");
    expect(output).toContain(
      `the key matching orchestra:sshPublicKey (${keygenFingerprint(`${fixture.keyPath}.pub`)}) is not in the ssh-agent: the agent at SSH_AUTH_SOCK=${fixture.agent.socket} holds no key. Before preview, load it with \`ssh-add <private-key-file>\``,
    );
    expect(output).not.toContain("Error:"); // a RunError: the message alone, no stack trace
  } finally {
    fixture.agent.add(fixture.keyPath);
  }
  // Failed before the cost gate: not one request to Lambda, nothing on the engine.
  expect(fixture.emulator.stats().requests).toBe(0);
  expect(containers()).toEqual({});
});

test("1. pulumi up creates every planned container, running and healthy, and the gate passes", async () => {
  await stack.up();
  const outputs = await stack.outputs();
  expect(outputs.containers).toEqual({ data: STORES, app: APPS });
  const running = containers();
  expect(Object.keys(running).sort()).toEqual([...APPS, ...STORES].sort());
  for (const name of [...APPS, ...STORES]) expect([name, running[name].state]).toEqual([name, "running"]);
  await expectGatePassed();
  expect(namesOf("network")).toEqual([`${PREFIX}-apps-net`, `${PREFIX}-stores-net`]);
  expect(namesOf("volume")).toEqual(
    ["postgres", "redis", "weaviate"].map((store) => `${PREFIX}-stores-${store}-data`),
  );
});

test("2. a second preview reports no changes (no perpetual diff from the bridged defaults)", async () => {
  // -v=6 logs go into the transcript that step 7 searches for secrets.
  const result = await settle(
    stack.preview({ expectNoChanges: true, logToStdErr: true, logVerbosity: 6, logFlow: true }),
  );
  // The change lines of the display (on stdout; the logs go to stderr), to show what diffed.
  const changes = result.stdout
    .split("\n")
    .filter((line) => /^\s*(\+|-|~|\+-|\+\+|--)\s+\S+:\S+:\S+ /.test(line));
  expect(changes).toEqual([]);
  expect(result.code).toBe(0);
});

test("3. a new image for one MCP server replaces that container only", async () => {
  const before = containers();
  await stack.setConfig("images.mcp-git", OTHER_MCP_TAG, { path: true });
  expect(await plannedChanges()).toEqual([
    ["replace", `${PREFIX}-apps-mcp-git-image`],
    ["replace", `${PREFIX}-apps-mcp-git`],
    // The gate runs again whenever a container is replaced (its trigger is the containers' ids).
    ["replace", `${PREFIX}-health-check`],
  ]);
  await stack.up();
  const after = containers();
  for (const name of [...APPS, ...STORES])
    expect([name, after[name].id === before[name].id]).toEqual([name, name !== `${PREFIX}-apps-mcp-git`]);
  expect(docker(["inspect", "--format", "{{.Image}}", `${PREFIX}-apps-mcp-git`])).toBe(
    docker(["image", "inspect", "--format", "{{.Id}}", OTHER_MCP_TAG]),
  );
  await expectGatePassed();
});

test("4. a container removed out of band is found by refresh and re-created by up", async () => {
  const removed = `${PREFIX}-apps-mcp-code`;
  docker(["rm", "-f", removed]);
  await stack.refresh();
  const inState = (await stack.resources())
    .filter((resource) => resource.type === "docker:index/container:Container")
    .map((resource) => resource.urn.split("::").pop());
  expect(inState.sort()).toEqual([...APPS, ...STORES].filter((name) => name !== removed).sort());
  await stack.up();
  expect(containers()[removed].state).toBe("running");
  await expectGatePassed();
});

test("5. a killed MCP server is restarted by Docker and the health gate passes again", async () => {
  const victim = `${PREFIX}-apps-mcp-tools`;
  const pid = docker(["inspect", "--format", "{{.State.Pid}}", victim]);
  // SIGKILL from the host, as a crash would be (`docker kill` counts as a manual stop instead).
  execFileSync("kill", ["-KILL", pid]);
  await until(
    `${victim} restarted by Docker`,
    () => {
      const state = containers()[victim];
      return state.restarts >= 1 && state.state === "running";
    },
    60,
  );
  const gate = (await stack.resources()).find((resource) =>
    resource.urn.endsWith(`::${PREFIX}-health-check`),
  );
  expect(gate).toBeDefined();
  await stack.up({ replace: [gate?.urn as string] });
  await expectGatePassed();
  stateWhileDeployed = await stack.stateText();
});

test("6. destroy removes the containers, networks and (staging policy) volumes; the fleet is gone", async () => {
  await stack.destroy();
  expect(containers()).toEqual({});
  expect(namesOf("network")).toEqual([]);
  expect(namesOf("volume")).toEqual([]);
  expect(
    (await client.listInstances()).filter((instance) => ["booting", "active"].includes(instance.status)),
  ).toEqual([]);
});

test("7. no Lambda, database, Redis or Weaviate secret in the state or the engine's logs", async () => {
  expect(stateWhileDeployed).toContain(`${PREFIX}-stores-postgres`);
  const everything = [stateWhileDeployed, ...stack.transcript].join("\n");
  expect(everything.length).toBeGreaterThan(10_000);
  for (const [name, value] of Object.entries(fixture.secrets))
    expect([name, everything.includes(value)]).toEqual([name, false]);
  expect(everything).not.toContain("BEGIN OPENSSH PRIVATE KEY");
});

test("8. production policy: destroy removes the containers, stops at the protected nodes and data, and keeps the volumes", async () => {
  await stack.setConfig("layer", "production");
  // Production runs monitoring by default; its DCGM exporter needs `--gpus all`, which this
  // machine's Docker cannot give (no NVIDIA runtime). The services tier proves monitoring.
  await stack.setConfig("monitoring.enabled", "false", { path: true });
  await stack.up();
  await expectGatePassed();
  const live = async () =>
    (await client.listInstances()).filter((instance) => ["booting", "active"].includes(instance.status))
      .length;
  // The engine deletes what is not protected (the containers: stateless, replaced on every image
  // change, so never protected) and refuses at the protected volumes and nodes.
  const refused = await settle(stack.destroy());
  expect(refused.code).not.toBe(0);
  expect(refused.stdout + refused.stderr).toContain("protected");
  expect(containers()).toEqual({});
  expect(namesOf("volume")).toEqual(
    ["postgres", "redis", "weaviate"].map((store) => `${PREFIX}-stores-${store}-data`),
  );
  expect(await live()).toBe(3);

  // An operator who means it unprotects first: the nodes go, the volumes and the data stay.
  await stack.unprotectAll();
  await stack.destroy();
  expect(await live()).toBe(0);
  expect(namesOf("network")).toEqual([]);
  expect(namesOf("volume")).toEqual(
    ["postgres", "redis", "weaviate"].map((store) => `${PREFIX}-stores-${store}-data`),
  );
  expect(readFileSync(`/lambda/nfs/${FILESYSTEM}/postgres/PG_VERSION`, "utf8").trim()).toBe("15");
  expect((await client.listFilesystems()).map((fs) => fs.name)).toEqual([FILESYSTEM]);
});
