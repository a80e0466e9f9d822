/**
 * The pull-request flow of .github/workflows end to end, offline: the same scripts the workflows
 * run (scripts/pipeline/), on the real Pulumi CLI, with state in the local S3-compatible server
 * (scripts/s3-server.sh) through Pulumi's DIY backend, against the Lambda emulator, every node's
 * containers on this machine's Docker engine over the sandbox sshd (as in the sandbox tier).
 *
 * `MAIN` stands for staging (deployed on merge), on the integration layer so one small node does.
 * Steps, in order: main deployed before the pull request; open (the PR stack up, the preview of
 * main with the PR's stack file and the cost comment written to a file); a budget over its limit
 * fails the check; merge (deploy.ts: up, then the health gate again); close (the PR stack
 * destroyed and removed); then main destroyed, and nothing left: no stack, lock, instance or
 * container.
 */
import { execFile, execFileSync } from "child_process";
import { randomBytes } from "crypto";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "fs";
import * as yaml from "js-yaml";
import { tmpdir } from "os";
import { join } from "path";
import { CreateBucketCommand, ListObjectsV2Command, S3Client } from "@aws-sdk/client-s3";
import type { RunningEmulator } from "../emulator/server";
import { LambdaClient } from "../lambda/client";
import type { CommandOutcome } from "./automation";
import { startS3Server, stopS3Server } from "../testing/s3Server";
import { killTree } from "./processTree";
import { startSandboxEmulator } from "./sandboxFixture";
import { SSH_PORT, startSandboxSshd, stopSandboxSshd } from "./sandboxSshd";
import { startTestAgent, type TestAgent } from "./sshAgent";
import { buildToolchain, PROJECT_ROOT, type Toolchain } from "./toolchain";

// A cold toolchain and stand-in images first; the flow itself takes a few minutes.
jest.setTimeout(30 * 60 * 1000);

const ID = String(process.pid);
const MAIN = `e2e-main-${ID}`;
const PR_BASE = `e2e-prbase-${ID}`;
const PR_STACK = `pr-${ID}`;
const BUCKET = `orchestra-pipeline-${ID}`;
const COMMENT_FILE = join(PROJECT_ROOT, ".tmp", `pipeline-comment-${ID}.md`);
const STACK_FILES = [MAIN, PR_BASE, PR_STACK].map((stack) => join(PROJECT_ROOT, `Pulumi.${stack}.yaml`));
const MARKER = "<!-- orchestra-cost-comment -->";
const GATE_PASSED = "health gate passed: 3 service(s) healthy";

let toolchain: Toolchain;
let sshd: { keyPath: string; started: boolean } | undefined;
let emulator: RunningEmulator | undefined;
let client: LambdaClient;
let agent: TestAgent | undefined;
let serverDir: string | undefined;
let s3: S3Client | undefined;
let env: Record<string, string>;
const running = new Set<number>();

/** A stack file on the integration layer pointed at the emulator and the sandbox sshd. */
function stackFile(ports: number, nodes: Record<string, unknown>): string {
  const sandbox = yaml.load(readFileSync(join(PROJECT_ROOT, "Pulumi.sandbox.yaml"), "utf8")) as {
    config: Record<string, unknown>;
  };
  const shifted = Object.fromEntries(
    Object.entries(sandbox.config["orchestra:ports"] as Record<string, number>).map(([service, port]) => [
      service,
      port + ports,
    ]),
  );
  const config = {
    ...sandbox.config,
    "orchestra:layer": "integration",
    "orchestra:lambdaApiUrl": emulator!.url,
    "orchestra:sshPort": SSH_PORT,
    "orchestra:sshPublicKey": readFileSync(`${sshd!.keyPath}.pub`, "utf8").trim(),
    "orchestra:nodes": nodes,
    "orchestra:ports": shifted,
    "orchestra:monthlyBudgetUsd": 300,
  };
  delete (config as Record<string, unknown>)["orchestra:filesystem"];
  return yaml.dump({ config });
}

const APP_NODE = { app: { role: "app", instanceType: "cpu_4x_general", regions: ["us-west-1"] } };
const worker = (instanceType: string) => ({
  ...APP_NODE,
  worker: { role: "gpu", instanceType, regions: ["us-west-1"] },
});

