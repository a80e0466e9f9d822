/**
 * `npm run reap -- --stack <name> [--yes] [--now <iso>] [--json]`: terminates the expired instances
 * of one stack through the Lambda API (LAMBDA_API_URL, LAMBDA_API_KEY). Lambda instances cannot be
 * stopped, only terminated, so a forgotten integration or staging node bills until this runs.
 *
 * Selects instances tagged `orchestra-stack=<project>/<stack>` whose `orchestra-expires-at` (both
 * stamped at launch, the expiry from Lambda's clock) has passed by Lambda's clock, read from the
 * listing's HTTP `Date` header, by more than REAP_GRACE_MS (or at `--now` exactly), prints them, and
 * with `--yes` terminates each with its own call and waits for `terminated`. One instance that fails
 * or vanished never stops the others: every instance gets an outcome, and the ones not terminated
 * are named on stderr. Dry run by default. Meant for a scheduled CI job:
 *   npm run reap -- --stack staging --yes
 * then `pulumi refresh --stack staging` drops the reaped nodes from state (the next `up` relaunches).
 *
 * An instance of the stack the client cannot parse is never terminated (nor judged): it is named on
 * stderr with how to inspect and terminate it by hand, and the run exits 1; other stacks' unreadable
 * instances are only counted.
 *
 * Exit codes: 0 done or nothing to do; 1 the listing failed, Lambda's clock was unknown, an
 * instance's termination failed or was not confirmed, or one of the stack's instances could not be
 * read (each may still bill); 2 bad arguments; 3 no
 * failure, but an instance vanished (404) before this run could terminate it.
 */
import { readFileSync } from "fs";
import { join } from "path";
import { LambdaClient } from "../infra/lambda/client";
import { isLambdaError } from "../infra/lambda/errors";
import {
  formatReapTable,
  parseReapArgs,
  REAP_GRACE_MS,
  ReapCandidate,
  ReapClock,
  reapExitCode,
  ReapOutcome,
  reapProblems,
  ReapSelection,
  reapSummary,
  ReapUsageError,
  selectExpired,
  splitUnreadable,
  UnreadableSplit,
  unreadableProblems,
} from "./reapPlan";

export interface ReapDeps {
  readonly client: () => LambdaClient;
  readonly out: (text: string) => void;
  readonly err: (text: string) => void;
  /** This machine's clock: only compared with Lambda's for a note; expiry is judged by Lambda's. */
  readonly now: Date;
  /** The Pulumi project name (`name:` in Pulumi.yaml), which prefixes a bare stack name. */
  readonly project: string;
  /** How long to wait for each termination to be confirmed. @default 10 minutes */
  readonly confirmTimeoutMs?: number;
  readonly pollMs?: number;
}

export function projectName(root: string = join(__dirname, "..")): string {
  const match = /^name:\s*(\S+)\s*$/m.exec(readFileSync(join(root, "Pulumi.yaml"), "utf8"));
  return match?.[1] ?? "orchestra";
}

/**
 * Waits until each instance is `terminated` or gone (404). A failed status read keeps the instance
 * pending (the next poll may answer) and is remembered. Returns, per id not confirmed in time, why.
 */
