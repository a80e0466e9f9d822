/**
 * Provider tier: what a no-change `preview --refresh` costs the provider process. The engine calls
 * `read` on every resource and `check` on every instance (with the stored inputs as olds), all at
 * once; together they must make one listing per resource kind, whatever N is, and a write must make
 * the next read list again. Counted by operation at the emulator, not timed.
 */
import { LambdaClient } from "../lambda/client";
import type { RunningEmulator } from "../emulator/server";
import { serializeProvider, type SerializedProvider } from "../testing/serializedProvider";
import { hostGlobal, hostProcess } from "../testing/serializedProvider";
import { startTestEmulator } from "../testing/emulatorHarness";
import { instanceInputs } from "../testing/instanceFixtures";
import { lambdaInstanceProvider } from "./instanceProvider";
import { lambdaFilesystemProvider } from "./lambdaFilesystem";
import { lambdaFirewallRulesetProvider } from "./lambdaFirewallRuleset";
import { lambdaSshKeyProvider } from "./lambdaSshKey";
import { LISTING_MEMO_KEY } from "./listingMemo";

type Provider = SerializedProvider["provider"];

const PUBLIC_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGq9 ops@example.com";
const SSH_RULE = {
  protocol: "tcp" as const,
  port_range: [22, 22] as [number, number],
  source_network: "198.51.100.0/24",
  description: "ssh",
};

interface Stored {
  readonly provider: Provider;
  readonly id: string;
  readonly outs: Record<string, unknown>;
  readonly inputs: Record<string, unknown>;
}

let emulator: RunningEmulator;
let providers: Record<"instance" | "key" | "filesystem" | "ruleset", Provider>;

beforeAll(async () => {
  providers = {
    instance: (await serializeProvider(lambdaInstanceProvider)).provider,
    key: (await serializeProvider(lambdaSshKeyProvider)).provider,
    filesystem: (await serializeProvider(lambdaFilesystemProvider)).provider,
    ruleset: (await serializeProvider(lambdaFirewallRulesetProvider)).provider,
  };
});

beforeEach(async () => {
  emulator = await startTestEmulator();
  // The engine's window (the test harness turns the memo off; this test is about the memo).
  for (const env of [process.env, hostProcess().env]) env.LAMBDA_LIST_CACHE_MS = "30000";
});
afterEach(() => emulator.close());

async function create(provider: Provider, inputs: Record<string, unknown>): Promise<Stored> {
  const result = await provider.create(inputs);
  return { provider, id: result.id, outs: result.outs as Record<string, unknown>, inputs };
}

/** A stack with `nodes` instances, one key, one filesystem and a ruleset in each of two regions. */
async function deployStack(nodes: number): Promise<Stored[]> {
  const key = await create(providers.key, { name: "ops", publicKey: PUBLIC_KEY });
  const filesystem = await create(providers.filesystem, { name: "models", region: "us-west-1" });
  const rulesets = await Promise.all(
    ["us-west-1", "us-east-1"].map((region) =>
      create(providers.ruleset, { name: `fleet-${region}`, region, rules: [SSH_RULE] }),
    ),
  );
  const instances = await Promise.all(
    Array.from({ length: nodes }, (_, index) =>
      create(
        providers.instance,
        instanceInputs({
          name: `gpu-${index}`,
          launchToken: `0000000${index}`,
          regions: ["us-west-1"],
          fileSystemNames: ["models"],
          imageFamily: "lambda-stack-24-04",
        }),
      ),
    ),
  );
  return [key, filesystem, ...rulesets, ...instances];
}

/**
 * What the engine does for a no-change `preview --refresh`: read everything and check the
 * instances, in a new provider process (so nothing is memoized from the deployment).
 */
async function refresh(stack: Stored[]): Promise<unknown[]> {
  hostGlobal()[LISTING_MEMO_KEY] = undefined;
  return Promise.all(
    stack.flatMap((resource) => [
      resource.provider.read(resource.id, resource.outs),
      ...(resource.provider === providers.instance
        ? [resource.provider.check(resource.inputs, resource.inputs)]
        : []),
    ]),
  );
}

test.each([1, 6])("a no-change refresh of %i instances lists each resource kind once", async (nodes) => {
  const stack = await deployStack(nodes);
  await fetch(`${emulator.url}/_emulator/stats`, { method: "DELETE" });
  const results = await refresh(stack);
  expect(results.filter((result) => (result as { id?: string }).id === undefined)).toHaveLength(nodes);
  expect(emulator.stats().byOperation).toEqual({
    listInstances: 1,
    listSSHKeys: 1,
    listFilesystems: 1,
    firewallRulesetsList: 1,
  });
});

test("a write of a kind makes the next read of that kind list again; other kinds stay shared", async () => {
  const stack = await deployStack(1);
  const [key, , westRuleset, eastRuleset] = stack;
  await refresh(stack);
  await fetch(`${emulator.url}/_emulator/stats`, { method: "DELETE" });
  await eastRuleset.provider.delete(eastRuleset.id, eastRuleset.outs);
  expect(await eastRuleset.provider.read(eastRuleset.id, eastRuleset.outs)).toEqual({});
  expect((await westRuleset.provider.read(westRuleset.id, westRuleset.outs)).id).toBe(westRuleset.id);
  expect((await key.provider.read(key.id, key.outs)).id).toBe(key.id);
  expect(emulator.stats().byOperation).toEqual({ deleteFirewallRuleset: 1, firewallRulesetsList: 1 });
  // A terminate makes the instance listing (and the capacity list) stale: the next read lists again.
  const instance = stack[stack.length - 1];
  await instance.provider.delete(instance.id, instance.outs);
  expect(await instance.provider.read(instance.id, instance.outs)).toEqual({});
  expect(emulator.stats().byOperation.listInstances).toBe(1);
  expect(await new LambdaClient().listInstances()).toHaveLength(1);
});

test("a changed instance type or image family is still checked against Lambda at preview", async () => {
  const [, , , , instance] = await deployStack(1);
  await fetch(`${emulator.url}/_emulator/stats`, { method: "DELETE" });
  const result = await instance.provider.check(instance.inputs, {
    ...instance.inputs,
    instanceType: "gpu_9x_imaginary",
    imageFamily: "lambda-stack-99-04",
  });
  expect(result.failures?.map((failure) => failure.property)).toEqual(["instanceType", "imageFamily"]);
  expect(emulator.stats().byOperation).toEqual({ listInstanceTypes: 1, listImages: 1 });
});
