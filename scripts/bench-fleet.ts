/**
 * Benchmark (not a test): launch a fleet of N instances (default 8) through the LambdaInstance
 * provider, concurrently as the Pulumi engine would, against the emulator with Lambda's faithful
 * rate limits (1 request/s, 1 launch/12 s). Prints wall time, API calls and 429s received.
 *
 *   npm run bench:fleet -- [--nodes 8] [--boot-delay-ms 5000]
 *
 * Exit codes: 0 measured; 1 the run failed; 2 bad arguments.
 */
import { apiCallStats, resetPacer } from "../infra/lambda/pacer";
import { LambdaClient } from "../infra/lambda/client";
import { startEmulator } from "../infra/emulator/server";
import { lambdaInstanceProvider } from "../infra/providers/instanceProvider";
import { readArgs, UsageError } from "./cliArgs";

export const BENCH_FLEET_USAGE = "usage: npm run bench:fleet -- [--nodes 8] [--boot-delay-ms 5000]";

export interface BenchFleetArgs {
  /** Instances launched at once. @default 8 */
  readonly nodes: number;
  /** How long each emulated instance boots, in ms. @default 5000 */
  readonly bootDelayMs: number;
}

/** A flag's value as a whole number of at least `min`, else a UsageError naming flag and value. */
function wholeNumber(flag: string, value: string | undefined, fallback: number, min: number): number {
  if (value === undefined) return fallback;
  if (/^\d+$/.test(value) && Number(value) >= min) return Number(value);
  throw new UsageError(
    `${flag} "${value}" is not allowed: write a whole number from ${min}, e.g. ${flag} ${fallback}`,
  );
}

/**
 * `[--nodes <n>] [--boot-delay-ms <ms>]` (without node and the script). Throws a UsageError for an
 * unknown, repeated or valueless flag, or a value that is not a whole number (nodes from 1).
 */
export function parseBenchFleetArgs(argv: readonly string[]): BenchFleetArgs {
  const { values } = readArgs(argv, { nodes: { type: "string" }, "boot-delay-ms": { type: "string" } });
  return {
    nodes: wholeNumber("--nodes", values.nodes, 8, 1),
    bootDelayMs: wholeNumber("--boot-delay-ms", values["boot-delay-ms"], 5000, 0),
  };
}

async function main({ nodes, bootDelayMs }: BenchFleetArgs): Promise<void> {
  const emulator = await startEmulator({ port: 0, apiKey: "bench-key", bootDelayMs, quiet: true });
  process.env.LAMBDA_API_URL = emulator.url;
  process.env.LAMBDA_API_KEY = "bench-key";
  delete process.env.LAMBDA_REQUEST_INTERVAL_MS;
  delete process.env.LAMBDA_LAUNCH_INTERVAL_MS;
  resetPacer();
  await new LambdaClient().addSshKey("bench", "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIbench bench");
  const before = emulator.stats();
  const clientBefore = apiCallStats();

  console.log(
    `Launching ${nodes} x gpu_1x_a10 with faithful limits (emulator: ${emulator.options.requestIntervalMs} ms/request, ${emulator.options.launchIntervalMs} ms/launch; boot ${bootDelayMs} ms)...`,
  );
  const started = Date.now();
  const results = await Promise.all(
    Array.from({ length: nodes }, (_, index) =>
      lambdaInstanceProvider.create!({
        name: `bench-${index}`,
        launchToken: "00000000",
        instanceType: "gpu_1x_a10",
        regions: ["us-west-1", "us-east-1"],
        sshKeyNames: ["bench"],
        fileSystemNames: [],
        tags: {},
        firewallRulesetsByRegion: {},
        bootTimeoutMinutes: 30,
        pollIntervalSeconds: 10,
      }).then((result) => {
        console.log(
          `  ${(result.outs as { launchedName: string }).launchedName} active after ${((Date.now() - started) / 1000).toFixed(1)} s`,
        );
        return result;
      }),
    ),
  );
  const wallSeconds = (Date.now() - started) / 1000;
  const clientAfter = apiCallStats();
  const client = {
    requests: clientAfter.requests - clientBefore.requests,
    rateLimited: clientAfter.rateLimited - clientBefore.rateLimited,
    byOperation: Object.fromEntries(
      Object.entries(clientAfter.byOperation)
        .map(([op, count]) => [op, count - (clientBefore.byOperation[op] ?? 0)])
        .filter(([, count]) => count !== 0),
    ),
  };
  const server = emulator.stats();
  const floorSeconds = ((nodes - 1) * emulator.options.launchIntervalMs + bootDelayMs) / 1000;
  console.log("");
  console.log(`instances active:      ${results.length}`);
  console.log(`wall time:             ${wallSeconds.toFixed(1)} s`);
  console.log(
    `floor:                 ${floorSeconds.toFixed(1)} s  (${nodes} launches at one per ${emulator.options.launchIntervalMs / 1000} s, then one boot of ${bootDelayMs / 1000} s)`,
  );
  console.log(`API calls (client):    ${client.requests}  ${JSON.stringify(client.byOperation)}`);
  console.log(
    `API calls (emulator):  ${server.requests - before.requests}  launches accepted: ${server.launchesAccepted - before.launchesAccepted}`,
  );
  console.log(
    `429s received:         ${client.rateLimited} (emulator sent ${server.rateLimited - before.rateLimited})`,
  );
  await emulator.close();
}

if (require.main === module) {
  try {
    // The emulator may still be listening when the run fails: exit rather than wait for it.
    main(parseBenchFleetArgs(process.argv.slice(2))).catch((error: unknown) => {
      console.error(error instanceof Error ? error.message : String(error));
      process.exit(1);
    });
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    process.stderr.write(`${error.message}\n${BENCH_FLEET_USAGE}\n`);
    process.exitCode = 2;
  }
}