/** `tsx scripts/pipeline/<script> <args>` in the checkout with the flow's environment; never rejects. */
function script(name: string, args: string[]): Promise<CommandOutcome> {
  return new Promise((resolve) => {
    const child = execFile(
      join(PROJECT_ROOT, "node_modules", ".bin", "tsx"),
      [join(PROJECT_ROOT, "scripts", "pipeline", name), ...args],
      { cwd: PROJECT_ROOT, env: { ...process.env, ...env }, maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) => {
        if (child.pid !== undefined) running.delete(child.pid);
        const code = error === null ? 0 : typeof error.code === "number" ? error.code : null;
        // What a failed script said, for the reader of a red run (the assertions show only its end).
        if (code !== 0)
          console.error(
            `${name} ${args.join(" ")} exited ${code}:\n${stdout.slice(-4000)}\n${stderr.slice(-4000)}`,
          );
        resolve({ code, stdout, stderr });
      },
    );
    if (child.pid !== undefined) running.add(child.pid);
  });
}

/**
 * `pulumi <args>` with the flow's environment (the test's own cleanup and checks); resolves with
 * stdout, rejects with stderr. Never synchronous: the emulator answers from this process.
 */
function pulumi(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      "pulumi",
      [...args, "--non-interactive"],
      { cwd: PROJECT_ROOT, env: { ...process.env, ...env }, maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) => (error === null ? resolve(stdout) : reject(new Error(stderr))),
    );
  });
}

async function bucketKeys(): Promise<string[]> {
  const listed = await s3!.send(new ListObjectsV2Command({ Bucket: BUCKET }));
  return (listed.Contents ?? []).map((object) => object.Key as string).sort();
}

/** Name -> status of the emulator's instances not terminated. */
async function liveInstances(): Promise<Record<string, string>> {
  const instances = await client.listInstances();
  return Object.fromEntries(
    instances
      .filter((instance) => instance.status !== "terminated")
      // Pulumi's auto-naming adds a random suffix to each instance's name.
      .map((instance) => [(instance.name ?? instance.id).replace(/-[0-9a-f]{8}$/, ""), instance.status]),
  );
}

function containerNames(): string[] {
  return execFileSync("docker", ["ps", "-a", "--format", "{{.Names}}"], { encoding: "utf8" })
    .split("\n")
    .filter((name) => name.startsWith(`orchestra-${MAIN}-`) || name.startsWith(`orchestra-${PR_STACK}-`))
    .sort();
}

const lastLine = (text: string) => text.trimEnd().split("\n").pop();

beforeAll(async () => {
  toolchain = buildToolchain();
  execFileSync("bash", [`${PROJECT_ROOT}/scripts/standin-images/build.sh`], {
    stdio: ["ignore", "ignore", "inherit"],
  });
  sshd = startSandboxSshd();
  const apiKey = `lambda-pipeline-${randomBytes(12).toString("hex")}`;
  emulator = await startSandboxEmulator(apiKey);
  client = new LambdaClient({ apiUrl: emulator.url, apiKey });
  agent = await startTestAgent();
  agent.add(sshd.keyPath);
  serverDir = mkdtempSync(join(tmpdir(), "orchestra-pipeline-s3-"));
  const server = startS3Server(serverDir);
  s3 = new S3Client({
    endpoint: server.S3_ENDPOINT,
    region: server.AWS_REGION,
    forcePathStyle: true,
    credentials: { accessKeyId: server.AWS_ACCESS_KEY_ID, secretAccessKey: server.AWS_SECRET_ACCESS_KEY },
  });
  await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
  const port = new URL(server.S3_ENDPOINT).port;
  env = {
    ...toolchain.env,
    // What the workflows set from the repository's variables and secrets.
    PULUMI_BACKEND_URL: `s3://${BUCKET}?endpoint=http://127.0.0.1:${port}&use_path_style=true&region=us-east-1`,
    PULUMI_CONFIG_PASSPHRASE: `pipeline-e2e-${randomBytes(12).toString("hex")}`,
    AWS_ACCESS_KEY_ID: server.AWS_ACCESS_KEY_ID,
    AWS_SECRET_ACCESS_KEY: server.AWS_SECRET_ACCESS_KEY,
    AWS_REGION: server.AWS_REGION,
    LAMBDA_API_KEY: apiKey,
    SSH_PRIVATE_KEY: readFileSync(sshd.keyPath, "utf8"),
    DATABASE_PASSWORD: `db-${randomBytes(12).toString("hex")}`,
    REDIS_PASSWORD: `redis-${randomBytes(12).toString("hex")}`,
    WEAVIATE_API_KEY: `weaviate-${randomBytes(12).toString("hex")}`,
    SSH_AUTH_SOCK: agent.socket,
    // The emulator's limits, scaled down ten-fold as in the sandbox tier.
    LAMBDA_REQUEST_INTERVAL_MS: "150",
    LAMBDA_LAUNCH_INTERVAL_MS: "1300",
    PR_STACK_BASE: PR_BASE,
  };
  mkdirSync(join(PROJECT_ROOT, ".tmp"), { recursive: true });
  writeFileSync(join(PROJECT_ROOT, `Pulumi.${MAIN}.yaml`), stackFile(0, APP_NODE));
  // The PR stack's ports moved, as two stacks share this one Docker engine (on Lambda each has its nodes).
  writeFileSync(join(PROJECT_ROOT, `Pulumi.${PR_BASE}.yaml`), stackFile(100, APP_NODE));
});

