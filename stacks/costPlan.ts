/**
 * Pure cost planning: a validated StackConfig -> the priced items of its layer, the budget it is
 * judged against and the report. No Pulumi, no API: the gate (costGate.ts) and `npm run cost`
 * (scripts/cost.ts) both price a stack through here, so a pull request and a preview agree.
 */
import type { FleetSettings } from "../components/gpuFleetPlan";
import { regionsForNode } from "../infra/launchRules";
import { buildCostReport, type CostItem, type CostReport, type PriceBook } from "../infra/pricing/costModel";
import type { StackConfig } from "./config";

/**
 * One row per node, named by its node key (the key the `nodes` output uses), in the region it is
 * tried first (a node that mounts the filesystem is pinned to the filesystem's region, as
 * GpuFleet launches it), one usage-based row for the filesystem when one is configured, and one
 * for the backups' bucket when the layer keeps backups.
 */
export function planCostItems(
  fleet: Pick<FleetSettings, "nodes" | "filesystem">,
  cost: Pick<StackConfig["cost"], "filesystemEstimateGiB" | "filesystemUsdPerGiBMonth">,
  backups?: StackConfig["backups"],
): CostItem[] {
  const instances = fleet.nodes.map(
    (node): CostItem => ({
      kind: "instance",
      name: node.key,
      type: node.instanceType,
      region: regionsForNode(node, fleet.filesystem)[0],
    }),
  );
  const filesystem: CostItem[] =
    fleet.filesystem === undefined
      ? []
      : [
          {
            kind: "filesystem",
            name: fleet.filesystem.name,
            region: fleet.filesystem.region,
            estimatedGiB: cost.filesystemEstimateGiB,
            // Fractional cents are fine here: the model rounds GiB x rate to whole cents once.
            centsPerGiBMonth: cost.filesystemUsdPerGiBMonth * 100,
          },
        ];
  const bucket: CostItem[] =
    backups === undefined
      ? []
      : [
          {
            kind: "backup-storage",
            name: backups.bucket,
            region: backups.region,
            estimatedGiB: backups.storage.estimateGiB,
            centsPerGiBMonth: backups.storage.usdPerGiBMonth * 100,
          },
        ];
  return [...instances, ...filesystem, ...bucket];
}

/** Whether pricing needs instance prices at all (the local layer has no nodes: no API call). */
export function needsInstancePrices(config: Pick<StackConfig, "fleet">): boolean {
  return config.fleet.nodes.length > 0;
}

/**
 * Prices a stack with a loaded book against `config.cost.budget` (the stack's own budget, or the
 * environment policy's default for its layer, resolved once by validateStackConfig). Throws
 * UnpricedInstanceTypeError for a type with no price.
 */
export function priceStack(
  config: Pick<StackConfig, "fleet" | "cost" | "backups">,
  book: PriceBook,
): CostReport {
  return buildCostReport(
    planCostItems(config.fleet, config.cost, config.backups),
    book,
    config.cost.budget,
    config.cost.hoursPerMonth,
  );
}

/** A value read back from a stack output is a cost report (loosely: the fields the diff reads). */
export function isCostReport(value: unknown): value is CostReport {
  if (value === null || typeof value !== "object") return false;
  const candidate = value as Partial<CostReport>;
  return (
    candidate.currency === "USD" &&
    typeof candidate.totalMonthlyUsd === "number" &&
    Array.isArray(candidate.rows) &&
    candidate.rows.every(
      (row) =>
        row !== null &&
        typeof row === "object" &&
        typeof row.name === "string" &&
        typeof row.monthlyUsd === "number",
    )
  );
}
