/**
 * Pure tier: the cost arithmetic in integer cents, the budget verdict at its exact boundaries, the
 * failure and warning texts, the unknown-type error and the report's JSON shape.
 */
import {
  budgetFailureMessage,
  budgetWarningMessage,
  BudgetExceededError,
  buildCostReport,
  enforceBudget,
  formatUsd,
  UnpricedInstanceTypeError,
  withDiff,
  type BudgetSettings,
  type CostItem,
  type CostReport,
  type PriceBook,
} from "./costModel";
import { snapshotPriceBook } from "./priceBook";

const BUDGET_1000: BudgetSettings = { monthlyBudgetUsd: 1000, warnPercent: 80, failPercent: 100 };

/** A book with one made-up type whose price a test sets, so a month of 10 hours hits any cent. */
function bookAt(centsPerHour: number): PriceBook {
  return { ...snapshotPriceBook(), overrideCentsPerHour: { gpu_test: centsPerHour } };
}

const TEST_NODE: CostItem = { kind: "instance", name: "gpu-a", type: "gpu_test", region: "us-west-1" };

function reportAt(centsPerHour: number, budget: BudgetSettings = BUDGET_1000): CostReport {
  return buildCostReport([TEST_NODE], bookAt(centsPerHour), budget, 10);
}

const STAGING_ITEMS: CostItem[] = [
  { kind: "instance", name: "app", type: "gpu_1x_a10", region: "us-west-1" },
  { kind: "instance", name: "data", type: "cpu_4x_general", region: "us-west-1" },
  { kind: "instance", name: "gpu-a", type: "gpu_1x_a100_sxm4", region: "us-west-1" },
  {
    kind: "filesystem",
    name: "orchestra-staging-data",
    region: "us-west-1",
    estimatedGiB: 100,
    centsPerGiBMonth: 20,
  },
];

describe("budget status at the exact boundaries (integer cents, no float drift)", () => {
  test.each([
    [7999, "OK", 79.99],
    [8000, "WARNING", 80],
    [9999, "WARNING", 99.99],
    [10000, "OVER_BUDGET", 100],
    [10001, "OVER_BUDGET", 100.01],
  ])("%i cents/h x 10 h against $1,000 is %s at %d %%", (centsPerHour, status, percent) => {
    const report = reportAt(centsPerHour);
    expect(report.status).toBe(status);
    expect(report.percentOfBudget).toBe(percent);
    expect(report.totalMonthlyUsd).toBe((centsPerHour * 10) / 100);
  });

  test("thresholds other than the defaults are honoured exactly", () => {
    const budget = { monthlyBudgetUsd: 1000, warnPercent: 50, failPercent: 120 };
    expect(reportAt(4999, budget).status).toBe("OK");
    expect(reportAt(5000, budget).status).toBe("WARNING");
    expect(reportAt(11999, budget).status).toBe("WARNING");
    expect(reportAt(12000, budget).status).toBe("OVER_BUDGET");
  });

  test("a zero budget is OK with nothing priced and over budget with anything", () => {
    const zero = { monthlyBudgetUsd: 0, warnPercent: 80, failPercent: 100 };
    expect(buildCostReport([], snapshotPriceBook(), zero, 730).status).toBe("OK");
    expect(reportAt(1, zero).status).toBe("OVER_BUDGET");
  });

  test("0.1 + 0.2 style prices stay exact: 3 x $1.29 x 730 h is $2,825.10", () => {
    const items: CostItem[] = ["a", "b", "c"].map((name) => ({
      kind: "instance",
      name,
      type: "gpu_1x_a10",
      region: "us-east-1",
    }));
    const report = buildCostReport(items, snapshotPriceBook(), BUDGET_1000, 730);
    expect(report.totalHourlyUsd).toBe(3.87);
    expect(report.totalMonthlyUsd).toBe(2825.1);
  });
});

