/**
 * The budget gate index.ts runs before it declares any resource: price the layer (live from
 * Lambda's `GET /instance-types` when an API key is at hand, else the dated snapshot, said so),
 * fail `pulumi preview` at or over the failure threshold, warn at or over the warning threshold,
 * and diff against the report the last deployment exported.
 *
 * The API key comes from the one config read (loadStack, a secret Output revealed here only) and
 * is used only to ask for prices: it is handed to the client and never logged, thrown or exported
 * (the client redacts its own errors).
 */
import * as pulumi from "@pulumi/pulumi";
import {
  BudgetExceededError,
  describeSource,
  enforceBudget,
  UnpricedInstanceTypeError,
  withDiff,
  type CostReport,
} from "../infra/pricing/costModel";
import { loadPriceBook } from "../infra/pricing/priceBook";
import type { LambdaSettings } from "../infra/lambda/settings";
import type { StackConfig } from "./config";
import type { StackIdentity } from "./layerPlan";
import { revealForGate, type LambdaAccess, type LoadedStack } from "./loadStack";
import { isCostReport, needsInstancePrices, priceStack } from "./costPlan";

export interface PricedStack {
  readonly report: CostReport;
  /** Why the snapshot priced it instead of the API, when it did (shown as a warning). */
  readonly fallbackReason?: string;
}

/**
 * Prices a validated config. No Pulumi runtime calls, so `npm run cost -- --from-config` uses it
 * too. A layer without nodes never asks the API (nothing to price but a filesystem).
 */
export async function priceStackConfig(
  config: Pick<StackConfig, "fleet" | "cost" | "backups">,
  lambda: Partial<LambdaSettings> = {},
  offline = false,
): Promise<PricedStack> {
  const loaded = await loadPriceBook({
    overridesUsdPerHour: config.cost.pricesUsdPerHour,
    lambda,
    offline: offline || !needsInstancePrices(config),
  });
  const report = priceStack(config, loaded.book);
  return needsInstancePrices(config) && loaded.fallbackReason !== undefined
    ? { report, fallbackReason: loaded.fallbackReason }
    : { report };
}

/**
 * The stack's own Lambda settings for the price lookup, the key revealed for the client only. The
 * client falls back to LAMBDA_API_URL / LAMBDA_API_KEY (infra/lambda/settings.ts owns that order).
 */
async function programLambdaSettings(lambda: LambdaAccess): Promise<Partial<LambdaSettings>> {
  const apiKey = lambda.apiKey === undefined ? undefined : await revealForGate(lambda.apiKey);
  return {
    ...(apiKey !== undefined && apiKey !== "" ? { apiKey } : {}),
    ...(lambda.apiUrl !== undefined ? { apiUrl: lambda.apiUrl } : {}),
  };
}

/**
 * Prices the stack and enforces its budget. Throws a `pulumi.RunError` (printed as the message
 * alone, no stack trace) at or over the failure threshold without an override, or for an
 * instance type with no price; logs a `pulumi.log.warn` at or over the warning threshold.
 */
export async function costReportForStack(
  config: StackConfig,
  lambda: LambdaAccess = {},
): Promise<CostReport> {
  let priced: PricedStack;
  try {
    priced = await priceStackConfig(config, await programLambdaSettings(lambda));
  } catch (error) {
    if (error instanceof UnpricedInstanceTypeError) throw new pulumi.RunError(error.message);
    throw error;
  }
  const { report, fallbackReason } = priced;
  if (fallbackReason !== undefined) {
    void pulumi.log.warn(
      `Cost: priced from ${describeSource({ source: report.priceSource, asOf: report.priceDate })} because ${fallbackReason}; ` +
        "set `pulumi config set --secret lambdaApiKey <key>` (or LAMBDA_API_KEY) for live prices.",
    );
  }
  let warning: string | undefined;
  try {
    warning = enforceBudget(report);
  } catch (error) {
    if (error instanceof BudgetExceededError) throw new pulumi.RunError(error.message);
    throw error;
  }
  if (warning !== undefined) void pulumi.log.warn(warning);
  return report;
}

/**
 * The report with diffs against the `costReport` the last deployment of this same stack exported,
 * read through a StackReference to the stack itself (works on the file backend, whose org is
 * `organization`; a first deployment has no such output and gets no diff). The reference is a
 * read, declared only after the gate passed, so an over-budget preview declares nothing.
 */
export function costReportOutput(report: CostReport, identity: StackIdentity): pulumi.Output<CostReport> {
  const self = new pulumi.StackReference(`${pulumi.getOrganization()}/${identity.project}/${identity.stack}`);
  return self
    .getOutput("costReport")
    .apply((previous: unknown) => withDiff(report, isCostReport(previous) ? previous : undefined));
}

/** The gate and the diffed report in one call, from what loadStack read. */
export async function costGate(stack: LoadedStack): Promise<pulumi.Output<CostReport>> {
  return costReportOutput(await costReportForStack(stack.config, stack.lambda), stack.identity);
}
