/**
 * Mock tier: the GpuFleet resource graph. Names are a contract (derived from node keys), every
 * child's parent is the component, and the SSH private key reaches the readiness step only as a
 * secret.
 */
import * as pulumi from "@pulumi/pulumi";

interface Registered {
  type: string;
  name: string;
  inputs: Record<string, unknown>;
  parent?: string;
}

const registered: Registered[] = [];

beforeAll(async () => {
  await pulumi.runtime.setMocks(
    {
      newResource: (args) => {
        registered.push({ type: args.type, name: args.name, inputs: args.inputs });
        const outputs: Record<string, unknown> = { ...args.inputs };
        if (args.type === "pulumi-nodejs:dynamic/lambda:Instance")
          Object.assign(outputs, {
            ip: "203.0.113.7",
            privateIp: "10.0.0.7",
            instanceId: `id-${args.name}`,
            hourlyPriceUsd: 1.29,
          });
        if (args.type === "pulumi-nodejs:dynamic/lambda:Instance" && args.inputs.ttlHours !== undefined)
          outputs.expiresAt = "2030-01-01T00:00:00.000Z";
        if (args.type === "pulumi-nodejs:dynamic/lambda:FirewallRuleset")
          outputs.rulesetId = `rs-${args.name}`;
        if (args.type.endsWith("remote:Command")) outputs.stdout = `ran ${args.name}`;
        return { id: `${args.name}-id`, state: outputs };
      },
      call: () => ({}),
    },
    "orchestra",
    "staging",
    false,
  );
});

/** Test-only transformation: component transformations see every child's options, parent included. */
const recordParent: pulumi.ResourceTransformation = (args) => {
  options.set(`${args.type}::${args.name}`, {
    protect: args.opts.protect,
    retainOnDelete: (args.opts as pulumi.CustomResourceOptions).retainOnDelete,
  });
  parents.set(
    `${args.type}::${args.name}`,
    (args.opts.parent as unknown as { __name?: string } | undefined)?.__name,
  );
  return undefined;
};

const parents = new Map<string, string | undefined>();
const options = new Map<string, { protect?: boolean; retainOnDelete?: boolean }>();

/** An Output's value, awaited. */
function value<T>(output: pulumi.Output<T>): Promise<T> {
  return new Promise((resolve) => output.apply(resolve));
}

async function build(
  nodeKeys: string[],
  remoteCommandRunner: "pulumi-command" | "ssh2-dynamic" = "pulumi-command",
  lifetime: { stackTag?: string; ttlHours?: number } = {},
  extra: Partial<import("./gpuFleet").GpuFleetArgs> = {},
) {
  registered.length = 0;
  parents.clear();
  options.clear();
  const { GpuFleet } = await import("./gpuFleet");
  const fleet = new GpuFleet(
    "orchestra-staging",
    {
      settings: {
        nodes: nodeKeys.map((key) => ({
          key,
          role: key.startsWith("gpu") ? "gpu" : "app",
          instanceType: key.startsWith("gpu") ? "gpu_1x_a100_sxm4" : "cpu_4x_general",
          regions: ["us-west-1"],
          mountFilesystem: false,
        })),
        allowedCidrs: ["203.0.113.0/24"],
        publicPorts: [8000],
        bootTimeoutMinutes: 30,
        pollIntervalSeconds: 10,
      },
      sshPublicKey: "ssh-ed25519 AAAA ops",
      ssh: {
        runner: remoteCommandRunner,
        user: "ubuntu",
        port: 22,
        privateKey: pulumi.secret("-----BEGIN OPENSSH PRIVATE KEY-----test"),
      },
      launchScope: { project: "orchestra", stack: "test" },
      tags: { "orchestra-layer": "staging" },
      ...lifetime,
      ...extra,
    },
    { transformations: [recordParent] },
  );
  await new Promise((resolve) => setTimeout(resolve, 200));
  return fleet;
}

test("child names and types are derived from the node keys", async () => {
  const fleet = await build(["app", "gpu-a", "gpu-b"]);
  expect(registered.map((resource) => `${resource.type} ${resource.name}`).sort()).toEqual(
    [
      "command:remote:Command orchestra-staging-app-ready",
      "command:remote:Command orchestra-staging-gpu-a-ready",
      "command:remote:Command orchestra-staging-gpu-b-ready",
      "orchestra:fleet:GpuFleet orchestra-staging",
      "pulumi-nodejs:dynamic/lambda:FirewallRuleset orchestra-staging-fw-us-west-1",
      "pulumi-nodejs:dynamic/lambda:Instance orchestra-staging-app",
      "pulumi-nodejs:dynamic/lambda:Instance orchestra-staging-gpu-a",
      "pulumi-nodejs:dynamic/lambda:Instance orchestra-staging-gpu-b",
      "pulumi-nodejs:dynamic/lambda:SshKey orchestra-staging-ssh",
    ].sort(),
  );
  parents.delete("orchestra:fleet:GpuFleet::orchestra-staging");
  expect(parents.size).toBe(8);
  for (const [key, parent] of parents) expect([key, parent]).toEqual([key, "orchestra-staging"]);
  expect(await new Promise((resolve) => fleet.nodes["gpu-a"].sshCommand.apply(resolve))).toBe(
    "ssh ubuntu@203.0.113.7",
  );
});

test("removing a node from the middle renames nothing else", async () => {
  await build(["app", "gpu-a", "gpu-b"]);
  const before = registered.map((resource) => resource.name).filter((name) => !name.includes("gpu-a"));
  await build(["app", "gpu-b"]);
  expect(registered.map((resource) => resource.name).sort()).toEqual(before.sort());
});

