/**
 * Cross-key rules on a schema-valid config. Each rule returns problems in the user's words: the
 * key, the bad value, what is allowed and how to fix it. All rules run; nothing stops at the first.
 */
import { pinnedRegions, ttlOrNone } from "../infra/launchRules";
import { SNAPSHOT_CENTS_PER_HOUR } from "../infra/pricing/priceSnapshot";
import {
  DATA_SERVICES,
  DEFAULT_IMAGES,
  DEFAULT_PORTS,
  imagePinProblem,
  MONITORING_SERVICES,
  MOVING_TAGS,
  type ImageKey,
  type McpServer,
  type ServiceName,
} from "../components/serviceCatalog";
import { environmentPolicy } from "./policy";
import { monitoringOn } from "./configMonitoring";
import { BACKUP_SECRETS, backupsOn } from "./configBackup";
import { CONFIG_DEFAULTS, deploysContainers, type RawConfig, type SecretKey } from "./configSchema";

const NODE_KEY = /^[a-z][a-z0-9-]{0,20}$/;

export type Filesystem = { name: string; region: string } | undefined;

/**
 * Whether none of `keys` was refused by the schema. A rule runs only when the keys it reads are
 * intact; a refused list or map still reaches the rules with its passing entries.
 */
export type Intact = (...keys: (keyof RawConfig)[]) => boolean;

/** A valid node key close to what was written: "Data_1" -> "data-1". */
function hostnameSuggestion(key: string): string {
  const cleaned = key
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, "-")
    .replace(/^[^a-z]+/, "")
    .slice(0, 21)
    .replace(/-+$/, "");
  return cleaned === "" ? "gpu-a" : cleaned;
}

export function nodeRules(config: RawConfig, filesystem: Filesystem, intact: Intact = () => true): string[] {
  const problems: string[] = [];
  const knownTypes = Object.keys(SNAPSHOT_CENTS_PER_HOUR);
  for (const [key, node] of Object.entries(config.nodes)) {
    if (!NODE_KEY.test(key)) {
      problems.push(
        `orchestra:nodes.${key}: the node key "${key}" must be a valid hostname part (lowercase letter first, then lowercase letters, digits, "-"; at most 21); rename it, e.g. "${hostnameSuggestion(key)}"`,
      );
    }
    if (
      intact("prices") &&
      !knownTypes.includes(node.instanceType) &&
      config.prices?.[node.instanceType] === undefined
    ) {
      problems.push(
        `orchestra:nodes.${key}.instanceType = "${node.instanceType}": not a Lambda instance type; allowed: ${knownTypes.join(", ")}; ` +
          `pick one of these, or for a type Lambda added since, set its price with \`pulumi config set --path 'prices.${node.instanceType}' <usd-per-hour>\``,
      );
    }
    if (intact("filesystem") && node.mountFilesystem === true && filesystem === undefined) {
      problems.push(
        `orchestra:nodes.${key}.mountFilesystem is true but orchestra:filesystem is not set; set orchestra:filesystem or drop mountFilesystem`,
      );
    }
    if (
      node.mountFilesystem === true &&
      filesystem !== undefined &&
      pinnedRegions(node.regions, filesystem.region).length === 0
    ) {
      problems.push(
        `orchestra:nodes.${key}.regions = ${JSON.stringify(node.regions)} does not include ${filesystem.region}, where orchestra:filesystem lives; a filesystem attaches only to instances in its region: add "${filesystem.region}" to the regions`,
      );
    }
  }
  const roles = Object.values(config.nodes).map((node) => node.role);
  if (intact("layer", "nodes") && config.layer === "local" && roles.length > 0) {
    problems.push(
      `orchestra:nodes has ${roles.length} node(s) but the local layer runs on the operator's own Docker engine and launches nothing on Lambda; set orchestra:nodes to {}`,
    );
  }
  for (const role of ["app", "data"] as const) {
    const keys = Object.entries(config.nodes)
      .filter(([, node]) => node.role === role)
      .map(([key]) => key);
    if (keys.length > 1) {
      problems.push(
        `orchestra:nodes: ${keys.map((key) => `"${key}"`).join(" and ")} both have role ${role}; one node runs the ${role === "app" ? "API, frontend and MCP servers" : "data stores"} and their ports can be claimed once: give the others role gpu (or remove them)`,
      );
    }
  }
  if (
    intact("layer", "nodes", "deployContainers") &&
    config.layer !== "local" &&
    deploysContainers(config) &&
    !roles.includes("app")
  ) {
    problems.push(
      `orchestra:nodes has no node with role app; the ${config.layer} layer runs the API, the frontend and the MCP servers on it: add one, e.g. nodes: { app: { role: app, instanceType: gpu_1x_a10, regions: [us-west-1] } }`,
    );
  }
  return problems;
}

