/**
 * Pure logic of `npm run reap`: which instances of a stack have expired (and nothing else), the
 * arguments, and the table. The I/O is in reap.ts.
 */
import type { Instance } from "../infra/lambda/schemas";
import { EXPIRES_AT_TAG, STACK_TAG } from "../infra/providers/instanceInputs";
import { LIVE_STATUSES } from "../infra/providers/common";
import { formatUsd } from "../infra/pricing/costModel";
import { renderTable } from "./costFormat";

export interface ReapArgs {
  /** The `orchestra-stack` tag value to reap, `<project>/<stack>`. */
  readonly stackTag: string;
  readonly yes: boolean;
  readonly now: Date;
  readonly json: boolean;
}

export const REAP_USAGE =
  "usage: npm run reap -- --stack <name|project/name> [--yes] [--now <iso-time>] [--json]\n" +
  "  Lists the stack's instances whose orchestra-expires-at has passed; --yes terminates them.\n" +
  "  Exit codes: 0 done (or nothing to do), 1 an API call or a termination failed, 2 bad arguments.";

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

export function parseReapArgs(argv: readonly string[], project: string, now: Date): ReapArgs {
  let stack: string | undefined;
  let at = now;
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
  return { stackTag: stackTagFor(stack, project), yes, now: at, json };
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
 * The stack's live instances whose expiry is at or before `now`. Never selected: another stack's
 * or an untagged instance, one without an expiry or with one that does not parse, one already
 * terminating or terminated.
 */
export function selectExpired(instances: readonly Instance[], stackTag: string, now: Date): ReapSelection {
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
    else if (at > now.getTime()) kept.notYetExpired++;
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

/** The closing line: what was (or would be) done, what it saves, what was left alone. */
export function reapSummary(args: ReapArgs, selection: ReapSelection, terminated: number): string {
  const count = selection.expired.length;
  const cents = selection.expired.reduce((sum, row) => sum + Math.round(row.hourlyUsd * 100), 0);
  const { notYetExpired, noExpiry, unreadableExpiry } = selection.kept;
  const kept = `kept: ${notYetExpired} not yet expired, ${noExpiry} without an expiry, ${unreadableExpiry} with an unreadable expiry`;
  const subject = `${count} expired instance(s) of ${args.stackTag} at ${args.now.toISOString()}, ${formatUsd(cents / 100)}/h`;
  if (count === 0) return `No expired instances of ${args.stackTag} at ${args.now.toISOString()} (${kept}).`;
  if (!args.yes)
    return `${subject}. Dry run: nothing terminated; run again with --yes to terminate them (${kept}).`;
  return `${subject}: ${terminated} terminated (${kept}).`;
}
