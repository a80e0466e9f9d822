/**
 * Pulumi's DIY backend in an S3-compatible bucket, on the real CLI: the local server
 * (scripts/s3-server.sh, versitygw) in a temporary directory, a bucket made with @aws-sdk/client-s3,
 * `pulumi login s3://...` with the endpoint and path-style options such a server needs, and a tiny
 * program whose one resource (a dynamic provider) takes 8 s to create, so a second `up` started
 * meanwhile meets the first one's lock. Secrets provider: the passphrase. The steps run in order.
 */
import { execFile } from "child_process";
import { mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, statSync, writeFileSync } from "fs";
import { hostname, tmpdir, userInfo } from "os";
import { join } from "path";
import { CreateBucketCommand, GetObjectCommand, ListObjectsV2Command, S3Client } from "@aws-sdk/client-s3";
import { LocalWorkspace, Stack, type UpResult } from "@pulumi/pulumi/automation";
import type { CommandOutcome } from "./automation";
import { startS3Server, stopS3Server } from "../testing/s3Server";
import { childrenRunning, killTree } from "./processTree";
import { buildToolchain, PROJECT_ROOT, toolchainCommand, type Toolchain } from "./toolchain";

// A cold toolchain (Pulumi ~5 min, versitygw ~5 min) on 2 busy cores; the steps take under a minute.
jest.setTimeout(30 * 60 * 1000);

const RUN_ID = `s3probe${process.pid}`;
const PROJECT = "s3-backend-probe";
const STACK = "dev";
const BUCKET = `orchestra-state-${process.pid}`;
// Inside the checkout (.tmp/ is ignored by git) so the program resolves the project's node_modules.
const PROGRAM_DIR = join(PROJECT_ROOT, ".tmp", `s3-backend-${RUN_ID}`);
/** One line per create the provider ran: the refused `up` must add none. */
const CREATES_LOG = join(PROGRAM_DIR, "creates.log");
const PROGRAM = `"use strict";
const pulumi = require("@pulumi/pulumi");
// Stands for a resource that takes a while to create, so a second up meets the first one's lock.
const slow = {
  async create(inputs) {
    require("fs").appendFileSync(inputs.log, "created\\n");
    await new Promise((resolve) => setTimeout(resolve, inputs.seconds * 1000));
    return { id: "slow-1", outs: inputs };
  },
};
const resource = new pulumi.dynamic.Resource(slow, "slow", { seconds: 8, log: ${JSON.stringify(CREATES_LOG)} });
exports.id = resource.id;
`;

let serverDir: string;
let pulumiHome: string;
let toolchain: Toolchain;
let server: Record<string, string>;
let loginUrl: string;
let s3: S3Client;
let stack: Stack;
let env: Record<string, string>;
/** Everything the CLI printed, to search for the server's secret. */
const transcript: string[] = [];

