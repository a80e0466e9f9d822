/**
 * Benchmark (not a test): the real Pulumi engine, driven through the Automation API
 * (infra/engine/engineStack.ts), against the emulator with Lambda's faithful rate limits (1
 * request/s, 1 launch/12 s) and its default capacity table (16 units of each type per stocked
 * region, so a 32-node fleet outgrows its first region). For each fleet size N it runs
 * `pulumi up`, then a no-change `pulumi preview --refresh`, then a no-change `pulumi preview`, then
 * `destroy`, and prints per N:
 *
 * - `up` wall time against the floor Lambda's limits allow, with the floor's parts (set-up writes at
 *   1/s, launch spacing, one boot, the final poll), their ratio, and apart from it the engine's own
 *   overhead (start-up, program, cost gate, provider start, wind-down; see benchAccount.ts);
 * - API calls by operation, 429s, launches refused for capacity and how many of those went to a
 *   region `/instance-types` had just listed without capacity (counted by the emulator);
 * - the refresh's calls against one listing per resource kind plus one price list;
 * - the peak resident memory of the Pulumi program and its dynamic-provider processes during `up`
 *   and during both previews (sampled from /proc, see infra/engine/processMemory.ts). Both, because
 *   `--refresh` keeps a second dynamic-provider process (the refresh phase's) alive to the end.
 *
 *   npm run bench:engine -- [--sizes 1,8,32]
 */
