/**
 * Pure and process tier: what `.ci/run` counts as left running by the tiers. Real processes are
 * started in a temporary "checkout" and must be found, with what they listen on, and no longer
 * found once stopped; what ran before the snapshot, and another checkout's, are not counted.
 */
import { ChildProcess, spawn } from "child_process";
import { mkdtempSync, realpathSync, rmSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";
import {
  decodeProcNetAddress,
  describeProcess,
  leftoversSince,
  snapshot,
  TIER_PROCESS_NAME,
  tierProcesses,
} from "./leftovers";

let root: string;
/** Checks as a checker that is none of these processes' ancestor would (above Linux's pid limit). */
const CHECKER = 2 ** 22 + 1;
const SCRIPT = (host: string) =>
  `const s = require("net").createServer(); s.listen(0, "${host}", () => console.log(s.address().port));`;
const started: ChildProcess[] = [];

/** A node process that listens on `host` (port 0: any) and prints the port, like a tier's server. */
async function server(
  cwd: string,
  host: string,
  ...args: string[]
): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(process.execPath, ["-e", SCRIPT(host), ...args], {
    cwd,
    stdio: ["ignore", "pipe", "ignore"],
  });
  started.push(child);
  const port = await new Promise<number>((resolve) =>
    child.stdout?.once("data", (chunk: Buffer) => resolve(Number(chunk.toString().trim()))),
  );
  return { child, port };
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  await new Promise<void>((resolve) => {
    child.once("exit", () => resolve());
    child.kill("SIGKILL");
  });
}

beforeEach(() => {
  root = realpathSync(mkdtempSync(join(tmpdir(), "orchestra-leftovers-")));
});

afterEach(async () => {
  await Promise.all(started.splice(0).map(stop));
  rmSync(root, { recursive: true, force: true });
});

test("a server left running in the checkout is found, with the address it listens on", async () => {
  const before = snapshot(root, CHECKER);
  expect(before.processes).toEqual([]);
  const { child, port } = await server(root, "0.0.0.0");
  const left = leftoversSince(root, before, CHECKER).processes;
  expect(left.map((info) => [info.pid, info.name, info.cwd, info.listening])).toEqual([
    [child.pid, "node", root, [`0.0.0.0:${port}`]],
  ]);
  expect(describeProcess(left[0])).toBe(
    `pid ${child.pid} node (cwd ${root}, listening on 0.0.0.0:${port}): ${process.execPath} -e ${SCRIPT("0.0.0.0")}`,
  );
  await stop(child);
  expect(leftoversSince(root, before, CHECKER).processes).toEqual([]);
});

test("one whose command line names the checkout counts wherever it runs (the sandbox sshd runs from /)", async () => {
  const before = snapshot(root, CHECKER);
  const { child, port } = await server("/", "127.0.0.1", `${root}/.sandbox/ssh/sshd_config`);
  expect(leftoversSince(root, before, CHECKER).processes.map((info) => [info.pid, info.listening])).toEqual([
    [child.pid, [`127.0.0.1:${port}`]],
  ]);
});

test("what ran before the snapshot, another checkout's, and the checker's own children do not count", async () => {
  const { child: earlier } = await server(root, "127.0.0.1");
  const before = snapshot(root, CHECKER);
  expect(before.processes).toHaveLength(1);
  await server(tmpdir(), "127.0.0.1", `${root}x/file`); // another checkout whose path starts like ours
  expect(leftoversSince(root, before, CHECKER).processes).toEqual([]);
  expect(tierProcesses(root, undefined, CHECKER).map((info) => info.pid)).toEqual([earlier.pid]);
  // The checker's descendants (tsx's esbuild service) never count: here the test process is the checker.
  expect(tierProcesses(root, undefined, process.pid)).toEqual([]);
});

test("/proc/net addresses decode to what ss would print", () => {
  expect(decodeProcNetAddress("0100007F:08AE")).toBe("127.0.0.1:2222");
  expect(decodeProcNetAddress("00000000:08AE")).toBe("0.0.0.0:2222");
  expect(decodeProcNetAddress("00000000000000000000000000000000:0016")).toBe("[::]:22");
  expect(decodeProcNetAddress("00000000000000000000000001000000:4983")).toBe("[::1]:18819");
});

test("the names that count: what the tiers start, the S3 server included, and nothing else", () => {
  const names = ["node", "tsx", "sshd", "pulumi", "pulumi-resource-docker", "npm", "jest", "versitygw"];
  expect(names.filter((name) => TIER_PROCESS_NAME.test(name))).toEqual(names);
  expect(
    ["dockerd", "containerd", "bash", "versitygw2", "postgres"].filter((name) =>
      TIER_PROCESS_NAME.test(name),
    ),
  ).toEqual([]);
});