/** `pulumi <args>` in the program's directory with the test's environment; never rejects. */
function pulumi(args: string[]): Promise<CommandOutcome> {
  return new Promise((resolve) => {
    execFile(
      join(toolchain.root, "bin", "pulumi"),
      [...args, "--non-interactive"],
      { cwd: PROGRAM_DIR, env: { ...process.env, ...env }, maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => {
        transcript.push(stdout, stderr);
        const code = error === null ? 0 : typeof error.code === "number" ? error.code : null;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

/** The bucket's keys, sorted. */
async function keys(prefix = ""): Promise<string[]> {
  const listed = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: prefix }));
  return (listed.Contents ?? []).map((object) => object.Key as string).sort();
}

/** Keys with Pulumi's nanosecond timestamps and lock ids replaced, so a listing can be pinned. */
async function keyShapes(): Promise<string[]> {
  return (await keys()).map((key) =>
    key.replace(/\d{19}/g, "<ns>").replace(/[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}/g, "<uuid>"),
  );
}

async function readObject(key: string): Promise<string> {
  const object = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
  return (await object.Body?.transformToString()) ?? "";
}

/** Polls until a key under `prefix` exists (every 100 ms); rejects after `timeoutMs`. */
async function waitForKeys(prefix: string, timeoutMs: number): Promise<string[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = await keys(prefix);
    if (found.length > 0) return found;
    if (Date.now() > deadline) throw new Error(`no key under ${prefix} within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** This test's `pulumi` processes running now (its own PULUMI_HOME tells them from others'). */
function pulumiPids(): number[] {
  const executable = realpathSync(join(toolchain.root, "bin", "pulumi"));
  return childrenRunning(process.pid, executable, `PULUMI_HOME=${pulumiHome}`);
}

beforeAll(async () => {
  toolchain = buildToolchain();
  serverDir = mkdtempSync(join(tmpdir(), "orchestra-s3-"));
  // A PULUMI_HOME of its own: `pulumi login` writes the backend there, never into the toolchain's
  // (the program needs no plugin from it: the language host and the dynamic provider are on PATH).
  pulumiHome = mkdtempSync(join(tmpdir(), "orchestra-s3-home-"));
  server = startS3Server(serverDir);
  const port = new URL(server.S3_ENDPOINT).port;
  loginUrl = `s3://${BUCKET}?endpoint=http://127.0.0.1:${port}&use_path_style=true&region=us-east-1`;
  const credentials = {
    accessKeyId: server.AWS_ACCESS_KEY_ID,
    secretAccessKey: server.AWS_SECRET_ACCESS_KEY,
  };
  s3 = new S3Client({
    endpoint: server.S3_ENDPOINT,
    region: server.AWS_REGION,
    forcePathStyle: true,
    credentials,
  });
  await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
  mkdirSync(PROGRAM_DIR, { recursive: true });
  writeFileSync(join(PROGRAM_DIR, "Pulumi.yaml"), `name: ${PROJECT}\nruntime: nodejs\nmain: index.js\n`);
  writeFileSync(join(PROGRAM_DIR, "index.js"), PROGRAM);
  env = {
    ...toolchain.env,
    PULUMI_HOME: pulumiHome,
    // Empty reads as unset: the backend is the one `pulumi login` stored, not one from outside.
    PULUMI_BACKEND_URL: "",
    PULUMI_CONFIG_PASSPHRASE: `s3-e2e-passphrase-${process.pid}`,
    AWS_ACCESS_KEY_ID: server.AWS_ACCESS_KEY_ID,
    AWS_SECRET_ACCESS_KEY: server.AWS_SECRET_ACCESS_KEY,
    AWS_REGION: server.AWS_REGION,
  };
});

afterAll(async () => {
  // A step that failed or timed out mid-command leaves its pulumi (and plugins) running.
  if (toolchain !== undefined && pulumiHome !== undefined) for (const pid of pulumiPids()) killTree(pid);
  s3?.destroy();
  try {
    if (serverDir !== undefined) stopS3Server(serverDir);
  } finally {
    for (const dir of [serverDir, pulumiHome, PROGRAM_DIR])
      if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  }
});

test("1. the server listens on loopback with its secret on no command line; login and stack init put the stack in the bucket", async () => {
  expect(statSync(join(serverDir, "s3.env")).mode & 0o777).toBe(0o600);
  expect(Object.keys(server)).toEqual([
    "S3_ENDPOINT",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_REGION",
  ]);
  expect(server.S3_ENDPOINT).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  expect(server.AWS_REGION).toBe("us-east-1");
  const serverPid = readFileSync(join(serverDir, "s3.pid"), "utf8").trim();
  const commandLine = readFileSync(`/proc/${serverPid}/cmdline`, "utf8").split("\0").filter(Boolean);
  expect(commandLine.slice(1)).toEqual([
    "--port",
    `127.0.0.1:${new URL(server.S3_ENDPOINT).port}`,
    "posix",
    join(serverDir, "data"),
  ]);

  const login = await pulumi(["login", loginUrl]);
  expect(login).toEqual({
    code: 0,
    stdout: `Logged in to ${hostname()} as ${userInfo().username} (${loginUrl})\n`,
    stderr: "",
  });
  expect((await pulumi(["whoami", "--verbose"])).stdout).toContain(`Backend URL: ${loginUrl}\n`);

  const workspace = await LocalWorkspace.create({
    workDir: PROGRAM_DIR,
    pulumiCommand: await toolchainCommand(toolchain),
    pulumiHome,
    envVars: env,
    secretsProvider: "passphrase",
  });
  stack = await Stack.create(STACK, workspace);
  expect(await keys()).toEqual([
    ".pulumi/meta.yaml",
    `.pulumi/stacks/${PROJECT}/${STACK}.json`,
    `.pulumi/stacks/${PROJECT}/${STACK}.json.bak`,
  ]);
});

test("2. while an up runs its lock is in the bucket, and a second up of the stack is refused by it", async () => {
  let firstOutput = "";
  const first: Promise<UpResult> = stack.up({ onOutput: (text) => (firstOutput += text) });
  first.catch(() => undefined); // awaited below; a failure must not go unhandled meanwhile
  try {
    const locks = await waitForKeys(".pulumi/locks/", 30_000);
    expect(locks).toHaveLength(1);
    expect(locks[0]).toMatch(
      new RegExp(
        `^\\.pulumi/locks/organization/${PROJECT}/${STACK}/[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}\\.json$`,
      ),
    );
    const lock = JSON.parse(await readObject(locks[0])) as {
      pid: number;
      username: string;
      hostname: string;
      timestamp: string;
    };
    expect(pulumiPids()).toEqual([lock.pid]);
    expect([lock.username, lock.hostname]).toEqual([userInfo().username, hostname()]);

    const second = await pulumi(["up", "--yes", "--skip-preview", "--stack", STACK]);
    // The lock's URL is the login URL with the lock's key as its path; the time is Go's RFC 3339.
    const [base, query] = loginUrl.split("?");
    const at = lock.timestamp.replace(/\.\d+/, "");
    expect(second).toEqual({
      code: 1,
      stdout: "",
      stderr:
        "error: the stack is currently locked by 1 lock(s). Either wait for the other process(es) to end " +
        "or delete the lock file with `pulumi cancel`.\n" +
        `  ${base}/${locks[0]}?${query}: created by ${lock.username}@${lock.hostname} (pid ${lock.pid}) at ${at}\n`,
    });
  } finally {
    // The first up ends before anything else, however this step failed: its lock would refuse the next.
    await Promise.allSettled([first]);
  }

  const result = await first;
  transcript.push(firstOutput);
  expect(result.summary.result).toBe("succeeded");
  expect(result.summary.resourceChanges).toEqual({ create: 2 });
  expect(result.outputs.id.value).toBe("slow-1");
  // The refused up ran no create: the provider ran once, for the first.
  expect(readFileSync(CREATES_LOG, "utf8")).toBe("created\n");
  expect(await keys(".pulumi/locks/")).toEqual([]);
  expect(await keyShapes()).toEqual([
    `.pulumi/backups/${PROJECT}/${STACK}/${STACK}.<ns>.json`,
    `.pulumi/history/${PROJECT}/${STACK}/${STACK}-<ns>.checkpoint.json`,
    `.pulumi/history/${PROJECT}/${STACK}/${STACK}-<ns>.history.json`,
    ".pulumi/meta.yaml",
    `.pulumi/stacks/${PROJECT}/${STACK}.json`,
    `.pulumi/stacks/${PROJECT}/${STACK}.json.bak`,
  ]);

  // The stack's state object holds the resource, under the passphrase secrets provider.
  const state = JSON.parse(await readObject(`.pulumi/stacks/${PROJECT}/${STACK}.json`)) as {
    checkpoint: {
      latest: {
        secrets_providers: { type: string };
        resources: { type: string; id?: string }[];
      };
    };
  };
  expect(state.checkpoint.latest.secrets_providers.type).toBe("passphrase");
  expect(state.checkpoint.latest.resources.map((resource) => [resource.type, resource.id ?? null])).toEqual([
    ["pulumi:pulumi:Stack", null],
    ["pulumi:providers:pulumi-nodejs", expect.any(String)],
    ["pulumi-nodejs:dynamic:Resource", "slow-1"],
  ]);
});

test("3. destroy and stack rm leave no stack and no lock object; no output shows the server's secret", async () => {
  const destroyed = await stack.destroy({ onOutput: (text) => transcript.push(text) });
  expect(destroyed.summary.resourceChanges).toEqual({ delete: 2 });
  await stack.workspace.removeStack(STACK);
  // What stays is Pulumi's: the backups of each update's state and the removed stack's .bak.
  expect(await keyShapes()).toEqual([
    `.pulumi/backups/${PROJECT}/${STACK}/${STACK}.<ns>.json`,
    `.pulumi/backups/${PROJECT}/${STACK}/${STACK}.<ns>.json`,
    ".pulumi/meta.yaml",
    `.pulumi/stacks/${PROJECT}/${STACK}.json.bak`,
  ]);
  expect((await pulumi(["stack", "ls"])).stdout).toBe("NAME  LAST UPDATE  RESOURCE COUNT\n");
  expect(transcript.join("\n")).not.toContain(server.AWS_SECRET_ACCESS_KEY);
});
