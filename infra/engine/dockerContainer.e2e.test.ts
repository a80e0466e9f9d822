/**
 * The offline-built Docker plugin on the real engine (driven through the Automation API) against
 * the local Docker engine: a tiny program (an explicit docker.Provider on
 * unix:///var/run/docker.sock, a Network, a Volume and a Container on both, and a Container with an
 * uploaded secret file and a read-only bind as Monitoring declares them, from the stand-in base
 * image so nothing is pulled) is previewed (creates nothing), put up, previewed again (no change:
 * no perpetual diff from bridged defaults) and destroyed.
 */
import { execFileSync } from "child_process";
import { mkdirSync, rmSync, writeFileSync } from "fs";
import { join } from "path";
import { EngineStack, type PreviewStep } from "./engineStack";
import { buildToolchain, PROJECT_ROOT } from "./toolchain";

// A cold plugin build takes 8-10 minutes on 2 busy cores; the engine steps about a minute.
jest.setTimeout(30 * 60 * 1000);

const RUN_ID = `probe${process.pid}`;
const NAME = `orchestra-plugin-${RUN_ID}`;
const LABEL = `org.orchestra.test-run=${RUN_ID}`;
/** Stands for a webhook URL's token: it must reach the file and never the state in plain text. */
const UPLOAD_SECRET = `upload-secret-${process.pid}-${Date.now()}`;
// Inside the checkout (.tmp/ is ignored by git) so the program resolves the project's node_modules.
const PROGRAM_DIR = join(PROJECT_ROOT, ".tmp", `docker-plugin-${RUN_ID}`);
const PROGRAM = `"use strict";
const pulumi = require("@pulumi/pulumi");
const docker = require("@pulumi/docker");
const provider = new docker.Provider("local", { host: "unix:///var/run/docker.sock" });
const opts = { provider };
const labels = [{ label: "org.orchestra.test-run", value: "${RUN_ID}" }];
// checkDuplicate: an SDK input the upstream removed; the plugin must accept it without a diff.
const network = new docker.Network("net", { name: "${NAME}", checkDuplicate: true, labels }, opts);
const volume = new docker.Volume("data", { name: "${NAME}", labels }, opts);
const container = new docker.Container("probe", {
  name: "${NAME}",
  image: "orchestra-standin/base:bookworm",
  command: ["sleep", "infinity"],
  restart: "unless-stopped",
  networksAdvanced: [{ name: network.name, aliases: ["probe"] }],
  volumes: [{ volumeName: volume.name, containerPath: "/data" }],
  envs: ["PROBE=1"],
  labels,
}, opts);
// How Monitoring runs its containers: a configuration file uploaded before the start (a secret in
// it, as Alertmanager's webhook URL is) and host paths bound read-only (node_exporter's /proc).
const files = new docker.Container("files", {
  name: "${NAME}-files",
  image: "orchestra-standin/base:bookworm",
  command: ["sleep", "infinity"],
  uploads: [{ file: "/etc/probe.yml", content: pulumi.secret("url: \\"${UPLOAD_SECRET}\\"\\n") }],
  mounts: [{ type: "bind", source: "/proc", target: "/host/proc", readOnly: true }],
  networksAdvanced: [{ name: network.name, aliases: ["files"] }],
  labels,
}, { ...opts, additionalSecretOutputs: ["uploads"] });
exports.containerId = container.id;
`;

let stack: EngineStack;

function docker(args: string[]): string {
  return execFileSync("docker", args, { encoding: "utf8" }).trim();
}

/** What the engine holds for this run: container, network and volume names. */
function dockerObjects(): { containers: string[]; networks: string[]; volumes: string[] } {
  // Sorted: `docker ps` lists the newest first.
  const list = (args: string[]): string[] => docker(args).split("\n").filter(Boolean).sort();
  return {
    containers: list(["ps", "-a", "--filter", `label=${LABEL}`, "--format", "{{.Names}}"]),
    networks: list(["network", "ls", "--filter", `label=${LABEL}`, "--format", "{{.Name}}"]),
    volumes: list(["volume", "ls", "--filter", `label=${LABEL}`, "--format", "{{.Name}}"]),
  };
}

/** (op, type, name) of every step a preview lists (as `preview --json`), the stack itself left out. */
function steps(planned: readonly PreviewStep[]): string[][] {
  return planned
    .map((step) => {
      // urn:pulumi:<stack>::<project>::<parent types $ type>::<name>
      const [, , typePath, name] = step.urn.split("::");
      return [step.op, typePath.split("$").pop() as string, name];
    })
    .filter(([, type]) => type !== "pulumi:pulumi:Stack");
}

