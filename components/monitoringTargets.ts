/**
 * What Prometheus watches, planned from the layer: the scrape targets (every exporter on every
 * node, Prometheus and Alertmanager themselves) and the blackbox probes (the API's `/api/health`,
 * each MCP server's `/health`, each store's port). Pure.
 *
 * Prometheus runs on the app node and joins the app's Docker network, so what runs on that node is
 * reached by its service name (the network alias every container carries); what runs on another
 * node is reached at that node's private address, written `{privateIp:<node>}` until the layer
 * fills it in.
 */
import type { AppServicesPlan } from "./appServicesPlan";
import type { DataServicesPlan } from "./dataServicesPlan";
import { portOf, type MonitoringService, type ServiceName } from "./serviceCatalog";

/** A node's private address in a monitoring file, filled by the layer once the node is up. */
export function nodePrivateIpPlaceholder(node: string): string {
  return `{privateIp:${node}}`;
}

/** A node's expiry (Unix seconds) in a rule, filled by the layer from the instance's expiresAt. */
export function nodeExpiryPlaceholder(node: string): string {
  return `{expiresAtEpoch:${node}}`;
}

/** A fleet node as monitoring sees it. */
export interface MonitoredNode {
  readonly key: string;
  /** Has NVIDIA GPUs (a `gpu_` instance type): the DCGM exporter runs there. */
  readonly gpu: boolean;
  /** Carries a TTL: the past-its-TTL alert watches it. */
  readonly expires: boolean;
}

/** Scrape jobs; a target's `job` label. */
export type ScrapeJob =
  | "prometheus"
  | "alertmanager"
  | "blackbox"
  | "node"
  | "cadvisor"
  | "dcgm"
  | "probe-http"
  | "probe-tcp";

export interface ScrapeTarget {
  readonly job: ScrapeJob;
  /** `host:port` scraped, or for a probe job the URL or `host:port` the blackbox exporter probes. */
  readonly target: string;
  /** The node the target runs on (node key), and the service it is. */
  readonly node: string;
  readonly service: ServiceName;
}

/** The exporter jobs that run on every node (DCGM on GPU nodes only). */
export const NODE_EXPORTERS: ReadonlyArray<{ readonly job: ScrapeJob; readonly service: MonitoringService }> =
  [
    { job: "node", service: "node-exporter" },
    { job: "cadvisor", service: "cadvisor" },
    { job: "dcgm", service: "dcgm-exporter" },
  ];

export interface TargetsInput {
  readonly nodes: readonly MonitoredNode[];
  /** Node key of the app node, where Prometheus runs. */
  readonly appNode: string;
  /** Node key of the stores' node (the app node when they share it). */
  readonly dataNode: string;
  readonly ports: Readonly<Partial<Record<ServiceName, number>>>;
  readonly app: AppServicesPlan;
  readonly data: DataServicesPlan;
}

/** How Prometheus (on the app node) reaches `service` on `node`. */
function hostFor(input: TargetsInput, node: string, service: ServiceName): string {
  return node === input.appNode ? service : nodePrivateIpPlaceholder(node);
}

/** Every scrape target and probe, in a stable order: self, exporters per node, then probes. */
export function planScrapeTargets(input: TargetsInput): ScrapeTarget[] {
  const at = (node: string, service: ServiceName) =>
    `${hostFor(input, node, service)}:${portOf(input.ports, service)}`;
  const app = input.appNode;
  const targets: ScrapeTarget[] = [
    // Prometheus scrapes itself where it listens, inside its own container.
    {
      job: "prometheus",
      target: `127.0.0.1:${portOf(input.ports, "prometheus")}`,
      node: app,
      service: "prometheus",
    },
    { job: "alertmanager", target: at(app, "alertmanager"), node: app, service: "alertmanager" },
    { job: "blackbox", target: at(app, "blackbox-exporter"), node: app, service: "blackbox-exporter" },
  ];
  for (const exporter of NODE_EXPORTERS) {
    for (const node of input.nodes) {
      if (exporter.job === "dcgm" && !node.gpu) continue;
      targets.push({
        job: exporter.job,
        target: at(node.key, exporter.service),
        node: node.key,
        service: exporter.service,
      });
    }
  }
  // HTTP probes: the same health paths the deploy-time gate checks, by service name on the app network.
  for (const endpoint of input.app.healthEndpoints) {
    const path = new URL(endpoint.url).pathname;
    const port = portOf(input.ports, endpoint.service);
    targets.push({
      job: "probe-http",
      target: `http://${endpoint.service}:${port}${path}`,
      node: app,
      service: endpoint.service,
    });
  }
  for (const spec of input.data.containers) {
    const store = spec.service as ServiceName;
    targets.push({
      job: "probe-tcp",
      target: `${hostFor(input, input.dataNode, store)}:${spec.ports[0].internal}`,
      node: input.dataNode,
      service: store,
    });
  }
  return targets;
}
