/**
 * Pure logic of `npm run reap`: which instances of a stack have expired (and nothing else), the
 * arguments, the table, and the per-instance outcomes with their summary. The I/O is in reap.ts.
 *
 * One clock: Lambda's. The expiry tag is stamped from Lambda's clock at launch (instanceProvider)
 * and judged here by Lambda's clock (its HTTP `Date` header), never by the launcher's or this
 * machine's, which can each be hours off. An instance is expired once Lambda's clock has passed
 * its expiry by REAP_GRACE_MS; an explicit `--now` is taken literally, without the grace.
 */
import type { Instance, UnreadableInstance } from "../infra/lambda/schemas";
import { EXPIRES_AT_TAG, STACK_TAG } from "../infra/instanceTags";
import { LIVE_STATUSES } from "../infra/providers/common";
import { formatUsd } from "../infra/pricing/costModel";
import { readArgs } from "./cliArgs";
// One plain-text table renderer for both tools: the reaper's table is drawn like `npm run cost`'s.
import { renderTable } from "./costFormat";

// The grace lives with the other TTL rules (the monitoring alert waits it out too).
import { REAP_GRACE_MS } from "../infra/launchRules";
export { REAP_GRACE_MS };

export interface ReapArgs {
  /** The `orchestra-stack` tag value to reap, `<project>/<stack>`. */
  readonly stackTag: string;
  readonly yes: boolean;
  /** `--now`: judge expiry at exactly this time, without the grace. Absent: Lambda's clock minus REAP_GRACE_MS. */
  readonly now?: Date;
  readonly json: boolean;
}

export const REAP_USAGE =
  "usage: npm run reap -- --stack <name|project/name> [--yes] [--now <utc-time, e.g. 2026-12-01T09:00:00Z>] [--json]\n" +
  "  Lists the stack's instances whose orchestra-expires-at has passed by Lambda's clock (its HTTP Date\n" +
  "  header) by more than 5 minutes, or at --now exactly; --yes terminates them, one by one.\n" +
  "  Exit codes: 0 done (or nothing to do), 1 an API call or a termination failed or an instance of the\n" +
  "  stack could not be read, 2 bad arguments,\n" +
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

/** A Pulumi stack name, or `<project>/<stack>`: letters, digits, `-`, `_` and `.`. */
const STACK_NAME = /^[A-Za-z0-9_.-]+(\/[A-Za-z0-9_.-]+)?$/;

/** `--now`: UTC only, so the same words mean the same instant on every machine whatever its TZ. */
const UTC_TIME = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,3}))?)?Z$/;

const EXAMPLES = { stack: "--stack staging", now: "--now 2026-12-01T09:00:00Z" } as const;

/** Why one value of each is all that makes sense, for "given twice". */
const ONCE = "the reaper judges one stack at one time per run; give it once, e.g.";

const REAP_FLAGS = {
  stack: { type: "string", twice: `${ONCE} ${EXAMPLES.stack}` },
  now: { type: "string", twice: `${ONCE} ${EXAMPLES.now}` },
  yes: { type: "boolean" },
  json: { type: "boolean" },
} as const;

/** `--now`'s value as an instant, or undefined unless it is UTC_TIME naming a real calendar time. */
function parseUtcTime(value: string): Date | undefined {
  const parts = UTC_TIME.exec(value);
  if (parts === null) return undefined;
  const [year, month, day, hour, minute, second, fraction] = parts.slice(1).map((part) => part ?? "0");
  const fields = [year, month, day, hour, minute, second].map(Number);
  const at = new Date(
    Date.UTC(
      fields[0],
      fields[1] - 1,
      fields[2],
      fields[3],
      fields[4],
      fields[5],
      Number(fraction.padEnd(3, "0")),
    ),
  );
  // Round trip: Date.UTC rolls 2026-02-30 over to March 2 and 24:00 to the next day; refuse those.
  const back = [
    at.getUTCFullYear(),
    at.getUTCMonth() + 1,
    at.getUTCDate(),
    at.getUTCHours(),
    at.getUTCMinutes(),
    at.getUTCSeconds(),
  ];
  return back.every((field, index) => field === fields[index]) ? at : undefined;
}

/**
 * `--stack <name|project/name> [--yes] [--now <utc-time>] [--json]`. Throws ReapUsageError naming
 * the flag and value for a missing, repeated, malformed or unknown argument.
 */
