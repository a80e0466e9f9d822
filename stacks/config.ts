/**
 * Stack config, read once and validated all at once into a frozen, typed object. Every problem is
 * reported together, each naming the key, the bad value, what is allowed and how to fix it.
 */
import type * as pulumi from "@pulumi/pulumi";
import type { BudgetSettings } from "../infra/pricing/costModel";
import { ttlOrNone } from "../infra/launchRules";
import type { FleetSettings } from "../components/gpuFleetPlan";
import type { RemoteCommandRunner } from "../components/hostTarget";
import {
  DEFAULT_IMAGES,
  type ImageKey,
  type McpServer,
  type ServiceName,
} from "../components/serviceCatalog";
import { CONFIG_DEFAULTS, SECRET_KEYS, type Layer, type RawConfig, type SecretKey } from "./configSchema";
import {
  costRules,
  deploysContainers,
  mcpServersOf,
  nodeRules,
  requiredSecrets,
  runningServices,
  secretRules,
  servicePort,
  serviceRules,
  type Filesystem,
} from "./configRules";
import { networkRules } from "./configNetworkRules";
import { parseKeys, undeclaredKeyProblems } from "./configParse";
import { monitoringConfigRules, monitoringSettings, type MonitoringSettings } from "./configMonitoring";
import { backupConfigRules, backupSettings, type BackupSettings } from "./configBackup";
import { environmentPolicy, type EnvironmentPolicy } from "./policy";

export { LAYERS, type Layer } from "./configSchema";
export { configPath } from "./configParse";
export { readRawConfig } from "./configRead";

export interface ServicesSettings {
  /** Services that run, in a stable order (data stores, API, frontend, MCP servers). */
  readonly running: readonly ServiceName[];
  readonly mcpServers: readonly McpServer[];
  /** Every service's image, and the backup job's (`orchestra-backup`). */
  readonly images: Readonly<Record<ImageKey, string>>;
  readonly ports: Readonly<Record<ServiceName, number>>;
  /** Docker engine for the local layer. */
  readonly dockerHost: string;
  /** Declare the containers (false: the fleet only; the offline sandbox has no Docker plugin). */
  readonly deployContainers: boolean;
}

export interface CostSettings {
  /**
   * `monthlyBudgetUsd` is the stack's own, or when unset (0) the layer's default from the
   * environment policy (integration $300, staging $3,000, production $6,000; local none).
   */
  readonly budget: BudgetSettings;
  readonly hoursPerMonth: number;
  readonly pricesUsdPerHour: Readonly<Record<string, number>>;
  readonly filesystemEstimateGiB: number;
  readonly filesystemUsdPerGiBMonth: number;
  /** Hours an instance lives before `npm run reap` terminates it; undefined on production. */
  readonly ttlHours?: number;
}

export interface StackConfig {
  readonly layer: Layer;
  readonly policy: EnvironmentPolicy;
  readonly lambdaApiUrl?: string;
  readonly ssh: { readonly publicKey: string; readonly user: string; readonly port: number };
  readonly fleet: FleetSettings;
  readonly readinessChecks: boolean;
  readonly remoteCommandRunner: RemoteCommandRunner;
  readonly services: ServicesSettings;
  readonly cost: CostSettings;
  /** Prometheus, Alertmanager and the exporters; undefined when the layer runs none. */
  readonly monitoring?: MonitoringSettings;
  /** Where and how the data stores are backed up; undefined when the layer keeps no backups. */
  readonly backups?: BackupSettings;
  readonly requiredSecrets: readonly SecretKey[];
}

export class StackConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(
      `Stack config has ${problems.length} problem${problems.length === 1 ? "" : "s"}:\n${problems.map((problem) => `  - ${problem}`).join("\n")}`,
    );
    this.name = "StackConfigError";
  }
}

/** Secret stack config as the program holds it: each value a Pulumi secret Output. */
export type StackSecrets = Partial<Record<SecretKey, pulumi.Output<string>>>;

/**
 * Validates raw values (already parsed from YAML). Pure: unit-tested without Pulumi.
 * `presentSecrets` names the secret keys the stack has set (their values are never read here);
 * `setKeys` the keys the stack sets (without `orchestra:`), to refuse undeclared ones.
 * @throws StackConfigError listing every problem at once.
 */
