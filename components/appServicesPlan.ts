/**
 * Pure planning for AppServices: the API, the frontend and the chosen MCP servers as container
 * specs, wired to the data stores by name over the private network, plus the health gate's list
 * of endpoints. Ports come from the single port map.
 */
import {
  PUBLIC_IP_PLACEHOLDER,
  requireAddress,
  type ContainerSpec,
  type HealthCheckSpec,
} from "./containerSpec";
import { storePort, storeUrlTemplate } from "./dataServicesPlan";
import {
  MCP_DESCRIPTIONS,
  portOf,
  type AppService,
  type DataService,
  type McpServer,
  type ServiceName,
} from "./serviceCatalog";

export interface AppServicesSettings {
  /** Layer name, passed as ENVIRONMENT / ORCHESTRA_AI_ENV. */
  readonly environment: string;
  readonly stores: readonly ("sqlite" | DataService)[];
  readonly mcpServers: readonly McpServer[];
  readonly images: Readonly<Record<ServiceName, string>>;
  readonly ports: Readonly<Partial<Record<ServiceName, number>>> & {
    readonly api: number;
    readonly frontend: number;
  };
  /**
   * Host name of the data stores as the app containers see it: the service name when they share
   * the Docker network, otherwise `{dataHost}`, which the component fills with the data node's
   * private address.
   */
  readonly dataHost?: string;
  /** Where the API and frontend publish: 0.0.0.0 on a Lambda node (the firewall guards it), 127.0.0.1 locally. */
  readonly publicBindAddress: string;
  /** Where MCP servers publish: the private side (the component substitutes the node's address). */
  readonly privateBindAddress: string;
  /** The SQLite volume (local layer). */
  readonly sqliteVolumeName?: string;
}

export interface HealthEndpoint {
  readonly service: AppService;
  readonly url: string;
}

export interface AppServicesPlan {
  /** The settings this plan was made from. */
  readonly settings: AppServicesSettings;
  readonly containers: ContainerSpec[];
  /** What the post-deploy health gate checks, from the app host itself. */
  readonly healthEndpoints: HealthEndpoint[];
  /**
   * Where users reach the API and the frontend: `http://<host>:<port>`, the host `{publicIp}` (the
   * app node's public address) on Lambda, 127.0.0.1 locally.
   */
  readonly publicUrls: { readonly api: string; readonly frontend: string };
  /** MCP server -> its URL on the private side (`{privateIp}` on Lambda): reach it over SSH. */
  readonly mcpEndpoints: Readonly<Partial<Record<McpServer, string>>>;
}

/** Health checks of the services every 30 s (ORCHESTRA.md), 3 misses, 20 s to start. */
export const SERVICE_HEALTH_TIMING = {
  intervalSeconds: 30,
  timeoutSeconds: 5,
  retries: 3,
  startPeriodSeconds: 20,
} as const;

/** Python is in every Orchestra image (FastAPI); curl is not, so the checks use urllib. */
function httpCheck(url: string): HealthCheckSpec {
  return {
    test: ["CMD", "python3", "-c", `import urllib.request; urllib.request.urlopen('${url}', timeout=4)`],
    ...SERVICE_HEALTH_TIMING,
  };
}

const LIMITS: Readonly<Record<"api" | "frontend" | "mcp", { memoryMiB: number; cpus: number }>> = {
  api: { memoryMiB: 2048, cpus: 2 },
  frontend: { memoryMiB: 512, cpus: 0.5 },
  mcp: { memoryMiB: 512, cpus: 0.5 },
};

function storeWiring(
  settings: AppServicesSettings,
): Pick<ContainerSpec, "env" | "secretEnv" | "secretEnvTemplates"> {
  const host = (service: DataService) => settings.dataHost ?? service;
  const url = (service: "sqlite" | DataService) =>
    service === "sqlite"
      ? storeUrlTemplate("sqlite", "", 0)
      : storeUrlTemplate(service, host(service), storePort(settings.ports, service));
  const env: Record<string, string> = {};
  const templates: Record<string, string> = {};
  if (settings.stores.includes("sqlite")) env.DATABASE_URL = url("sqlite");
  if (settings.stores.includes("postgres")) {
    env.POSTGRES_HOST = host("postgres");
    templates.DATABASE_URL = url("postgres");
  }
  if (settings.stores.includes("redis")) {
    env.REDIS_HOST = host("redis");
    templates.REDIS_URL = url("redis");
  }
  if (!settings.stores.includes("weaviate")) return { env, secretEnv: {}, secretEnvTemplates: templates };
  env.WEAVIATE_URL = url("weaviate");
  return { env, secretEnv: { WEAVIATE_API_KEY: "weaviateApiKey" }, secretEnvTemplates: templates };
}

