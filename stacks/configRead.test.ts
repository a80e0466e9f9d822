/**
 * Pure tier: config values reach the program the way the Pulumi engine hands them over, and the
 * test loader reads the committed stack files the same way.
 *
 * What the engine does (pulumi v3.248, sdk/go/common/resource/config): a top-level scalar in
 * Pulumi.<stack>.yaml is stored as its text, so `sshUser: "true"` and `sshUser: true` both reach
 * the program as the string "true" in PULUMI_CONFIG; an object or a list is stored as JSON, which
 * keeps a quoted "2024" a string inside it; `pulumi config set --path` coerces a nested "true" or
 * "2024" to a boolean or a number; a non-finite number cannot be stored at all.
 */
import { validateStackConfig } from "./config";
import { engineConfigText, readRawConfig, TEXT_KEYS } from "./configRead";
import { stackValuesFromText } from "./configFiles";
import { validStagingConfig } from "./configFixtures";

const valid = validStagingConfig;

/** PULUMI_CONFIG as the engine would build it from these YAML values (orchestra: stripped). */
function engineTexts(values: Record<string, unknown>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(values).map(([key, value]) => [key, engineConfigText(value, `orchestra:${key}`)]),
  );
}

test('string keys keep their text: sshUser "true" is the user true, not a boolean', () => {
  const texts = {
    ...engineTexts(valid),
    sshUser: "true",
    budgetOverrideReason: "2024",
    imageFamily: "1e3",
    sshPort: "2222",
    readinessChecks: "false",
  };
  const raw = readRawConfig((key) => texts[key as keyof typeof texts]);
  expect(raw).toMatchObject({
    sshUser: "true",
    budgetOverrideReason: "2024",
    imageFamily: "1e3",
    sshPort: 2222,
    readinessChecks: false,
  });
  const config = validateStackConfig(raw);
  expect([config.ssh.user, config.ssh.port, config.fleet.imageFamily]).toEqual(["true", 2222, "1e3"]);
});

test("the keys read as text are exactly the string-typed keys", () => {
  expect([...TEXT_KEYS].sort()).toEqual(
    [
      "budgetOverrideReason",
      "dockerHost",
      "imageFamily",
      "lambdaApiUrl",
      "layer",
      "remoteCommandRunner",
      "sshPublicKey",
      "sshUser",
    ].sort(),
  );
});

test("a nested name that `config set --path` coerced to a number or boolean is still a name", () => {
  const config = validateStackConfig({
    ...valid,
    nodes: { app: { ...valid.nodes.app, name: 2024 } },
    filesystem: { name: true, region: "us-west-1" },
  });
  expect(config.fleet.nodes[0].displayName).toBe("2024");
  expect(config.fleet.filesystem).toEqual({ name: "true", region: "us-west-1" });
});

const stackFile = (lines: string[]) =>
  [
    "config:",
    "  orchestra:layer: staging",
    "  orchestra:sshPublicKey: ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAA ops",
    "  orchestra:allowedCidrs: [203.0.113.0/24]",
    "  orchestra:nodes:",
    '    app: { role: app, instanceType: gpu_1x_a10, regions: [us-west-1], name: "2024" }',
    "  orchestra:monthlyBudgetUsd: 3000",
    "  orchestra:backup: { region: us-east-1, bucket: orchestra-backups-staging }",
    ...lines,
  ].join("\n");

test("the test loader agrees with the engine on quoted scalars", () => {
  const values = stackValuesFromText(
    stackFile(['  orchestra:sshUser: "true"', '  orchestra:sshPort: "2222"', "  orchestra:ttlHours: 1e2"]),
  );
  expect(values).toMatchObject({ sshUser: "true", sshPort: 2222, ttlHours: 100 });
  // Inside an object the engine keeps JSON types: the quoted name stays a string.
  expect((values.nodes as { app: { name: unknown } }).app.name).toBe("2024");
  // Project defaults arrive the same way ("" means not set and is left out).
  expect(values).toMatchObject({ bootTimeoutMinutes: 30, filesystemUsdPerGiBMonth: 0.2, images: {} });
  expect(["mcpServers" in values, "publicPorts" in values]).toEqual([false, false]);
  expect(validateStackConfig(values).ssh).toMatchObject({ user: "true", port: 2222 });
});

test("a non-finite number cannot be stored by the engine, so the loader refuses it too", () => {
  expect(() => stackValuesFromText(stackFile(["  orchestra:ttlHours: .inf"]))).toThrow(
    "orchestra:ttlHours = Infinity: Pulumi cannot store a number that is not finite (json: unsupported value); write a finite number",
  );
  expect(() => engineConfigText({ gpu_1x_a10: -Infinity }, "orchestra:prices")).toThrow(
    "orchestra:prices.gpu_1x_a10 = -Infinity: Pulumi cannot store a number that is not finite (json: unsupported value); write a finite number",
  );
});
