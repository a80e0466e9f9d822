/**
 * The cost model, pure: a price book (live from Lambda, or the dated snapshot, plus config
 * overrides), the priced items of a layer, the budget verdict and the `costReport` JSON.
 * All arithmetic is in integer cents; USD appears only at the edges.
 */

export type PriceSource = "lambda-api" | "snapshot";

export interface PriceBook {
  readonly source: PriceSource;
  /** ISO date the prices were read (live) or copied (snapshot). */
  readonly asOf: string;
  readonly centsPerHour: Readonly<Record<string, number>>;
  /** Prices set in stack config (`orchestra:prices`), cents per hour; they win over the source. */
  readonly overrideCentsPerHour: Readonly<Record<string, number>>;
}

export type CostItem =
  | { readonly kind: "instance"; readonly name: string; readonly type: string; readonly region: string }
  | {
      readonly kind: "filesystem";
      readonly name: string;
      readonly region: string;
      /** The operator's estimate of data stored (Lambda bills GiB used, not a size). */
      readonly estimatedGiB: number;
      readonly centsPerGiBMonth: number;
    }
  | {
      /** The backups' bucket (any S3-compatible provider): billed by its provider for data stored. */
      readonly kind: "backup-storage";
      /** The bucket's name. */
      readonly name: string;
      readonly region: string;
      /** The operator's estimate of backup data stored. */
      readonly estimatedGiB: number;
      readonly centsPerGiBMonth: number;
    };

export interface BudgetSettings {
  readonly monthlyBudgetUsd: number;
  /** Warn at or above this share of the budget. @default 80 */
  readonly warnPercent: number;
  /** Fail preview at or above this share of the budget. @default 100 */
  readonly failPercent: number;
  /** Set with `budgetOverride: true` to deploy over the failure threshold; recorded in the outputs. */
  readonly overrideReason?: string;
}

export interface CostRow {
  readonly name: string;
  readonly type: string;
  readonly region: string;
  /** Instances bill every hour from launch until terminate; filesystems and backup storage bill for data stored. */
  readonly billing: "always-on" | "usage";
  readonly priceSource: PriceSource | "config";
  /**
   * Always-on rows: the billed rate. Usage rows: an hourly equivalent for comparison only
   * (`monthlyUsd / hoursPerMonth` to the cent; Lambda bills them by the month, not by the hour).
   */
  readonly hourlyUsd: number;
  readonly monthlyUsd: number;
  /** Against the last deployed report; absent when there is none. */
  readonly diffMonthlyUsd?: number;
}

export type BudgetStatus = "OK" | "WARNING" | "OVER_BUDGET";

export interface CostReport {
  readonly currency: "USD";
  readonly priceSource: PriceSource;
  readonly priceDate: string;
  readonly hoursPerMonth: number;
  readonly budget: {
    readonly monthlyUsd: number;
    readonly warnPercent: number;
    readonly failPercent: number;
    readonly overrideReason?: string;
  };
  readonly status: BudgetStatus;
  /** Projected monthly cost as a share of the budget, two decimals, rounded down. */
  readonly percentOfBudget: number;
  /**
   * `totalMonthlyUsd / hoursPerMonth` rounded to the cent: what the whole layer costs per hour
   * averaged over the month, so `totalHourlyUsd x hoursPerMonth` is `totalMonthlyUsd` to within
   * half a cent per hour. It is not the sum of the rows' hourly figures: those of usage rows are
   * rounded equivalents, and adding rounded cents drifts (two $20.00 filesystems at 730 h are
   * $0.03/h each, but $0.05/h together).
   */
  readonly totalHourlyUsd: number;
  /** The authoritative figure, summed from the rows' whole-cent monthly costs; the budget judges this. */
  readonly totalMonthlyUsd: number;
  readonly diffMonthlyUsd?: number;
  readonly rows: readonly CostRow[];
}

export class UnpricedInstanceTypeError extends Error {
  constructor(
    readonly instanceType: string,
    book: PriceBook,
    usedBy: string,
  ) {
    super(
      `No price for instance type "${instanceType}" (used by ${usedBy}): it is not in ${describeSource(book)}. ` +
        `An unpriced type is never counted as $0. Check the type name (\`npm run lambda -- types\` lists what Lambda sells) ` +
        `or set its price with \`pulumi config set --path 'prices.${instanceType}' <usd-per-hour>\`.`,
    );
    this.name = "UnpricedInstanceTypeError";
  }
}

