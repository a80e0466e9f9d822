/**
 * Pure logic of `npm run reap`: which instances of a stack have expired (and nothing else), the
 * arguments, the table, and the per-instance outcomes with their summary. The I/O is in reap.ts.
 *
 * One clock: Lambda's. The expiry tag is stamped from Lambda's clock at launch (instanceProvider)
 * and judged here by Lambda's clock (its HTTP `Date` header), never by the launcher's or this
 * machine's, which can each be hours off. An instance is expired once Lambda's clock has passed
 * its expiry by REAP_GRACE_MS; an explicit `--now` is taken literally, without the grace.
 */
import type { Instance } from "../infra/lambda/schemas";
import { EXPIRES_AT_TAG, STACK_TAG } from "../infra/providers/instanceInputs";
import { LIVE_STATUSES } from "../infra/providers/common";
import { formatUsd } from "../infra/pricing/costModel";
import { renderTable } from "./costFormat";

/**
 * How long past its expiry, by Lambda's clock, an instance is kept before it is reaped: 5 minutes.
 * It absorbs what one clock still leaves: the `Date` header's one-second resolution, request
 * latency, and Lambda's front servers' small differences. Five minutes of a GPU node cost cents;
 * reaping one early ends someone's run.
 */
export const REAP_GRACE_MS = 5 * 60_000;

export interface ReapArgs {
  /** The `orchestra-stack` tag value to reap, `<project>/<stack>`. */
  readonly stackTag: string;
  readonly yes: boolean;
  /** `--now`: judge expiry at exactly this time, without the grace. Absent: Lambda's clock minus REAP_GRACE_MS. */
  readonly now?: Date;
  readonly json: boolean;
}

export const REAP_USAGE =
  "usage: npm run reap -- --stack <name|project/name> [--yes] [--now <iso-time>] [--json]\n" +
  "  Lists the stack's instances whose orchestra-expires-at has passed by Lambda's clock (its HTTP Date\n" +
  "  header) by more than 5 minutes, or at --now exactly; --yes terminates them, one by one.\n" +
  "  Exit codes: 0 done (or nothing to do), 1 an API call or a termination failed, 2 bad arguments,\n" +
  "  3 every expired instance is gone, but some vanished before this run could terminate them.";

export class ReapUsageError extends Error {
  constructor(problem: string) {
    super(`${problem}\n${REAP_USAGE}`);
    this.name = "ReapUsageError";
  }
}

/** `staging` -> `orchestra/staging`; a value that names its project is kept. */
export function stackTagFor(stack: string, project: string): string {
  return stack.includes("/") ? stack : `${project}/${stack}`;
}

export function parseReapArgs(argv: readonly string[], project: string): ReapArgs {
  let stack: string | undefined;
  let at: Date | undefined;
  let yes = false;
  let json = false;
  for (let index = 0; index < argv.length; index++) {
    const arg = argv[index];
    if (arg === "--yes") yes = true;
    else if (arg === "--json") json = true;
    else if (arg === "--stack" || arg === "--now") {
      const value = argv[++index];
      if (value === undefined || value.startsWith("--")) throw new ReapUsageError(`${arg} needs a value`);
      if (arg === "--stack") stack = value;
      else {
        at = new Date(value);
        if (Number.isNaN(at.getTime()))
          throw new ReapUsageError(
            `--now "${value}" is not a time; write ISO 8601, e.g. 2026-12-01T09:00:00Z`,
          );
      }
    } else throw new ReapUsageError(`unknown argument "${arg}"`);
  }
  if (stack === undefined || stack === "")
    throw new ReapUsageError("--stack is required: the reaper only ever touches one stack's instances");
  return { stackTag: stackTagFor(stack, project), yes, json, ...(at !== undefined ? { now: at } : {}) };
}

export interface ReapCandidate {
  readonly id: string;
  readonly name: string;
  readonly type: string;
  readonly region: string;
  readonly status: string;
  readonly expiresAt: string;
  readonly hourlyUsd: number;
}

export interface ReapSelection {
  readonly expired: ReapCandidate[];
  /** The stack's live instances not reaped, and why; other stacks' and untagged ones are not counted. */
  readonly kept: {
    readonly notYetExpired: number;
    readonly noExpiry: number;
    readonly unreadableExpiry: number;
  };
}

function tag(instance: Instance, key: string): string | undefined {
  return instance.tags?.find((entry) => entry.key === key)?.value;
}

/**
 * The stack's live instances whose expiry plus `graceMs` is at or before `now`. Never selected:
 * another stack's or an untagged instance, one without an expiry or with one that does not parse,
 * one already terminating or terminated.
 */
