/**
 * Services tier, the runner itself: an unhealthy container fails the wait with its name and last
 * health output, a secret on argv is refused, teardown removes everything even after a failure, and
 * a spec's files and host mounts are in place when the container starts.
 */
import { chmodSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ContainerSpec } from "../../components/containerSpec";
import { healthCmdString, uniqueRunId } from "./dockerCli";
import { DockerRunner } from "./dockerRunner";

const IMAGE = "orchestra-standin/mcp:test";

function spec(
  runId: string,
  service: string,
  test: readonly string[],
  overrides: Partial<ContainerSpec> = {},
): ContainerSpec {
  return {
    service,
    containerName: `${runId}-${service}`,
    image: IMAGE,
    env: { MCP_SERVER_PORT: "8003", MCP_SERVER_NAME: service },
    secretEnv: {},
    secretEnvTemplates: {},
    ports: [],
    healthCheck: { test, intervalSeconds: 1, timeoutSeconds: 2, retries: 2, startPeriodSeconds: 0 },
    restart: "no",
    memoryMiB: 128,
    cpus: 0.5,
    volumes: [{ volumeName: `${runId}-${service}-data`, containerPath: "/data" }],
    ...overrides,
  };
}

test("exec-form health checks become the same words quoted for /bin/sh", () => {
  expect(
    healthCmdString([
      "CMD",
      "python3",
      "-c",
      "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8003/health', timeout=4)",
    ]),
  ).toBe(
    "python3 -c 'import urllib.request; urllib.request.urlopen('\\''http://127.0.0.1:8003/health'\\'', timeout=4)'",
  );
  expect(healthCmdString(["CMD-SHELL", "pg_isready -h 127.0.0.1"])).toBe("pg_isready -h 127.0.0.1");
  expect(() => healthCmdString(["NONE"])).toThrow('unsupported health check test ["NONE"]');
});

test("an unhealthy container fails the wait, named, with its last health output; teardown still cleans up", async () => {
  const runId = uniqueRunId("runner");
  const runner = new DockerRunner({ runId });
  const good = spec(runId, "good", [
    "CMD",
    "python3",
    "-c",
    "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8003/health', timeout=2)",
  ]);
  const bad = spec(runId, "bad", ["CMD-SHELL", "echo 'no such endpoint' >&2; exit 3"]);
  try {
    await runner.start({ networkName: `${runId}-net`, containers: [good, bad] }, {});
    const wait = runner.waitHealthy([good.containerName, bad.containerName], 60_000, 250);
    await expect(wait).rejects.toThrow(
      new RegExp(
        `^container ${bad.containerName} is unhealthy \\(state running, restarts 0\\); ` +
          `last health check exited 3: "no such endpoint"; last log lines: \\["mcp:bad stand-in listening on 0.0.0.0:8003 \\(pid 1\\)"\\]$`,
      ),
    );
    expect((await runner.inspect(good.containerName)).State.Health?.Status).toBe("healthy");
    expect(await runner.leftovers()).toEqual({
      containers: [bad.containerName, good.containerName].sort(),
      networks: [`${runId}-net`],
      volumes: [`${runId}-bad-data`, `${runId}-good-data`],
    });
  } finally {
    await runner.teardown();
  }
  expect(await runner.leftovers()).toEqual({ containers: [], networks: [], volumes: [] });
}, 120_000);

test("a secret is never put on docker's argv, and a failed run is still torn down", async () => {
  const runId = uniqueRunId("runner");
  const runner = new DockerRunner({ runId });
  const password = `s3cret-${Date.now()}`;
  const leaky = spec(runId, "leaky", ["CMD", "true"], {
    secretEnv: { POSTGRES_PASSWORD: "databasePassword" },
    command: ["sh", "-c", `echo ${password}`],
  });
  try {
    await expect(
      runner.start({ networkName: `${runId}-net`, containers: [leaky] }, { databasePassword: password }),
    ).rejects.toThrow("refusing to put a secret on docker's command line (run)");
    expect(JSON.stringify(runner.commands)).not.toContain(password);
    expect(runner.commands.map((argv) => argv.slice(0, 2))).toEqual([
      ["network", "create"],
      ["volume", "create"],
    ]);
  } finally {
    await runner.teardown();
  }
  expect(await runner.leftovers()).toEqual({ containers: [], networks: [], volumes: [] });
});