export class BudgetExceededError extends Error {
  constructor(readonly report: CostReport) {
    super(budgetFailureMessage(report));
    this.name = "BudgetExceededError";
  }
}

export function describeSource(book: Pick<PriceBook, "source" | "asOf">): string {
  return book.source === "lambda-api"
    ? `Lambda's GET /instance-types (read ${book.asOf})`
    : `the price snapshot dated ${book.asOf}`;
}

export function centsToUsd(cents: number): number {
  // `+ 0` turns -0 (a zero diff) into 0, so reports compare and print as plain zero.
  return Math.round(cents) / 100 + 0;
}

/** `$1,234.50`: how the reports and messages print money. */
export function formatUsd(usd: number): string {
  const sign = usd < 0 ? "-" : "";
  return `${sign}$${Math.abs(usd).toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`;
}

interface PricedRow {
  readonly row: Omit<CostRow, "hourlyUsd" | "monthlyUsd" | "diffMonthlyUsd">;
  readonly hourlyCents: number;
  readonly monthlyCents: number;
}

function priceItem(item: CostItem, book: PriceBook, hoursPerMonth: number): PricedRow {
  if (item.kind === "filesystem" || item.kind === "backup-storage") {
    const monthlyCents = Math.round(item.estimatedGiB * item.centsPerGiBMonth);
    return {
      row: {
        name: item.name,
        type: item.kind === "filesystem" ? "filesystem" : "backup storage",
        region: item.region,
        billing: "usage",
        priceSource: "config",
      },
      // Display only: the total hourly figure is derived from the monthly total, not summed from this.
      hourlyCents: Math.round(monthlyCents / hoursPerMonth),
      monthlyCents,
    };
  }
  const override = book.overrideCentsPerHour[item.type];
  const listed = book.centsPerHour[item.type];
  const hourlyCents = override ?? listed;
  if (hourlyCents === undefined || hourlyCents <= 0) {
    throw new UnpricedInstanceTypeError(item.type, book, item.name);
  }
  return {
    row: {
      name: item.name,
      type: item.type,
      region: item.region,
      billing: "always-on",
      priceSource: override !== undefined ? "config" : book.source,
    },
    hourlyCents,
    monthlyCents: hourlyCents * hoursPerMonth,
  };
}

/** Prices every item and judges the total against the budget. Throws on an unpriced type. */
export function buildCostReport(
  items: readonly CostItem[],
  book: PriceBook,
  budget: BudgetSettings,
  hoursPerMonth: number,
): CostReport {
  const priced = items.map((item) => priceItem(item, book, hoursPerMonth));
  const totalMonthlyCents = priced.reduce((sum, item) => sum + item.monthlyCents, 0);
  // Derived, not summed per row: see CostReport.totalHourlyUsd. For always-on rows alone it is exact.
  const totalHourlyCents = Math.round(totalMonthlyCents / hoursPerMonth);
  const budgetCents = Math.round(budget.monthlyBudgetUsd * 100);
  const status = budgetStatus(totalMonthlyCents, budgetCents, budget);
  const rows = priced.map(({ row, hourlyCents, monthlyCents }) => ({
    ...row,
    hourlyUsd: centsToUsd(hourlyCents),
    monthlyUsd: centsToUsd(monthlyCents),
  }));
  return {
    currency: "USD",
    priceSource: book.source,
    priceDate: book.asOf,
    hoursPerMonth,
    budget: {
      monthlyUsd: centsToUsd(budgetCents),
      warnPercent: budget.warnPercent,
      failPercent: budget.failPercent,
      ...(budget.overrideReason !== undefined ? { overrideReason: budget.overrideReason } : {}),
    },
    status,
    percentOfBudget: budgetCents === 0 ? 0 : Math.floor((totalMonthlyCents * 10000) / budgetCents) / 100,
    totalHourlyUsd: centsToUsd(totalHourlyCents),
    totalMonthlyUsd: centsToUsd(totalMonthlyCents),
    rows,
  };
}

