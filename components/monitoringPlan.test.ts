/**
 * Pure tier: the monitoring plan of each layer from its committed Pulumi.<layer>.yaml: the scrape
 * targets, the alert rules, the files, the notification bounds and the tunnel. promtool and amtool
 * check the rendered files in the services tier (components/monitoring.docker.test.ts).
 */
import * as yaml from "js-yaml";
import { validateStackConfig } from "../stacks/config";
import { stackValues } from "../stacks/configFiles";
import { planLayer } from "../stacks/layerPlan";
import { renderFileSecrets } from "./containerSpec";
import type { MonitoringPlan } from "./monitoringPlan";

function monitoringOf(layer: string, edit: Record<string, unknown> = {}): MonitoringPlan | undefined {
  const config = validateStackConfig({ ...stackValues(layer), ...edit });
  return planLayer(config, { project: "orchestra", stack: layer }).containers?.monitoring;
}

function planned(layer: string, edit: Record<string, unknown> = {}): MonitoringPlan {
  const plan = monitoringOf(layer, edit);
  if (plan === undefined) throw new Error(`${layer} planned no monitoring`);
  return plan;
}

const MCP = ["memory", "tools", "code", "git", "infrastructure", "unified"];
const MCP_PORTS: Record<string, number> = {
  memory: 8003,
  tools: 8006,
  code: 8007,
  git: 8008,
  infrastructure: 8009,
  unified: 8001,
};
const STORES: [string, number][] = [
  ["postgres", 5432],
  ["redis", 6379],
  ["weaviate", 8080],
];

/** [job, target, node] rows: Prometheus on the app node reaches its neighbours by service name. */
function expectedTargets(nodes: string[], gpuNodes: string[]): [string, string, string][] {
  const at = (node: string, service: string, port: number) =>
    `${node === "app" ? service : `{privateIp:${node}}`}:${port}`;
  return [
    ["prometheus", "127.0.0.1:9090", "app"],
    ["alertmanager", "alertmanager:9093", "app"],
    ["blackbox", "blackbox-exporter:9115", "app"],
    ...nodes.map((node): [string, string, string] => ["node", at(node, "node-exporter", 9100), node]),
    ...nodes.map((node): [string, string, string] => ["cadvisor", at(node, "cadvisor", 8088), node]),
    ...gpuNodes.map((node): [string, string, string] => ["dcgm", at(node, "dcgm-exporter", 9400), node]),
    ["probe-http", "http://api:8000/api/health", "app"],
    ...MCP.map((server): [string, string, string] => [
      "probe-http",
      `http://mcp-${server}:${MCP_PORTS[server]}/health`,
      "app",
    ]),
    ...STORES.map(([, port]): [string, string, string] => ["probe-tcp", `{privateIp:data}:${port}`, "data"]),
  ];
}

function expectedRules(
  nodes: string[],
  gpuNodes: string[],
  expiring: boolean,
): [string, string, string | null][] {
  return [
    ...["api", ...MCP.map((server) => `mcp-${server}`)].map((service): [string, string, string] => [
      "ServiceDown",
      "app",
      service,
    ]),
    ...STORES.map(([store]): [string, string, string] => ["ServiceDown", "data", store]),
    // None for Prometheus and Alertmanager: neither can report its own absence.
    ["ExporterDown", "app", "blackbox-exporter"],
    ...nodes.map((node): [string, string, string] => ["NodeUnreachable", node, "node-exporter"]),
    ...nodes.map((node): [string, string, string] => ["ExporterDown", node, "cadvisor"]),
    ...gpuNodes.map((node): [string, string, string] => ["ExporterDown", node, "dcgm-exporter"]),
    ...nodes.flatMap((node): [string, string, null][] => [
      ["HighCpuUse", node, null],
      ["HighMemoryUse", node, null],
      ["HighDiskUse", node, null],
      ...(gpuNodes.includes(node) ? [["HighGpuMemoryUse", node, null] as [string, string, null]] : []),
    ]),
    ["ApiSlow", "app", "api"],
    ...(expiring ? nodes.map((node): [string, string, null] => ["InstancePastTtl", node, null]) : []),
  ];
}

