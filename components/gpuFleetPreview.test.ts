/**
 * Mock tier, preview: an instance names the fleet's filesystem only once the filesystem exists, so
 * the instance's `check` (which refuses a filesystem Lambda does not have) does not refuse the
 * preview of a first deployment, where the filesystem is still to be created.
 */
import * as pulumi from "@pulumi/pulumi";

const registered: { type: string; name: string; inputs: Record<string, unknown> }[] = [];
let filesystemExists = false;

beforeAll(async () => {
  await pulumi.runtime.setMocks(
    {
      newResource: (args) => {
        registered.push({ type: args.type, name: args.name, inputs: args.inputs });
        const state: Record<string, unknown> = { ...args.inputs };
        // A preview of a resource still to be created knows its inputs, not its id.
        if (args.type === "pulumi-nodejs:dynamic/lambda:Filesystem" && filesystemExists)
          state.filesystemId = "fs-1";
        return { id: `${args.name}-id`, state };
      },
      call: () => ({}),
    },
    "orchestra",
    "staging",
    true,
  );
});

async function instanceFileSystemNames(): Promise<unknown> {
  registered.length = 0;
  const { GpuFleet } = await import("./gpuFleet");
  new GpuFleet("orchestra-staging", {
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
    sshPublicKey: "ssh-ed25519 AAAA ops",
    ssh: {
      runner: "pulumi-command",
      user: "ubuntu",
      port: 22,
      privateKey: pulumi.secret("-----BEGIN OPENSSH PRIVATE KEY-----test"),
    },
    launchScope: { project: "orchestra", stack: "test" },
    readinessChecks: false,
  });
  await new Promise((resolve) => setTimeout(resolve, 200));
  const instance = registered.find((resource) => resource.type === "pulumi-nodejs:dynamic/lambda:Instance");
  return instance?.inputs.fileSystemNames;
}

test("a filesystem still to be created leaves the instance's fileSystemNames unknown at preview", async () => {
  filesystemExists = false;
  expect(await instanceFileSystemNames()).toEqual([expect.objectContaining({ __pulumiUnknown: true })]);
});

test("a filesystem that exists is named at preview, so check can look it up", async () => {
  filesystemExists = true;
  expect(await instanceFileSystemNames()).toEqual(["orchestra-data"]);
});
