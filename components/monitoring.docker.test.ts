/**
 * Services tier, monitoring: the layer's monitoring plan on a real Docker engine, beside the
 * stores and apps it watches, with Debian's Prometheus 2.42, Alertmanager 0.25, blackbox exporter
 * 0.23 and node_exporter 1.5 in stand-in images (cAdvisor and the DCGM exporter are small stand-ins:
 * no Debian package, no GPU here). Proves: promtool and amtool accept every layer's generated
 * files; Prometheus scrapes every planned target; a stopped MCP server's alert reaches a webhook
 * receiver run by this test within the time the plan promises, and its resolution follows.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { validateStackConfig } from "../stacks/config";
import { stackValues } from "../stacks/configFiles";
import { planLayer } from "../stacks/layerPlan";
import { freePorts, uniqueRunId } from "../infra/testing/dockerCli";
import { STANDIN_IMAGES } from "../infra/testing/standinImages";
import { DockerRunner, fillPlaceholders } from "../infra/testing/dockerRunner";
import { PRIVATE_IP_PLACEHOLDER, renderFileSecrets, type ContainerSpec } from "./containerSpec";
import type { MonitoringPlan } from "./monitoringPlan";
import { nodeExpiryPlaceholder, nodePrivateIpPlaceholder } from "./monitoringTargets";
import { SERVICE_NAMES, type ServiceName } from "./serviceCatalog";

const rand = () => Math.random().toString(36).slice(2, 10);
const SECRETS = {
  databasePassword: `pg-${rand()}`,
  redisPassword: `rd-${rand()}`,
  weaviateApiKey: `wv-${rand()}`,
};
/** The webhook's path carries a token, as a Slack or PagerDuty URL does: it must stay secret. */
const WEBHOOK_TOKEN = `hook-${rand()}${rand()}`;

const runId = uniqueRunId("mon");
const runner = new DockerRunner({
  runId,
  log: (line) => process.stderr.write(`[monitoring ${runId}] ${line}\n`),
});
const HEALTH_TIMEOUT_MS = 180_000;

interface Notification {
  readonly receivedAt: number;
  readonly status: string;
  readonly alerts: { status: string; labels: Record<string, string>; annotations: Record<string, string> }[];
}

let monitoring: MonitoringPlan;
let all: ContainerSpec[];
let port: Record<ServiceName, number>;
let webhook: Server;
const notifications: Notification[] = [];
let expiredAt: number;

const nameOf = (service: ServiceName) => {
  const found = all.find((spec) => spec.service === service);
  if (found === undefined) throw new Error(`no spec for ${service}`);
  return found.containerName;
};

async function getJson<T>(url: string): Promise<T> {
  const response = await fetch(url, { signal: AbortSignal.timeout(10_000) });
  if (!response.ok) throw new Error(`GET ${url}: ${response.status}`);
  return (await response.json()) as T;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The first notification after `since` whose alerts include `alertname` for `service` with `status`. */
async function waitForNotification(
  since: number,
  alertname: string,
  service: string | undefined,
  status: "firing" | "resolved",
  timeoutMs: number,
): Promise<Notification> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = notifications.find(
      (n) =>
        n.receivedAt >= since &&
        n.alerts.some(
          (a) => a.status === status && a.labels.alertname === alertname && a.labels.service === service,
        ),
    );
    if (found !== undefined) return found;
    if (Date.now() > deadline)
      throw new Error(
        `no ${status} ${alertname} for ${service} within ${timeoutMs / 1000} s; received: ${JSON.stringify(
          notifications.map((n) => [
            n.status,
            n.alerts.map((a) => [a.labels.alertname, a.labels.service, a.status]),
          ]),
        )}`,
      );
    await sleep(250);
  }
}

