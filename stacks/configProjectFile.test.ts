/**
 * Pure tier: Pulumi.yaml declares every config key the program reads, each with a description,
 * with the same defaults as CONFIG_DEFAULTS; and the committed Pulumi.<layer>.yaml files hold
 * values only and validate.
 */
import { CONFIG_DEFAULTS, rawConfigSchema, SECRET_KEYS } from "./configSchema";
import { validateStackConfig } from "./config";
import { readProjectConfig, readStackFileText, stackValues } from "./configFiles";

const project = { config: readProjectConfig() };
const PLAIN_KEYS = Object.keys(rawConfigSchema.shape);
const REQUIRED_KEYS = PLAIN_KEYS.filter(
  (key) => !rawConfigSchema.shape[key as keyof typeof rawConfigSchema.shape].safeParse(undefined).success,
);

test("every schema key and every secret is declared, and nothing else", () => {
  expect(Object.keys(project.config).sort()).toEqual([...PLAIN_KEYS, ...SECRET_KEYS].sort());
});

test("every declared key has a description of at least a sentence", () => {
  const short = Object.entries(project.config)
    .filter(([, declared]) => (declared.description ?? "").length < 30)
    .map(([key]) => key);
  expect(short).toEqual([]);
});

test("only the keys every stack must set have no default", () => {
  expect(REQUIRED_KEYS.sort()).toEqual(["allowedCidrs", "layer", "nodes", "sshPublicKey"]);
  const withoutDefault = Object.entries(project.config)
    .filter(([, declared]) => !("default" in declared))
    .map(([key]) => key);
  expect(withoutDefault.sort()).toEqual(REQUIRED_KEYS);
});

test("defaults equal CONFIG_DEFAULTS; every other default is the empty 'not set'", () => {
  for (const [key, declared] of Object.entries(project.config)) {
    if (!("default" in declared)) continue;
    const expected = (CONFIG_DEFAULTS as Record<string, unknown>)[key] ?? "";
    expect([key, declared.default]).toEqual([key, expected]);
  }
  for (const key of Object.keys(CONFIG_DEFAULTS)) expect([key, key in project.config]).toEqual([key, true]);
});

test("secrets are marked secret, untyped (the engine checks typed secrets for encryption even when unset), and name the set command", () => {
  for (const key of SECRET_KEYS) {
    const declared = project.config[key];
    expect([key, declared.secret, declared.type]).toEqual([key, true, undefined]);
    expect(declared.description).toContain(`pulumi config set --secret ${key}`);
  }
});

test("keys that spend money carry a cost note", () => {
  const costly = [
    "nodes",
    "filesystem",
    "monthlyBudgetUsd",
    "budgetFailPercent",
    "budgetOverride",
    "prices",
    "ttlHours",
    "backup",
  ];
  for (const key of costly)
    expect([key, project.config[key].description]).toEqual([key, expect.stringContaining("Cost:")]);
});

test.each(["local", "integration", "staging", "production"])(
  "Pulumi.%s.yaml holds plain values only and validates with its secrets set",
  (layer) => {
    const text = readStackFileText(layer);
    expect(text).not.toMatch(/secure:|encryptionsalt|Password|ApiKey|PrivateKey/);
    const config = validateStackConfig(stackValues(layer));
    expect(config.layer).toBe(layer);
  },
);
