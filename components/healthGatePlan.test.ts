/**
 * Pure tier, with a real shell: the health gate script against a loopback HTTP server. It passes
 * when every endpoint answers, and fails naming exactly the services that never did.
 */
import { execFile } from "child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "fs";
import { createServer, type Server } from "http";
import type { AddressInfo } from "net";
import { tmpdir } from "os";
import { join } from "path";
import { healthGateScript, shellQuote } from "./healthGatePlan";

let server: Server;
let base = "";

beforeAll(async () => {
  server = createServer((request, response) => {
    response.statusCode = request.url?.split("?")[0] === "/healthy" ? 200 : 503;
    response.end();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(() => new Promise((resolve) => server.close(resolve)));

function run(script: string, cwd?: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile("sh", ["-c", script], { cwd }, (error, stdout, stderr) =>
      resolve({ code: error === null ? 0 : Number(error.code), stdout, stderr }),
    );
  });
}

const FAST = { attempts: 2, intervalSeconds: 0, requestTimeoutSeconds: 2 };

test("passes and prints one line per service when all answer", async () => {
  const result = await run(
    healthGateScript(
      [
        { service: "api", url: `${base}/healthy` },
        { service: "mcp-memory", url: `${base}/healthy` },
      ],
      FAST,
    ),
  );
  expect(result).toEqual({
    code: 0,
    stdout: `healthy: api (${base}/healthy)\nhealthy: mcp-memory (${base}/healthy)\nhealth gate passed: 2 service(s) healthy\n`,
    stderr: "",
  });
});

test("fails naming every service that never answered", async () => {
  const result = await run(
    healthGateScript(
      [
        { service: "api", url: `${base}/healthy` },
        { service: "mcp-git", url: `${base}/broken` },
        { service: "mcp-code", url: "http://127.0.0.1:1/health" },
      ],
      FAST,
    ),
  );
  expect(result).toEqual({
    code: 1,
    stdout: `healthy: api (${base}/healthy)\n`,
    stderr:
      "health gate failed: mcp-git mcp-code did not answer healthy within 2 checks 0 s apart (see docker logs <container> on the app host)\n",
  });
});

test("a `?` or `*` in a URL is probed as written, never expanded against file names", async () => {
  const url = `${base}/healthy?probe=*`;
  // A file the unquoted `$pending` would glob to without `set -f`: "api=http://127.0.0.1:<port>/healthyXprobe=Y".
  const cwd = mkdtempSync(join(tmpdir(), "health-gate-"));
  try {
    const dir = join(cwd, `api=${base}`.replace("//", "/"));
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, "healthyXprobe=Y"), "");
    expect(await run(healthGateScript([{ service: "api", url }], FAST), cwd)).toEqual({
      code: 0,
      stdout: `healthy: api (${url})\nhealth gate passed: 1 service(s) healthy\n`,
      stderr: "",
    });
  } finally {
    rmSync(cwd, { recursive: true, force: true });
  }
});

test("refuses endpoints it cannot quote safely", () => {
  expect(() => healthGateScript([])).toThrow("the health gate needs at least one endpoint");
  expect(() => healthGateScript([{ service: "api", url: "http://x/'; rm -rf /" }])).toThrow(
    `health gate: api has no usable URL ("http://x/'; rm -rf /")`,
  );
  expect(() => healthGateScript([{ service: "a b", url: "http://x/" }])).toThrow(
    'health gate: service key "a b" is not a plain name',
  );
  expect(shellQuote("it's")).toBe(`'it'\\''s'`);
});