afterAll(async () => {
  for (const pid of running) killTree(pid);
  // A failed step may leave a stack: destroy what is left, so no container outlives the test.
  for (const stack of [PR_STACK, MAIN])
    try {
      await pulumi(["destroy", "--stack", stack, "--yes", "--skip-preview"]);
    } catch {
      // no such stack (the flow removed it) or nothing to destroy
    }
  s3?.destroy();
  if (serverDir !== undefined) {
    stopS3Server(serverDir);
    rmSync(serverDir, { recursive: true, force: true });
  }
  await emulator?.close();
  await agent?.stop();
  if (sshd?.started === true) stopSandboxSshd();
  for (const file of [...STACK_FILES, COMMENT_FILE]) rmSync(file, { force: true });
});

test("1. before the pull request: main is deployed by deploy.ts (up, then the health gate)", async () => {
  const deploy = await script("deploy.ts", [MAIN]);
  expect([deploy.code, lastLine(deploy.stdout)]).toEqual([0, GATE_PASSED]);
  expect(deploy.stderr).toContain(`[deploy] created stack ${MAIN}\n`);
  expect(deploy.stderr).toContain(
    "[deploy] secrets from the environment: lambdaApiKey, sshPrivateKey, databasePassword, redisPassword, weaviateApiKey\n",
  );
  expect(await liveInstances()).toEqual({ [`orchestra-${MAIN}-app`]: "active" });
  // State in the bucket, through the DIY backend; no secret in it as plain text.
  expect((await bucketKeys()).filter((key) => key.startsWith(".pulumi/stacks/"))).toEqual([
    `.pulumi/stacks/orchestra/${MAIN}.json`,
    `.pulumi/stacks/orchestra/${MAIN}.json.bak`,
  ]);
  const state = await pulumi(["stack", "export", "--stack", MAIN]);
  for (const secret of [env.DATABASE_PASSWORD, env.REDIS_PASSWORD, env.WEAVIATE_API_KEY, env.LAMBDA_API_KEY])
    expect(state).not.toContain(secret);
});

test("2. open: the PR stack comes up, and main is previewed and priced with the PR's stack file", async () => {
  const up = await script("pr-stack.ts", ["up", ID]);
  expect([up.code, lastLine(up.stdout)]).toEqual([0, GATE_PASSED]);
  expect(up.stderr).toContain(`[pr-stack] Pulumi.${PR_STACK}.yaml written from Pulumi.${PR_BASE}.yaml\n`);
  expect(await liveInstances()).toEqual({
    [`orchestra-${MAIN}-app`]: "active",
    [`orchestra-${PR_STACK}-app`]: "active",
  });

  // The pull request adds a node to main's layer.
  writeFileSync(join(PROJECT_ROOT, `Pulumi.${MAIN}.yaml`), stackFile(0, worker("cpu_4x_general")));
  const preview = await script("preview.ts", [
    "--stacks",
    `${MAIN},integration`,
    "--comment-file",
    COMMENT_FILE,
  ]);
  expect(preview.code).toBe(0);
  const comment = readFileSync(COMMENT_FILE, "utf8");
  writeFileSync(join(PROJECT_ROOT, ".tmp", "pipeline-e2e-comment.md"), comment.replaceAll(ID, "<pid>"));
  expect(comment.split("\n").slice(0, 10)).toEqual([
    MARKER,
    "## Pulumi preview",
    "",
    "**Status: ✅ passed**",
    "",
    "| stack | preview | changes |",
    "| --- | --- | --- |",
    // The worker node's instance, readiness command and Docker provider; the StackReference read.
    `| ${MAIN} | passed | 3 to create, 24 unchanged, 1 read |`,
    "| integration | not deployed | priced from its stack file only |",
    "",
  ]);
  expect(comment).toContain(`| ${MAIN} | ⚠️ WARNING | $0.40 | $292.00 | +$146.00 | $300.00 (97.33%) |`);
  expect(comment).toContain(
    "| worker | cpu_4x_general | us-west-1 | always-on | $0.20 | $146.00 | +$146.00 |",
  );
  // A preview changes nothing: main still has one node.
  expect(Object.keys(await liveInstances()).sort()).toEqual([
    `orchestra-${MAIN}-app`,
    `orchestra-${PR_STACK}-app`,
  ]);
});

