/**
 * `npm run reap -- --stack <name> [--yes] [--now <iso>] [--json]`: terminates the expired instances
 * of one stack through the Lambda API (LAMBDA_API_URL, LAMBDA_API_KEY). Lambda instances cannot be
 * stopped, only terminated, so a forgotten integration or staging node bills until this runs.
 *
 * Selects instances tagged `orchestra-stack=<project>/<stack>` whose `orchestra-expires-at` has
 * passed (both stamped at launch), prints them, and with `--yes` terminates them and waits for
 * `terminated`. Dry run by default. Meant for a scheduled CI job:
 *   npm run reap -- --stack staging --yes
 * then `pulumi refresh --stack staging` drops the reaped nodes from state (the next `up` relaunches).
 *
 * Exit codes: 0 done or nothing to do; 1 an API call or a termination failed; 2 bad arguments.
 */
import { readFileSync } from "fs";
import { join } from "path";
import { LambdaClient } from "../infra/lambda/client";
import { isLambdaError } from "../infra/lambda/errors";
import { formatReapTable, parseReapArgs, reapSummary, ReapUsageError, selectExpired } from "./reapPlan";

export interface ReapDeps {
  readonly client: () => LambdaClient;
  readonly out: (text: string) => void;
  readonly err: (text: string) => void;
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

/** Waits until each instance is `terminated` or gone (404). Returns the ids not confirmed in time. */
async function confirmTerminated(
  client: LambdaClient,
  ids: readonly string[],
  timeoutMs: number,
  pollMs: number,
) {
  const deadline = Date.now() + timeoutMs;
  let pending = [...ids];
  while (pending.length > 0) {
    const still: string[] = [];
    for (const id of pending) {
      try {
        if ((await client.getInstance(id)).status !== "terminated") still.push(id);
      } catch (error) {
        if (!isLambdaError(error, "not-found")) throw error;
      }
    }
    pending = still;
    if (pending.length === 0 || Date.now() >= deadline) break;
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
  return pending;
}

export async function runReap(argv: readonly string[], deps: ReapDeps): Promise<number> {
  let args;
  try {
    args = parseReapArgs(argv, deps.project, deps.now);
  } catch (error) {
    if (error instanceof ReapUsageError) {
      deps.err(`${error.message}\n`);
      return 2;
    }
    throw error;
  }
  try {
    const client = deps.client();
    const selection = selectExpired(await client.listInstances(), args.stackTag, args.now);
    const ids = selection.expired.map((row) => row.id);
    let terminated: string[] = [];
    let unconfirmed: string[] = [];
    if (args.yes && ids.length > 0) {
      // One call for all: Lambda's terminate takes a list of ids.
      await client.terminateInstances(ids);
      unconfirmed = await confirmTerminated(
        client,
        ids,
        deps.confirmTimeoutMs ?? 600_000,
        deps.pollMs ?? 2000,
      );
      terminated = ids.filter((id) => !unconfirmed.includes(id));
    }
    if (args.json) {
      deps.out(
        `${JSON.stringify(
          {
            stack: args.stackTag,
            now: args.now.toISOString(),
            dryRun: !args.yes,
            expired: selection.expired,
            terminated,
            unconfirmed,
            kept: selection.kept,
          },
          null,
          2,
        )}\n`,
      );
    } else {
      if (ids.length > 0) deps.out(`${formatReapTable(selection)}\n`);
      for (const id of terminated) deps.out(`terminated ${id}\n`);
      deps.out(`${reapSummary(args, selection, terminated.length)}\n`);
    }
    if (unconfirmed.length > 0) {
      deps.err(
        `Not confirmed terminated after the wait: ${unconfirmed.join(", ")}; check them with \`npm run lambda -- instances\`, they may still bill.\n`,
      );
      return 1;
    }
    return 0;
  } catch (error) {
    // Client errors are redacted: they never carry the API key.
    deps.err(`reap failed: ${(error as Error).message}\n`);
    return 1;
  }
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
