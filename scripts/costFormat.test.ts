/** Pure tier: the exact text `npm run cost` prints, in each format. */
import { buildCostReport, withDiff, type CostItem } from "../infra/pricing/costModel";
import { snapshotPriceBook } from "../infra/pricing/priceBook";
import { formatCost, formatCostJson, renderTable, totalAcross, type StackCost } from "./costFormat";

const book = snapshotPriceBook();
const budget = { monthlyBudgetUsd: 3000, warnPercent: 80, failPercent: 100 };
const app: CostItem = { kind: "instance", name: "app", type: "gpu_1x_a10", region: "us-west-1" };
const gpu: CostItem = { kind: "instance", name: "gpu-a", type: "gpu_1x_a100_sxm4", region: "us-east-1" };
const staging = withDiff(
  buildCostReport([app, gpu], book, budget, 730),
  buildCostReport([app], book, budget, 730),
);
const integration = buildCostReport(
  [{ ...app, type: "cpu_4x_general" }],
  book,
  { monthlyBudgetUsd: 300, warnPercent: 80, failPercent: 100, overrideReason: "a|b" },
  730,
);
const STACKS: StackCost[] = [
  { stack: "staging", report: staging },
  { stack: "integration", report: integration },
  { stack: "production", error: "no costReport output" },
];

test("table: one per stack, the budget line, errors in place, the total across stacks", () => {
  expect(formatCost(STACKS, "table")).toBe(
    [
      "staging (prices: the price snapshot dated 2026-11-25; 730 h/month)",
      "name   type              region     billing    hourly    monthly  diff/month",
      "-----  ----------------  ---------  ---------  ------  ---------  ----------",
      "app    gpu_1x_a10        us-west-1  always-on   $1.29    $941.70       $0.00",
      "gpu-a  gpu_1x_a100_sxm4  us-east-1  always-on   $1.99  $1,452.70  +$1,452.70",
      "total                                           $3.28  $2,394.40  +$1,452.70",
      "budget $3,000.00/month: 79.81% OK (warning at 80%, failure at 100%)",
      "",
      "integration (prices: the price snapshot dated 2026-11-25; 730 h/month)",
      "name   type            region     billing    hourly  monthly",
      "-----  --------------  ---------  ---------  ------  -------",
      "app    cpu_4x_general  us-west-1  always-on   $0.20  $146.00",
      "total                                         $0.20  $146.00",
      "budget $300.00/month: 48.66% OK (warning at 80%, failure at 100%); override: a|b",
      "",
      "production: no costReport output",
      "",
      "Total across 2 of 3 stack(s) (not priced: production): $3.48/h, $2,540.40/month",
      "",
    ].join("\n"),
  );
  expect(formatCost(STACKS.slice(0, 1), "table").trimEnd().split("\n").pop()).toBe(
    "Total across 1 stack(s): $3.28/h, $2,394.40/month, +$1,452.70/month vs deployed",
  );
});

test("markdown: a summary across stacks, then a table per stack (pipes escaped in cells)", () => {
  expect(formatCost(STACKS, "markdown")).toBe(
    [
      "## GPU fleet cost",
      "",
      "| stack | status | hourly | monthly | diff/month | budget |",
      "| --- | --- | ---: | ---: | ---: | --- |",
      "| staging | OK | $3.28 | $2,394.40 | +$1,452.70 | $3,000.00 (79.81%) |",
      "| integration | OK | $0.20 | $146.00 |  | $300.00 (48.66%) |",
      "| production | no costReport output |  |  |  |  |",
      "| **total** (2 of 3 stack(s) (not priced: production)) |  | **$3.48** | **$2,540.40** |  |  |",
      "",
      "### staging",
      "",
      "_prices: the price snapshot dated 2026-11-25; 730 h/month; budget $3,000.00/month: 79.81% OK (warning at 80%, failure at 100%)_",
      "",
      "| name | type | region | billing | hourly | monthly | diff/month |",
      "| --- | --- | --- | --- | ---: | ---: | ---: |",
      "| app | gpu_1x_a10 | us-west-1 | always-on | $1.29 | $941.70 | $0.00 |",
      "| gpu-a | gpu_1x_a100_sxm4 | us-east-1 | always-on | $1.99 | $1,452.70 | +$1,452.70 |",
      "| total |  |  |  | $3.28 | $2,394.40 | +$1,452.70 |",
      "",
      "### integration",
      "",
      "_prices: the price snapshot dated 2026-11-25; 730 h/month; budget $300.00/month: 48.66% OK (warning at 80%, failure at 100%); override: a|b_",
      "",
      "| name | type | region | billing | hourly | monthly |",
      "| --- | --- | --- | --- | ---: | ---: |",
      "| app | cpu_4x_general | us-west-1 | always-on | $0.20 | $146.00 |",
      "| total |  |  |  | $0.20 | $146.00 |",
      "",
    ].join("\n"),
  );
  expect(formatCost([{ stack: "x|y", error: "bad | value" }], "markdown")).toContain(
    "| x\\|y | bad \\| value |",
  );
});

test("json: every report as is, errors, and the total", () => {
  const parsed = JSON.parse(formatCostJson(STACKS));
  expect(parsed).toEqual({
    currency: "USD",
    stacks: [
      { stack: "staging", report: staging },
      { stack: "integration", report: integration },
      { stack: "production", error: "no costReport output" },
    ],
    total: { stacksPriced: ["staging", "integration"], hourlyUsd: 3.48, monthlyUsd: 2540.4 },
  });
  expect(formatCost(STACKS, "json")).toBe(formatCostJson(STACKS));
});

test("totals are summed in cents; a total diff only when every report has one", () => {
  expect(
    totalAcross([
      { stack: "a", report: staging },
      { stack: "b", report: staging },
    ]),
  ).toEqual({
    hourlyUsd: 6.56,
    monthlyUsd: 4788.8,
    diffMonthlyUsd: 2905.4,
  });
  expect(totalAcross([])).toEqual({ hourlyUsd: 0, monthlyUsd: 0 });
});

test("renderTable pads columns and right-aligns the ones asked", () => {
  expect(
    renderTable(
      ["a", "amount"],
      [
        ["long-name", "$1.00"],
        ["x", "$10.00"],
      ],
      [1],
    ),
  ).toBe(["a          amount", "---------  ------", "long-name   $1.00", "x          $10.00"].join("\n"));
  // No trailing spaces after a left-aligned last column; a header alone is still underlined.
  expect(renderTable(["amount", "a"], [["$1.00", "x"]], [0])).toBe("amount  a\n------  -\n $1.00  x");
  expect(renderTable(["name", "hourly"], [])).toBe("name  hourly\n----  ------");
});

test("a stack's config problems print one per line in a table and as <br> in a markdown cell", () => {
  const failed: StackCost[] = [{ stack: "integration", error: "Stack config has 2 problems:\n- a\n- b" }];
  expect(formatCost(failed, "table")).toBe(
    [
      "integration: Stack config has 2 problems:",
      "  - a",
      "  - b",
      "",
      "Total across 0 of 1 stack(s) (not priced: integration): $0.00/h, $0.00/month",
      "",
    ].join("\n"),
  );
  expect(formatCost(failed, "markdown")).toContain(
    "| integration | Stack config has 2 problems:<br>- a<br>- b |  |  |  |  |\n| **total** (0 of 1 stack(s) (not priced: integration)) |",
  );
});
