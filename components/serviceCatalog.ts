/**
 * The Orchestra services this stack runs: one typed port map (the single source of truth for
 * ports; a test proves they are unique), the MCP servers, and the pinned default images.
 * Facts from ../shared/ORCHESTRA.md; every one is overridable in stack config.
 */

export const MCP_SERVERS = ["memory", "tools", "code", "git", "infrastructure", "unified"] as const;
export type McpServer = (typeof MCP_SERVERS)[number];

export const DATA_SERVICES = ["postgres", "redis", "weaviate"] as const;
export type DataService = (typeof DATA_SERVICES)[number];

/**
 * What the Monitoring component runs: Prometheus, Alertmanager and the blackbox exporter on the app
 * node; node_exporter, cAdvisor (container metrics) and NVIDIA's DCGM exporter on every node.
 */
export const MONITORING_SERVICES = [
  "prometheus",
  "alertmanager",
  "blackbox-exporter",
  "node-exporter",
  "cadvisor",
  "dcgm-exporter",
] as const;
export type MonitoringService = (typeof MONITORING_SERVICES)[number];

export type AppService = "api" | "frontend" | `mcp-${McpServer}`;
export type ServiceName = AppService | DataService | MonitoringService;

/**
 * Container (and host) ports. The unified MCP server gets 8001: upstream it collided with the API
 * on 8000. 3000 stays the frontend's; nothing else may take it.
 */
export const DEFAULT_PORTS: Readonly<Record<ServiceName, number>> = Object.freeze({
  frontend: 3000,
  api: 8000,
  "mcp-unified": 8001,
  "mcp-memory": 8003,
  "mcp-tools": 8006,
  "mcp-code": 8007,
  "mcp-git": 8008,
  "mcp-infrastructure": 8009,
  postgres: 5432,
  redis: 6379,
  weaviate: 8080,
  // The exporters' own defaults (the Prometheus port allocations wiki), but cAdvisor's 8080, which
  // Weaviate holds here.
  prometheus: 9090,
  alertmanager: 9093,
  "blackbox-exporter": 9115,
  "node-exporter": 9100,
  cadvisor: 8088,
  "dcgm-exporter": 9400,
});

export const SERVICE_NAMES = Object.keys(DEFAULT_PORTS) as ServiceName[];

/**
 * The backup job's image: no service (it listens on no port), so it has an image key but no port.
 * It runs beside the stores on their node (components/backupsPlan.ts).
 */
export const BACKUP_IMAGE_KEY = "orchestra-backup";
/** A key of `orchestra:images`: every service, and the backup job. */
export type ImageKey = ServiceName | typeof BACKUP_IMAGE_KEY;
export const IMAGE_KEYS: readonly ImageKey[] = [...SERVICE_NAMES, BACKUP_IMAGE_KEY];

/**
 * `service`'s port in a planner's port map. Throws for a service the map lacks: the config gives
 * every running service a port, so a miss is a planning bug, never a user error.
 */
export function portOf(ports: Readonly<Partial<Record<ServiceName, number>>>, service: ServiceName): number {
  const port = ports[service];
  if (port === undefined) throw new Error(`no port for ${service} in the port map`);
  return port;
}

/** What each MCP server is, for descriptions and the `MCP_SERVER_NAME` it reports. */
export const MCP_DESCRIPTIONS: Readonly<Record<McpServer, string>> = {
  memory: "memory management",
  tools: "tools registry",
  code: "code intelligence",
  git: "git intelligence",
  infrastructure: "infrastructure",
  unified: "unified MCP server",
};

/**
 * Pinned images (never `:latest`). The Orchestra images carry the upstream release the stack was
 * last tested with; operators pin their own builds by tag or digest in `orchestra:images`.
 */
