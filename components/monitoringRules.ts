/**
 * The alert rules, generated from the plan: one rule per probed service and per node, so each
 * summary names the service or node and says what to do. Pure; monitoringFiles.ts renders them
 * as a Prometheus rule file.
 *
 * Metric names: node_exporter 1.5 (`node_cpu_seconds_total`, `node_memory_MemAvailable_bytes`,
 * `node_filesystem_avail_bytes`), NVIDIA's DCGM exporter (`DCGM_FI_DEV_FB_USED` and
 * `DCGM_FI_DEV_FB_FREE`, framebuffer MiB), the blackbox exporter (`probe_success`,
 * `probe_duration_seconds`) and Prometheus's own `up`.
 */
import { REAP_GRACE_MS } from "../infra/launchRules";
import type { MonitoringSettings } from "../stacks/configMonitoring";
import { nodeExpiryPlaceholder, type MonitoredNode, type ScrapeTarget } from "./monitoringTargets";

export interface AlertRule {
  readonly alert: string;
  /** PromQL; may hold `{expiresAtEpoch:<node>}`, filled by the layer. */
  readonly expr: string;
  /** How long the condition must hold before the alert fires, in seconds (0: at once). */
  readonly forSeconds: number;
  readonly severity: "critical" | "warning";
  /** What it watches: a node key, and a service for service rules. */
  readonly node: string;
  readonly service?: string;
  /** One line naming the node or service and what is wrong. */
  readonly summary: string;
  /** What the operator does first. */
  readonly action: string;
}

/** Sustained-use alerts wait this long (ORCHESTRA.md: a warning at 80 % use, not at a spike). */
export const SUSTAINED_SECONDS = 300;

/**
 * The CPU rate window: 5 minutes, or four scrapes when that is longer (a rate needs two samples in
 * its window whatever the evaluation's alignment; at one scrape per window it never fires).
 */
export function rateWindowSeconds(intervalSeconds: number): number {
  return Math.max(SUSTAINED_SECONDS, 4 * intervalSeconds);
}

/** Filesystems that are not the node's disks. */
const NOT_A_DISK = 'fstype!~"tmpfs|overlay|squashfs|nsfs|proc|sysfs"';

function selector(labels: Readonly<Record<string, string>>, extra?: string): string {
  const parts = Object.entries(labels).map(([key, value]) => `${key}="${value}"`);
  return `{${[...parts, ...(extra !== undefined ? [extra] : [])].join(",")}}`;
}

