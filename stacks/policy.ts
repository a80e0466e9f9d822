/**
 * Environment policy, decided in one place: protection, retention, TTLs, budgets and what each
 * layer runs. Stateful resources and the config defaults take their values from here.
 */
import type { McpServer } from "../components/serviceCatalog";
import type { Layer } from "./configSchema";

export type DataStore = "sqlite" | "postgres" | "redis" | "weaviate";

export interface EnvironmentPolicy {
  /** `protect` on stateful resources and instances: `pulumi destroy` refuses until lifted. */
  readonly protect: boolean;
  /** Keep data volumes and the filesystem when the stack is destroyed. */
  readonly retainOnDelete: boolean;
  /** Instances must carry a TTL (and `npm run reap` terminates them after it). */
  readonly ttlRequired: boolean;
  /** A TTL is refused (production fleets are never reaped). */
  readonly ttlForbidden: boolean;
  /** TTL used when the stack config sets none. */
  readonly defaultTtlHours?: number;
  /** Monthly budget when the stack config sets none. Cost: the failure threshold guards it. */
  readonly defaultMonthlyBudgetUsd: number;
  readonly dataStores: readonly DataStore[];
  /** MCP servers run by default (the `mcpServers` key overrides). */
  readonly defaultMcpServers: readonly McpServer[];
  readonly backupRetentionDays: number;
  /**
   * Prometheus, Alertmanager and the exporters: `default` on (production), `optional` (off unless
   * `monitoring.enabled` is true: staging), `unavailable` (local and integration refuse it).
   */
  readonly monitoring: "default" | "optional" | "unavailable";
  /** Days Prometheus keeps samples (`monitoring.retentionDays` overrides); 0 where monitoring is unavailable. */
  readonly metricsRetentionDays: number;
}

const BASIC_MCP_SERVERS: readonly McpServer[] = ["memory", "tools"];
const ALL_MCP_SERVERS: readonly McpServer[] = ["memory", "tools", "code", "git", "infrastructure", "unified"];

const POLICIES: Readonly<Record<Layer, EnvironmentPolicy>> = {
  local: {
    protect: false,
    retainOnDelete: false,
    ttlRequired: false,
    ttlForbidden: false,
    defaultMonthlyBudgetUsd: 0,
    dataStores: ["sqlite"],
    defaultMcpServers: [],
    backupRetentionDays: 0,
    monitoring: "unavailable",
    metricsRetentionDays: 0,
  },
  integration: {
    protect: false,
    retainOnDelete: false,
    ttlRequired: true,
    ttlForbidden: false,
    defaultTtlHours: 24,
    defaultMonthlyBudgetUsd: 300,
    dataStores: ["postgres"],
    defaultMcpServers: BASIC_MCP_SERVERS,
    backupRetentionDays: 0,
    monitoring: "unavailable",
    metricsRetentionDays: 0,
  },
  staging: {
    protect: false,
    retainOnDelete: false,
    ttlRequired: true,
    ttlForbidden: false,
    defaultTtlHours: 72,
    defaultMonthlyBudgetUsd: 3000,
    dataStores: ["postgres", "redis", "weaviate"],
    defaultMcpServers: ALL_MCP_SERVERS,
    backupRetentionDays: 7,
    monitoring: "optional",
    metricsRetentionDays: 15,
  },
  production: {
    protect: true,
    retainOnDelete: true,
    ttlRequired: false,
    ttlForbidden: true,
    defaultMonthlyBudgetUsd: 6000,
    dataStores: ["postgres", "redis", "weaviate"],
    defaultMcpServers: ALL_MCP_SERVERS,
    backupRetentionDays: 30,
    monitoring: "default",
    metricsRetentionDays: 30,
  },
};

export function environmentPolicy(layer: Layer): EnvironmentPolicy {
  return POLICIES[layer];
}