beforeAll(async () => {
  const toolchain = buildToolchain();
  // The engine and the stand-in images the services tier uses (both no-ops when present).
  execFileSync("bash", [join(PROJECT_ROOT, "scripts", "docker-engine.sh")], {
    stdio: ["ignore", "ignore", "inherit"],
  });
  execFileSync("bash", [join(PROJECT_ROOT, "scripts", "standin-images", "build.sh")], {
    stdio: ["ignore", "ignore", "inherit"],
  });
  mkdirSync(PROGRAM_DIR, { recursive: true });
  writeFileSync(
    join(PROGRAM_DIR, "Pulumi.yaml"),
    "name: docker-plugin-probe\nruntime: nodejs\nmain: index.js\n",
  );
  writeFileSync(join(PROGRAM_DIR, "index.js"), PROGRAM);
  // DOCKER_HOST empty reads as unset: the provider's host is the one in the program.
  stack = await EngineStack.create({
    name: "probe",
    workDir: PROGRAM_DIR,
    settings: {},
    toolchain,
    env: { DOCKER_HOST: "" },
  });
});

afterAll(async () => {
  await stack?.stopAll();
  // Whatever a failed step left behind, by this run's label only.
  const left = dockerObjects();
  if (left.containers.length > 0) docker(["rm", "-f", ...left.containers]);
  if (left.networks.length > 0) docker(["network", "rm", ...left.networks]);
  if (left.volumes.length > 0) docker(["volume", "rm", ...left.volumes]);
  rmSync(PROGRAM_DIR, { recursive: true, force: true });
});

test("1. preview shows the container, network and volume to create, and creates nothing", async () => {
  // Network and volume are independent, so their order varies: compare sorted.
  const plan = steps((await stack.preview()).steps).sort((a, b) => a.join().localeCompare(b.join()));
  expect(plan).toEqual([
    ["create", "docker:index/container:Container", "files"],
    ["create", "docker:index/container:Container", "probe"],
    ["create", "docker:index/network:Network", "net"],
    ["create", "docker:index/volume:Volume", "data"],
    ["create", "pulumi:providers:docker", "local"],
  ]);
  expect(dockerObjects()).toEqual({ containers: [], networks: [], volumes: [] });
});

test("2. up creates them: the container runs on the network with the volume mounted", async () => {
  await stack.up();
  expect(dockerObjects()).toEqual({
    containers: [NAME, `${NAME}-files`].sort(),
    networks: [NAME],
    volumes: [NAME],
  });
  const inspect = JSON.parse(docker(["inspect", NAME]))[0] as {
    State: { Running: boolean };
    Config: { Env: string[]; Cmd: string[] };
    HostConfig: { RestartPolicy: { Name: string } };
    NetworkSettings: { Networks: Record<string, { Aliases: string[] | null }> };
    Mounts: { Type: string; Name: string; Destination: string }[];
  };
  expect(inspect.State.Running).toBe(true);
  expect(inspect.Config.Cmd).toEqual(["sleep", "infinity"]);
  expect(inspect.Config.Env).toContain("PROBE=1");
  expect(inspect.HostConfig.RestartPolicy.Name).toBe("unless-stopped");
  expect(Object.keys(inspect.NetworkSettings.Networks)).toEqual([NAME]);
  expect(inspect.NetworkSettings.Networks[NAME].Aliases).toContain("probe");
  expect(inspect.Mounts.map((m) => [m.Type, m.Name, m.Destination])).toEqual([["volume", NAME, "/data"]]);
  // The uploaded file is there before the start; the bind is read-only.
  expect(docker(["exec", `${NAME}-files`, "cat", "/etc/probe.yml"])).toBe(`url: "${UPLOAD_SECRET}"`);
  const files = JSON.parse(docker(["inspect", `${NAME}-files`]))[0] as {
    Mounts: { Type: string; Source: string; Destination: string; RW: boolean }[];
  };
  expect(files.Mounts.map((m) => [m.Type, m.Source, m.Destination, m.RW])).toEqual([
    ["bind", "/proc", "/host/proc", false],
  ]);
  // The state holds the upload only encrypted.
  expect(await stack.stateText()).not.toContain(UPLOAD_SECRET);
  const outputs = (await stack.outputs()) as { containerId: string };
  expect(outputs.containerId).toBe(docker(["inspect", "--format", "{{.Id}}", NAME]));
});

test("3. a second preview has no changes (no perpetual diff from the bridged defaults)", async () => {
  const preview = await stack.preview();
  // As --json, the steps are only those that change something.
  expect(steps(preview.steps)).toEqual([]);
  expect(preview.changeSummary).toEqual({ same: 6 });
});

test("4. destroy removes the container, the network and the volume", async () => {
  await stack.destroy();
  expect(dockerObjects()).toEqual({ containers: [], networks: [], volumes: [] });
});