beforeAll(async () => {
  const ports = await freePorts(SERVICE_NAMES.length + 1);
  const webhookPort = ports[SERVICE_NAMES.length];
  // A staging stack with monitoring on, its stores on the app node (one Docker host, one network),
  // probing every 5 s so the alert test takes seconds, not minutes.
  const config = validateStackConfig({
    layer: "staging",
    sshPublicKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIServicesTier services-tier",
    allowedCidrs: ["203.0.113.0/24"],
    nodes: { app: { role: "app", instanceType: "gpu_1x_a10", regions: ["us-west-1"] } },
    images: STANDIN_IMAGES,
    ports: Object.fromEntries(SERVICE_NAMES.map((service, i) => [service, ports[i]])),
    monitoring: { enabled: true, probeIntervalSeconds: 5, groupWaitSeconds: 5, groupIntervalSeconds: 10 },
    // No bucket here: backups have their own services-tier test.
    backup: { enabled: false },
  });
  port = config.services.ports as Record<ServiceName, number>;
  const slice = planLayer(config, { project: "orchestra", stack: runId }).containers;
  if (slice?.monitoring === undefined) throw new Error("the staging layer with monitoring planned none");
  monitoring = slice.monitoring;
  all = [...slice.data.containers, ...slice.app.containers, ...monitoring.containers.app];

  webhook = createServer((request, response) => {
    let body = "";
    request.on("data", (chunk: Buffer) => (body += chunk.toString()));
    request.on("end", () => {
      if (request.url === `/alerts/${WEBHOOK_TOKEN}`) {
        const parsed = JSON.parse(body) as Omit<Notification, "receivedAt">;
        notifications.push({ receivedAt: Date.now(), status: parsed.status, alerts: parsed.alerts });
      }
      response.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve) => webhook.listen(webhookPort, "0.0.0.0", resolve));

  // The node's expiry, as the layer fills it from the instance: past the reaper's 5-minute grace,
  // so the past-its-TTL rule has something to say.
  expiredAt = Math.floor(Date.now() / 1000) - 360;
  const placeholders = {
    [PRIVATE_IP_PLACEHOLDER]: "127.0.0.1",
    [nodeExpiryPlaceholder("app")]: String(expiredAt),
  };
  try {
    await runner.start(slice.data, SECRETS, placeholders);
    // Alertmanager reaches this test's receiver through the network's gateway, the host's side.
    const [network] = JSON.parse(await runner.run(["network", "inspect", slice.data.networkName])) as {
      IPAM: { Config: { Gateway: string }[] };
    }[];
    const secrets = {
      ...SECRETS,
      alertWebhookUrl: `http://${network.IPAM.Config[0].Gateway}:${webhookPort}/alerts/${WEBHOOK_TOKEN}`,
    };
    await runner.start(
      { networkName: slice.data.networkName, containers: slice.app.containers },
      secrets,
      placeholders,
    );
    await runner.start(
      {
        networkName: slice.data.networkName,
        containers: monitoring.containers.app,
        volumes: monitoring.volumes,
      },
      secrets,
      placeholders,
    );
  } catch (error) {
    await runner.teardown().catch(() => undefined);
    throw error;
  }
  await runner.waitHealthy(
    all.map((spec) => spec.containerName),
    HEALTH_TIMEOUT_MS,
  );
}, 360_000);

afterAll(async () => {
  await new Promise((resolve) => webhook?.close(resolve));
  await runner.teardown();
  expect(await runner.leftovers()).toEqual({ containers: [], networks: [], volumes: [] });
}, 120_000);

describe("promtool and amtool accept every layer's generated files", () => {
  const layers: [string, Record<string, unknown>][] = [
    ["production", {}],
    ["staging", { monitoring: { enabled: true, receiver: "slack" } }],
  ];
  test.each(layers)(
    "%s",
    async (layer, edit) => {
      const slice = planLayer(validateStackConfig({ ...stackValues(layer), ...edit }), {
        project: "orchestra",
        stack: layer,
      }).containers;
      const plan = slice?.monitoring;
      if (plan === undefined) throw new Error(`${layer} planned no monitoring`);
      // Filled as the layer fills them: each node's private address and expiry.
      const filled: Record<string, string> = {};
      plan.settings.nodes.forEach((node, i) => {
        filled[nodePrivateIpPlaceholder(node.key)] = `10.0.0.${10 + i}`;
        filled[nodeExpiryPlaceholder(node.key)] = "1796126400";
      });
      const dir = mkdtempSync(join(tmpdir(), `orchestra-${runId}-files-`));
      try {
        for (const file of plan.containers[plan.settings.appNode].flatMap((spec) => spec.files ?? [])) {
          const text = renderFileSecrets(fillPlaceholders(file.content, filled), {
            alertWebhookUrl: "https://hooks.example.test/services/T0/B0/x",
          });
          writeFileSync(join(dir, file.path.split("/").pop() ?? ""), text, { mode: 0o644 });
        }
        const run = (image: string, entrypoint: string, ...args: string[]) =>
          execFileSync(
            "docker",
            [
              "run",
              "--rm",
              "--network",
              "none",
              // The directory is this test's (0700); the images run as nobody.
              "--user",
              "0:0",
              "-v",
              `${dir}:/etc/prometheus:ro`,
              "--entrypoint",
              entrypoint,
              image,
              ...args,
            ],
            { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] },
          );
        const rules = plan.rules.length;
        expect(
          run(STANDIN_IMAGES.prometheus, "promtool", "check", "config", "/etc/prometheus/prometheus.yml"),
        ).toBe(
          "Checking /etc/prometheus/prometheus.yml\n" +
            "  SUCCESS: 1 rule files found\n" +
            " SUCCESS: /etc/prometheus/prometheus.yml is valid prometheus config file syntax\n\n" +
            "Checking /etc/prometheus/rules.yml\n" +
            `  SUCCESS: ${rules} rules found\n\n`,
        );
        expect(
          run(STANDIN_IMAGES.prometheus, "promtool", "check", "rules", "/etc/prometheus/rules.yml"),
        ).toBe(`Checking /etc/prometheus/rules.yml\n  SUCCESS: ${rules} rules found\n\n`);
        expect(
          run(STANDIN_IMAGES.alertmanager, "amtool", "check-config", "/etc/prometheus/alertmanager.yml"),
        ).toBe(
          "Checking '/etc/prometheus/alertmanager.yml'  SUCCESS\nFound:\n - global config\n - route\n" +
            " - 0 inhibit rules\n - 1 receivers\n - 0 templates\n\n",
        );
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
    120_000,
  );
});

interface ActiveTarget {
  readonly labels: Record<string, string>;
  readonly scrapeUrl: string;
  readonly health: string;
  readonly lastError: string;
}

test("Prometheus scrapes every planned target, and every one is up", async () => {
  const url = `http://127.0.0.1:${port.prometheus}/api/v1/targets`;
  const rows = (targets: ActiveTarget[]) =>
    targets
      .map((t) => [t.labels.job, t.labels.instance, t.labels.node, t.labels.service, t.health, t.lastError])
      .sort((a, b) => a.join().localeCompare(b.join()));
  const expected = monitoring.targets
    .map((t) => [t.job, t.target, t.node, t.service, "up", ""])
    .sort((a, b) => a.join().localeCompare(b.join()));
  // A fresh Prometheus reports "unknown" until each target's first scrape.
  const deadline = Date.now() + 90_000;
  let active: ActiveTarget[] = [];
  do {
    active = (await getJson<{ data: { activeTargets: ActiveTarget[] } }>(url)).data.activeTargets;
    if (JSON.stringify(rows(active)) === JSON.stringify(expected)) break;
    await sleep(1000);
  } while (Date.now() < deadline);
  expect(rows(active)).toEqual(expected);

  const up = await getJson<{
    data: { result: { metric: Record<string, string>; value: [number, string] }[] };
  }>(`http://127.0.0.1:${port.prometheus}/api/v1/query?query=${encodeURIComponent("up")}`);
  expect(up.data.result.map((r) => [r.metric.job, r.metric.instance, r.value[1]]).sort()).toEqual(
    monitoring.targets.map((t) => [t.job, t.target, "1"]).sort(),
  );
  // The probes themselves succeed (a probe job is up even when its probe fails).
  const probes = await getJson<{
    data: { result: { metric: Record<string, string>; value: [number, string] }[] };
  }>(`http://127.0.0.1:${port.prometheus}/api/v1/query?query=${encodeURIComponent("probe_success")}`);
  expect(probes.data.result.map((r) => [r.metric.service, r.value[1]]).sort()).toEqual(
    monitoring.targets
      .filter((t) => t.job.startsWith("probe-"))
      .map((t) => [t.service, "1"])
      .sort(),
  );
  // Every rule the plan generated is loaded.
  const rules = await getJson<{ data: { groups: { rules: { name: string }[] }[] } }>(
    `http://127.0.0.1:${port.prometheus}/api/v1/rules`,
  );
  expect(rules.data.groups.flatMap((g) => g.rules.map((r) => r.name))).toEqual(
    monitoring.rules.map((r) => r.alert),
  );
}, 120_000);

/**
 * Runs `docker <command>` on mcp-memory, then waits for its ServiceDown notification with
 * `status`; prints how long it took and fails past the plan's bound (it waits 30 s beyond it, so a
 * late one says how late).
 */
async function afterDockerCommand(
  command: string[],
  status: "firing" | "resolved",
  boundSeconds: number,
): Promise<Notification> {
  const since = Date.now();
  await runner.run(command);
  const notification = await waitForNotification(
    since,
    "ServiceDown",
    "mcp-memory",
    status,
    (boundSeconds + 30) * 1000,
  );
  const seconds = (notification.receivedAt - since) / 1000;
  process.stderr.write(
    `[monitoring ${runId}] ServiceDown mcp-memory ${status} reached the webhook ${seconds.toFixed(1)} s after docker ${command[0]}\n`,
  );
  expect(seconds).toBeLessThanOrEqual(boundSeconds);
  return notification;
}

test("a stopped MCP server's alert reaches the webhook within the promised time, and resolves when it is back", async () => {
  const mcp = nameOf("mcp-memory");
  // Restart disabled for this test: Docker must not bring it back on its own.
  await runner.run(["update", "--restart", "no", mcp]);
  try {
    const fired = await afterDockerCommand(
      ["stop", mcp],
      "firing",
      monitoring.notifyWithinSeconds.serviceDown,
    );
    const alert = fired.alerts.find(
      (a) => a.labels.alertname === "ServiceDown" && a.labels.service === "mcp-memory",
    );
    expect(alert?.labels).toEqual({
      alertname: "ServiceDown",
      job: "probe-http",
      instance: `http://mcp-memory:${port["mcp-memory"]}/health`,
      node: "app",
      service: "mcp-memory",
      severity: "critical",
      layer: "staging",
      stack: `orchestra/${runId}`,
    });
    expect(alert?.annotations.summary).toBe(
      `mcp-memory on node app failed two probes in a row (http://mcp-memory:${port["mcp-memory"]}/health)`,
    );

    await afterDockerCommand(["start", mcp], "resolved", monitoring.notifyWithinSeconds.resolved);
  } finally {
    await runner.run(["update", "--restart", "unless-stopped", mcp]);
  }
}, 240_000);

test("a node past its TTL raises InstancePastTtl at the webhook, naming the node and the reaper", async () => {
  const fired = await waitForNotification(0, "InstancePastTtl", undefined, "firing", 120_000);
  const alert = fired.alerts.find((a) => a.labels.alertname === "InstancePastTtl");
  expect([alert?.labels.node, alert?.annotations.summary, alert?.annotations.action]).toEqual([
    "app",
    "node app is past its TTL and still running (and billing)",
    `\`npm run reap -- --stack ${runId} --yes\` terminates it; to keep it, replace it with a fresh TTL: \`pulumi up --stack ${runId} --replace <its instance URN>\` (a ttlHours change keeps the stamped expiry)`,
  ]);
  expect(expiredAt).toBeLessThan(Date.now() / 1000);
}, 150_000);

test("the webhook URL never appears on a command line: docker's argv, the containers' Cmd, the process list", async () => {
  expect(JSON.stringify(runner.commands)).not.toContain(WEBHOOK_TOKEN);
  const states = await runner.inspectAll(monitoring.containers.app.map((spec) => spec.containerName));
  for (const state of states) {
    const visible = JSON.stringify([state.Path, state.Args, state.Config.Cmd, state.Config.Env]);
    expect([state.Name, visible.includes(WEBHOOK_TOKEN)]).toEqual([state.Name, false]);
  }
  expect(execFileSync("ps", ["-eo", "args"], { encoding: "utf8" })).not.toContain(WEBHOOK_TOKEN);
  // It did arrive: Alertmanager's file holds it, readable to the container only.
  expect(
    await runner.run(["exec", nameOf("alertmanager"), "cat", "/etc/alertmanager/alertmanager.yml"]),
  ).toContain(`url: "http://`);
});

test("every monitoring port is published on the private address only", async () => {
  const states = await runner.inspectAll(monitoring.containers.app.map((spec) => spec.containerName));
  expect(states.map((s) => [s.Name, s.HostConfig.PortBindings])).toEqual(
    monitoring.containers.app.map((spec) => [
      `/${spec.containerName}`,
      {
        [`${port[spec.service as ServiceName]}/tcp`]: [
          { HostIp: "127.0.0.1", HostPort: String(port[spec.service as ServiceName]) },
        ],
      },
    ]),
  );
});
