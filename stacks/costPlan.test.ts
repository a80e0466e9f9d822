/**
 * Pure tier: a layer's config priced end to end (items, per-layer budgets, TTL rules), with the
 * dated snapshot so every figure is exact.
 */
import { snapshotPriceBook } from "../infra/pricing/priceBook";
import { validateStackConfig } from "./config";
import { isCostReport, planCostItems, priceStack } from "./costPlan";

const KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAA ops";

/** The committed staging topology (Pulumi.staging.yaml) plus a budget. */
const staging = {
  layer: "staging",
  sshPublicKey: KEY,
  allowedCidrs: ["203.0.113.0/24"],
  nodes: {
    app: { role: "app", instanceType: "gpu_1x_a10", regions: ["us-west-1", "us-east-1"] },
    data: {
      role: "data",
      instanceType: "cpu_4x_general",
      regions: ["us-east-1", "us-west-1"],
      mountFilesystem: true,
    },
    "gpu-a": { role: "gpu", instanceType: "gpu_1x_a100_sxm4", regions: ["us-south-1", "us-west-1"] },
  },
  filesystem: { name: "orchestra-staging-data", region: "us-west-1" },
  // Off, so the topology can be priced as any layer (a bucket is refused where backups do not run).
  backup: { enabled: false },
  monthlyBudgetUsd: 3000,
};

test("one row per node, named by its key, in its first region (the filesystem's when it mounts it), then the filesystem", () => {
  const config = validateStackConfig(staging);
  expect(planCostItems(config.fleet, config.cost)).toEqual([
    { kind: "instance", name: "app", type: "gpu_1x_a10", region: "us-west-1" },
    { kind: "instance", name: "data", type: "cpu_4x_general", region: "us-west-1" },
    { kind: "instance", name: "gpu-a", type: "gpu_1x_a100_sxm4", region: "us-south-1" },
    {
      kind: "filesystem",
      name: "orchestra-staging-data",
      region: "us-west-1",
      estimatedGiB: 100,
      centsPerGiBMonth: 20,
    },
  ]);
});

test("the staging topology at 730 h is $2,560.40, a WARNING against $3,000", () => {
  const report = priceStack(validateStackConfig(staging), snapshotPriceBook());
  expect([report.totalMonthlyUsd, report.status, report.percentOfBudget]).toEqual([2560.4, "WARNING", 85.34]);
});

test("filesystem estimate, rate, hours per month and prices come from config", () => {
  const config = validateStackConfig({
    ...staging,
    hoursPerMonth: 200,
    filesystemEstimateGiB: 500,
    filesystemUsdPerGiBMonth: 0.25,
    prices: { gpu_1x_a10: 1.5 },
  });
  const report = priceStack(config, snapshotPriceBook(config.cost.pricesUsdPerHour));
  expect(report.rows.map((row) => [row.name, row.priceSource, row.hourlyUsd, row.monthlyUsd])).toEqual([
    ["app", "config", 1.5, 300],
    ["data", "snapshot", 0.2, 40],
    ["gpu-a", "snapshot", 1.99, 398],
    ["orchestra-staging-data", "config", 0.63, 125],
  ]);
  expect(report.hoursPerMonth).toBe(200);
});