async function confirmTerminated(
  client: LambdaClient,
  ids: readonly string[],
  timeoutMs: number,
  pollMs: number,
): Promise<Map<string, string>> {
  const deadline = Date.now() + timeoutMs;
  const pending = new Map(ids.map((id) => [id, "no status read yet"]));
  while (pending.size > 0) {
    for (const id of [...pending.keys()]) {
      try {
        const status = (await client.getInstance(id)).status;
        if (status === "terminated") pending.delete(id);
        else pending.set(id, `last status ${status}`);
      } catch (error) {
        if (isLambdaError(error, "not-found")) pending.delete(id);
        else pending.set(id, `last status read failed: ${(error as Error).message}`);
      }
    }
    if (pending.size === 0 || Date.now() >= deadline) break;
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
  const wait = timeoutMs >= 60_000 ? `${Math.round(timeoutMs / 60_000)} min` : `${timeoutMs / 1000} s`;
  return new Map([...pending].map(([id, last]) => [id, `not confirmed terminated within ${wait} (${last})`]));
}

/**
 * Terminates each expired instance with its own call, so one that fails (or vanished: Lambda's
 * terminate answers 404 for the whole list when one id is unknown) cannot keep the others running,
 * then confirms the ones accepted. One outcome per instance, in the selection's order.
 */
async function terminateEach(
  client: LambdaClient,
  expired: readonly ReapCandidate[],
  deps: ReapDeps,
): Promise<ReapOutcome[]> {
  const early = new Map<string, ReapOutcome>();
  for (const { id, name } of expired) {
    try {
      await client.terminateInstances([id]);
    } catch (error) {
      early.set(
        id,
        isLambdaError(error, "not-found")
          ? { id, name, outcome: "gone" }
          : { id, name, outcome: "failed", reason: (error as Error).message },
      );
    }
  }
  const accepted = expired.filter((row) => !early.has(row.id)).map((row) => row.id);
  const unconfirmed = await confirmTerminated(
    client,
    accepted,
    deps.confirmTimeoutMs ?? 600_000,
    deps.pollMs ?? 2000,
  );
  return expired.map(({ id, name }): ReapOutcome => {
    const reason = unconfirmed.get(id);
    if (reason !== undefined) return { id, name, outcome: "failed", reason };
    return early.get(id) ?? { id, name, outcome: "terminated" };
  });
}

/** A note when this machine's clock is off from Lambda's by more than a minute (it is not used, but worth fixing). */
function clockNote(local: Date, lambda: Date): string | undefined {
  const offsetMs = local.getTime() - lambda.getTime();
  if (Math.abs(offsetMs) <= 60_000) return undefined;
  const minutes = Math.round(Math.abs(offsetMs) / 60_000);
  const amount = `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
  return `note: this machine's clock is ${amount} ${offsetMs > 0 ? "ahead of" : "behind"} Lambda's; expiries are judged by Lambda's clock only.`;
}

export async function runReap(argv: readonly string[], deps: ReapDeps): Promise<number> {
  let args;
  try {
    args = parseReapArgs(argv, deps.project);
  } catch (error) {
    if (error instanceof ReapUsageError) {
      deps.err(`${error.message}\n`);
      return 2;
    }
    throw error;
  }
  let selection: ReapSelection;
  let unreadable: UnreadableSplit;
  let clock: ReapClock;
  let outcomes: ReapOutcome[] = [];
  try {
    const client = deps.client();
    // The checked listing: an instance the client cannot parse must be reported, never skipped.
    const listing = await client.listInstancesChecked();
    unreadable = splitUnreadable(listing.unreadable, args.stackTag);
    // Lambda's clock as its listing's Date header gave it, unless the operator named a time.
    clock =
      args.now !== undefined
        ? { at: args.now, source: "--now" }
        : { at: client.serverNow(), source: "lambda" };
    selection = selectExpired(
      listing.instances,
      args.stackTag,
      clock.at,
      clock.source === "lambda" ? REAP_GRACE_MS : 0,
    );
    const note = clock.source === "lambda" ? clockNote(deps.now, clock.at) : undefined;
    if (note !== undefined) deps.err(`${note}\n`);
    if (args.yes) outcomes = await terminateEach(client, selection.expired, deps);
  } catch (error) {
    // Client errors are redacted: they never carry the API key.
    deps.err(`reap failed: ${(error as Error).message}\n`);
    return 1;
  }
  const ids = (outcome: ReapOutcome["outcome"]) =>
    outcomes.filter((entry) => entry.outcome === outcome).map((entry) => entry.id);
  if (args.json) {
    const report = {
      stack: args.stackTag,
      now: clock.at.toISOString(),
      clock: clock.source,
      graceMinutes: clock.source === "lambda" ? REAP_GRACE_MS / 60_000 : 0,
      dryRun: !args.yes,
      expired: selection.expired,
      terminated: ids("terminated"),
      alreadyGone: ids("gone"),
      failed: outcomes.flatMap((entry) =>
        entry.outcome === "failed" ? [{ id: entry.id, name: entry.name, reason: entry.reason }] : [],
      ),
      kept: selection.kept,
      unreadable: unreadable.ofStack.map(({ id, name, status, problem }) => ({ id, name, status, problem })),
      unreadableElsewhere: unreadable.elsewhere,
    };
    deps.out(`${JSON.stringify(report, null, 2)}\n`);
  } else {
    if (selection.expired.length > 0) deps.out(`${formatReapTable(selection)}\n`);
    for (const id of ids("terminated")) deps.out(`terminated ${id}\n`);
    deps.out(`${reapSummary(args, clock, selection, outcomes, unreadable.ofStack.length)}\n`);
  }
  const problems = [...reapProblems(outcomes), ...unreadableProblems(unreadable, args.stackTag)];
  if (problems.length > 0) deps.err(`${problems.join("\n")}\n`);
  return reapExitCode(outcomes, unreadable.ofStack.length);
}

if (require.main === module) {
  void runReap(process.argv.slice(2), {
    client: () => new LambdaClient(),
    out: (text) => process.stdout.write(text),
    err: (text) => process.stderr.write(text),
    now: new Date(),
    project: projectName(),
  }).then((code) => {
    process.exitCode = code;
  });
}
