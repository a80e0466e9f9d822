/** `npm run cost`: arguments, the Pulumi CLI behind a function (faked here), and committed configs priced offline. */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";
import { buildCostReport } from "../infra/pricing/costModel";
import { snapshotPriceBook } from "../infra/pricing/priceBook";
import { configCosts, deployedCosts, parseCostArgs, stackFileConfig, runCost, type PulumiCli } from "./cost";

const ROOT = join(__dirname, "..");
const report = buildCostReport(
  [{ kind: "instance", name: "app", type: "gpu_1x_a10", region: "us-west-1" }],
  snapshotPriceBook(),
  { monthlyBudgetUsd: 3000, warnPercent: 80, failPercent: 100 },
  730,
);

function fakePulumi(outputs: Record<string, unknown>): { cli: PulumiCli; calls: string[][] } {
  const calls: string[][] = [];
  const cli: PulumiCli = async (args) => {
    calls.push([...args]);
    if (args[0] === "stack" && args[1] === "ls")
      return JSON.stringify(Object.keys(outputs).map((name) => ({ name })));
    const stack = args[args.indexOf("--stack") + 1];
    if (!(stack in outputs))
      throw Object.assign(new Error("exit 255"), { stderr: `error: no stack named '${stack}' found\n` });
    return JSON.stringify(outputs[stack]);
  };
  return { cli, calls };
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
});

test("deployed: every stack from `pulumi stack ls`, each one's costReport output, and why one has none", async () => {
  const { cli, calls } = fakePulumi({
    staging: { costReport: report, layer: "staging" },
    old: { layer: "staging" },
  });
  expect(await deployedCosts([], cli)).toEqual([
    { stack: "staging", report },
    {
      stack: "old",
      error: "no costReport output (not deployed since cost reports were added); try --from-config",
    },
  ]);
  expect(calls).toEqual([
    ["stack", "ls", "--json"],
    ["stack", "output", "--json", "--stack", "staging"],
    ["stack", "output", "--json", "--stack", "old"],
  ]);
  expect(await deployedCosts(["missing"], cli)).toEqual([
    { stack: "missing", error: "pulumi stack output failed: error: no stack named 'missing' found" },
  ]);
});

test("runCost prints and exits 0, 1 when a stack could not be read, 2 on bad arguments", async () => {
  const { cli } = fakePulumi({ staging: { costReport: report } });
  let out = "";
  let err = "";
  const deps = {
    out: (text: string) => (out += text),
    err: (text: string) => (err += text),
    pulumi: cli,
    root: ROOT,
  };
  expect(await runCost(["--stack", "staging", "--format", "json"], deps)).toBe(0);
  expect(JSON.parse(out).total).toEqual({ stacksPriced: ["staging"], hourlyUsd: 1.29, monthlyUsd: 941.7 });
  expect(await runCost(["--stack", "nope"], deps)).toBe(1);
  expect(await runCost(["--format"], deps)).toBe(2);
  expect(err).toMatch(/^--format needs a value\nusage: npm run cost/);
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
    ["staging", "snapshot", "2026-11-25", 2560.4, "WARNING", 85.34],
    ["production", "snapshot", "2026-11-25", 4151.8, "OK", 69.19],
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
