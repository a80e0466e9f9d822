/**
 * Stack config, read once and validated all at once into a frozen, typed object. Every problem is
 * reported together, each naming the key, the bad value, what is allowed and how to fix it.
 */
import * as pulumi from "@pulumi/pulumi";
import type { BudgetSettings } from "../infra/pricing/costModel";
import { ttlOrNone } from "../infra/launchRules";
import type { FleetSettings } from "../components/gpuFleetPlan";
import { DEFAULT_IMAGES, type McpServer, type ServiceName } from "../components/serviceCatalog";
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
import { projectKeys, readRawConfig } from "./configRead";
import { parseKeys, undeclaredKeyProblems } from "./configParse";
import { environmentPolicy, type EnvironmentPolicy } from "./policy";

export { LAYERS, type Layer } from "./configSchema";
export { readRawConfig } from "./configRead";
export { configPath } from "./configParse";

export interface ServicesSettings {
  /** Services that run, in a stable order (data stores, API, frontend, MCP servers). */
  readonly running: readonly ServiceName[];
  readonly mcpServers: readonly McpServer[];
  readonly images: Readonly<Record<ServiceName, string>>;
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
  readonly remoteCommandRunner: "pulumi-command" | "ssh2-dynamic";
  readonly services: ServicesSettings;
  readonly cost: CostSettings;
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
      ...(config.sshPort !== undefined ? { sshPort: config.sshPort } : {}),
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
    requiredSecrets: requiredSecrets(config),
  });
}

/**
 * What loadStackConfig read besides the validated values: the one `pulumi.Config` (so secrets come
 * from the same read), which secret keys are set, and the Lambda API key's plaintext for the price
 * lookup. Kept off StackConfig in a WeakMap, so logging, throwing or exporting the config can never
 * carry the key; only `lambdaApiKeyFor` hands it out.
 */
interface ProgramConfig {
  readonly source: pulumi.Config;
  readonly present: readonly SecretKey[];
  readonly lambdaApiKey?: string;
}

const programConfigs = new WeakMap<StackConfig, ProgramConfig>();

/** Reads the stack's config once. Secret values are read as Outputs from that read (`readSecrets`). */
export function loadStackConfig(): StackConfig {
  const source = new pulumi.Config("orchestra");
  // Only presence is checked here; `get` on a secret returns its plaintext, which stays local.
  const present = SECRET_KEYS.filter((key) => (source.get(key) ?? "") !== "");
  // Only the names of what the stack sets, to refuse undeclared keys; their values are not read.
  const setKeys = projectKeys(Object.keys(pulumi.runtime.allConfig()));
  let config: StackConfig;
  try {
    config = validateStackConfig(
      readRawConfig((key) => source.get(key)),
      present,
      setKeys,
    );
  } catch (error) {
    // A RunError prints as its message alone: without it the engine adds a stack trace and repeats
    // every problem as the error's `problems` property.
    if (error instanceof StackConfigError) throw new pulumi.RunError(error.message);
    throw error;
  }
  // Plaintext, because prices are fetched before any resource exists (no Output to wait on).
  const lambdaApiKey = source.get("lambdaApiKey") ?? "";
  programConfigs.set(config, { source, present, ...(lambdaApiKey !== "" ? { lambdaApiKey } : {}) });
  return config;
}

/**
 * The stack's `lambdaApiKey` (secret) for the budget gate's price lookup, or undefined when it is
 * not set or the config was not read by loadStackConfig (tests build theirs with
 * validateStackConfig). Hand it to the Lambda client only: never log, throw or export it.
 */
export function lambdaApiKeyFor(config: StackConfig): string | undefined {
  return programConfigs.get(config)?.lambdaApiKey;
}

export type StackSecrets = Partial<Record<SecretKey, pulumi.Output<string>>>;

/** The secrets the config needs, each a Pulumi secret end to end (presence was checked by loadStackConfig). */
export function readSecrets(config: StackConfig): StackSecrets {
  const read = programConfigs.get(config);
  const source = read?.source ?? new pulumi.Config("orchestra");
  const isSet = (key: SecretKey) => read?.present.includes(key) ?? (source.get(key) ?? "") !== "";
  // A fleet-only stack needs no store secret, but one that is set still yields its connection string.
  const optional = STORE_SECRET_KEYS.filter((key) => !config.requiredSecrets.includes(key) && isSet(key));
  return Object.fromEntries(
    [...config.requiredSecrets, ...optional].map((key) => [key, source.requireSecret(key)]),
  );
}

const STORE_SECRET_KEYS: readonly SecretKey[] = ["databasePassword", "redisPassword", "weaviateApiKey"];