describe("per-layer budgets", () => {
  const { monthlyBudgetUsd: _own, ...unbudgeted } = staging;

  test.each([
    ["integration", 300],
    ["staging", 3000],
    ["production", 6000],
    ["local", 0],
  ] as const)(
    "%s defaults to $%i from the environment policy when monthlyBudgetUsd is unset or 0",
    (layer, usd) => {
      const nodes = layer === "local" ? {} : staging.nodes;
      const unset = validateStackConfig({ ...unbudgeted, layer, nodes });
      const zero = validateStackConfig({ ...unbudgeted, layer, nodes, monthlyBudgetUsd: 0 });
      for (const config of [unset, zero]) {
        expect(config.cost.budget).toEqual({ monthlyBudgetUsd: usd, warnPercent: 80, failPercent: 100 });
        expect(priceStack(config, snapshotPriceBook()).budget.monthlyUsd).toBe(usd);
      }
    },
  );

  test("an unset budget is judged against the policy's: staging at $2,560.40 of $3,000 warns", () => {
    const report = priceStack(validateStackConfig(unbudgeted), snapshotPriceBook());
    expect([report.totalMonthlyUsd, report.budget.monthlyUsd, report.status, report.percentOfBudget]).toEqual(
      [2560.4, 3000, "WARNING", 85.34],
    );
  });

  test("an explicit budget wins over the policy's", () => {
    const config = validateStackConfig({ ...unbudgeted, layer: "integration", monthlyBudgetUsd: 5000 });
    expect(config.cost.budget.monthlyBudgetUsd).toBe(5000);
    expect(priceStack(config, snapshotPriceBook())).toMatchObject({
      budget: { monthlyUsd: 5000 },
      status: "OK",
      percentOfBudget: 51.2,
    });
  });

  test("the local layer prices nothing and is OK against its zero budget", () => {
    const config = validateStackConfig({
      ...staging,
      layer: "local",
      nodes: {},
      filesystem: {},
      monthlyBudgetUsd: 0,
    });
    const report = priceStack(config, snapshotPriceBook());
    expect([report.status, report.totalMonthlyUsd, report.rows]).toEqual(["OK", 0, []]);
  });

  test("the stack's own budget, thresholds and override reason win", () => {
    const config = validateStackConfig({
      ...staging,
      monthlyBudgetUsd: 2000,
      budgetWarnPercent: 70,
      budgetFailPercent: 110,
      budgetOverride: true,
      budgetOverrideReason: "  GPU benchmark week (OPS-7) ",
    });
    expect(config.cost.budget).toEqual({
      monthlyBudgetUsd: 2000,
      warnPercent: 70,
      failPercent: 110,
      overrideReason: "GPU benchmark week (OPS-7)",
    });
    expect(priceStack(config, snapshotPriceBook()).budget.overrideReason).toBe("GPU benchmark week (OPS-7)");
  });

  test("a reason without budgetOverride: true is not an override", () => {
    const config = validateStackConfig({ ...staging, budgetOverrideReason: "just because" });
    expect(config.cost.budget.overrideReason).toBeUndefined();
  });
});

describe("TTL rules", () => {
  test("integration and staging carry a TTL by default (24 h, 72 h); an explicit one wins", () => {
    expect(validateStackConfig({ ...staging, layer: "integration" }).cost.ttlHours).toBe(24);
    expect(validateStackConfig(staging).cost.ttlHours).toBe(72);
    expect(validateStackConfig({ ...staging, ttlHours: 8 }).cost.ttlHours).toBe(8);
  });

  test("production has none and refuses one, with the fix", () => {
    expect(validateStackConfig({ ...staging, layer: "production" }).cost.ttlHours).toBeUndefined();
    expect(() => validateStackConfig({ ...staging, layer: "production", ttlHours: 48 })).toThrow(
      "Stack config has 1 problem:\n" +
        "  - orchestra:ttlHours = 48: a production fleet is never reaped, so a TTL is refused there; remove it with `pulumi config rm ttlHours`",
    );
  });
});

test("isCostReport accepts a report read back from outputs and rejects anything else", () => {
  const report = priceStack(validateStackConfig(staging), snapshotPriceBook());
  expect(isCostReport(JSON.parse(JSON.stringify(report)))).toBe(true);
  expect(
    [undefined, null, "x", {}, { currency: "USD", totalMonthlyUsd: 1, rows: [{}] }].map(isCostReport),
  ).toEqual([false, false, false, false, false]);
});

test("monitoring adds no cost row: it runs on the nodes the layer already has", () => {
  const book = snapshotPriceBook();
  const without = priceStack(validateStackConfig(staging), book);
  const withMonitoring = priceStack(validateStackConfig({ ...staging, monitoring: { enabled: true } }), book);
  expect(withMonitoring).toEqual(without);
  expect([withMonitoring.rows.length, withMonitoring.totalMonthlyUsd]).toEqual([4, 2560.4]);
});

test("a layer that keeps backups gains a usage row for its bucket: estimate x rate, from orchestra:backup", () => {
  const book = snapshotPriceBook();
  const without = priceStack(validateStackConfig(staging), book);
  const backedUp = (backup: Record<string, unknown>) =>
    priceStack(
      validateStackConfig({
        ...staging,
        backup: { enabled: true, region: "us-east-1", bucket: "orchestra-bk", ...backup },
      }),
      book,
    );
  // Defaults: 100 GiB at $0.023 per GiB-month.
  const defaults = backedUp({});
  expect(defaults.rows.slice(without.rows.length)).toEqual([
    {
      name: "orchestra-bk",
      type: "backup storage",
      region: "us-east-1",
      billing: "usage",
      priceSource: "config",
      hourlyUsd: 0,
      monthlyUsd: 2.3,
    },
  ]);
  expect(defaults.totalMonthlyUsd).toBe(2562.7);
  const own = backedUp({ estimateGiB: 2048, usdPerGiBMonth: 0.0125 });
  expect(own.rows.at(-1)?.monthlyUsd).toBe(25.6);
  expect(own.totalMonthlyUsd).toBe(2586);
});
