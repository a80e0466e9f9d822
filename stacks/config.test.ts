/** Pure tier: stack config validation reports every problem at once, in the user's words. */
import { StackConfigError, validateStackConfig } from "./config";

const valid = {
  layer: "staging",
  sshPublicKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAA ops",
  allowedCidrs: ["203.0.113.0/24"],
  nodes: { app: { role: "app", instanceType: "gpu_1x_a10", regions: ["us-west-1"] } },
  monthlyBudgetUsd: 3000,
};

test("a valid config becomes a frozen, typed object with defaults", () => {
  const config = validateStackConfig(valid);
  expect(Object.isFrozen(config)).toBe(true);
  expect(config.ssh).toEqual({ publicKey: valid.sshPublicKey, user: "ubuntu", port: 22 });
  expect(config.fleet).toEqual({
    nodes: [
      { key: "app", role: "app", instanceType: "gpu_1x_a10", regions: ["us-west-1"], mountFilesystem: false },
    ],
    allowedCidrs: ["203.0.113.0/24"],
    publicPorts: [3000, 8000],
    filesystem: undefined,
    bootTimeoutMinutes: 30,
    pollIntervalSeconds: 10,
    imageFamily: "lambda-stack-24-04",
  });
});

test("every problem is listed at once, with key, value and fix", () => {
  const attempt = () =>
    validateStackConfig({
      ...valid,
      allowedCidrs: ["10.0.0.300/8"],
      nodes: {
        app: { role: "app", instanceType: "gpu_1x_a10", regions: ["us-west-1"] },
        GPU_A: { role: "gpu", instanceType: "gpu_1x_a10", regions: ["us-west-1"], mountFilesystem: true },
      },
    });
  expect(attempt).toThrow(StackConfigError);
  try {
    attempt();
  } catch (error) {
    expect((error as StackConfigError).problems).toEqual([
      'orchestra:allowedCidrs contains "10.0.0.300/8": not an IPv4 CIDR; write e.g. 203.0.113.0/24 (a single address is /32)',
      'orchestra:nodes.GPU_A: the node key "GPU_A" must be a valid hostname part (lowercase letter first, then lowercase letters, digits, "-"; at most 21); rename it, e.g. "gpu-a"',
      "orchestra:nodes.GPU_A.mountFilesystem is true but orchestra:filesystem is not set; set orchestra:filesystem or drop mountFilesystem",
    ]);
  }
});

test("schema problems name the key and the value written", () => {
  expect(() =>
    validateStackConfig({
      ...valid,
      layer: "prod",
      nodes: { app: { role: "app", instanceType: "gpu_1x_a10", regions: ["us-west-9"] } },
    }),
  ).toThrow(
    "Stack config has 2 problems:\n" +
      '  - orchestra:layer = "prod": Invalid option: expected one of "local"|"integration"|"staging"|"production"; fix with `pulumi config set --path \'orchestra:layer\' <value>`\n' +
      '  - orchestra:nodes.app.regions.0 = "us-west-9": Invalid option: expected one of "europe-central-1"|"asia-south-1"|"australia-east-1"|"me-west-1"|"asia-northeast-1"|"asia-northeast-2"|"us-east-1"|"us-west-2"|"us-west-1"|"us-south-1"|"us-west-3"|"us-midwest-1"|"us-east-2"|"us-south-2"|"us-south-3"|"us-east-3"|"us-midwest-2"; fix with `pulumi config set --path \'orchestra:nodes.app.regions.0\' <value>`',
  );
});
