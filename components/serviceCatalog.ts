/**
 * The Orchestra services this stack runs: one typed port map (the single source of truth for
 * ports; a test proves they are unique), the MCP servers, and the pinned default images.
 * Facts from ../shared/ORCHESTRA.md; every one is overridable in stack config.
 */

export const MCP_SERVERS = ["memory", "tools", "code", "git", "infrastructure", "unified"] as const;
export type McpServer = (typeof MCP_SERVERS)[number];

export const DATA_SERVICES = ["postgres", "redis", "weaviate"] as const;
export type DataService = (typeof DATA_SERVICES)[number];

export type AppService = "api" | "frontend" | `mcp-${McpServer}`;
export type ServiceName = AppService | DataService;

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
});

export const SERVICE_NAMES = Object.keys(DEFAULT_PORTS) as ServiceName[];

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
export const DEFAULT_IMAGES: Readonly<Record<ServiceName, string>> = Object.freeze({
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
});

/** A pinned reference has a tag other than `latest`, or a digest. */
export function isPinnedImage(image: string): boolean {
  if (/@sha256:[0-9a-f]{64}$/.test(image)) return true;
  const lastSegment = image.slice(image.lastIndexOf("/") + 1);
  const colon = lastSegment.indexOf(":");
  return colon > 0 && lastSegment.slice(colon + 1) !== "" && lastSegment.slice(colon + 1) !== "latest";
}