describe("the report", () => {
  test("has a stable JSON shape and key order", () => {
    const report = buildCostReport(
      STAGING_ITEMS,
      snapshotPriceBook(),
      { ...BUDGET_1000, monthlyBudgetUsd: 3000 },
      730,
    );
    expect(JSON.stringify(report, null, 2)).toBe(
      JSON.stringify(
        {
          currency: "USD",
          priceSource: "snapshot",
          priceDate: "2026-11-25",
          hoursPerMonth: 730,
          budget: { monthlyUsd: 3000, warnPercent: 80, failPercent: 100 },
          status: "WARNING",
          percentOfBudget: 85.34,
          totalHourlyUsd: 3.51,
          totalMonthlyUsd: 2560.4,
          rows: [
            {
              name: "app",
              type: "gpu_1x_a10",
              region: "us-west-1",
              billing: "always-on",
              priceSource: "snapshot",
              hourlyUsd: 1.29,
              monthlyUsd: 941.7,
            },
            {
              name: "data",
              type: "cpu_4x_general",
              region: "us-west-1",
              billing: "always-on",
              priceSource: "snapshot",
              hourlyUsd: 0.2,
              monthlyUsd: 146,
            },
            {
              name: "gpu-a",
              type: "gpu_1x_a100_sxm4",
              region: "us-west-1",
              billing: "always-on",
              priceSource: "snapshot",
              hourlyUsd: 1.99,
              monthlyUsd: 1452.7,
            },
            {
              name: "orchestra-staging-data",
              type: "filesystem",
              region: "us-west-1",
              billing: "usage",
              priceSource: "config",
              hourlyUsd: 0.03,
              monthlyUsd: 20,
            },
          ],
        },
        null,
        2,
      ),
    );
  });

  test("hours per month is settable: the same fleet at 200 h", () => {
    const report = buildCostReport(STAGING_ITEMS.slice(0, 1), snapshotPriceBook(), BUDGET_1000, 200);
    expect(report.hoursPerMonth).toBe(200);
    expect(report.totalMonthlyUsd).toBe(258);
    expect(report.rows[0]).toMatchObject({ hourlyUsd: 1.29, monthlyUsd: 258 });
  });

  test("a filesystem is usage-based: estimated GiB x the GiB-month rate, in whole cents", () => {
    const fs: CostItem = {
      kind: "filesystem",
      name: "models",
      region: "us-east-1",
      estimatedGiB: 333,
      centsPerGiBMonth: 15,
    };
    const report = buildCostReport([fs], snapshotPriceBook(), BUDGET_1000, 730);
    expect(report.rows).toEqual([
      {
        name: "models",
        type: "filesystem",
        region: "us-east-1",
        billing: "usage",
        priceSource: "config",
        hourlyUsd: 0.07,
        monthlyUsd: 49.95,
      },
    ]);
  });

  test("the total hourly figure is the monthly total over the hours, not a sum of rounded rows", () => {
    const twoFilesystems: CostItem[] = ["models", "datasets"].map((name) => ({
      kind: "filesystem",
      name,
      region: "us-west-1",
      estimatedGiB: 100,
      centsPerGiBMonth: 20,
    }));
    const report = buildCostReport(twoFilesystems, snapshotPriceBook(), BUDGET_1000, 730);
    // $20.00 / 730 h is 2.74 cents: each row shows $0.03, the layer $40.00 / 730 h = $0.05.
    expect(report.rows.map((row) => [row.name, row.hourlyUsd, row.monthlyUsd])).toEqual([
      ["models", 0.03, 20],
      ["datasets", 0.03, 20],
    ]);
    expect([report.totalHourlyUsd, report.totalMonthlyUsd]).toEqual([0.05, 40]);
    // The staging mix: instances are exact, the filesystem adds its rounded share once.
    const staging = buildCostReport(STAGING_ITEMS, snapshotPriceBook(), BUDGET_1000, 730);
    expect([staging.totalHourlyUsd, staging.totalMonthlyUsd]).toEqual([3.51, 2560.4]);
    expect(Math.abs(staging.totalHourlyUsd * 730 - staging.totalMonthlyUsd)).toBeLessThanOrEqual(0.005 * 730);
    // Instances alone: hourly x hours is the monthly total exactly.
    const instances = buildCostReport(STAGING_ITEMS.slice(0, 3), snapshotPriceBook(), BUDGET_1000, 730);
    expect([instances.totalHourlyUsd, instances.totalMonthlyUsd]).toEqual([3.48, 2540.4]);
  });

  test("a config price wins over the source and is labelled config", () => {
    const book = { ...snapshotPriceBook(), overrideCentsPerHour: { gpu_1x_a10: 99 } };
    const report = buildCostReport(STAGING_ITEMS.slice(0, 2), book, BUDGET_1000, 730);
    expect(report.rows.map((row) => [row.name, row.priceSource, row.hourlyUsd])).toEqual([
      ["app", "config", 0.99],
      ["data", "snapshot", 0.2],
    ]);
  });

  test("an instance type with no price is an error, never $0", () => {
    const item: CostItem = { kind: "instance", name: "gpu-x", type: "gpu_9x_imaginary", region: "us-west-1" };
    const build = () => buildCostReport([item], snapshotPriceBook(), BUDGET_1000, 730);
    expect(build).toThrow(UnpricedInstanceTypeError);
    expect(build).toThrow(
      'No price for instance type "gpu_9x_imaginary" (used by gpu-x): it is not in the price snapshot dated 2026-11-25. ' +
        "An unpriced type is never counted as $0. Check the type name (`npm run lambda -- types` lists what Lambda sells) " +
        "or set its price with `pulumi config set --path 'prices.gpu_9x_imaginary' <usd-per-hour>`.",
    );
    const live: PriceBook = {
      source: "lambda-api",
      asOf: "2026-12-01",
      centsPerHour: { gpu_1x_a10: 0 },
      overrideCentsPerHour: {},
    };
    expect(() => buildCostReport([{ ...item, type: "gpu_1x_a10" }], live, BUDGET_1000, 730)).toThrow(
      `No price for instance type "gpu_1x_a10" (used by gpu-x): it is not in Lambda's GET /instance-types (read 2026-12-01). `,
    );
  });
});