test("3. a change over the budget fails the check, and the comment says why", async () => {
  writeFileSync(join(PROJECT_ROOT, `Pulumi.${MAIN}.yaml`), stackFile(0, worker("gpu_1x_a10")));
  try {
    const preview = await script("preview.ts", ["--stacks", MAIN, "--comment-file", COMMENT_FILE]);
    expect(preview.code).toBe(1);
    expect(lastLine(preview.stderr)).toBe(
      `[preview] comment written to ${COMMENT_FILE}; failed: ${MAIN}: preview failed; ${MAIN}: over budget`,
    );
    const comment = readFileSync(COMMENT_FILE, "utf8");
    expect(comment).toContain(`**Status: ❌ failed** (${MAIN}: preview failed; ${MAIN}: over budget)`);
    expect(comment).toMatch(
      new RegExp(
        `\\| ${MAIN} \\| ❌ failed \\| Projected cost \\$1,087\\.70/month \\(730 h\\) is 362\\.56% of the monthly budget \\$300\\.00; deployments fail at 100%`,
      ),
    );
  } finally {
    // Back to the pull request's change that passed, for the merge.
    writeFileSync(join(PROJECT_ROOT, `Pulumi.${MAIN}.yaml`), stackFile(0, worker("cpu_4x_general")));
  }
});

test("4. merge: deploy.ts brings main to the PR's stack file and runs the health gate again", async () => {
  const deploy = await script("deploy.ts", [MAIN]);
  expect([deploy.code, lastLine(deploy.stdout)]).toEqual([0, GATE_PASSED]);
  expect(deploy.stderr).toContain(
    `[deploy] pulumi up --stack ${MAIN} (the health gate's check replaced, so it runs again)\n`,
  );
  expect(await liveInstances()).toEqual({
    [`orchestra-${MAIN}-app`]: "active",
    [`orchestra-${MAIN}-worker`]: "active",
    [`orchestra-${PR_STACK}-app`]: "active",
  });
});

test("5. close: the PR stack is destroyed and removed; closing again is a no-op", async () => {
  const down = await script("pr-stack.ts", ["down", ID]);
  expect([down.code, lastLine(down.stdout)]).toEqual([0, `stack ${PR_STACK} destroyed and removed`]);
  expect(await pulumi(["stack", "ls", "--json"])).not.toContain(PR_STACK);
  expect(Object.keys(await liveInstances()).sort()).toEqual([
    `orchestra-${MAIN}-app`,
    `orchestra-${MAIN}-worker`,
  ]);
  expect(containerNames().filter((name) => name.startsWith(`orchestra-${PR_STACK}-`))).toEqual([]);
  const again = await script("pr-stack.ts", ["down", ID]);
  expect([again.code, again.stdout]).toEqual([0, `no stack ${PR_STACK}: nothing to destroy\n`]);
});

test("6. with main destroyed too, nothing is left: no stack, lock, instance or container", async () => {
  await pulumi(["destroy", "--stack", MAIN, "--yes", "--skip-preview"]);
  await pulumi(["stack", "rm", MAIN, "--yes"]);
  expect(JSON.parse(await pulumi(["stack", "ls", "--json"]))).toEqual([]);
  expect(
    (await bucketKeys()).filter(
      (key) => key.startsWith(".pulumi/locks/") || /^\.pulumi\/stacks\/.*\.json$/.test(key),
    ),
  ).toEqual([]);
  expect(await liveInstances()).toEqual({});
  expect(containerNames()).toEqual([]);
});
