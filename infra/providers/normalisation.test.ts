/**
 * Provider tier: every value that a provider or Lambda normalises is normalised in `check`, so
 * `diff` after `create` and after `read` compares like with like and an unchanged program shows
 * no changes (an SSH key pasted with a trailing newline must not be replaced on every `up`).
 */
import { LambdaClient } from "../lambda/client";
import type { RunningEmulator } from "../emulator/server";
import { serializeProvider } from "../testing/serializedProvider";
import { startTestEmulator } from "../testing/emulatorHarness";
import { lambdaFirewallRulesetProvider } from "./lambdaFirewallRuleset";
import { instanceLaunchToken } from "./lambdaInstance";
import { lambdaSshKeyProvider } from "./lambdaSshKey";

const PUBLIC_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGq9 ops@example.com";
const NO_CHANGES = (stables: string[]) => ({
  changes: false,
  replaces: [],
  deleteBeforeReplace: undefined,
  stables,
});

let emulator: RunningEmulator;
let client: LambdaClient;

beforeEach(async () => {
  emulator = await startTestEmulator();
  client = new LambdaClient();
});
afterEach(() => emulator.close());

describe("SSH key", () => {
  test("a publicKey ending in a newline gives a clean diff after create and after read", async () => {
    const { provider } = await serializeProvider(lambdaSshKeyProvider);
    const written = { name: "ops", publicKey: `${PUBLIC_KEY}\n` };
    const checked = await provider.check({}, written);
    expect(checked).toEqual({ inputs: { name: "ops", publicKey: PUBLIC_KEY }, failures: [] });
    const created = await provider.create(checked.inputs!);
    expect(created.outs).toEqual({ name: "ops", publicKey: PUBLIC_KEY, keyId: created.id });
    expect(await provider.diff(created.id, created.outs, checked.inputs!)).toEqual(
      NO_CHANGES(["name", "publicKey"]),
    );
    const read = await provider.read(created.id, created.outs);
    const again = await provider.check(read.props!, written);
    expect(await provider.diff(created.id, read.props!, again.inputs!)).toEqual(
      NO_CHANGES(["name", "publicKey"]),
    );
    expect((await client.listSshKeys()).map((key) => key.public_key)).toEqual([PUBLIC_KEY]);
  });

  test("CRLF, tabs and repeated spaces between the fields are the same key, in Lambda's copy and in state", async () => {
    const { provider } = await serializeProvider(lambdaSshKeyProvider);
    // Lambda holds the key as another tool (or this provider's older `read`) stored it.
    await client.addSshKey("ops", `${PUBLIC_KEY}\r\n`);
    const written = {
      name: "ops",
      publicKey: "ssh-ed25519\tAAAAC3NzaC1lZDI1NTE5AAAAIGq9  ops@example.com\r\n",
    };
    const checked = await provider.check({}, written);
    expect(checked).toEqual({ inputs: { name: "ops", publicKey: PUBLIC_KEY }, failures: [] });
    const created = await provider.create(checked.inputs!);
    expect(created.outs).toEqual({ name: "ops", publicKey: PUBLIC_KEY, keyId: created.id });
    const read = await provider.read(created.id, created.outs);
    expect(read.props).toEqual({ name: "ops", publicKey: PUBLIC_KEY, keyId: created.id });
    // State written by the older `read`, which stored Lambda's copy as it was.
    const oldState = { name: "ops", publicKey: `${PUBLIC_KEY}\r\n`, keyId: created.id };
    expect(await provider.diff(created.id, oldState, checked.inputs!)).toEqual(
      NO_CHANGES(["name", "publicKey"]),
    );
    // A different key is still a replacement.
    expect(
      (await provider.diff(created.id, read.props!, { name: "ops", publicKey: "ssh-ed25519 AAAAother ops" }))
        .replaces,
    ).toEqual(["publicKey"]);
  });
});

describe("firewall ruleset", () => {
  const SSH = {
    protocol: "tcp",
    port_range: [22, 22],
    source_network: "198.51.100.0/24",
    description: "ssh",
  };
  const API = {
    protocol: "tcp",
    port_range: [8000, 8000],
    source_network: "198.51.100.0/24",
    description: "api",
  };

  test("a bare IP and a CIDR with host bits are stored in the form Lambda reports", async () => {
    const { provider } = await serializeProvider(lambdaFirewallRulesetProvider);
    const written = {
      name: "fleet",
      region: "us-west-1",
      rules: [
        { ...SSH, source_network: "203.0.113.7" },
        { ...API, protocol: "TCP", source_network: "10.0.0.5/8" },
      ],
    };
    const checked = await provider.check({}, written);
    // Sorted by protocol, ports, source and description.
    const canonical = [
      { ...SSH, source_network: "203.0.113.7/32" },
      { ...API, source_network: "10.0.0.0/8" },
    ];
    expect(checked).toEqual({ inputs: { ...written, rules: canonical }, failures: [] });
    const created = await provider.create(checked.inputs!);
    expect(created.outs).toEqual({
      name: "fleet",
      region: "us-west-1",
      rules: canonical,
      rulesetId: created.id,
    });
    expect(await provider.diff(created.id, created.outs, checked.inputs!)).toEqual(
      NO_CHANGES(["region", "name", "rules"]),
    );
    const read = await provider.read(created.id, created.outs);
    expect(await provider.diff(created.id, read.props!, checked.inputs!)).toEqual(
      NO_CHANGES(["region", "name", "rules"]),
    );
  });

  test("rule order is not a change: written in any order, listed by Lambda in any order", async () => {
    const { provider } = await serializeProvider(lambdaFirewallRulesetProvider);
    const checked = await provider.check({}, { name: "fleet", region: "us-west-1", rules: [SSH, API] });
    const created = await provider.create(checked.inputs!);
    // Someone re-saves the ruleset in the console, which lists the rules the other way round.
    await client.updateFirewallRuleset(created.id, { rules: [API, SSH] as never });
    const read = await provider.read(created.id, created.outs);
    const reordered = await provider.check(read.props!, {
      name: "fleet",
      region: "us-west-1",
      rules: [API, SSH],
    });
    expect(reordered.inputs!.rules).toEqual(checked.inputs!.rules);
    expect(await provider.diff(created.id, read.props!, reordered.inputs!)).toEqual(
      NO_CHANGES(["region", "name", "rules"]),
    );
    expect(await provider.diff(created.id, read.props!, checked.inputs!)).toEqual(
      NO_CHANGES(["region", "name", "rules"]),
    );
  });
});

test("instance: the launch token does not follow the order the tags were written in", () => {
  const settings = { instanceType: "gpu_1x_a10", sshKeyNames: ["ops"], hostname: "gpu-a" };
  const one = instanceLaunchToken("orchestra", "staging", "gpu-a", {
    ...settings,
    tags: { "orchestra-stack": "orchestra/staging", "orchestra-node": "gpu-a", team: "ml" },
  });
  const two = instanceLaunchToken("orchestra", "staging", "gpu-a", {
    ...settings,
    tags: { team: "ml", "orchestra-node": "gpu-a", "orchestra-stack": "orchestra/staging" },
  });
  expect(two).toBe(one);
  // A different tag value is a different launch.
  expect(
    instanceLaunchToken("orchestra", "staging", "gpu-a", {
      ...settings,
      tags: { team: "ops", "orchestra-node": "gpu-a", "orchestra-stack": "orchestra/staging" },
    }),
  ).not.toBe(one);
});
