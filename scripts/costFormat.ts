/**
 * Pure formatting for `npm run cost`: a plain-text table per stack and a total across them,
 * the same as Markdown for a pull-request comment, or JSON. Money is summed in integer cents.
 * Text tables are drawn by cli-table3; the Markdown tables are written here (a pipe table is one
 * line per row, and cli-table3 draws boxes, not Markdown).
 */
import Table from "cli-table3";
import { centsToUsd, describeSource, formatUsd, type CostReport } from "../infra/pricing/costModel";

/** One stack's report, or why there is none (not deployed yet, invalid config, no API). */
export type StackCost =
  | { readonly stack: string; readonly report: CostReport }
  | { readonly stack: string; readonly error: string };

export type CostFormat = "table" | "markdown" | "json";

/** Every border and separator off but the two spaces between columns and the header's underline. */
const PLAIN_CHARS: Record<Table.CharName, string> = {
  top: "",
  "top-mid": "",
  "top-left": "",
  "top-right": "",
  bottom: "",
  "bottom-mid": "",
  "bottom-left": "",
  "bottom-right": "",
  left: "",
  "left-mid": "",
  mid: "-",
  "mid-mid": "  ",
  right: "",
  "right-mid": "",
  middle: "  ",
};

/**
 * A plain-text table (cli-table3): columns two spaces apart and padded to their widest cell, the
 * header underlined with dashes, trailing spaces trimmed; `right` lists the columns aligned right
 * (money). Also scripts/reapPlan.ts's table.
 */
export function renderTable(
  headers: readonly string[],
  rows: readonly (readonly string[])[],
  right: readonly number[] = [],
): string {
  const table = new Table({
    head: [...headers],
    colAligns: headers.map((_, column) => (right.includes(column) ? "right" : "left")),
    // With no body row the header is the last row: its underline is then the table's bottom line.
    chars: rows.length === 0 ? { ...PLAIN_CHARS, bottom: "-", "bottom-mid": "  " } : PLAIN_CHARS,
    // compact: no line between body rows, only the one under the header.
    style: { "padding-left": 0, "padding-right": 0, head: [], border: [], compact: true },
  });
  table.push(...rows.map((row) => [...row]));
  return table
    .toString()
    .split("\n")
    .map((line) => line.trimEnd())
    .join("\n");
}

function signedUsd(usd: number | undefined): string {
  if (usd === undefined) return "";
  return usd > 0 ? `+${formatUsd(usd)}` : formatUsd(usd);
}

const cents = (usd: number) => Math.round(usd * 100);

interface Totals {
  readonly hourlyUsd: number;
  readonly monthlyUsd: number;
  readonly diffMonthlyUsd?: number;
}

/** The total across the stacks that have a report; a diff only when every one of them has one. */
export function totalAcross(stacks: readonly StackCost[]): Totals {
  const reports = stacks.flatMap((entry) => ("report" in entry ? [entry.report] : []));
  const sum = (pick: (report: CostReport) => number) =>
    centsToUsd(reports.reduce((total, report) => total + cents(pick(report)), 0));
  const diffs = reports.every((report) => report.diffMonthlyUsd !== undefined) && reports.length > 0;
  return {
    hourlyUsd: sum((report) => report.totalHourlyUsd),
    monthlyUsd: sum((report) => report.totalMonthlyUsd),
    ...(diffs ? { diffMonthlyUsd: sum((report) => report.diffMonthlyUsd ?? 0) } : {}),
  };
}

/** The stacks the total covers: a stack that could not be priced is named, never counted. */
export function totalScope(stacks: readonly StackCost[]): string {
  const unpriced = stacks.filter((entry) => "error" in entry).map((entry) => entry.stack);
  const priced = stacks.length - unpriced.length;
  if (unpriced.length === 0) return `${priced} stack(s)`;
  return `${priced} of ${stacks.length} stack(s) (not priced: ${unpriced.join(", ")})`;
}

function sourceLine(report: CostReport): string {
  return `prices: ${describeSource({ source: report.priceSource, asOf: report.priceDate })}; ${report.hoursPerMonth} h/month`;
}

function budgetLine(report: CostReport): string {
  const { budget } = report;
  const override = budget.overrideReason !== undefined ? `; override: ${budget.overrideReason}` : "";
  return `budget ${formatUsd(budget.monthlyUsd)}/month: ${report.percentOfBudget.toFixed(2)}% ${report.status} (warning at ${budget.warnPercent}%, failure at ${budget.failPercent}%)${override}`;
}

function rowCells(report: CostReport): string[][] {
  const hasDiff = report.diffMonthlyUsd !== undefined;
  const rows = report.rows.map((row) => [
    row.name,
    row.type,
    row.region,
    row.billing,
    formatUsd(row.hourlyUsd),
    formatUsd(row.monthlyUsd),
    ...(hasDiff ? [signedUsd(row.diffMonthlyUsd)] : []),
  ]);
  rows.push([
    "total",
    "",
    "",
    "",
    formatUsd(report.totalHourlyUsd),
    formatUsd(report.totalMonthlyUsd),
    ...(hasDiff ? [signedUsd(report.diffMonthlyUsd)] : []),
  ]);
  return rows;
}