export function parseReapArgs(argv: readonly string[], project: string): ReapArgs {
  const { values } = readArgs(argv, REAP_FLAGS, { refuse: (problem) => new ReapUsageError(problem) });
  const stack = values.stack;
  if (stack === undefined)
    throw new ReapUsageError("--stack is required: the reaper only ever touches one stack's instances");
  if (!STACK_NAME.test(stack))
    throw new ReapUsageError(
      `--stack "${stack}" is not allowed: write a stack name or <project>/<stack>, each of letters, digits, "-", "_" and ".", e.g. --stack staging or --stack orchestra/staging`,
    );
  const nowText = values.now;
  const at = nowText === undefined ? undefined : parseUtcTime(nowText);
  if (nowText !== undefined && at === undefined)
    throw new ReapUsageError(
      `--now "${nowText}" is not allowed: write a UTC time in ISO 8601 ending in Z (YYYY-MM-DDTHH:MM[:SS[.sss]]Z), e.g. ${EXAMPLES.now}`,
    );
  return {
    stackTag: stackTagFor(stack, project),
    yes: values.yes === true,
    json: values.json === true,
    ...(at !== undefined ? { now: at } : {}),
  };
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

function tag(instance: Pick<Instance, "tags">, key: string): string | undefined {
  return instance.tags?.find((entry) => entry.key === key)?.value;
}

/** The form expiryFor stamps (Date#toISOString): `2026-12-01T09:00:00.000Z`. */
const STAMPED_EXPIRY = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

/**
 * An expiry tag's instant in ms, or undefined unless it is exactly what the provider stamps. Not
 * Date.parse: it reads "0", "12/31" or "Dec 1" as dates, and a zoneless time in this machine's zone.
 */
export function parseExpiryTag(value: string): number | undefined {
  if (!STAMPED_EXPIRY.test(value)) return undefined;
  const at = new Date(value);
  // Round trip: refuses a date the calendar does not have (2026-02-30) that Date would roll over.
  return !Number.isNaN(at.getTime()) && at.toISOString() === value ? at.getTime() : undefined;
}

/** What the listing could not parse, split by whether its raw tags say it is the stack's. */
export interface UnreadableSplit {
  /** The stack's, not known to be gone: each may still bill, so the run reports it and exits 1. */
  readonly ofStack: UnreadableInstance[];
  /** Other stacks', untagged, or with no readable tags: only counted. */
  readonly elsewhere: number;
}

/** Statuses that no longer bill; an unreadable instance in one of them is not reported. */
const GONE_STATUSES: readonly string[] = ["terminating", "terminated", "preempted"];

export function splitUnreadable(
  unreadable: readonly UnreadableInstance[],
  stackTag: string,
): UnreadableSplit {
  const ofStack: UnreadableInstance[] = [];
  let elsewhere = 0;
  for (const entry of unreadable) {
    if (tag(entry, STACK_TAG) !== stackTag) elsewhere++;
    else if (!GONE_STATUSES.includes(entry.status ?? "")) ofStack.push(entry);
  }
  return { ofStack, elsewhere };
}

/**
 * The lines for stderr naming the stack's unreadable instances and what to do, then a count of
 * the others; empty when there are none.
 */
export function unreadableProblems(split: UnreadableSplit, stackTag: string): string[] {
  const lines: string[] = [];
  if (split.ofStack.length > 0) {
    lines.push(
      `Not judged by this run: ${split.ofStack.length} instance(s) of ${stackTag} could not be read (they may still bill; never terminated unread):`,
    );
    for (const entry of split.ofStack) {
      const status = entry.status !== undefined ? `, status ${entry.status}` : "";
      lines.push(`  ${entry.id ?? "(no id)"} (${entry.name ?? ""})${status}: ${entry.problem}`);
    }
    lines.push(
      "  inspect them with `npm run lambda -- instances`; terminate one that should go with `npm run lambda -- terminate <id>`",
    );
  }
  if (split.elsewhere > 0)
    lines.push(
      `note: ${split.elsewhere} unreadable instance(s) of other stacks or without a readable ${STACK_TAG} tag were left alone.`,
    );
  return lines;
}

/**
 * The stack's live instances whose expiry plus `graceMs` is at or before `now`. Never selected:
 * another stack's or an untagged instance, one without an expiry or with one not in the stamped
 * form (parseExpiryTag), one already terminating or terminated.
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
    const at = parseExpiryTag(expiresAt);
    if (at === undefined) kept.unreadableExpiry++;
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
 * 0: every expired instance terminated (or nothing to do); 1: at least one failed, or one of the
 * stack's instances could not be read (`unreadableOfStack`), and may still bill;
 * 3: none failed, but some vanished before this run could terminate them (nothing of them bills, yet
 * something else is terminating this stack's nodes: worth a look, and not what "reaped" claims).
 */
export function reapExitCode(outcomes: readonly ReapOutcome[], unreadableOfStack = 0): 0 | 1 | 3 {
  if (unreadableOfStack > 0 || outcomes.some((entry) => entry.outcome === "failed")) return 1;
  return outcomes.some((entry) => entry.outcome === "gone") ? 3 : 0;
}

/**
 * The closing line: what was (or would be) done, what it saves, what was left alone, and how many
 * of the stack's instances could not be read (`unreadableOfStack`, named on stderr).
 */
export function reapSummary(
  args: ReapArgs,
  clock: ReapClock,
  selection: ReapSelection,
  outcomes: readonly ReapOutcome[],
  unreadableOfStack = 0,
): string {
  const line = summaryLine(args, clock, selection, outcomes);
  return unreadableOfStack === 0
    ? line
    : `${line} ${unreadableOfStack} instance(s) of ${args.stackTag} could not be read and were not judged (see stderr).`;
}

function summaryLine(
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
