/**
 * Provider tier for SSH keys, filesystems and firewall rulesets: create, read, update, delete
 * against the emulator, and in-use errors that name the instances holding the object.
 */
import { LambdaClient } from "../lambda/client";
import type { RunningEmulator } from "../emulator/server";
import { serializeProvider } from "../testing/serializedProvider";
import { startTestEmulator } from "../testing/emulatorHarness";
import { lambdaFilesystemProvider } from "./lambdaFilesystem";
import { lambdaFirewallRulesetProvider } from "./lambdaFirewallRuleset";
import { lambdaSshKeyProvider } from "./lambdaSshKey";

const PUBLIC_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGq9 ops@example.com";
const SSH_RULE = {
  protocol: "tcp" as const,
  port_range: [22, 22] as [number, number],
  source_network: "198.51.100.0/24",
  description: "ssh from the office",
};

let emulator: RunningEmulator;
let client: LambdaClient;

beforeEach(async () => {
  emulator = await startTestEmulator();
  client = new LambdaClient();
});
afterEach(() => emulator.close());

async function launchUsing(extra: Record<string, unknown>): Promise<string> {
  return client.launchInstance({
    region_name: "us-west-1",
    instance_type_name: "gpu_1x_a10",
    ssh_key_names: ["ops"],
    name: "holder-1",
    ...extra,
  });
}

test("SSH key: create, adopt on re-run, refuse a different key under the same name, read, delete", async () => {
  const { provider } = await serializeProvider(lambdaSshKeyProvider);
  const created = await provider.create({ name: "ops", publicKey: PUBLIC_KEY });
  expect(created.outs).toEqual({ name: "ops", publicKey: PUBLIC_KEY, keyId: created.id });
  expect((await provider.create({ name: "ops", publicKey: PUBLIC_KEY })).id).toBe(created.id);
  await expect(provider.create({ name: "ops", publicKey: "ssh-ed25519 AAAAother x" })).rejects.toThrow(
    'An SSH key named "ops" already exists in the Lambda account with a different public key; choose another name or delete that key first',
  );
  expect((await provider.read(created.id, created.outs)).props).toEqual({
    name: "ops",
    publicKey: PUBLIC_KEY,
    keyId: created.id,
  });
  expect(
    (await provider.diff(created.id, created.outs, { name: "ops", publicKey: "ssh-ed25519 AAAAnew x" }))
      .deleteBeforeReplace,
  ).toBe(true);
  await provider.delete(created.id, created.outs);
  expect(await client.listSshKeys()).toEqual([]);
  expect(await provider.read(created.id, created.outs)).toEqual({});
  await provider.delete(created.id, created.outs);
});

test("SSH key: deleting a key a live instance was launched with succeeds, as on Lambda 1.8.3", async () => {
  // Lambda copies the key into the instance at launch and 1.8.3 has no in-use error for keys, so
  // the delete goes through and the instance keeps running with the key it has.
  const { provider } = await serializeProvider(lambdaSshKeyProvider);
  const created = await provider.create({ name: "ops", publicKey: PUBLIC_KEY });
  const instanceId = await launchUsing({});
  await provider.delete(created.id, created.outs);
  expect(await client.listSshKeys()).toEqual([]);
  const instance = await client.getInstance(instanceId);
  expect([instance.status, instance.ssh_key_names]).toEqual(["booting", ["ops"]]);
  expect(emulator.stats().byOperation.listInstances).toBeUndefined();
});

test("SSH key check refuses what Lambda would", async () => {
  const { provider } = await serializeProvider(lambdaSshKeyProvider);
  const result = await provider.check({}, { name: "", publicKey: "not a key" });
  expect(result.failures).toEqual([
    { property: "name", reason: 'SSH key name "" must be 1 to 64 characters' },
    {
      property: "publicKey",
      reason:
        "publicKey is not an OpenSSH public key (expected e.g. `ssh-ed25519 AAAA... comment` on one line, at most 4096 characters); paste the contents of your .pub file",
    },
  ]);
});

