/**
 * Mock tier, monitoring: the Monitoring component's containers on production (on by default) and
 * staging (when enabled), published on each node's private address only, their files with every
 * node's address filled in, the webhook URL only inside a secret envelope, and the outputs.
 */
import * as yaml from "js-yaml";
import {
  ALL_MCP,
  backupsGraph,
  build,
  declared,
  expectSecretsEnveloped,
  fleetGraph,
  graph,
  inputsOf,
  isSecret,
  monitoringGraph,
  secretValue,
  servicesGraph,
  setLayerMocks,
  TEST_SECRETS,
  usedSecrets,
  value,
} from "./layerMocks";

beforeAll(setLayerMocks);

const CONTAINER = "docker:index/container:Container";
const PREFIX = "orchestra-production-monitoring";

interface Upload {
  readonly file: string;
  readonly content: unknown;
}

describe("production (monitoring on by default)", () => {
  test("every monitoring port is published on its own node's private address, nowhere else", async () => {
    await build("production");
    const hosts: Record<string, string> = {
      app: "10.0.0.10",
      data: "10.0.0.11",
      "gpu-a": "10.0.0.12",
      "gpu-b": "10.0.0.13",
    };
    const ports: Record<string, number> = { "node-exporter": 9100, cadvisor: 8088, "dcgm-exporter": 9400 };
    for (const [node, ip] of Object.entries(hosts)) {
      for (const [exporter, port] of Object.entries(ports)) {
        expect([node, exporter, inputsOf(CONTAINER, `${PREFIX}-${node}-${exporter}`).ports]).toEqual([
          node,
          exporter,
          [{ internal: port, external: port, ip, protocol: "tcp" }],
        ]);
      }
    }
    for (const [service, port] of [
      ["prometheus", 9090],
      ["alertmanager", 9093],
      ["blackbox-exporter", 9115],
    ] as const) {
      expect(inputsOf(CONTAINER, `${PREFIX}-${service}`).ports).toEqual([
        { internal: port, external: port, ip: "10.0.0.10", protocol: "tcp" },
      ]);
    }
  });

  test("Prometheus's file names each node's private address; the exporters mount the host read-only", async () => {
    await build("production");
    const prometheus = inputsOf(CONTAINER, `${PREFIX}-prometheus`);
    const uploads = prometheus.uploads as Upload[];
    expect(uploads.map((upload) => upload.file)).toEqual([
      "/etc/prometheus/prometheus.yml",
      "/etc/prometheus/rules.yml",
    ]);
    const config = yaml.load(uploads[0].content as string) as {
      scrape_configs: {
        job_name: string;
        static_configs: { targets: string[]; labels: { node: string } }[];
      }[];
    };
    const node = config.scrape_configs.find((job) => job.job_name === "node");
    expect(node?.static_configs.map((c) => [c.labels.node, c.targets])).toEqual([
      ["app", ["node-exporter:9100"]],
      ["data", ["10.0.0.11:9100"]],
      ["gpu-a", ["10.0.0.12:9100"]],
      ["gpu-b", ["10.0.0.13:9100"]],
    ]);
    expect(inputsOf(CONTAINER, `${PREFIX}-gpu-a-node-exporter`).mounts).toEqual([
      { type: "bind", source: "/proc", target: "/host/proc", readOnly: true },
      { type: "bind", source: "/sys", target: "/host/sys", readOnly: true },
      { type: "bind", source: "/", target: "/host/root", readOnly: true },
    ]);
    expect(inputsOf(CONTAINER, `${PREFIX}-gpu-a-dcgm-exporter`).gpus).toBe("all");
    // The app node's monitoring joins the app's network; another node's gets its own.
    expect(inputsOf(CONTAINER, `${PREFIX}-prometheus`).networksAdvanced).toEqual([
      { name: "orchestra-production-apps-net", aliases: ["prometheus"] },
    ]);
    expect(inputsOf(CONTAINER, `${PREFIX}-data-cadvisor`).networksAdvanced).toEqual([
      { name: `${PREFIX}-data-net`, aliases: ["cadvisor"] },
    ]);
  });

  test("the webhook URL reaches Alertmanager's file only as a secret, and nothing else holds it", async () => {
    await build("production");
    // The engine sends the whole list enveloped: one secret file makes the uploads secret.
    expect(inputsOf(CONTAINER, `${PREFIX}-alertmanager`).uploads).toEqual(
      secretValue([
        {
          file: "/etc/alertmanager/alertmanager.yml",
          content: expect.stringContaining(`url: ${JSON.stringify(TEST_SECRETS.alertWebhookUrl)}\n`),
        },
      ]),
    );
    expect(inputsOf(CONTAINER, `${PREFIX}-alertmanager`).command).toEqual([
      "--config.file=/etc/alertmanager/alertmanager.yml",
      "--storage.path=/alertmanager",
      "--web.listen-address=0.0.0.0:9093",
      "--cluster.listen-address=",
    ]);
    // Prometheus's files hold no secret and stay readable in a preview.
    expect(
      (inputsOf(CONTAINER, `${PREFIX}-prometheus`).uploads as Upload[]).map((u) => typeof u.content),
    ).toEqual(["string", "string"]);
    expectSecretsEnveloped(usedSecrets());
  });

  test("the outputs: private URLs, the SSH tunnel and the rule list", async () => {
    const layer = await build("production");
    const monitoring = layer.monitoring;
    expect(monitoring).toBeDefined();
    expect(await value(monitoring?.prometheusUrl)).toBe("http://10.0.0.10:9090");
    expect(await value(monitoring?.alertmanagerUrl)).toBe("http://10.0.0.10:9093");
    expect(await value(monitoring?.tunnelCommand)).toBe(
      "ssh -N -L 9090:10.0.0.10:9090 -L 9093:10.0.0.10:9093 ubuntu@203.0.113.10",
    );
    expect(await isSecret(monitoring?.tunnelCommand)).toBe(false);
    expect(monitoring?.alertRules.length).toBe(40);
    expect(monitoring?.alertRules[0]).toEqual({
      alert: "ServiceDown",
      severity: "critical",
      summary: "api on node app failed two probes in a row (http://api:8000/api/health)",
    });
  });
});

describe("staging", () => {
  test("no monitoring unless enabled; enabled, the graph gains it and the TTL rule gets each expiry", async () => {
    await build("staging");
    expect(declared.filter((resource) => resource.name.includes("-monitoring"))).toEqual([]);

    await build("staging", (values) => ({ ...values, monitoring: { enabled: true } }));
    const regions = ["us-east-1", "us-south-1", "us-west-1"];
    const monitoring = monitoringGraph("orchestra-staging", ["app", "data", "gpu-a"]).filter(
      // The data node is a CPU instance: no DCGM exporter there.
      (line) => !line.includes("orchestra-staging-monitoring-data-dcgm-exporter"),
    );
    expect(graph()).toEqual(
      [
        ...fleetGraph("orchestra-staging", ["app", "data", "gpu-a"], regions),
        ...servicesGraph("orchestra-staging", ALL_MCP),
        ...backupsGraph("orchestra-staging", false),
        ...monitoring,
      ].sort(),
    );
    const rules = (inputsOf(CONTAINER, "orchestra-staging-monitoring-prometheus").uploads as Upload[])[1];
    expect(rules.content).toContain(
      'expr: (vector(time()) > 1796126400 + 300) and on() (up{job="node",node="gpu-a"} == 1)\n',
    );
    expect(rules.content).not.toContain("{expiresAtEpoch:");
  });
});