describe("the gate", () => {
  const staging = (budgetUsd: number, overrideReason?: string) =>
    buildCostReport(
      STAGING_ITEMS,
      snapshotPriceBook(),
      {
        monthlyBudgetUsd: budgetUsd,
        warnPercent: 80,
        failPercent: 100,
        ...(overrideReason !== undefined ? { overrideReason } : {}),
      },
      730,
    );

  test("the failure message names the projection, the budget, the top three items and both fixes", () => {
    const report = staging(2000);
    expect(report.status).toBe("OVER_BUDGET");
    expect(budgetFailureMessage(report)).toBe(
      [
        "Projected cost $2,560.40/month (730 h) is 128.02% of the monthly budget $2,000.00; deployments fail at 100%. Prices: the price snapshot dated 2026-11-25.",
        "Top cost items:",
        "  1. gpu-a (gpu_1x_a100_sxm4, us-west-1): $1,452.70/month, $1.99/h",
        "  2. app (gpu_1x_a10, us-west-1): $941.70/month, $1.29/h",
        "  3. data (cpu_4x_general, us-west-1): $146.00/month, $0.20/h",
        "To change the projection: remove or shrink nodes under orchestra:nodes, or lower orchestra:hoursPerMonth for a part-time fleet.",
        "To change the budget: `pulumi config set monthlyBudgetUsd <usd>`.",
        'To deploy over budget once: `pulumi config set budgetOverride true` and `pulumi config set budgetOverrideReason "<why>"` (the reason is recorded in the costReport output).',
      ].join("\n"),
    );
    expect(() => enforceBudget(report)).toThrow(BudgetExceededError);
    expect(() => enforceBudget(report)).toThrow(budgetFailureMessage(report));
  });

  test("at the warning threshold the gate passes with the warning text", () => {
    const report = staging(3000);
    expect(enforceBudget(report)).toBe(
      "WARNING: projected cost $2,560.40/month is 85.34% of the monthly budget $3,000.00 (warning at 80%, failure at 100%).",
    );
    expect(budgetWarningMessage(report)).toBe(enforceBudget(report));
  });

  test("under the warning threshold the gate is silent", () => {
    expect(enforceBudget(staging(4000))).toBeUndefined();
  });

  test("an override lets it through and records the reason in the report", () => {
    const report = staging(2000, "load test week, approved by finance (OPS-42)");
    expect(report.budget).toEqual({
      monthlyUsd: 2000,
      warnPercent: 80,
      failPercent: 100,
      overrideReason: "load test week, approved by finance (OPS-42)",
    });
    expect(enforceBudget(report)).toBe(
      "OVER BUDGET (overridden): projected cost $2,560.40/month is 128.02% of the monthly budget $2,000.00 (warning at 80%, failure at 100%). Override reason: load test week, approved by finance (OPS-42)",
    );
  });
});

describe("diff against the last deployed report", () => {
  const book = snapshotPriceBook();
  const budget = { ...BUDGET_1000, monthlyBudgetUsd: 3000 };

  test("per row and in total; a new row's diff is its whole cost, a removed row counts in the total", () => {
    const previous = buildCostReport([STAGING_ITEMS[0], STAGING_ITEMS[1]], book, budget, 730);
    const next = buildCostReport([STAGING_ITEMS[0], STAGING_ITEMS[2]], book, budget, 730);
    const diffed = withDiff(next, previous);
    expect(diffed.diffMonthlyUsd).toBe(1306.7);
    expect(diffed.rows.map((row) => [row.name, row.diffMonthlyUsd])).toEqual([
      ["app", 0],
      ["gpu-a", 1452.7],
    ]);
    expect(Object.keys(diffed)).toEqual([
      "currency",
      "priceSource",
      "priceDate",
      "hoursPerMonth",
      "budget",
      "status",
      "percentOfBudget",
      "totalHourlyUsd",
      "totalMonthlyUsd",
      "diffMonthlyUsd",
      "rows",
    ]);
    expect(Object.keys(diffed.rows[0])).toEqual([
      "name",
      "type",
      "region",
      "billing",
      "priceSource",
      "hourlyUsd",
      "monthlyUsd",
      "diffMonthlyUsd",
    ]);
  });

  test("a cheaper fleet shows a negative diff; no previous report means no diff keys", () => {
    const previous = buildCostReport(STAGING_ITEMS.slice(0, 3), book, budget, 730);
    const next = buildCostReport(STAGING_ITEMS.slice(0, 2), book, budget, 730);
    expect(withDiff(next, previous).diffMonthlyUsd).toBe(-1452.7);
    const first = withDiff(next, undefined);
    expect(first).toEqual(next);
    expect("diffMonthlyUsd" in first).toBe(false);
    expect(first.rows.every((row) => !("diffMonthlyUsd" in row))).toBe(true);
    // Re-diffing a diffed report replaces the old diffs instead of stacking them.
    expect(withDiff(withDiff(next, previous), next).diffMonthlyUsd).toBe(0);
  });
});

test("formatUsd prints thousands, two decimals and a sign", () => {
  expect([formatUsd(0), formatUsd(1234.5), formatUsd(-12), formatUsd(1000000)]).toEqual([
    "$0.00",
    "$1,234.50",
    "-$12.00",
    "$1,000,000.00",
  ]);
});
