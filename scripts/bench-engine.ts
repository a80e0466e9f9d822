/**
 * Benchmark (not a test): the real Pulumi engine against the emulator with Lambda's faithful rate
 * limits (1 request/s, 1 launch/12 s). For fleets of N = 1, 8, 32 nodes it times `pulumi up` and a
 * no-change `pulumi preview --refresh`, and prints the API calls each made (counted by the
 * emulator). A no-change refresh should cost O(1) list calls, not N gets.
 *
 *   npm run bench:engine -- [--sizes 1,8,32]
 */
import { writeFileSync, mkdtempSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";
import { execFileSync } from "child_process";
import { startEmulator } from "../infra/emulator/server";
import { EngineStack, removeStackFile, toolchainEnv } from "../infra/engine/pulumiCli";

const REGIONS = ["us-west-1", "us-east-1", "us-south-1", "europe-central-1"];

function stackYaml(nodes: number, apiUrl: string, publicKey: string): string {
  const nodeLines = Array.from(
    { length: nodes },
    (_, index) =>
      `    n${index}:\n      role: gpu\n      instanceType: gpu_1x_a10\n      regions: [${REGIONS.join(", ")}]`,
  );
  return [
    "config:",
    "  orchestra:layer: staging",
    `  orchestra:lambdaApiUrl: ${apiUrl}`,
    `  orchestra:sshPublicKey: ${publicKey}`,
    "  orchestra:allowedCidrs: [127.0.0.0/8]",
    "  orchestra:readinessChecks: false",
    // Fleet only (the Docker provider plugin cannot be built here), and a budget that fits 32 GPU nodes.
    "  orchestra:deployContainers: false",
    "  orchestra:monthlyBudgetUsd: 100000",
    "  orchestra:pollIntervalSeconds: 10",
    "  orchestra:nodes:",
    ...nodeLines,
    "",
  ].join("\n");
}

function delta(after: Record<string, number>, before: Record<string, number>): string {
  return Object.entries(after)
    .map(([operation, count]) => [operation, count - (before[operation] ?? 0)] as const)
    .filter(([, count]) => count > 0)
    .map(([operation, count]) => `${operation}=${count}`)
    .join(" ");
}

async function main(): Promise<void> {
  const sizesFlag = process.argv.indexOf("--sizes");
  const sizes = (sizesFlag >= 0 ? process.argv[sizesFlag + 1] : "1,8,32").split(",").map(Number);
  const env = toolchainEnv();
  const keyPath = join(mkdtempSync(join(tmpdir(), "bench-key-")), "id");
  execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", keyPath]);
  const publicKey = execFileSync("cut", ["-d", " ", "-f1,2", `${keyPath}.pub`], { encoding: "utf8" }).trim();
  const rows: string[] = [];
  for (const nodes of sizes) {
    const apiKey = `bench-${nodes}-key`;
    const emulator = await startEmulator({
      port: 0,
      apiKey,
      bootDelayMs: 5000,
      terminateDelayMs: 1000,
      quiet: true,
    });
    const template = join(mkdtempSync(join(tmpdir(), "bench-stack-")), "Pulumi.template.yaml");
    writeFileSync(template, stackYaml(nodes, emulator.url, publicKey));
    const stack = new EngineStack("bench", template, env);
    try {
      await stack.init();
      await stack.setConfig("lambdaApiKey", apiKey, { secret: true });
      await stack.setConfig("databasePassword", "bench-db-password", { secret: true });
      await stack.setConfig("sshPrivateKey", execFileSync("cat", [keyPath], { encoding: "utf8" }), {
        secret: true,
      });

      let before = emulator.stats();
      let started = Date.now();
      await stack.run(["up", "--yes", "--skip-preview"]);
      const upSeconds = (Date.now() - started) / 1000;
      let after = emulator.stats();
      const upCalls = `${after.requests - before.requests} calls (${delta(after.byOperation, before.byOperation)}), 429s: ${after.rateLimited - before.rateLimited}`;

      before = emulator.stats();
      started = Date.now();
      await stack.run(["preview", "--refresh", "--expect-no-changes"]);
      const refreshSeconds = (Date.now() - started) / 1000;
      after = emulator.stats();
      const refreshCalls = `${after.requests - before.requests} calls (${delta(after.byOperation, before.byOperation)}), 429s: ${after.rateLimited - before.rateLimited}`;

      const floor = ((nodes - 1) * 12 + 5).toFixed(0);
      rows.push(
        `| ${nodes} | ${upSeconds.toFixed(1)} s (floor ${floor} s) | ${upCalls} | ${refreshSeconds.toFixed(1)} s | ${refreshCalls} |`,
      );
      console.log(rows[rows.length - 1]);
      await stack.run(["destroy", "--yes", "--skip-preview"]);
    } finally {
      removeStackFile(stack);
      await emulator.close();
    }
  }
  console.log(
    "\n| N | pulumi up | up API calls | preview --refresh (no change) | refresh API calls |\n|---|---|---|---|---|",
  );
  for (const row of rows) console.log(row);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : String(error));
  process.exit(1);
});