export function servicePort(config: RawConfig, service: ServiceName): number {
  return config.ports?.[service] ?? DEFAULT_PORTS[service];
}

/** Which services a config runs: the layer's data stores, the API, the frontend and the chosen MCP servers. */
export function runningServices(config: RawConfig): ServiceName[] {
  const stores = environmentPolicy(config.layer).dataStores.filter(
    (store): store is (typeof DATA_SERVICES)[number] => store !== "sqlite",
  );
  return [
    ...stores,
    "api",
    "frontend",
    ...mcpServersOf(config).map((server) => `mcp-${server}` as const),
    ...(monitoringOn(config) ? MONITORING_SERVICES : []),
  ];
}

/** The MCP servers a config runs: the `mcpServers` key, else the layer's policy default. */
export function mcpServersOf(config: RawConfig): readonly McpServer[] {
  return config.mcpServers ?? environmentPolicy(config.layer).defaultMcpServers;
}

export { deploysContainers } from "./configSchema";

export function serviceRules(config: RawConfig, intact: Intact = () => true): string[] {
  const problems: string[] = [];
  const claimedBy = new Map<number, ServiceName>();
  // Which services run depends on the layer and the MCP servers chosen.
  const running = intact("layer", "mcpServers") ? runningServices(config) : [];
  for (const service of running) {
    const port = servicePort(config, service);
    const other = claimedBy.get(port);
    if (other !== undefined) {
      problems.push(
        `orchestra:ports: ${other} and ${service} both claim port ${port}; every service needs its own port: set another with \`pulumi config set --path 'ports.${service}' <port>\`${service.startsWith("mcp-") ? " (8010-8014 are free for MCP servers)" : ""}`,
      );
    } else {
      claimedBy.set(port, service);
    }
  }
  const sshPort = config.sshPort ?? CONFIG_DEFAULTS.sshPort;
  const sshClash = claimedBy.get(sshPort);
  if (intact("sshPort") && sshClash !== undefined) {
    problems.push(
      `orchestra:sshPort = ${sshPort}: ${sshClash} already claims port ${sshPort} on the nodes; SSH needs its own port: pick another sshPort or move ${sshClash} with \`pulumi config set --path 'ports.${sshClash}' <port>\``,
    );
  }
  const publicPorts = config.publicPorts ?? [];
  for (const port of new Set(publicPorts.filter((port, index) => publicPorts.indexOf(port) !== index))) {
    problems.push(
      `orchestra:publicPorts lists ${port} more than once; each port is opened once: remove the repeat`,
    );
  }
  if (config.dockerHost !== undefined && !/^(unix|tcp|ssh|npipe):\/\/\S+$/.test(config.dockerHost)) {
    problems.push(
      `orchestra:dockerHost = "${config.dockerHost}": not a Docker daemon address; allowed: unix://, tcp://, ssh:// or npipe:// followed by the address, e.g. unix:///var/run/docker.sock`,
    );
  }
  for (const [service, image] of Object.entries({ ...DEFAULT_IMAGES, ...(config.images ?? {}) })) {
    const problem = imageProblem(service as ImageKey, image);
    if (problem !== undefined) problems.push(problem);
  }
  return problems;
}