test("filesystem: create, read, in-use delete names the instance, delete after terminate", async () => {
  const { provider } = await serializeProvider(lambdaFilesystemProvider);
  await client.addSshKey("ops", PUBLIC_KEY);
  const created = await provider.create({ name: "models", region: "us-west-1" });
  expect(created.outs).toEqual({
    name: "models",
    region: "us-west-1",
    filesystemId: created.id,
    mountPoint: "/lambda/nfs/models",
  });
  const instanceId = await launchUsing({ file_system_names: ["models"] });
  await expect(provider.delete(created.id, created.outs)).rejects.toThrow(
    `Filesystem "models" is still mounted by holder-1 (id ${instanceId}, booting); terminate those instances first`,
  );
  await client.terminateInstances([instanceId]);
  await new Promise((resolve) => setTimeout(resolve, 100));
  await provider.delete(created.id, created.outs);
  expect(await client.listFilesystems()).toEqual([]);
  expect(await provider.read(created.id, created.outs)).toEqual({});
});

test("filesystem check names the key, the value and what is allowed", async () => {
  const { provider } = await serializeProvider(lambdaFilesystemProvider);
  const result = await provider.check({}, { name: "9models", region: "mars-1" });
  expect(result.failures?.map((failure) => failure.reason)).toEqual([
    'filesystem name "9models" must match ^[a-zA-Z]+[0-9a-zA-Z-]*$ and be at most 60 characters',
    expect.stringMatching(/^region "mars-1" is not a Lambda region; allowed: europe-central-1, /),
  ]);
});

test("firewall ruleset: create, update rules in place, in-use delete names the instance", async () => {
  const { provider } = await serializeProvider(lambdaFirewallRulesetProvider);
  await client.addSshKey("ops", PUBLIC_KEY);
  const created = await provider.create({ name: "fleet-us-west-1", region: "us-west-1", rules: [SSH_RULE] });
  expect(created.outs).toEqual({
    name: "fleet-us-west-1",
    region: "us-west-1",
    rules: [SSH_RULE],
    rulesetId: created.id,
  });
  const api = { ...SSH_RULE, port_range: [8000, 8000] as [number, number], description: "api" };
  const diff = await provider.diff(created.id, created.outs, {
    name: "fleet-us-west-1",
    region: "us-west-1",
    rules: [SSH_RULE, api],
  });
  expect(diff).toEqual({ changes: true, replaces: [], deleteBeforeReplace: undefined, stables: undefined });
  const updated = await provider.update!(created.id, created.outs, {
    name: "fleet-us-west-1",
    region: "us-west-1",
    rules: [SSH_RULE, api],
  });
  expect(updated.outs).toEqual({
    name: "fleet-us-west-1",
    region: "us-west-1",
    rules: [SSH_RULE, api],
    rulesetId: created.id,
  });
  const instanceId = await launchUsing({ firewall_rulesets: [{ id: created.id }] });
  await expect(provider.delete(created.id, created.outs)).rejects.toThrow(
    `Firewall ruleset "fleet-us-west-1" is still used by holder-1 (id ${instanceId}, booting); terminate those instances first`,
  );
  await client.terminateInstances([instanceId]);
  await new Promise((resolve) => setTimeout(resolve, 100));
  await provider.delete(created.id, created.outs);
  expect(await provider.read(created.id, created.outs)).toEqual({});
});

test("firewall ruleset check lists every bad rule", async () => {
  const { provider } = await serializeProvider(lambdaFirewallRulesetProvider);
  const result = await provider.check(
    {},
    {
      name: "r",
      region: "us-west-1",
      rules: [
        { protocol: "tcp", port_range: [0, 22], source_network: "10.0.0.0/8", description: "bad port" },
        { protocol: "icmp", port_range: [1, 1], source_network: "300.1.1.1/32", description: "bad icmp" },
      ],
    },
  );
  expect(result.failures?.map((failure) => failure.reason)).toEqual([
    "rules[0] (bad port): port_range [0,22] must be [min, max] within 1-65535 (a single port is [p, p])",
    'rules[1] (bad icmp): source_network "300.1.1.1/32" is not an IPv4 CIDR such as 203.0.113.0/24 (a bare address means /32; no leading zeros)',
    "rules[1] (bad icmp): icmp rules take no port_range",
  ]);
});

test("firewall ruleset check: rules that are not a list, or a rule that is not an object, are named, not thrown", async () => {
  const { provider } = await serializeProvider(lambdaFirewallRulesetProvider);
  const notList = await provider.check({}, { name: "r", region: "us-west-1", rules: "tcp/22" });
  expect(notList.failures).toEqual([
    {
      property: "rules",
      reason:
        'rules must be a list of rules {protocol, port_range, source_network, description}, e.g. {"protocol": "tcp", "port_range": [22, 22], "source_network": "203.0.113.0/24", "description": "ssh"}, got "tcp/22"',
    },
  ]);
  const notObject = await provider.check({}, { name: "r", region: "us-west-1", rules: [SSH_RULE, null] });
  expect(notObject.failures?.map((failure) => failure.reason)).toEqual([
    'rules[1] must be a rule {protocol, port_range, source_network, description}, e.g. {"protocol": "tcp", "port_range": [22, 22], "source_network": "203.0.113.0/24", "description": "ssh"}, got null',
  ]);
});