test("the readiness step gets the private key as a secret and checks nvidia-smi only on GPU nodes", async () => {
  const fleet = await build(["app", "gpu-a"]);
  const app = registered.find((resource) => resource.name === "orchestra-staging-app-ready");
  const gpu = registered.find((resource) => resource.name === "orchestra-staging-gpu-a-ready");
  expect(app?.inputs.create).not.toContain("nvidia-smi");
  expect(gpu?.inputs.create).toContain(
    'nvidia-smi -L >/dev/null 2>&1 || { echo "node $node: nvidia-smi failed: no working GPU driver" >&2; exit 1; }',
  );
  // The private key makes the whole connection a secret on its way to the engine.
  expect(gpu?.inputs.connection).toEqual({
    [pulumi.runtime.specialSigKey]: pulumi.runtime.specialSecretSig,
    value: {
      host: "203.0.113.7",
      port: 22,
      user: "ubuntu",
      dialErrorLimit: 120,
      perDialTimeout: 5,
      privateKey: "-----BEGIN OPENSSH PRIVATE KEY-----test",
    },
  });
  // Each node's readiness output is its own step's stdout.
  expect(Object.keys(fleet.readiness).sort()).toEqual(["app", "gpu-a"]);
  expect(await value(fleet.readiness.app)).toBe("ran orchestra-staging-app-ready");
  expect(await value(fleet.readiness["gpu-a"])).toBe("ran orchestra-staging-gpu-a-ready");
});

test("the ssh2-dynamic runner declares RemoteCommand resources with the key as a secret input", async () => {
  await build(["app"], "ssh2-dynamic");
  const step = registered.find((resource) => resource.name === "orchestra-staging-app-ready");
  expect(step?.type).toBe("pulumi-nodejs:dynamic/remote:Command");
  expect(step?.inputs).toMatchObject({
    host: "203.0.113.7",
    port: 22,
    user: "ubuntu",
    dialAttempts: 120,
    dialIntervalSeconds: 5,
  });
  // The mock monitor sees the secret envelope: the key travels as a Pulumi secret.
  expect(step?.inputs.privateKey).toEqual({
    [pulumi.runtime.specialSigKey]: pulumi.runtime.specialSecretSig,
    value: "-----BEGIN OPENSSH PRIVATE KEY-----test",
  });
});

test("the stack tag and the TTL reach every instance; the expiry itself is left to the provider", async () => {
  const fleet = await build(["app", "gpu-a"], "pulumi-command", {
    stackTag: "orchestra/staging",
    ttlHours: 72,
  });
  const gpu = registered.find((resource) => resource.name === "orchestra-staging-gpu-a");
  expect(gpu?.inputs.tags).toEqual({
    "orchestra-layer": "staging",
    "orchestra-stack": "orchestra/staging",
    "orchestra-node": "gpu-a",
    "orchestra-role": "gpu",
  });
  expect(gpu?.inputs.ttlHours).toBe(72);
  // The node reports the instance's own expiresAt (the mock stamps one when a TTL is set).
  expect(await value(fleet.nodes["gpu-a"].expiresAt)).toBe("2030-01-01T00:00:00.000Z");
  expect(await value(fleet.nodes["gpu-a"].instanceId)).toBe("id-orchestra-staging-gpu-a");
});

test("without them, the instances' inputs are what they were (no replacement of existing fleets)", async () => {
  await build(["app"]);
  const app = registered.find((resource) => resource.name === "orchestra-staging-app");
  expect(app?.inputs.tags).toEqual({
    "orchestra-layer": "staging",
    "orchestra-node": "app",
    "orchestra-role": "app",
  });
  expect("ttlHours" in (app?.inputs ?? {})).toBe(false);
});

test("protect reaches the instances and the filesystem; retainOnDelete only the filesystem", async () => {
  await build(
    ["app"],
    "pulumi-command",
    {},
    {
      settings: {
        nodes: [
          {
            key: "app",
            role: "app",
            instanceType: "cpu_4x_general",
            regions: ["us-west-1"],
            mountFilesystem: true,
          },
        ],
        allowedCidrs: ["203.0.113.0/24"],
        publicPorts: [8000],
        filesystem: { name: "orchestra-data", region: "us-west-1" },
        bootTimeoutMinutes: 30,
        pollIntervalSeconds: 10,
      },
      protect: true,
      retainOnDelete: true,
    },
  );
  expect(options.get("pulumi-nodejs:dynamic/lambda:Instance::orchestra-staging-app")).toEqual({
    protect: true,
    retainOnDelete: undefined,
  });
  expect(options.get("pulumi-nodejs:dynamic/lambda:Filesystem::orchestra-staging-fs")).toEqual({
    protect: true,
    retainOnDelete: true,
  });
});

test("without a policy nothing is protected or retained", async () => {
  await build(["app"]);
  expect(options.get("pulumi-nodejs:dynamic/lambda:Instance::orchestra-staging-app")).toEqual({
    protect: false,
    retainOnDelete: undefined,
  });
});

test("ssh.port is the port the firewall opens and the readiness step dials", async () => {
  await build(
    ["app"],
    "pulumi-command",
    {},
    {
      ssh: { runner: "pulumi-command", user: "ubuntu", port: 2222, privateKey: pulumi.secret("key") },
    },
  );
  const ruleset = registered.find((resource) => resource.name === "orchestra-staging-fw-us-west-1");
  expect((ruleset?.inputs.rules as { port_range?: number[] }[])[0].port_range).toEqual([2222, 2222]);
  const step = registered.find((resource) => resource.name === "orchestra-staging-app-ready");
  expect((step?.inputs.connection as { value: { port: number } }).value.port).toBe(2222);
});