const rows = (plan: MonitoringPlan) => plan.targets.map((t) => [t.job, t.target, t.node]);
const ruleRows = (plan: MonitoringPlan) => plan.rules.map((r) => [r.alert, r.node, r.service ?? null]);

describe("which layers run monitoring (the environment policy)", () => {
  test("local and integration run none, staging only when enabled, production by default", () => {
    expect(monitoringOf("local")).toBeUndefined();
    expect(monitoringOf("integration")).toBeUndefined();
    expect(monitoringOf("staging")).toBeUndefined();
    expect(monitoringOf("staging", { monitoring: { enabled: true } })).toBeDefined();
    expect(monitoringOf("production")).toBeDefined();
    expect(monitoringOf("production", { monitoring: { enabled: false } })).toBeUndefined();
  });
});

describe("production: four nodes, all with GPUs, none expiring", () => {
  const plan = planned("production");
  const nodes = ["app", "data", "gpu-a", "gpu-b"];

  test("scrape targets: every exporter on every node, every service probed", () => {
    expect(rows(plan)).toEqual(expectedTargets(nodes, nodes));
  });

  test("alert rules: one per probed service, per scraped exporter and per node", () => {
    expect(ruleRows(plan)).toEqual(expectedRules(nodes, nodes, false));
    expect(plan.rules.find((r) => r.alert === "ServiceDown" && r.service === "mcp-memory")).toEqual({
      alert: "ServiceDown",
      expr: 'probe_success{job="probe-http",service="mcp-memory"} == 0',
      forSeconds: 30,
      severity: "critical",
      node: "app",
      service: "mcp-memory",
      summary: "mcp-memory on node app failed two probes in a row (http://mcp-memory:8003/health)",
      action:
        "on node app: `docker ps -a --filter name=mcp-memory`, then `docker logs` of its container; `pulumi up --stack production` recreates a removed container",
    });
    expect(plan.rules.find((r) => r.alert === "HighGpuMemoryUse" && r.node === "gpu-b")?.expr).toBe(
      'max by (node, gpu) (100 * DCGM_FI_DEV_FB_USED{job="dcgm",node="gpu-b"} / (DCGM_FI_DEV_FB_USED{job="dcgm",node="gpu-b"} + DCGM_FI_DEV_FB_FREE{job="dcgm",node="gpu-b"})) >= 80',
    );
    expect(plan.rules.find((r) => r.alert === "ApiSlow")?.expr).toBe(
      'probe_duration_seconds{job="probe-http",service="api"} > 0.2',
    );
  });

  test("containers: the central three on the app node, exporters everywhere, private bindings only", () => {
    expect(
      Object.fromEntries(
        Object.entries(plan.containers).map(([node, specs]) => [node, specs.map((s) => s.containerName)]),
      ),
    ).toEqual({
      app: [
        "orchestra-production-monitoring-prometheus",
        "orchestra-production-monitoring-alertmanager",
        "orchestra-production-monitoring-blackbox-exporter",
        "orchestra-production-monitoring-app-node-exporter",
        "orchestra-production-monitoring-app-cadvisor",
        "orchestra-production-monitoring-app-dcgm-exporter",
      ],
      ...Object.fromEntries(
        ["data", "gpu-a", "gpu-b"].map((node) => [
          node,
          ["node-exporter", "cadvisor", "dcgm-exporter"].map(
            (s) => `orchestra-production-monitoring-${node}-${s}`,
          ),
        ]),
      ),
    });
    const all = Object.values(plan.containers).flat();
    expect([...new Set(all.flatMap((spec) => spec.ports.map((port) => port.hostIp)))]).toEqual([
      "{privateIp}",
    ]);
    expect(all.find((s) => s.service === "prometheus")?.command).toEqual([
      "--config.file=/etc/prometheus/prometheus.yml",
      "--storage.tsdb.path=/prometheus",
      "--storage.tsdb.retention.time=30d",
      "--web.listen-address=0.0.0.0:9090",
    ]);
    expect(all.filter((s) => s.gpus === "all").map((s) => s.containerName)).toEqual(
      nodes.map((node) => `orchestra-production-monitoring-${node}-dcgm-exporter`),
    );
    expect(all.find((s) => s.service === "node-exporter")?.mounts).toEqual([
      { hostPath: "/proc", containerPath: "/host/proc", readOnly: true },
      { hostPath: "/sys", containerPath: "/host/sys", readOnly: true },
      { hostPath: "/", containerPath: "/host/root", readOnly: true },
    ]);
    expect(plan.networks).toEqual({
      data: "orchestra-production-monitoring-data-net",
      "gpu-a": "orchestra-production-monitoring-gpu-a-net",
      "gpu-b": "orchestra-production-monitoring-gpu-b-net",
    });
  });

  test("the files: prometheus.yml scrapes every target; alertmanager.yml routes to the secret webhook", () => {
    const prometheus = plan.containers.app[0].files ?? [];
    expect(prometheus.map((file) => file.path)).toEqual([
      "/etc/prometheus/prometheus.yml",
      "/etc/prometheus/rules.yml",
    ]);
    const config = yaml.load(prometheus[0].content) as {
      global: Record<string, unknown>;
      scrape_configs: { job_name: string; static_configs: { targets: string[] }[] }[];
    };
    expect(config.global).toEqual({
      scrape_interval: "30s",
      scrape_timeout: "6s",
      evaluation_interval: "30s",
      external_labels: { layer: "production", stack: "orchestra/production" },
    });
    expect(
      config.scrape_configs.flatMap((job) => job.static_configs.map((c) => [job.job_name, c.targets[0]])),
    ).toEqual(plan.targets.map((t) => [t.job, t.target]));
    const rules = yaml.load(prometheus[1].content) as {
      groups: { name: string; rules: { alert: string }[] }[];
    };
    expect(rules.groups.map((g) => [g.name, g.rules.length])).toEqual([["orchestra-production", 40]]);

    const alertmanager = plan.containers.app[1].files?.[0];
    expect(alertmanager?.content).toBe(
      [
        "route:",
        "  receiver: operators",
        "  group_by:",
        "    - alertname",
        "    - node",
        "    - service",
        "  group_wait: 30s",
        "  group_interval: 300s",
        "  repeat_interval: 240m",
        "receivers:",
        "  - name: operators",
        "    webhook_configs:",
        "      - url: {secret:alertWebhookUrl}",
        "        send_resolved: true",
        "",
      ].join("\n"),
    );
    // Any URL survives the YAML round trip, quotes and all.
    const url = `https://hooks.example.test/a?b=1&c='x'"y"\\#z`;
    const rendered = yaml.load(renderFileSecrets(alertmanager?.content ?? "", { alertWebhookUrl: url })) as {
      receivers: { webhook_configs: { url: string }[] }[];
    };
    expect(rendered.receivers[0].webhook_configs[0].url).toBe(url);
  });

  test("endpoints, the tunnel and the notification bounds", () => {
    expect(plan.endpoints).toEqual({
      prometheus: "http://{privateIp}:9090",
      alertmanager: "http://{privateIp}:9093",
    });
    expect(plan.tunnelCommand).toBe(
      "ssh -N -L 9090:{privateIp}:9090 -L 9093:{privateIp}:9093 ubuntu@{publicIp}",
    );
    // 3 x 30 s (next probe, evaluation, the rule's hold) + 30 s group_wait + 5 s probe timeout.
    expect(plan.notifyWithinSeconds).toEqual({ serviceDown: 125, resolved: 365 });
  });
});