/**
 * Exact at the boundaries: integers compared, `cost * 100 >= percent * budget` (percents are whole).
 * A zero budget (the local layer, which launches nothing) is OK while nothing is priced and over
 * budget as soon as anything is: without this, `0 >= 0` made an empty local stack OVER_BUDGET.
 */
export function budgetStatus(
  monthlyCents: number,
  budgetCents: number,
  budget: BudgetSettings,
): BudgetStatus {
  if (budgetCents === 0) return monthlyCents > 0 ? "OVER_BUDGET" : "OK";
  const reached = (percent: number) => monthlyCents * 100 >= percent * budgetCents;
  if (reached(budget.failPercent)) return "OVER_BUDGET";
  if (reached(budget.warnPercent)) return "WARNING";
  return "OK";
}

/** The preview failure: the projection, the budget, the top three items and how to change either. */
export function budgetFailureMessage(report: CostReport): string {
  const top = [...report.rows]
    .sort((a, b) => b.monthlyUsd - a.monthlyUsd || a.name.localeCompare(b.name))
    .slice(0, 3);
  return [
    `Projected cost ${formatUsd(report.totalMonthlyUsd)}/month (${report.hoursPerMonth} h) is ${report.percentOfBudget.toFixed(2)}% of the monthly budget ${formatUsd(report.budget.monthlyUsd)}; deployments fail at ${report.budget.failPercent}%. Prices: ${describeSource({ source: report.priceSource, asOf: report.priceDate })}.`,
    "Top cost items:",
    ...top.map(
      (row, index) =>
        `  ${index + 1}. ${row.name} (${row.type}, ${row.region}): ${formatUsd(row.monthlyUsd)}/month, ${formatUsd(row.hourlyUsd)}/h`,
    ),
    "To change the projection: remove or shrink nodes under orchestra:nodes, or lower orchestra:hoursPerMonth for a part-time fleet.",
    "To change the budget: `pulumi config set monthlyBudgetUsd <usd>`.",
    'To deploy over budget once: `pulumi config set budgetOverride true` and `pulumi config set budgetOverrideReason "<why>"` (the reason is recorded in the costReport output).',
  ].join("\n");
}

/** One line for `pulumi preview` when the projection reaches the warning threshold. */
export function budgetWarningMessage(report: CostReport): string {
  return `WARNING: projected cost ${formatUsd(report.totalMonthlyUsd)}/month is ${report.percentOfBudget.toFixed(2)}% of the monthly budget ${formatUsd(report.budget.monthlyUsd)} (warning at ${report.budget.warnPercent}%, failure at ${report.budget.failPercent}%).`;
}

/**
 * The gate run before any resource is declared: throws BudgetExceededError at or over the failure
 * threshold unless an override reason is set; returns the warning text at or over the warning.
 */
export function enforceBudget(report: CostReport): string | undefined {
  if (report.status === "OVER_BUDGET") {
    if (report.budget.overrideReason === undefined) throw new BudgetExceededError(report);
    return `${budgetWarningMessage(report).replace("WARNING", "OVER BUDGET (overridden)")} Override reason: ${report.budget.overrideReason}`;
  }
  return report.status === "WARNING" ? budgetWarningMessage(report) : undefined;
}

/**
 * The same report with diffs against a previous one (as Infracost shows for a plan): per row by
 * name (a new row's diff is its whole cost) and in total (which also counts rows that went away).
 * Key order stays that of buildCostReport, with `diffMonthlyUsd` before `rows`.
 */
export function withDiff(report: CostReport, previous: CostReport | undefined): CostReport {
  const { diffMonthlyUsd: _total, rows, ...head } = report;
  const plainRows = rows.map(({ diffMonthlyUsd: _row, ...row }) => row);
  if (previous === undefined) return { ...head, rows: plainRows };
  const cents = (usd: number) => Math.round(usd * 100);
  const previousCents = new Map(previous.rows.map((row) => [row.name, cents(row.monthlyUsd)]));
  return {
    ...head,
    diffMonthlyUsd: centsToUsd(cents(report.totalMonthlyUsd) - cents(previous.totalMonthlyUsd)),
    rows: plainRows.map((row) => ({
      ...row,
      diffMonthlyUsd: centsToUsd(cents(row.monthlyUsd) - (previousCents.get(row.name) ?? 0)),
    })),
  };
}