test("firewall ruleset: a re-run after a killed create adopts the ruleset of that name and region", async () => {
  const { provider } = await serializeProvider(lambdaFirewallRulesetProvider);
  // What the killed run left behind: the ruleset exists at Lambda, but not in state.
  const left = await client.createFirewallRuleset({
    name: "fleet-us-west-1",
    region: "us-west-1",
    rules: [SSH_RULE],
  });
  // Same name in another region, and another name in this region: not ours to adopt.
  await client.createFirewallRuleset({ name: "fleet-us-west-1", region: "us-east-1", rules: [] });
  await client.createFirewallRuleset({ name: "other", region: "us-west-1", rules: [] });
  const created = await provider.create({ name: "fleet-us-west-1", region: "us-west-1", rules: [SSH_RULE] });
  expect(created.id).toBe(left.id);
  expect(created.outs).toEqual({
    name: "fleet-us-west-1",
    region: "us-west-1",
    rules: [SSH_RULE],
    rulesetId: left.id,
  });
  const rulesets = await client.listFirewallRulesets();
  expect(rulesets.map((ruleset) => `${ruleset.name}@${ruleset.region.name}`).sort()).toEqual([
    "fleet-us-west-1@us-east-1",
    "fleet-us-west-1@us-west-1",
    "other@us-west-1",
  ]);
});

test("firewall ruleset: an adopted ruleset with other rules gets the desired ones", async () => {
  const { provider } = await serializeProvider(lambdaFirewallRulesetProvider);
  const left = await client.createFirewallRuleset({
    name: "fleet-us-west-1",
    region: "us-west-1",
    rules: [],
  });
  const api = { ...SSH_RULE, port_range: [8000, 8000] as [number, number], description: "api" };
  const created = await provider.create({
    name: "fleet-us-west-1",
    region: "us-west-1",
    rules: [SSH_RULE, api],
  });
  expect(created.id).toBe(left.id);
  expect((await client.getFirewallRuleset(left.id)).rules).toEqual([SSH_RULE, api]);
  expect(created.outs).toEqual({
    name: "fleet-us-west-1",
    region: "us-west-1",
    rules: [SSH_RULE, api],
    rulesetId: left.id,
  });
  expect((await client.listFirewallRulesets()).map((ruleset) => ruleset.id)).toEqual([left.id]);
  // And a plain re-run creates nothing new either.
  expect(
    (await provider.create({ name: "fleet-us-west-1", region: "us-west-1", rules: [SSH_RULE, api] })).id,
  ).toBe(left.id);
  expect(await client.listFirewallRulesets()).toHaveLength(1);
});

test("SSH key update keeps the stored outputs (the key id) with the new inputs", async () => {
  const { provider } = await serializeProvider(lambdaSshKeyProvider);
  const created = await provider.create({ name: "ops", publicKey: PUBLIC_KEY });
  const updated = await provider.update!(created.id, created.outs, {
    name: "ops",
    publicKey: PUBLIC_KEY,
    keyId: undefined,
    __provider: "new provider code",
  });
  expect(updated.outs).toEqual({ name: "ops", publicKey: PUBLIC_KEY, keyId: created.id });
  expect((await client.listSshKeys()).map((key) => key.id)).toEqual([created.id]);
});

test("filesystem update keeps the stored outputs (id, mount point) with the new inputs", async () => {
  const { provider } = await serializeProvider(lambdaFilesystemProvider);
  const created = await provider.create({ name: "models", region: "us-west-1" });
  const updated = await provider.update!(created.id, created.outs, {
    name: "models",
    region: "us-west-1",
    filesystemId: undefined,
    mountPoint: undefined,
    __provider: "new provider code",
  });
  expect(updated.outs).toEqual({
    name: "models",
    region: "us-west-1",
    filesystemId: created.id,
    mountPoint: "/lambda/nfs/models",
  });
  expect((await client.listFilesystems()).map((fs) => fs.id)).toEqual([created.id]);
});
