/**
 * Rules of a Lambda instance's launch that the program plans and prices by (components/,
 * stacks/) and the instance provider enforces at `create`: where a node may launch, and when it
 * has a time to live. One owner, so a plan, a price and a launch cannot disagree.
 *
 * Imports nothing: it sits on infra's lowest floor, shared by the serialized providers and the
 * program alike.
 */

/**
 * The filesystem a node mounts: `filesystem` when the node asks to mount it and there is one,
 * else undefined (a node that asks without a fleet filesystem mounts nothing; config validation
 * refuses that combination in the user's words).
 */
export function mountedFilesystem<F>(
  mountsFilesystem: boolean | undefined,
  filesystem: F | undefined,
): F | undefined {
  return mountsFilesystem === true ? filesystem : undefined;
}

/**
 * The regions an instance may launch in, in its order of preference. A filesystem pins the region:
 * Lambda attaches a filesystem only to instances in the filesystem's own region and refuses a
 * launch anywhere else (file-system-in-wrong-region).
 *
 * @param regions the instance's regions, most preferred first
 * @param filesystemRegion the region of the filesystem it mounts; undefined when it mounts none
 * @returns a new list: `regions` without a filesystem; `[filesystemRegion]` when `regions` lists
 *   it; `[]` when it does not (no launch can succeed: the caller says so)
 */
export function pinnedRegions(regions: readonly string[], filesystemRegion?: string): string[] {
  if (filesystemRegion === undefined) return [...regions];
  return regions.includes(filesystemRegion) ? [filesystemRegion] : [];
}

/**
 * The regions a fleet node may launch in (see pinnedRegions), from its settings and the fleet's
 * filesystem: its own regions, or only the filesystem's when it mounts it.
 */
export function regionsForNode(
  node: { readonly regions: readonly string[]; readonly mountFilesystem?: boolean },
  filesystem: { readonly region: string } | undefined,
): string[] {
  return pinnedRegions(node.regions, mountedFilesystem(node.mountFilesystem, filesystem)?.region);
}

/**
 * A time to live in hours, or undefined for none: 0 (the config default), a negative number, NaN
 * and undefined all mean "no TTL", so an instance without one is never stamped with an expiry and
 * never reaped.
 */
export function ttlOrNone(hours: number | undefined): number | undefined {
  return hours !== undefined && hours > 0 ? hours : undefined;
}

/**
 * The longest TTL, in hours (31 days): a TTL guards a temporary environment's bill, and a longer one
 * bounds nothing the monthly budget does not (1e12 hours would not even be a date).
 */
export const MAX_TTL_HOURS = 744;

/**
 * How long past its expiry, by Lambda's clock, an instance is kept before it is reaped: 5 minutes.
 * It absorbs what one clock still leaves: the `Date` header's one-second resolution, request
 * latency, and Lambda's front servers' small differences. Five minutes of a GPU node cost cents;
 * reaping one early ends someone's run.
 */
export const REAP_GRACE_MS = 5 * 60_000;
