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
        if (args.type === "pulumi-nodejs:dynamic/lambda:FirewallRuleset")
          outputs.rulesetId = `rs-${args.name}`;
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
  parents.set(
    `${args.type}::${args.name}`,
    (args.opts.parent as unknown as { __name?: string } | undefined)?.__name,
  );
  return undefined;
};

const parents = new Map<string, string | undefined>();

async function build(
  nodeKeys: string[],
  remoteCommandRunner: "pulumi-command" | "ssh2-dynamic" = "pulumi-command",
  lifetime: { stackTag?: string; ttlHours?: number } = {},
) {
  registered.length = 0;
  parents.clear();
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
      sshPrivateKey: pulumi.secret("-----BEGIN OPENSSH PRIVATE KEY-----test"),
      sshUser: "ubuntu",
      sshPort: 22,
      remoteCommandRunner,
      tags: { "orchestra-layer": "staging" },
      ...lifetime,
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
  expect(fleet.readiness.app).toBeDefined();
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
  expect(fleet.nodes["gpu-a"].expiresAt).toBeDefined();
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
