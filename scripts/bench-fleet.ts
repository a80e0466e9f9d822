/**
 * Benchmark (not a test): launch a fleet of N instances (default 8) through the LambdaInstance
 * provider, concurrently as the Pulumi engine would, against the emulator with Lambda's faithful
 * rate limits (1 request/s, 1 launch/12 s). Prints wall time, API calls and 429s received.
 *
 *   npm run bench:fleet -- [--nodes 8] [--boot-delay-ms 5000]
 */
import { apiCallStats, resetPacer } from "../infra/lambda/pacer";
import { LambdaClient } from "../infra/lambda/client";
import { startEmulator } from "../infra/emulator/server";
import { lambdaInstanceProvider } from "../infra/providers/instanceProvider";

function flag(name: string, fallback: number): number {
  const index = process.argv.indexOf(name);
  return index >= 0 ? Number(process.argv[index + 1]) : fallback;
}

async function main(): Promise<void> {
  const nodes = flag("--nodes", 8);
  const bootDelayMs = flag("--boot-delay-ms", 5000);
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

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : String(error));
  process.exit(1);
});
