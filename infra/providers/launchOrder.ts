/**
 * Pure: the order in which one node's launch tries its regions, from three things known at the
 * moment of the launch: the node's regions in preference order, the regions Lambda's
 * `GET /instance-types` lists with capacity for its type (`regions_with_capacity_available`), and
 * the regions that refused this type for capacity a moment ago (the capacity memo).
 *
 * Why: Lambda allows one launch per 12 s and a refused launch spends its slot like an accepted one,
 * so a slot spent on a full region costs 12 s of the whole fleet's time. The list says which regions
 * are full before the first launch; the memo learns it only from refusals.
 *
 * The rule, tier by tier, each tier in the node's own preference order:
 *   1. listed with capacity and not refused recently;
 *   2. listed with capacity but refused recently (the list is a hint, not a promise: Lambda can
 *      refuse right after listing a region, so a refusal still moves the region back);
 *   3. not listed and not refused recently (the list may be stale; tried only once every listed
 *      region has been tried, so no slot goes to a region listed without capacity while a region
 *      listed with capacity remains);
 *   4. not listed and refused recently: last.
 * Without a list (the request failed) every region counts as listed: the memo alone decides, and a
 * refusal moves the region last. No region is ever dropped: a region that regains capacity is still
 * used once the others are full.
 */

export interface LaunchOrderInput {
  /** The node's regions in preference order (already narrowed by a filesystem, if any). */
  readonly regions: readonly string[];
  /** Regions `/instance-types` lists with capacity for the node's type; undefined when unknown. */
  readonly listedWithCapacity?: readonly string[];
  /** Regions that refused the type for capacity recently (see capacityMemo.ts). */
  readonly refusedRecently: readonly string[];
}

export function planLaunchOrder(input: LaunchOrderInput): string[] {
  const listed = (region: string) =>
    input.listedWithCapacity === undefined || input.listedWithCapacity.includes(region);
  const refused = (region: string) => input.refusedRecently.includes(region);
  const tier = (region: string) => (listed(region) ? 0 : 2) + (refused(region) ? 1 : 0);
  // A stable sort on the tier keeps the preference order within each tier.
  return input.regions
    .map((region, index) => ({ region, index, tier: tier(region) }))
    .sort((a, b) => a.tier - b.tier || a.index - b.index)
    .map((entry) => entry.region);
}
