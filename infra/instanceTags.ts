/**
 * The tag keys a Lambda instance carries that some other party reads back: the program stamps
 * them (components/gpuFleetPlan.ts, the instance provider at launch), and `npm run reap`
 * (scripts/reapPlan.ts) and the provider's `read` select and judge instances by them. One owner,
 * so a writer and its reader cannot drift apart: a renamed tag would leave every running instance
 * unreaped, silently.
 *
 * Imports nothing: it sits on infra's lowest floor, shared by the serialized providers and the
 * program alike.
 */

/**
 * Tag naming the stack (`<project>/<stack>`) an instance belongs to, so the reaper finds only that
 * stack's instances.
 */
export const STACK_TAG = "orchestra-stack";

/**
 * Tag stamped at launch with the expiry (ISO 8601, UTC, Lambda's clock); the reaper reads it.
 * Reserved: the provider refuses it in `tags` (it derives it from `ttlHours`).
 */
export const EXPIRES_AT_TAG = "orchestra-expires-at";