export const DEFAULT_IMAGES: Readonly<Record<ImageKey, string>> = Object.freeze({
  frontend: "ghcr.io/ai-cherry/orchestra-frontend:2025.06.1",
  api: "ghcr.io/ai-cherry/orchestra-api:2025.06.1",
  "mcp-unified": "ghcr.io/ai-cherry/orchestra-mcp:2025.06.1",
  "mcp-memory": "ghcr.io/ai-cherry/orchestra-mcp:2025.06.1",
  "mcp-tools": "ghcr.io/ai-cherry/orchestra-mcp:2025.06.1",
  "mcp-code": "ghcr.io/ai-cherry/orchestra-mcp:2025.06.1",
  "mcp-git": "ghcr.io/ai-cherry/orchestra-mcp:2025.06.1",
  "mcp-infrastructure": "ghcr.io/ai-cherry/orchestra-mcp:2025.06.1",
  postgres: "postgres:15.8",
  redis: "redis:7.2.5-alpine",
  weaviate: "semitechnologies/weaviate:1.22.4",
  // The releases the services tier proves the generated configuration with (Debian bookworm's),
  // but Alertmanager: before 0.26 it shows a webhook URL (a credential) in its status API and its
  // delivery errors (alertmanager PR #3228); 0.27 reads the same configuration.
  prometheus: "prom/prometheus:v2.42.0",
  alertmanager: "prom/alertmanager:v0.27.0",
  "blackbox-exporter": "prom/blackbox-exporter:v0.23.0",
  "node-exporter": "prom/node-exporter:v1.5.0",
  cadvisor: "gcr.io/cadvisor/cadvisor:v0.47.2",
  "dcgm-exporter": "nvcr.io/nvidia/k8s/dcgm-exporter:3.3.5-3.4.1-ubuntu22.04",
  // Built by this project, not pulled from upstream: Debian bookworm with pgBackRest 2.45,
  // postgresql-client-15, redis-tools, age and jq, plus the backup job (its scheduler, the WAL
  // push loop and the manifest writer). The tag is the job's contract version: the files, paths
  // and commands components/backupsPlan.ts plans. Pin your own build by tag or digest.
  "orchestra-backup": "ghcr.io/ai-cherry/orchestra-backup:1.1.0",
});

/** Tags that move to a new image on every release (compared in any case). */
export const MOVING_TAGS = ["latest", "stable", "edge", "nightly", "main", "master"] as const;

// Docker's reference grammar (distribution/reference): lowercase path components joined by
// ".", "_", "__" or "-"; a first component with "." or ":" (or "localhost") is a registry host.
const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const REGISTRY =
  /^(?:localhost|[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*)(?::\d+)?$/;
const TAG = /^\w[\w.-]{0,127}$/;
const DIGEST = /^sha256:[0-9a-f]{64}$/;

/**
 * Why an image reference is not pinned, or undefined when it is: "reference" (not a Docker image
 * reference at all), "digest" (an `@` part that is not sha256 and 64 lowercase hex digits) or
 * "moving" (no tag and no digest, or a tag in MOVING_TAGS).
 */
export function imagePinProblem(image: string): "reference" | "digest" | "moving" | undefined {
  const at = image.indexOf("@");
  const named = at < 0 ? image : image.slice(0, at);
  const slash = named.lastIndexOf("/");
  const colon = named.indexOf(":", slash + 1);
  const repository = colon < 0 ? named : named.slice(0, colon);
  const tag = colon < 0 ? undefined : named.slice(colon + 1);
  const parts = repository.split("/");
  const hasRegistry = parts.length > 1 && (/[.:]/.test(parts[0]) || parts[0] === "localhost");
  const validName =
    (!hasRegistry || REGISTRY.test(parts[0])) &&
    parts.slice(hasRegistry ? 1 : 0).every((part) => PATH_COMPONENT.test(part));
  if (!validName || (tag !== undefined && !TAG.test(tag))) return "reference";
  if (at >= 0) return DIGEST.test(image.slice(at + 1)) ? undefined : "digest";
  const moving = tag === undefined || (MOVING_TAGS as readonly string[]).includes(tag.toLowerCase());
  return moving ? "moving" : undefined;
}

/** A pinned reference has a version tag (not one of MOVING_TAGS, in any case) or a sha256 digest. */
export function isPinnedImage(image: string): boolean {
  return imagePinProblem(image) === undefined;
}