export function selectExpired(
  instances: readonly Instance[],
  stackTag: string,
  now: Date,
  graceMs = 0,
): ReapSelection {
  const expired: ReapCandidate[] = [];
  const kept = { notYetExpired: 0, noExpiry: 0, unreadableExpiry: 0 };
  for (const instance of instances) {
    if (tag(instance, STACK_TAG) !== stackTag || !LIVE_STATUSES.includes(instance.status)) continue;
    const expiresAt = tag(instance, EXPIRES_AT_TAG);
    if (expiresAt === undefined) {
      kept.noExpiry++;
      continue;
    }
    const at = Date.parse(expiresAt);
    if (Number.isNaN(at)) kept.unreadableExpiry++;
    else if (at + graceMs > now.getTime()) kept.notYetExpired++;
    else
      expired.push({
        id: instance.id,
        name: instance.name ?? "",
        type: instance.instance_type.name,
        region: instance.region.name,
        status: instance.status,
        expiresAt,
        hourlyUsd: instance.instance_type.price_cents_per_hour / 100,
      });
  }
  expired.sort((a, b) => a.expiresAt.localeCompare(b.expiresAt) || a.id.localeCompare(b.id));
  return { expired, kept };
}

export function formatReapTable(selection: ReapSelection): string {
  return renderTable(
    ["id", "name", "type", "region", "expired at", "hourly"],
    selection.expired.map((row) => [
      row.id,
      row.name,
      row.type,
      row.region,
      row.expiresAt,
      formatUsd(row.hourlyUsd),
    ]),
    [5],
  );
}

/** The time expiry was judged at, and by which clock. */
export interface ReapClock {
  readonly at: Date;
  /** `lambda`: Lambda's clock (its `Date` header), with REAP_GRACE_MS; `--now`: the operator's time, literally. */
  readonly source: "lambda" | "--now";
}

/** `2026-12-01T12:00:00.000Z by Lambda's clock, 5 min grace` or `2026-12-01T12:00:00.000Z (--now)`. */
export function describeClock(clock: ReapClock): string {
  const at = clock.at.toISOString();
  return clock.source === "lambda"
    ? `${at} by Lambda's clock, ${REAP_GRACE_MS / 60_000} min grace`
    : `${at} (--now)`;
}

/**
 * What happened to one expired instance under `--yes`. `gone`: Lambda answered 404 when it was to be
 * terminated (it vanished after the listing: something else terminated it, and Lambda forgot it);
 * `failed`: the terminate call failed or `terminated` was not confirmed in time (`reason` says which).
 */
export type ReapOutcome =
  | { readonly id: string; readonly name: string; readonly outcome: "terminated" | "gone" }
  | { readonly id: string; readonly name: string; readonly outcome: "failed"; readonly reason: string };

/**
 * 0: every expired instance terminated (or nothing to do); 1: at least one failed and may still bill;
 * 3: none failed, but some vanished before this run could terminate them (nothing of them bills, yet
 * something else is terminating this stack's nodes: worth a look, and not what "reaped" claims).
 */
export function reapExitCode(outcomes: readonly ReapOutcome[]): 0 | 1 | 3 {
  if (outcomes.some((entry) => entry.outcome === "failed")) return 1;
  return outcomes.some((entry) => entry.outcome === "gone") ? 3 : 0;
}

/** The closing line: what was (or would be) done, what it saves, what was left alone. */
export function reapSummary(
  args: ReapArgs,
  clock: ReapClock,
  selection: ReapSelection,
  outcomes: readonly ReapOutcome[],
): string {
  const count = selection.expired.length;
  const cents = selection.expired.reduce((sum, row) => sum + Math.round(row.hourlyUsd * 100), 0);
  const { notYetExpired, noExpiry, unreadableExpiry } = selection.kept;
  const kept = `kept: ${notYetExpired} not yet expired, ${noExpiry} without an expiry, ${unreadableExpiry} with an unreadable expiry`;
  const at = describeClock(clock);
  const subject = `${count} expired instance(s) of ${args.stackTag} at ${at}, ${formatUsd(cents / 100)}/h`;
  if (count === 0) return `No expired instances of ${args.stackTag} at ${at} (${kept}).`;
  if (!args.yes)
    return `${subject}. Dry run: nothing terminated; run again with --yes to terminate them (${kept}).`;
  const counted = (outcome: ReapOutcome["outcome"]) =>
    outcomes.filter((entry) => entry.outcome === outcome).length;
  return `${subject}: ${counted("terminated")} terminated, ${counted("gone")} already gone, ${counted("failed")} failed (${kept}).`;
}

/**
 * The lines for stderr naming every expired instance this run did not terminate, and what to do;
 * empty when it terminated them all.
 */
export function reapProblems(outcomes: readonly ReapOutcome[]): string[] {
  const lines: string[] = [];
  for (const entry of outcomes) {
    const who = `${entry.id} (${entry.name})`;
    if (entry.outcome === "gone")
      lines.push(
        `${who}: already gone: Lambda answered 404 when it was to be terminated, so it no longer bills; something else terminated it after the listing (another reaper, a destroy, the console)`,
      );
    else if (entry.outcome === "failed")
      lines.push(
        `${who}: NOT terminated: ${entry.reason}; it may still bill: check it with \`npm run lambda -- instances\` and run the reaper again`,
      );
  }
  return lines.length === 0
    ? []
    : [`Not terminated by this run (${lines.length}):`, ...lines.map((line) => `  ${line}`)];
}
