/**
 * Mock tier: LambdaInstance's launch token. It names the launched instance and is recorded with
 * it; it must follow the settings Lambda cannot change, never the region list (adding a fallback
 * region must not rename, and so replace, a running node).
 */
import * as pulumi from "@pulumi/pulumi";
import { instanceLaunchToken, launchTokenFor } from "./lambdaInstance";

const registered: { name: string; inputs: Record<string, unknown> }[] = [];

beforeAll(async () => {
  await pulumi.runtime.setMocks(
    {
      newResource: (args) => {
        registered.push({ name: args.name, inputs: args.inputs });
        return { id: `${args.name}-id`, state: args.inputs };
      },
      call: () => ({}),
    },
    "orchestra",
    "staging",
    false,
  );
});

const SETTINGS = {
  instanceType: "gpu_1x_a10",
  sshKeyNames: ["ops"],
  fileSystemNames: [],
  imageFamily: "lambda-stack-24-04",
  hostname: "orchestra-staging-gpu-a",
  tags: { "orchestra-node": "gpu-a" },
};

test("the token is the same for any region list, and follows the settings Lambda cannot change", () => {
  const one = instanceLaunchToken("orchestra", "staging", "gpu-a", {
    ...SETTINGS,
    regions: ["us-west-1"],
  });
  const two = instanceLaunchToken("orchestra", "staging", "gpu-a", {
    ...SETTINGS,
    regions: ["us-west-1", "us-east-1"],
  });
  expect(one).toBe(two);
  expect(one).toBe(
    launchTokenFor([
      "orchestra",
      "staging",
      "gpu-a",
      "gpu_1x_a10",
      ["ops"],
      [],
      "lambda-stack-24-04",
      undefined,
      "orchestra-staging-gpu-a",
      { "orchestra-node": "gpu-a" },
    ]),
  );
  expect(one).toMatch(/^[0-9a-f]{8}$/);
  // Unique per stack, resource and launch settings.
  const others = [
    instanceLaunchToken("orchestra", "production", "gpu-a", SETTINGS),
    instanceLaunchToken("orchestra", "staging", "gpu-b", SETTINGS),
    instanceLaunchToken("orchestra", "staging", "gpu-a", { ...SETTINGS, instanceType: "gpu_1x_a100" }),
    instanceLaunchToken("orchestra", "staging", "gpu-a", { ...SETTINGS, imageFamily: "lambda-stack-22-04" }),
  ];
  expect(new Set([one, ...others]).size).toBe(5);
});

async function tokenFor(regions: string[]): Promise<unknown> {
  registered.length = 0;
  const { LambdaInstance } = await import("./lambdaInstance");
  new LambdaInstance("gpu-a", {
    ...SETTINGS,
    regions,
    launchScope: { project: "orchestra", stack: "staging" },
  });
  await new Promise((resolve) => setTimeout(resolve, 100));
  expect(registered.map((resource) => resource.name)).toEqual(["gpu-a"]);
  return registered[0].inputs.launchToken;
}

test("LambdaInstance sends the same launch token for two region lists", async () => {
  const single = await tokenFor(["us-west-1"]);
  const withFallback = await tokenFor(["us-west-1", "us-east-1"]);
  expect(single).toBe(instanceLaunchToken("orchestra", "staging", "gpu-a", SETTINGS));
  expect(withFallback).toBe(single);
});