function headers(hasDiff: boolean): string[] {
  return ["name", "type", "region", "billing", "hourly", "monthly", ...(hasDiff ? ["diff/month"] : [])];
}

/** Plain text: per stack a heading, the rows, the budget line; then the total across stacks. */
export function formatCostTable(stacks: readonly StackCost[]): string {
  const blocks = stacks.map((entry) => {
    // One problem per line, indented under the stack, as preview prints them.
    if ("error" in entry) return `${entry.stack}: ${entry.error.split("\n").join("\n  ")}`;
    const { report } = entry;
    const table = renderTable(headers(report.diffMonthlyUsd !== undefined), rowCells(report), [4, 5, 6]);
    return [`${entry.stack} (${sourceLine(report)})`, table, budgetLine(report)].join("\n");
  });
  const total = totalAcross(stacks);
  const diff =
    total.diffMonthlyUsd !== undefined ? `, ${signedUsd(total.diffMonthlyUsd)}/month vs deployed` : "";
  blocks.push(
    `Total across ${totalScope(stacks)}: ${formatUsd(total.hourlyUsd)}/h, ${formatUsd(total.monthlyUsd)}/month${diff}`,
  );
  return `${blocks.join("\n\n")}\n`;
}

/** A GitHub-flavoured markdown table: pipes in cells escaped, line breaks as `<br>`; `right` lists the right-aligned columns. */
export function markdownTable(
  head: readonly string[],
  rows: readonly (readonly string[])[],
  right: readonly number[],
): string {
  const escape = (cell: string) => cell.replace(/\|/g, "\\|").replace(/\n\s*/g, "<br>");
  const align = head.map((_, column) => (right.includes(column) ? "---:" : "---"));
  return [head, align, ...rows].map((row) => `| ${row.map(escape).join(" | ")} |`).join("\n");
}

const STATUS_MARK: Record<CostReport["status"], string> = {
  OK: "OK",
  WARNING: "⚠️ WARNING",
  OVER_BUDGET: "❌ OVER_BUDGET",
};

/** Markdown for a pull-request comment: a summary across stacks first, then a table per stack. */
export function formatCostMarkdown(stacks: readonly StackCost[]): string {
  const total = totalAcross(stacks);
  const summaryRows = stacks.map((entry) =>
    "error" in entry
      ? [entry.stack, entry.error, "", "", "", ""]
      : [
          entry.stack,
          STATUS_MARK[entry.report.status],
          formatUsd(entry.report.totalHourlyUsd),
          formatUsd(entry.report.totalMonthlyUsd),
          signedUsd(entry.report.diffMonthlyUsd),
          `${formatUsd(entry.report.budget.monthlyUsd)} (${entry.report.percentOfBudget.toFixed(2)}%)`,
        ],
  );
  summaryRows.push([
    `**total** (${totalScope(stacks)})`,
    "",
    `**${formatUsd(total.hourlyUsd)}**`,
    `**${formatUsd(total.monthlyUsd)}**`,
    signedUsd(total.diffMonthlyUsd),
    "",
  ]);
  const sections = stacks.flatMap((entry) => {
    if ("error" in entry) return [];
    const { report } = entry;
    return [
      `### ${entry.stack}`,
      `_${sourceLine(report)}; ${budgetLine(report)}_`,
      markdownTable(headers(report.diffMonthlyUsd !== undefined), rowCells(report), [4, 5, 6]),
    ];
  });
  return `${[
    "## GPU fleet cost",
    markdownTable(["stack", "status", "hourly", "monthly", "diff/month", "budget"], summaryRows, [2, 3, 4]),
    ...sections,
  ].join("\n\n")}\n`;
}

/** JSON: every report as is (stable key order), errors, and the total. */
export function formatCostJson(stacks: readonly StackCost[]): string {
  const total = totalAcross(stacks);
  return `${JSON.stringify(
    {
      currency: "USD",
      stacks: stacks.map((entry) =>
        "error" in entry
          ? { stack: entry.stack, error: entry.error }
          : { stack: entry.stack, report: entry.report },
      ),
      total: {
        stacksPriced: stacks.filter((entry) => "report" in entry).map((entry) => entry.stack),
        hourlyUsd: total.hourlyUsd,
        monthlyUsd: total.monthlyUsd,
        ...(total.diffMonthlyUsd !== undefined ? { diffMonthlyUsd: total.diffMonthlyUsd } : {}),
      },
    },
    null,
    2,
  )}\n`;
}

export function formatCost(stacks: readonly StackCost[], format: CostFormat): string {
  if (format === "markdown") return formatCostMarkdown(stacks);
  if (format === "json") return formatCostJson(stacks);
  return formatCostTable(stacks);
}