/** The rules for one layer's targets and nodes, in a stable order. */
export function planAlertRules(
  settings: MonitoringSettings,
  nodes: readonly MonitoredNode[],
  targets: readonly ScrapeTarget[],
  stack: string,
): AlertRule[] {
  const interval = settings.probeIntervalSeconds;
  const threshold = settings.thresholdPercent;
  const rules: AlertRule[] = [];
  // A failed probe, then a second one an interval later: the rule holds for one interval.
  for (const probe of targets.filter((t) => t.job === "probe-http" || t.job === "probe-tcp")) {
    rules.push({
      alert: "ServiceDown",
      expr: `probe_success${selector({ job: probe.job, service: probe.service })} == 0`,
      forSeconds: interval,
      severity: "critical",
      node: probe.node,
      service: probe.service,
      summary: `${probe.service} on node ${probe.node} failed two probes in a row (${probe.target})`,
      action: `on node ${probe.node}: \`docker ps -a --filter name=${probe.service}\`, then \`docker logs\` of its container; \`pulumi up --stack ${stack}\` recreates a removed container`,
    });
  }
  // Prometheus cannot report its own absence, nor Alertmanager deliver its own: no rule for them.
  rules.push(
    ...targets
      .filter((t) => !t.job.startsWith("probe-") && t.job !== "prometheus" && t.job !== "alertmanager")
      .map((t): AlertRule => {
        const nodeExporter = t.job === "node";
        return {
          alert: nodeExporter ? "NodeUnreachable" : "ExporterDown",
          expr: `up${selector({ job: t.job, node: t.node })} == 0`,
          forSeconds: interval,
          severity: nodeExporter ? "critical" : "warning",
          node: t.node,
          service: t.service,
          summary: nodeExporter
            ? `node ${t.node} is unreachable: its node_exporter missed two scrapes (${t.target})`
            : `${t.service} on node ${t.node} missed two scrapes (${t.target}); its metrics are missing`,
          action: nodeExporter
            ? `\`npm run lambda -- instances\` shows whether node ${t.node} still runs; SSH to it and check \`docker ps\``
            : `on node ${t.node}: \`docker logs\` of its ${t.service} container`,
        };
      }),
  );
  for (const node of nodes) {
    const on = { job: "node", node: node.key };
    const use = (what: string, expr: string, action: string): AlertRule => ({
      alert: `High${what}Use`,
      expr: `${expr} >= ${threshold}`,
      forSeconds: SUSTAINED_SECONDS,
      severity: "warning",
      node: node.key,
      summary: `node ${node.key}: ${what.toLowerCase()} use at or above ${threshold} % for 5 minutes`,
      action,
    });
    rules.push(
      use(
        "Cpu",
        `100 * (1 - avg by (node) (rate(node_cpu_seconds_total${selector(on, 'mode="idle"')}[${rateWindowSeconds(interval)}s])))`,
        `\`docker stats\` on node ${node.key} shows which container; move load or pick a larger instance type`,
      ),
      use(
        "Memory",
        `max by (node) (100 * (1 - node_memory_MemAvailable_bytes${selector(on)} / node_memory_MemTotal_bytes${selector(on)}))`,
        `\`docker stats\` on node ${node.key} shows which container; the containers' memory limits are in the plan`,
      ),
      use(
        "Disk",
        `max by (node, mountpoint) (100 * (1 - node_filesystem_avail_bytes${selector(on, NOT_A_DISK)} / node_filesystem_size_bytes${selector(on, NOT_A_DISK)}))`,
        `on node ${node.key}: \`df -h\` and \`docker system df\`; prune unused images with \`docker image prune\``,
      ),
    );
    if (node.gpu) {
      const gpu = { job: "dcgm", node: node.key };
      rules.push(
        use(
          "GpuMemory",
          `max by (node, gpu) (100 * DCGM_FI_DEV_FB_USED${selector(gpu)} / (DCGM_FI_DEV_FB_USED${selector(gpu)} + DCGM_FI_DEV_FB_FREE${selector(gpu)}))`,
          `\`nvidia-smi\` on node ${node.key} shows which process holds GPU memory`,
        ),
      );
    }
  }
  const api = targets.find((t) => t.job === "probe-http" && t.service === "api");
  if (api !== undefined) {
    rules.push({
      alert: "ApiSlow",
      expr: `probe_duration_seconds${selector({ job: "probe-http", service: "api" })} > ${settings.apiLatencyMs / 1000}`,
      forSeconds: SUSTAINED_SECONDS,
      severity: "warning",
      node: api.node,
      service: "api",
      summary: `the API's health probe took over ${settings.apiLatencyMs} ms for 5 minutes (${api.target})`,
      action: `check the stores the API waits on (its /api/health names them) and \`docker stats\` on node ${api.node}`,
    });
  }
  for (const node of nodes.filter((n) => n.expires)) {
    rules.push({
      alert: "InstancePastTtl",
      // Past the expiry by the reaper's grace: when `npm run reap` would already terminate it. time()
      // is a scalar: compared as a one-element vector, which PromQL allows without `bool`.
      expr: `(vector(time()) > ${nodeExpiryPlaceholder(node.key)} + ${REAP_GRACE_MS / 1000}) and on() (up${selector({ job: "node", node: node.key })} == 1)`,
      forSeconds: 0,
      severity: "warning",
      node: node.key,
      summary: `node ${node.key} is past its TTL and still running (and billing)`,
      action: `\`npm run reap -- --stack ${stack} --yes\` terminates it; to keep it, replace it with a fresh TTL: \`pulumi up --stack ${stack} --replace <its instance URN>\` (a ttlHours change keeps the stamped expiry)`,
    });
  }
  return rules;
}