test("a missing image fails `docker run` with the engine's message, and nothing is left behind", async () => {
  const runId = uniqueRunId("runner");
  const runner = new DockerRunner({ runId });
  const missing = spec(runId, "missing", ["CMD", "true"], { image: "orchestra-standin/does-not-exist:1" });
  try {
    await expect(runner.start({ networkName: `${runId}-net`, containers: [missing] }, {})).rejects.toThrow(
      "docker run --detach failed: docker: Error response from daemon: No such image: orchestra-standin/does-not-exist:1",
    );
  } finally {
    await runner.teardown();
  }
  expect(await runner.leftovers()).toEqual({ containers: [], networks: [], volumes: [] });
});

test("a spec's files are in the container at its first start, root-owned 0644 and readable by any user; a read-only host mount is read-only", async () => {
  const runId = uniqueRunId("runner");
  const runner = new DockerRunner({ runId });
  const hook = `https://hooks.example.test/${Date.now()}?q="a"\\b`;
  const hostDir = mkdtempSync(join(tmpdir(), "orchestra-runner-mount-"));
  // Readable by the container's user (nobody); only the mount may stop root from writing.
  chmodSync(hostDir, 0o755);
  writeFileSync(join(hostDir, "hello"), "from the host\n", { mode: 0o644 });
  const withFiles = spec(runId, "files", ["CMD", "test", "-r", "/opt/standin/config.yml"], {
    // The process reads its file at start, as Prometheus does: it exits at once if the file is missing.
    command: ["sh", "-c", "cat /opt/standin/config.yml >/dev/null && exec python3 -u /opt/standin/server.py"],
    user: "65534:65534",
    mounts: [{ hostPath: hostDir, containerPath: "/mnt/host", readOnly: true }],
    files: [
      { path: "/opt/standin/config.yml", content: "self: {privateIp:app}\nurl: {secret:alertWebhookUrl}\n" },
    ],
  });
  try {
    await runner.start(
      { networkName: `${runId}-net`, containers: [withFiles] },
      { alertWebhookUrl: hook },
      {
        "{privateIp:app}": "10.0.0.7",
      },
    );
    await runner.waitHealthy([withFiles.containerName], 60_000, 250);
    const exec = (...argv: string[]) => runner.run(["exec", withFiles.containerName, ...argv]);
    expect(await exec("cat", "/opt/standin/config.yml")).toBe(
      `self: 10.0.0.7\nurl: ${JSON.stringify(hook)}\n`,
    );
    expect(await exec("stat", "-c", "%U:%G %a", "/opt/standin/config.yml")).toBe("root:root 644\n");
    expect(await exec("cat", "/mnt/host/hello")).toBe("from the host\n");
    await expect(
      runner.run(["exec", "--user", "0", withFiles.containerName, "touch", "/mnt/host/new"]),
    ).rejects.toThrow("Read-only file system");
    // Created, copied into, then started (the `container inspect` calls of the wait left out).
    expect(runner.commands.map((argv) => argv[0]).filter((verb) => verb !== "container")).toEqual([
      "network",
      "volume",
      "create",
      "cp",
      "start",
      "exec",
      "exec",
      "exec",
      "exec",
    ]);
    expect(JSON.stringify(runner.commands)).not.toContain("hooks.example.test");
    expect(readdirSync(tmpdir()).filter((name) => name.startsWith(`orchestra-${runId}-`))).toEqual([]);
  } finally {
    await runner.teardown();
    rmSync(hostDir, { recursive: true, force: true });
  }
  expect(await runner.leftovers()).toEqual({ containers: [], networks: [], volumes: [] });
}, 120_000);
