/**
 * The runner's argv for host mounts and files, without an engine: `docker` is `true`, which
 * accepts every command and prints nothing, so `runner.commands` is exactly what the runner asked
 * for. What the files hold once inside a container is proved on the engine (dockerRunner.docker.test.ts).
 */
import { readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import type { ContainerSpec } from "../../components/containerSpec";
import { bindMountFlag, DockerRunner, renderContainerFile } from "./dockerRunner";

function spec(overrides: Partial<ContainerSpec> = {}): ContainerSpec {
  return {
    service: "prometheus",
    containerName: "t-prometheus",
    image: "orchestra-standin/prometheus:2.42",
    env: {},
    secretEnv: {},
    secretEnvTemplates: {},
    ports: [],
    healthCheck: {
      test: ["CMD", "true"],
      intervalSeconds: 5,
      timeoutSeconds: 3,
      retries: 3,
      startPeriodSeconds: 0,
    },
    restart: "no",
    memoryMiB: 256,
    cpus: 1,
    volumes: [],
    ...overrides,
  };
}

const HOOK = 'https://hooks.example.test/T0/B1?token="q"\\z';

/** Temporary directories the runner made for `runId` still on disk. */
const leftoverDirs = (runId: string) =>
  readdirSync(tmpdir()).filter((name) => name.startsWith(`orchestra-${runId}-`));

test("a host mount becomes one --mount bind flag, read-only when asked; a comma or quote is refused", () => {
  expect(bindMountFlag({ hostPath: "/proc", containerPath: "/host/proc", readOnly: true })).toBe(
    "type=bind,source=/proc,target=/host/proc,readonly",
  );
  expect(bindMountFlag({ hostPath: "/srv/data", containerPath: "/data", readOnly: false })).toBe(
    "type=bind,source=/srv/data,target=/data",
  );
  expect(() => bindMountFlag({ hostPath: "/a,b", containerPath: "/x", readOnly: true })).toThrow(
    `bind mount path "/a,b" holds "," or '"', which --mount cannot carry`,
  );
  expect(() => bindMountFlag({ hostPath: "/a", containerPath: '/x"', readOnly: true })).toThrow(
    `bind mount path "/x"" holds "," or '"', which --mount cannot carry`,
  );
});

test("a file's addresses are filled, then its secrets rendered as JSON strings", () => {
  const content = "self: {privateIp}\ndata: {privateIp:data}:9100\nurl: {secret:alertWebhookUrl}\n";
  expect(
    renderContainerFile(
      "t-am",
      { path: "/etc/alertmanager/alertmanager.yml", content },
      { alertWebhookUrl: HOOK },
      { "{privateIp}": "10.0.0.4", "{privateIp:data}": "10.0.0.5" },
    ),
  ).toBe(`self: 10.0.0.4\ndata: 10.0.0.5:9100\nurl: "https://hooks.example.test/T0/B1?token=\\"q\\"\\\\z"\n`);
});

test("a file with a placeholder left unfilled, a missing or unknown secret, or a relative path is refused, naming no value", () => {
  const file = (content: string, path = "/etc/x.yml") => ({ path, content });
  expect(() =>
    renderContainerFile("t-p", file("a: {privateIp:gpu-1}\n"), {}, { "{privateIp}": "10.0.0.4" }),
  ).toThrow(
    "t-p: placeholder {privateIp:gpu-1} left unfilled in file /etc/x.yml; pass its value in placeholders",
  );
  expect(() => renderContainerFile("t-p", file("a: {dataHost}\n"), {}, {})).toThrow(
    "t-p: placeholder {dataHost} left unfilled in file /etc/x.yml; pass its value in placeholders",
  );
  expect(() => renderContainerFile("t-p", file("a: {secret:alertWebhookUrl}\n"), {}, {})).toThrow(
    "t-p: file /etc/x.yml: no value for {secret:alertWebhookUrl} in a container file",
  );
  expect(() => renderContainerFile("t-p", file("a: {secret:apiToken}\n"), {}, {})).toThrow(
    "t-p: file /etc/x.yml: unknown secret placeholder {secret:apiToken} in a container file",
  );
  expect(() => renderContainerFile("t-p", file("a: 1\n", "etc/x.yml"), {}, {})).toThrow(
    't-p: file path "etc/x.yml" must be absolute',
  );
});

test("a spec with files is created, copied into and started with the flags `run` gets; its temporary files are gone", async () => {
  const mounts = [{ hostPath: "/proc", containerPath: "/host/proc", readOnly: true }];
  const files = [
    { path: "/etc/prometheus/prometheus.yml", content: "targets: ['{privateIp}:9100']\n" },
    { path: "/etc/prometheus/hook.yml", content: "url: {secret:alertWebhookUrl}\n" },
  ];
  const secrets = { alertWebhookUrl: HOOK };
  const placeholders = { "{privateIp}": "10.0.0.4" };
  const runner = new DockerRunner({ runId: "unit-files", docker: "true" });
  await runner.start({ networkName: "t-net", containers: [spec({ mounts, files })] }, secrets, placeholders);
  // The same spec without files, for the flags it would run with.
  const plain = new DockerRunner({ runId: "unit-files", docker: "true" });
  await plain.start({ networkName: "t-net", containers: [spec({ mounts })] }, secrets, placeholders);

  expect(runner.commands.map((argv) => argv.slice(0, 2))).toEqual([
    ["network", "create"],
    ["create", "--pull"],
    ["cp", expect.stringMatching(/\/orchestra-unit-files-file-[^/]+\/content$/)],
    ["cp", expect.stringMatching(/\/orchestra-unit-files-file-[^/]+\/content$/)],
    ["start", "t-prometheus"],
  ]);
  const [, create, cp1, cp2] = runner.commands;
  const [, run] = plain.commands;
  expect(run.slice(0, 2)).toEqual(["run", "--detach"]);
  expect(create.slice(1)).toEqual(run.slice(2));
  expect(create.slice(create.indexOf("--mount"), create.indexOf("--mount") + 2)).toEqual([
    "--mount",
    "type=bind,source=/proc,target=/host/proc,readonly",
  ]);
  expect(cp1[2]).toBe("t-prometheus:/etc/prometheus/prometheus.yml");
  expect(cp2[2]).toBe("t-prometheus:/etc/prometheus/hook.yml");
  expect(JSON.stringify(runner.commands)).not.toContain("hooks.example.test");
  expect(leftoverDirs("unit-files")).toEqual([]);
});

test("a {privateIp:<node>} or {secret:<name>} left in args is refused before docker runs", async () => {
  const runner = new DockerRunner({ runId: "unit-unfilled", docker: "true" });
  await expect(
    runner.start(
      { networkName: "t-net", containers: [spec({ env: { TARGET: "{privateIp:data}:9100" } })] },
      {},
    ),
  ).rejects.toThrow(
    't-prometheus: placeholder left unfilled in "TARGET={privateIp:data}:9100"; pass its value in placeholders',
  );
  await expect(
    runner.start(
      {
        networkName: "t-net",
        containers: [spec({ command: ["--web.external-url={secret:alertWebhookUrl}"] })],
      },
      {},
    ),
  ).rejects.toThrow(
    't-prometheus: placeholder left unfilled in "--web.external-url={secret:alertWebhookUrl}"; pass its value in placeholders',
  );
  expect(runner.commands.map((argv) => argv[0])).toEqual(["network"]);
});

test("a secret as a file renders it (JSON-escaped) is refused on argv too", async () => {
  const runner = new DockerRunner({ runId: "unit-escaped", docker: "true" });
  const escaped = JSON.stringify(HOOK).slice(1, -1);
  await expect(
    runner.start(
      { networkName: "t-net", containers: [spec({ env: { URL: escaped } })] },
      { alertWebhookUrl: HOOK },
    ),
  ).rejects.toThrow("refusing to put a secret on docker's command line (run)");
});