describe("staging with monitoring: a CPU data node, nodes that expire", () => {
  const plan = planned("staging", { monitoring: { enabled: true } });

  test("no DCGM exporter where there is no GPU; a past-its-TTL rule per node", () => {
    expect(rows(plan)).toEqual(expectedTargets(["app", "data", "gpu-a"], ["app", "gpu-a"]));
    expect(ruleRows(plan)).toEqual(expectedRules(["app", "data", "gpu-a"], ["app", "gpu-a"], true));
    expect(plan.rules.find((r) => r.alert === "InstancePastTtl" && r.node === "data")).toEqual({
      alert: "InstancePastTtl",
      expr: '(vector(time()) > {expiresAtEpoch:data} + 300) and on() (up{job="node",node="data"} == 1)',
      forSeconds: 0,
      severity: "warning",
      node: "data",
      summary: "node data is past its TTL and still running (and billing)",
      action:
        "`npm run reap -- --stack staging --yes` terminates it; to keep it, replace it with a fresh TTL: `pulumi up --stack staging --replace <its instance URN>` (a ttlHours change keeps the stamped expiry)",
    });
  });

  test("the CPU rate window spans five minutes, or four scrapes when they are longer", () => {
    const cpu = (plan: MonitoringPlan) =>
      plan.rules.find((r) => r.alert === "HighCpuUse" && r.node === "app")?.expr;
    expect(cpu(plan)).toBe(
      '100 * (1 - avg by (node) (rate(node_cpu_seconds_total{job="node",node="app",mode="idle"}[300s]))) >= 80',
    );
    expect(cpu(planned("staging", { monitoring: { enabled: true, probeIntervalSeconds: 300 } }))).toBe(
      '100 * (1 - avg by (node) (rate(node_cpu_seconds_total{job="node",node="app",mode="idle"}[1200s]))) >= 80',
    );
  });

  test("the config's thresholds, intervals, retention, receiver and SSH port reach the plan", () => {
    const tuned = planned("staging", {
      sshPort: 2222,
      monitoring: {
        enabled: true,
        thresholdPercent: 90,
        apiLatencyMs: 150,
        probeIntervalSeconds: 10,
        retentionDays: 7,
        receiver: "slack",
        groupWaitSeconds: 5,
        groupIntervalSeconds: 20,
        repeatIntervalMinutes: 60,
      },
    });
    expect(tuned.rules.find((r) => r.alert === "HighMemoryUse" && r.node === "app")?.expr).toBe(
      'max by (node) (100 * (1 - node_memory_MemAvailable_bytes{job="node",node="app"} / node_memory_MemTotal_bytes{job="node",node="app"})) >= 90',
    );
    expect(tuned.rules.find((r) => r.alert === "ApiSlow")?.expr).toBe(
      'probe_duration_seconds{job="probe-http",service="api"} > 0.15',
    );
    expect(tuned.rules.find((r) => r.alert === "ServiceDown")?.forSeconds).toBe(10);
    expect(tuned.containers.app[0].command?.[2]).toBe("--storage.tsdb.retention.time=7d");
    expect(tuned.tunnelCommand).toBe(
      "ssh -N -p 2222 -L 9090:{privateIp}:9090 -L 9093:{privateIp}:9093 ubuntu@{publicIp}",
    );
    expect(tuned.notifyWithinSeconds).toEqual({ serviceDown: 40, resolved: 45 });
    const alertmanager = yaml.load(
      tuned.containers.app[1].files?.[0].content.replace("{secret:alertWebhookUrl}", '"u"') ?? "",
    ) as {
      route: Record<string, unknown>;
      receivers: { slack_configs: { api_url: string; send_resolved: boolean }[] }[];
    };
    expect(alertmanager.route).toMatchObject({
      group_wait: "5s",
      group_interval: "20s",
      repeat_interval: "60m",
    });
    expect(alertmanager.receivers[0].slack_configs[0]).toMatchObject({ api_url: "u", send_resolved: true });
  });
});