import { execFileSync } from "child_process";
import { mkdtempSync, readFileSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";
import type { StackSettings } from "@pulumi/pulumi/automation";
import { startEmulator, type RunningEmulator } from "../infra/emulator/server";
import { EngineStack } from "../infra/engine/engineStack";
import { sampleTreeMemory, type MemoryPeaks } from "../infra/engine/processMemory";
import { buildToolchain, PROJECT_ROOT, type Toolchain } from "../infra/engine/toolchain";
import { callsBetween, engineOverhead, fleetFloor, formatCalls } from "./benchAccount";
import { parseBenchEngineArgs } from "./benchEngineArgs";

const REGIONS = ["us-west-1", "us-east-1", "us-south-1", "europe-central-1"];
const BOOT_MS = 5000;

/** The bench stack's settings file (Pulumi.bench.yaml): N GPU nodes, each allowed the four regions. */
function stackSettings(nodes: number, apiUrl: string, publicKey: string): StackSettings {
  const fleet = Object.fromEntries(
    Array.from({ length: nodes }, (_, index) => [
      `n${index}`,
      { role: "gpu", instanceType: "gpu_1x_a10", regions: REGIONS },
    ]),
  );
  return {
    config: {
      "orchestra:layer": "staging",
      "orchestra:lambdaApiUrl": apiUrl,
      "orchestra:sshPublicKey": publicKey,
      "orchestra:allowedCidrs": ["127.0.0.0/8"],
      "orchestra:readinessChecks": false,
      // Fleet only (the Docker provider plugin cannot be built here), and a budget that fits 32 GPU nodes.
      "orchestra:deployContainers": false,
      "orchestra:monthlyBudgetUsd": 100000,
      "orchestra:pollIntervalSeconds": 10,
      "orchestra:nodes": fleet,
    },
  };
}

interface Measured {
  readonly seconds: number;
  readonly startedAt: number;
  readonly endedAt: number;
  readonly calls: Record<string, number>;
  readonly requests: number;
  readonly rateLimited: number;
  readonly refusedForCapacity: number;
  readonly refusedWhereListedWithout: number;
  readonly memory: MemoryPeaks;
  readonly log: ReturnType<RunningEmulator["requestLog"]>;
}

/**
 * Runs one engine operation, sampling its `pulumi` process tree's memory and counting the
 * emulator's calls. It ends when its CLI command exits (the stack's first command exit after the
 * start), not when the Automation API has also read the outputs and history after an `up`.
 */
async function measure(
  stack: EngineStack,
  emulator: RunningEmulator,
  operation: () => Promise<unknown>,
): Promise<Measured> {
  const before = emulator.stats();
  const logFrom = emulator.requestLog().length;
  const exitsBefore = stack.commandExits.length;
  const startedAt = Date.now();
  const sampler = sampleTreeMemory(() => stack.commandPids());
  await operation(); // rejects with the command's output when it fails
  const memory = sampler.stop();
  const endedAt = stack.commandExits[exitsBefore] ?? Date.now();
  const after = emulator.stats();
  return {
    seconds: (endedAt - startedAt) / 1000,
    startedAt,
    endedAt,
    calls: callsBetween(before.byOperation, after.byOperation),
    requests: after.requests - before.requests,
    rateLimited: after.rateLimited - before.rateLimited,
    refusedForCapacity: after.refusedForCapacity - before.refusedForCapacity,
    refusedWhereListedWithout: after.refusedWhereListedWithout - before.refusedWhereListedWithout,
    memory,
    log: emulator.requestLog().slice(logFrom),
  };
}

/** Resource kinds the stack holds: its distinct dynamic-provider resource types. */
async function resourceKinds(stack: EngineStack): Promise<string[]> {
  const resources = await stack.resources();
  return [
    ...new Set(
      resources.map((resource) => resource.type).filter((type) => type.startsWith("pulumi-nodejs:dynamic")),
    ),
  ].sort();
}

const mib = (memory: MemoryPeaks) =>
  `${memory.programAndProvidersMiB} MiB (program ${memory.programMiB}, providers ${memory.providerMiB}; whole tree ${memory.treeMiB})`;

async function benchSize(
  nodes: number,
  toolchain: Toolchain,
  keyPath: string,
  publicKey: string,
): Promise<string> {
  const apiKey = `bench-${nodes}-key`;
  const emulator = await startEmulator({
    port: 0,
    apiKey,
    bootDelayMs: BOOT_MS,
    terminateDelayMs: 1000,
    quiet: true,
  });
  try {
    const stack = await EngineStack.create({
      name: "bench",
      workDir: PROJECT_ROOT,
      settings: stackSettings(nodes, emulator.url, publicKey),
      toolchain,
    });
    try {
      await stack.setConfig("lambdaApiKey", apiKey, { secret: true });
      await stack.setConfig("databasePassword", "bench-db-password", { secret: true });
      await stack.setConfig("sshPrivateKey", readFileSync(keyPath, "utf8"), { secret: true });
      return await measureSize(nodes, stack, emulator);
    } finally {
      await stack.stopAll();
      stack.removeSettingsFile();
    }
  } finally {
    await emulator.close();
  }
}

/** up, preview --refresh, preview and destroy of the N-node stack: prints the figures, returns the table row. */
async function measureSize(nodes: number, stack: EngineStack, emulator: RunningEmulator): Promise<string> {
  const up = await measure(stack, emulator, () => stack.up());
  const preview = await measure(stack, emulator, () =>
    stack.preview({ refresh: true, expectNoChanges: true }),
  );
  const plainPreview = await measure(stack, emulator, () => stack.preview({ expectNoChanges: true }));
  const kinds = await resourceKinds(stack);

  const floor = fleetFloor(nodes, up.calls, BOOT_MS / 1000);
  const overhead = engineOverhead({
    startedAt: up.startedAt,
    endedAt: up.endedAt,
    programSeenAt: up.memory.firstSeen.program,
    providerSeenAt: up.memory.firstSeen.provider,
    requests: up.log,
  });
  const launches = up.log.filter((event) => event.operation === "launchInstance");
  const at = (epochMs: number | undefined) =>
    epochMs === undefined ? "-" : `+${((epochMs - up.startedAt) / 1000).toFixed(1)} s`;
  const beyond = up.seconds - floor.totalSeconds;
  const ratio = up.seconds / floor.totalSeconds;
  const wantRefresh = kinds.length + 1;
  console.log(`\nN = ${nodes}`);
  console.log(
    `  up:             ${up.seconds.toFixed(1)} s; floor ${floor.totalSeconds} s = ${floor.setUpSeconds} s set-up (${floor.setUpRequests} writes at 1/s) + ${floor.launchSpacingSeconds} s launch spacing (${nodes - 1} x 12 s) + ${floor.bootSeconds} s boot + ${floor.finalPollSeconds} s final poll`,
  );
  console.log(`  up/floor:       ${ratio.toFixed(3)}; beyond the floor ${beyond.toFixed(1)} s`);
  console.log(
    `  engine overhead ${overhead.totalSeconds.toFixed(1)} s: start-up ${overhead.startUpSeconds.toFixed(1)} s, program ${overhead.programSeconds.toFixed(1)} s, cost gate ${overhead.costGateSeconds.toFixed(1)} s, provider start ${overhead.providerStartSeconds.toFixed(1)} s, wind-down ${overhead.windDownSeconds.toFixed(1)} s`,
  );
  console.log(
    `  providers' own: ${(beyond - overhead.totalSeconds).toFixed(1)} s beyond the floor (first launch ${at(launches[0]?.at)}, last launch ${at(launches[launches.length - 1]?.at)}, last request ${at(up.log[up.log.length - 1]?.at)})`,
  );
  console.log(
    `  up calls:       ${up.requests} (${formatCalls(up.calls)}); 429s ${up.rateLimited}; refused for capacity ${up.refusedForCapacity} (in regions listed without capacity: ${up.refusedWhereListedWithout})`,
  );
  console.log(
    `  refresh:        ${preview.seconds.toFixed(1)} s, ${preview.requests} calls (${formatCalls(preview.calls)}); kinds ${kinds.length} (${kinds.map((kind) => kind.split(":").pop()).join(", ")}) + 1 = ${wantRefresh}; 429s ${preview.rateLimited}`,
  );
  console.log(`  peak RSS up:    ${mib(up.memory)}`);
  console.log(`  peak RSS prev.: ${mib(preview.memory)} (preview --refresh)`);
  console.log(`  peak RSS prev.: ${mib(plainPreview.memory)} (preview, no refresh)`);
  await stack.destroy();
  return (
    `| ${nodes} | ${up.seconds.toFixed(1)} s | ${floor.totalSeconds} s (${floor.setUpSeconds} + ${floor.launchSpacingSeconds} + ${floor.bootSeconds} + ${floor.finalPollSeconds}) | ${ratio.toFixed(2)} | ` +
    `${beyond.toFixed(1)} s | ${overhead.totalSeconds.toFixed(1)} s (${overhead.startUpSeconds.toFixed(1)} + ${overhead.programSeconds.toFixed(1)} + ${overhead.costGateSeconds.toFixed(1)} + ${overhead.providerStartSeconds.toFixed(1)} + ${overhead.windDownSeconds.toFixed(1)}) | ` +
    `${up.requests}: ${formatCalls(up.calls)} | ${up.rateLimited} | ${up.refusedForCapacity} (${up.refusedWhereListedWithout}) | ` +
    `${preview.requests} = ${kinds.length} + 1? ${preview.requests === wantRefresh ? "yes" : "NO"}: ${formatCalls(preview.calls)} | ${preview.rateLimited} | ` +
    `${up.memory.programAndProvidersMiB} MiB | ${preview.memory.programAndProvidersMiB} MiB | ${plainPreview.memory.programAndProvidersMiB} MiB |`
  );
}

async function main(): Promise<void> {
  const sizes = parseBenchEngineArgs(process.argv.slice(2));
  const toolchain = buildToolchain();
  const keyPath = join(mkdtempSync(join(tmpdir(), "bench-key-")), "id");
  execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", keyPath]);
  const publicKey = execFileSync("cut", ["-d", " ", "-f1,2", `${keyPath}.pub`], { encoding: "utf8" }).trim();
  const rows: string[] = [];
  for (const nodes of sizes) rows.push(await benchSize(nodes, toolchain, keyPath, publicKey));
  console.log(
    "\n| N | `up` | floor (set-up + spacing + boot + final poll) | up/floor | beyond the floor | engine overhead (start-up + program + cost gate + provider start + wind-down) | up: API calls | 429s | refused for capacity (in regions listed without) | `preview --refresh`: calls = kinds + 1 | refresh 429s | peak RSS, up (program + providers) | peak RSS, preview --refresh | peak RSS, preview |",
  );
  console.log("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|");
  for (const row of rows) console.log(row);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : String(error));
  process.exit(1);
});