export function validateStackConfig(
  raw: Record<string, unknown>,
  presentSecrets: readonly SecretKey[] = SECRET_KEYS,
  setKeys: readonly string[] = [],
): StackConfig {
  const { problems: schema, config, intact } = parseKeys(raw);
  const filesystem: Filesystem =
    config.filesystem?.name !== undefined && config.filesystem.region !== undefined
      ? { name: config.filesystem.name, region: config.filesystem.region }
      : undefined;
  const problems = [
    ...schema,
    ...undeclaredKeyProblems(setKeys),
    ...networkRules(config, intact),
    ...nodeRules(config, filesystem, intact),
    ...serviceRules(config, intact),
    ...costRules(config, intact),
    ...monitoringConfigRules(config, intact),
    ...backupConfigRules(config, intact),
    ...secretRules(config, presentSecrets, intact),
  ];
  if (problems.length > 0) throw new StackConfigError(problems);
  return freeze(config, filesystem);
}

function freeze(config: RawConfig, filesystem: Filesystem): StackConfig {
  const policy = environmentPolicy(config.layer);
  const ttlHours = ttlOrNone(config.ttlHours) ?? policy.defaultTtlHours;
  const running = runningServices(config);
  const overrideReason = config.budgetOverrideReason?.trim();
  const ownBudgetUsd = config.monthlyBudgetUsd ?? CONFIG_DEFAULTS.monthlyBudgetUsd;
  const monitoring = monitoringSettings(config);
  const backups = backupSettings(config);
  return Object.freeze({
    layer: config.layer,
    policy,
    lambdaApiUrl: config.lambdaApiUrl,
    ssh: Object.freeze({
      publicKey: config.sshPublicKey,
      user: config.sshUser ?? CONFIG_DEFAULTS.sshUser,
      port: config.sshPort ?? CONFIG_DEFAULTS.sshPort,
    }),
    fleet: Object.freeze({
      nodes: Object.entries(config.nodes).map(([key, node]) => ({
        key,
        role: node.role,
        instanceType: node.instanceType,
        regions: node.regions,
        mountFilesystem: node.mountFilesystem ?? false,
        ...(node.name !== undefined ? { displayName: node.name } : {}),
      })),
      allowedCidrs: config.allowedCidrs,
      // Unset: the frontend's and the API's ports, wherever orchestra:ports puts them.
      publicPorts: config.publicPorts ?? [servicePort(config, "frontend"), servicePort(config, "api")],
      filesystem,
      bootTimeoutMinutes: config.bootTimeoutMinutes ?? CONFIG_DEFAULTS.bootTimeoutMinutes,
      pollIntervalSeconds: config.pollIntervalSeconds ?? CONFIG_DEFAULTS.pollIntervalSeconds,
      imageFamily: config.imageFamily ?? CONFIG_DEFAULTS.imageFamily,
    }),
    readinessChecks: config.readinessChecks ?? CONFIG_DEFAULTS.readinessChecks,
    remoteCommandRunner: config.remoteCommandRunner ?? CONFIG_DEFAULTS.remoteCommandRunner,
    services: Object.freeze({
      running,
      mcpServers: mcpServersOf(config),
      images: Object.freeze({ ...DEFAULT_IMAGES, ...(config.images ?? {}) }),
      ports: Object.freeze(
        Object.fromEntries(running.map((service) => [service, servicePort(config, service)])) as Record<
          ServiceName,
          number
        >,
      ),
      dockerHost: config.dockerHost ?? CONFIG_DEFAULTS.dockerHost,
      deployContainers: deploysContainers(config),
    }),
    cost: Object.freeze({
      budget: Object.freeze({
        // 0 means "not set": the environment policy decides the layer's budget.
        monthlyBudgetUsd: ownBudgetUsd > 0 ? ownBudgetUsd : policy.defaultMonthlyBudgetUsd,
        warnPercent: config.budgetWarnPercent ?? CONFIG_DEFAULTS.budgetWarnPercent,
        failPercent: config.budgetFailPercent ?? CONFIG_DEFAULTS.budgetFailPercent,
        ...(config.budgetOverride === true && overrideReason !== undefined ? { overrideReason } : {}),
      }),
      hoursPerMonth: config.hoursPerMonth ?? CONFIG_DEFAULTS.hoursPerMonth,
      pricesUsdPerHour: Object.freeze({ ...(config.prices ?? {}) }),
      filesystemEstimateGiB: config.filesystemEstimateGiB ?? CONFIG_DEFAULTS.filesystemEstimateGiB,
      filesystemUsdPerGiBMonth: config.filesystemUsdPerGiBMonth ?? CONFIG_DEFAULTS.filesystemUsdPerGiBMonth,
      ...(ttlHours !== undefined ? { ttlHours } : {}),
    }),
    ...(monitoring !== undefined ? { monitoring } : {}),
    ...(backups !== undefined ? { backups } : {}),
    requiredSecrets: requiredSecrets(config),
  });
}