export function planAppServices(prefix: string, settings: AppServicesSettings): AppServicesPlan {
  requireAddress(settings.publicBindAddress, `AppServices ${prefix}: publicBindAddress`);
  requireAddress(settings.privateBindAddress, `AppServices ${prefix}: privateBindAddress`);
  if (settings.dataHost !== undefined) requireAddress(settings.dataHost, `AppServices ${prefix}: dataHost`);
  const common = { ENVIRONMENT: settings.environment, ORCHESTRA_AI_ENV: settings.environment };
  const stores = storeWiring(settings);
  const apiPort = settings.ports.api;
  const apiUrl = `http://api:${apiPort}`;
  const containers: ContainerSpec[] = [
    {
      service: "api",
      containerName: `${prefix}-api`,
      image: settings.images.api,
      env: { ...common, ...stores.env, PORT: String(apiPort) },
      secretEnv: stores.secretEnv,
      secretEnvTemplates: stores.secretEnvTemplates,
      ports: [{ internal: apiPort, external: apiPort, hostIp: settings.publicBindAddress }],
      healthCheck: httpCheck(`http://127.0.0.1:${apiPort}/api/health`),
      restart: "unless-stopped",
      ...LIMITS.api,
      volumes:
        settings.sqliteVolumeName !== undefined
          ? [{ volumeName: settings.sqliteVolumeName, containerPath: "/data" }]
          : [],
    },
    {
      service: "frontend",
      containerName: `${prefix}-frontend`,
      image: settings.images.frontend,
      // The frontend proxies /api and /ws to the API over the private network.
      env: { ...common, VITE_API_URL: apiUrl, PORT: String(settings.ports.frontend) },
      secretEnv: {},
      secretEnvTemplates: {},
      ports: [
        {
          internal: settings.ports.frontend,
          external: settings.ports.frontend,
          hostIp: settings.publicBindAddress,
        },
      ],
      healthCheck: {
        test: ["CMD", "wget", "-q", "--spider", `http://127.0.0.1:${settings.ports.frontend}/`],
        ...SERVICE_HEALTH_TIMING,
      },
      restart: "unless-stopped",
      ...LIMITS.frontend,
      volumes: [],
    },
  ];
  // The gate runs on the app host: it reaches each server where it is published (MCP servers on
  // the private side, which may be a placeholder the component fills in).
  const publicHost = settings.publicBindAddress === "0.0.0.0" ? "127.0.0.1" : settings.publicBindAddress;
  const healthEndpoints: HealthEndpoint[] = [
    { service: "api", url: `http://${publicHost}:${apiPort}/api/health` },
  ];
  const mcpEndpoints: Partial<Record<McpServer, string>> = {};
  for (const server of settings.mcpServers) {
    const service = `mcp-${server}` as const;
    const port = portOf(settings.ports, service);
    // The memory server keeps its state in the stores; the others only talk to the API.
    const wiring = server === "memory" ? stores : { env: {}, secretEnv: {}, secretEnvTemplates: {} };
    containers.push({
      service,
      containerName: `${prefix}-${service}`,
      image: settings.images[service],
      env: {
        ...common,
        ...wiring.env,
        MCP_SERVER_NAME: MCP_DESCRIPTIONS[server],
        MCP_SERVER_PORT: String(port),
        ...(server === "memory" ? { MCP_MEMORY_PORT: String(port) } : {}),
        ORCHESTRA_API_URL: apiUrl,
      },
      secretEnv: wiring.secretEnv,
      secretEnvTemplates: wiring.secretEnvTemplates,
      ports: [{ internal: port, external: port, hostIp: settings.privateBindAddress }],
      healthCheck: httpCheck(`http://127.0.0.1:${port}/health`),
      // unless-stopped: a crashed MCP server is brought back by the Docker daemon.
      restart: "unless-stopped",
      ...LIMITS.mcp,
      volumes: [],
      // Upstream MCP images run as non-root; keep it that way.
      user: "1000:1000",
    });
    mcpEndpoints[server] = `http://${settings.privateBindAddress}:${port}`;
    healthEndpoints.push({ service, url: `${mcpEndpoints[server]}/health` });
  }
  // Published on every interface (a Lambda node: the firewall guards it): users come in by the public address.
  const userHost =
    settings.publicBindAddress === "0.0.0.0" ? PUBLIC_IP_PLACEHOLDER : settings.publicBindAddress;
  const publicUrls = {
    api: `http://${userHost}:${apiPort}`,
    frontend: `http://${userHost}:${settings.ports.frontend}`,
  };
  return { settings, containers, healthEndpoints, publicUrls, mcpEndpoints };
}
