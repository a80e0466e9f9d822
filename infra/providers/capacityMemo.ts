/**
 * Process-wide memory of where Lambda just said `insufficient-capacity`, so that the other
 * instances of the same run try that region last instead of spending a launch on it first.
 *
 * Why: Lambda allows one launch per 12 s per account, and a refused launch uses its slot like an
 * accepted one. When a fleet outgrows its first region (32 nodes, 16 units there), every later
 * node used to be refused there before failing over: 16 wasted slots, over 3 minutes. Preference
 * order is kept otherwise, and a region is only moved to the back, never skipped, so a region that
 * regains capacity is still used once the others are full. Entries expire after a few minutes.
 * `GET /instance-types` now says which regions are full before any refusal (see launchOrder.ts);
 * the memo stays for what that list gets wrong (Lambda can refuse a region it lists).
 *
 * The memo is process-wide state (`processWide`): shared by every instance of the program.
 */
import { processWide } from "../processWide";
import { planLaunchOrder } from "./launchOrder";

const MEMO_KEY = "__orchestraLambdaNoCapacity";
/** How long a refusal moves a region to the back of the order. */
export const NO_CAPACITY_MEMORY_MS = 5 * 60_000;

function memo(): Map<string, number> {
  return processWide(MEMO_KEY, () => new Map<string, number>());
}

function memoKey(apiUrl: string, instanceType: string, region: string): string {
  return `${apiUrl} ${instanceType}@${region}`;
}

/** Records that Lambda (at `apiUrl`) refused `instanceType` in `region` for lack of capacity. */
export function rememberNoCapacity(
  apiUrl: string,
  instanceType: string,
  region: string,
  now = Date.now(),
): void {
  memo().set(memoKey(apiUrl, instanceType, region), now);
}

/** The regions among `regions` that refused `instanceType` within the last few minutes, in their order. */
export function refusedRecently(
  apiUrl: string,
  instanceType: string,
  regions: readonly string[],
  now = Date.now(),
): string[] {
  return regions.filter((region) => {
    const at = memo().get(memoKey(apiUrl, instanceType, region));
    return at !== undefined && now - at < NO_CAPACITY_MEMORY_MS;
  });
}

/**
 * The regions in preference order, with those refused within the last few minutes moved to the
 * back (in their own preference order): the launch order when `/instance-types` cannot be read.
 */
export function orderByRecentCapacity(
  apiUrl: string,
  instanceType: string,
  regions: readonly string[],
  now = Date.now(),
): string[] {
  return planLaunchOrder({ regions, refusedRecently: refusedRecently(apiUrl, instanceType, regions, now) });
}