/** Why an image is refused, with a `config set` that fixes it; undefined for a pinned image. */
function imageProblem(service: ImageKey, image: string): string | undefined {
  const problem = imagePinProblem(image);
  if (problem === undefined) return undefined;
  const set = (example: string) => `set e.g. \`pulumi config set --path 'images.${service}' ${example}\``;
  const repository = image.replace(/@.*$/, "").replace(/:[^:/]*$/, "");
  const why = {
    reference: `not an image reference: [registry[:port]/]repository in lowercase letters, digits, ".", "_", "-" and "/", then :tag and/or @sha256:<digest>; ${set(DEFAULT_IMAGES[service])}`,
    digest: `a digest is sha256: and 64 lowercase hex digits (\`docker buildx imagetools inspect <image>\` shows it); ${set(`${repository}@sha256:<64 hex digits>`)}`,
    moving: `images must be pinned by a version tag (not ${MOVING_TAGS.slice(0, -1).join(", ")} or ${MOVING_TAGS[MOVING_TAGS.length - 1]}, in any case: they move) or by a digest, so a deployment is repeatable; ${set(`${repository}:<version>`)}`,
  }[problem];
  return `orchestra:images.${service} = ${JSON.stringify(image)}: ${why}`;
}

export function costRules(config: RawConfig, intact: Intact = () => true): string[] {
  const problems: string[] = [];
  const ttl = ttlOrNone(config.ttlHours);
  if (intact("layer", "ttlHours") && environmentPolicy(config.layer).ttlForbidden && ttl !== undefined) {
    problems.push(
      `orchestra:ttlHours = ${ttl}: a ${config.layer} fleet is never reaped, so a TTL is refused there; remove it with \`pulumi config rm ttlHours\``,
    );
  }
  // An unset monthlyBudgetUsd is no problem: the environment policy gives every layer a budget.
  const warn = config.budgetWarnPercent ?? 80;
  const fail = config.budgetFailPercent ?? 100;
  if (intact("budgetWarnPercent", "budgetFailPercent") && warn > fail) {
    problems.push(
      `orchestra:budgetWarnPercent = ${warn} is above orchestra:budgetFailPercent = ${fail}; the warning must come first: lower budgetWarnPercent or raise budgetFailPercent`,
    );
  }
  if (
    intact("budgetOverride", "budgetOverrideReason") &&
    config.budgetOverride === true &&
    (config.budgetOverrideReason ?? "").trim() === ""
  ) {
    problems.push(
      'orchestra:budgetOverride is true but orchestra:budgetOverrideReason is empty; an override must say why: `pulumi config set budgetOverrideReason "<why>"`',
    );
  }
  for (const [type, usd] of Object.entries(config.prices ?? {})) {
    if (Math.abs(usd * 100 - Math.round(usd * 100)) > 1e-9) {
      problems.push(
        `orchestra:prices.${type} = ${usd}: prices are US dollars per hour with at most two decimals (whole cents), e.g. 1.29`,
      );
    }
  }
  return problems;
}

/**
 * Secrets a config needs, from the layer's data stores and whether it has a fleet. Store secrets
 * are needed only where containers are declared: a fleet-only stack runs no store.
 */
export function requiredSecrets(config: RawConfig): SecretKey[] {
  const stores = deploysContainers(config) ? environmentPolicy(config.layer).dataStores : [];
  return [
    ...(Object.keys(config.nodes).length > 0 ? (["sshPrivateKey"] as const) : []),
    ...(stores.includes("postgres") ? (["databasePassword"] as const) : []),
    ...(stores.includes("redis") ? (["redisPassword"] as const) : []),
    ...(stores.includes("weaviate") ? (["weaviateApiKey"] as const) : []),
    ...(monitoringOn(config) ? (["alertWebhookUrl"] as const) : []),
    ...(backupsOn(config) ? BACKUP_SECRETS : []),
  ];
}

export function secretRules(
  config: RawConfig,
  presentSecrets: readonly SecretKey[],
  intact: Intact = () => true,
): string[] {
  // A refused `monitoring` or `backup` still says whether it is on (configParse keeps a boolean `enabled`).
  if (!intact("layer", "nodes", "deployContainers")) return [];
  return requiredSecrets(config)
    .filter((key) => !presentSecrets.includes(key))
    .map(
      (key) =>
        `orchestra:${key} is not set; the ${config.layer} layer needs it: set it with \`pulumi config set --secret ${key} <value>\` (a secret: never commit it in plain text)`,
    );
}
