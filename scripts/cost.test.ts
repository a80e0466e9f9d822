/** `npm run cost`: arguments, the deployed stacks behind an interface (faked here), and committed configs priced offline. */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";
import { buildCostReport } from "../infra/pricing/costModel";
import { snapshotPriceBook } from "../infra/pricing/priceBook";
import {
  configCosts,
  deployedCosts,
  parseCostArgs,
  stackFileConfig,
  runCost,
  type DeployedStacks,
} from "./cost";

const ROOT = join(__dirname, "..");
const report = buildCostReport(
  [{ kind: "instance", name: "app", type: "gpu_1x_a10", region: "us-west-1" }],
  snapshotPriceBook(),
  { monthlyBudgetUsd: 3000, warnPercent: 80, failPercent: 100 },
  730,
);

/** Stacks with these outputs; `calls` records what was read. A missing stack fails as the CLI does. */
function fakeDeployed(outputs: Record<string, Record<string, unknown>>): {
  deployed: DeployedStacks;
  calls: string[][];
} {
  const calls: string[][] = [];
  const deployed: DeployedStacks = {
    names: async () => {
      calls.push(["names"]);
      return Object.keys(outputs);
    },
    outputs: async (stack) => {
      calls.push(["outputs", stack]);
      if (!(stack in outputs)) throw new Error(`error: no stack named '${stack}' found\n`);
      return outputs[stack];
    },
  };
  return { deployed, calls };
}

test("arguments: defaults, several stacks, and refusals", () => {
  expect(parseCostArgs([])).toEqual({ stacks: [], format: "table", fromConfig: false });
  expect(
    parseCostArgs(["--stack", "staging", "--stack", "production", "--format", "markdown", "--from-config"]),
  ).toEqual({
    stacks: ["staging", "production"],
    format: "markdown",
    fromConfig: true,
  });
  expect(() => parseCostArgs(["--format", "csv"])).toThrow(
    '--format "csv": allowed are table, markdown, json',
  );
  expect(() => parseCostArgs(["--stack"])).toThrow("--stack needs a value");
  expect(() => parseCostArgs(["--all"])).toThrow('unknown argument "--all"');
  // util.parseArgs would take the next flag as the value, and accept these forms: refused as before.
  expect(() => parseCostArgs(["--stack", "--format", "json"])).toThrow("--stack needs a value");
  expect(() => parseCostArgs(["staging"])).toThrow('unknown argument "staging"');
  expect(() => parseCostArgs(["--from-config=yes"])).toThrow('unknown argument "--from-config=yes"');
  expect(() => parseCostArgs(["--format", "csv", "--all"])).toThrow('--format "csv"');
  expect(parseCostArgs(["--format=json", "--stack=a"])).toEqual({
    stacks: ["a"],
    format: "json",
    fromConfig: false,
  });
});

test("deployed: every stack of the backend, each one's costReport output, and why one has none", async () => {
  const { deployed, calls } = fakeDeployed({
    staging: { costReport: report, layer: "staging" },
    old: { layer: "staging" },
  });
  expect(await deployedCosts([], deployed)).toEqual([
    { stack: "staging", report },
    {
      stack: "old",
      error: "no costReport output (not deployed since cost reports were added); try --from-config",
    },
  ]);
  expect(calls).toEqual([["names"], ["outputs", "staging"], ["outputs", "old"]]);
  expect(await deployedCosts(["missing"], deployed)).toEqual([
    { stack: "missing", error: "pulumi stack output failed: error: no stack named 'missing' found" },
  ]);
});

test("runCost prints and exits 0, 1 when a stack could not be read, 2 on bad arguments", async () => {
  const { deployed } = fakeDeployed({ staging: { costReport: report } });
  let out = "";
  let err = "";
  let opened = 0;
  const deps = {
    out: (text: string) => (out += text),
    err: (text: string) => (err += text),
    deployed: async () => {
      opened++;
      return deployed;
    },
    root: ROOT,
  };
  expect(await runCost(["--stack", "staging", "--format", "json"], deps)).toBe(0);
  expect(JSON.parse(out).total).toEqual({ stacksPriced: ["staging"], hourlyUsd: 1.29, monthlyUsd: 941.7 });
  expect(await runCost(["--stack", "nope"], deps)).toBe(1);
  expect(await runCost(["--format"], deps)).toBe(2);
  expect(err).toMatch(/^--format needs a value\nusage: npm run cost/);
  // Pricing committed configs never opens the backend.
  expect(opened).toBe(2);
  expect(await runCost(["--from-config", "--stack", "local", "--format", "json"], deps)).toBe(0);
  expect(opened).toBe(2);
});

test("YAML config values reach the validator the way Pulumi hands them to the program", () => {
  const { raw } = stackFileConfig(
    [
      "config:",
      "  orchestra:layer: staging",
      '  orchestra:readinessChecks: "false"',
      "  orchestra:monthlyBudgetUsd: 2500",
      "  orchestra:nodes:",
      "    app: { role: app, instanceType: gpu_1x_a10, regions: [us-west-1] }",
      "  orchestra:databasePassword:",
      "    secure: v1:abc",
      "  other:key: ignored",
    ].join("\n"),
  );
  expect(raw).toEqual({
    layer: "staging",
    readinessChecks: false,
    monthlyBudgetUsd: 2500,
    nodes: { app: { role: "app", instanceType: "gpu_1x_a10", regions: ["us-west-1"] } },
  });
});

test("from config: the committed layer configs price offline with the snapshot", async () => {
  const costs = await configCosts([], ROOT, {});
  expect(
    costs.map((entry) =>
      "report" in entry
        ? [
            entry.stack,
            entry.report.priceSource,
            entry.report.priceDate,
            entry.report.totalMonthlyUsd,
            entry.report.status,
            entry.report.percentOfBudget,
          ]
        : [entry.stack, entry.error],
    ),
  ).toEqual([
    ["local", "snapshot", "2026-11-25", 0, "OK", 0],
    ["integration", "snapshot", "2026-11-25", 146, "OK", 48.66],
    ["staging", "snapshot", "2026-11-25", 2562.7, "WARNING", 85.42],
    ["production", "snapshot", "2026-11-25", 4154.1, "OK", 69.23],
  ]);
  const missing = await configCosts(["nosuch"], ROOT, {});
  expect(missing[0]).toMatchObject({
    stack: "nosuch",
    error: expect.stringMatching(/^ENOENT: no such file or directory/),
  });
});

test("from config: a key Pulumi.yaml does not declare is refused as preview refuses it", async () => {
  const root = mkdtempSync(join(tmpdir(), "cost-typo-"));
  try {
    const committed = readFileSync(join(ROOT, "Pulumi.integration.yaml"), "utf8");
    writeFileSync(
      join(root, "Pulumi.integration.yaml"),
      `${committed.trimEnd()}\n  orchestra:ttlhours: 24\n`,
    );
    const [entry] = await configCosts(["integration"], root, {});
    expect(entry).toEqual({
      stack: "integration",
      error: expect.stringContaining("orchestra:ttlhours is not a config key"),
    });
    expect(stackFileConfig("config:\n  orchestra:layer: local\n  other:key: 1\n").setKeys).toEqual(["layer"]);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
