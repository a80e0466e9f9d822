/**
 * The shape of `Pulumi.<stack>.yaml` (plain values only), as zod. Optional keys carry the same
 * defaults as `Pulumi.yaml` declares, applied with `??` where the config is turned into settings.
 */
import { z } from "zod";
import { PUBLIC_REGION_CODES } from "../infra/lambda/schemas";
import { MCP_SERVERS, SERVICE_NAMES, type ServiceName } from "../components/serviceCatalog";

export const LAYERS = ["local", "integration", "staging", "production"] as const;
export type Layer = (typeof LAYERS)[number];

const nodeSchema = z.object({
  role: z.enum(["app", "data", "gpu"]),
  instanceType: z.string().min(1),
  regions: z.array(z.enum(PUBLIC_REGION_CODES)).min(1),
  mountFilesystem: z.boolean().optional(),
  /** Display name on Lambda (renamed in place). @default <project>-<stack>-<key> */
  name: z.string().min(1).max(55).optional(),
});

const serviceKey = z.enum(SERVICE_NAMES as [ServiceName, ...ServiceName[]]);
const wholePercent = z.number().int().min(1).max(1000);

/** Plain (non-secret) config values as written in Pulumi.<stack>.yaml. */
export const rawConfigSchema = z.object({
  layer: z.enum(LAYERS),
  lambdaApiUrl: z.string().url().optional(),
  sshPublicKey: z
    .string()
    .regex(
      /^(ssh-(rsa|ed25519)|ecdsa-sha2-nistp\d+) [A-Za-z0-9+/=]+/,
      "must be an OpenSSH public key such as `ssh-ed25519 AAAA... ops`",
    ),
  sshUser: z.string().min(1).optional(),
  sshPort: z.number().int().min(1).max(65535).optional(),
  allowedCidrs: z.array(z.string()).min(1),
  publicPorts: z.array(z.number().int().min(1).max(65535)).optional(),
  nodes: z.record(z.string(), nodeSchema),
  // `{}` (the project default) means no filesystem.
  filesystem: z
    .union([z.object({ name: z.string(), region: z.enum(PUBLIC_REGION_CODES) }), z.object({}).strict()])
    .optional(),
  imageFamily: z.string().optional(),
  bootTimeoutMinutes: z.number().positive().optional(),
  pollIntervalSeconds: z.number().positive().optional(),
  readinessChecks: z.boolean().optional(),
  remoteCommandRunner: z.enum(["pulumi-command", "ssh2-dynamic"]).optional(),
  // ---- services ----
  mcpServers: z.array(z.enum(MCP_SERVERS)).optional(),
  images: z.partialRecord(serviceKey, z.string().min(1)).optional(),
  ports: z.partialRecord(serviceKey, z.number().int().min(1).max(65535)).optional(),
  dockerHost: z.string().min(1).optional(),
  deployContainers: z.boolean().optional(),
  // ---- cost ----
  monthlyBudgetUsd: z.number().min(0).optional(),
  budgetWarnPercent: wholePercent.optional(),
  budgetFailPercent: wholePercent.optional(),
  budgetOverride: z.boolean().optional(),
  budgetOverrideReason: z.string().optional(),
  hoursPerMonth: z.number().int().min(1).max(744).optional(),
  prices: z.record(z.string(), z.number().positive()).optional(),
  filesystemEstimateGiB: z.number().min(0).optional(),
  filesystemUsdPerGiBMonth: z.number().min(0).optional(),
  ttlHours: z.number().min(0).optional(),
});
export type RawConfig = z.infer<typeof rawConfigSchema>;

/** Secret config keys; each is read with `requireSecret` and stays a secret end to end. */
export const SECRET_KEYS = [
  "lambdaApiKey",
  "sshPrivateKey",
  "databasePassword",
  "redisPassword",
  "weaviateApiKey",
] as const;
export type SecretKey = (typeof SECRET_KEYS)[number];

/**
 * Defaults shared with Pulumi.yaml (stacks/configProjectFile.test.ts keeps the two in step). Keys whose
 * default depends on the layer (`mcpServers`, the TTL) have none here: the policy decides.
 * `monthlyBudgetUsd` and `ttlHours` default to 0, which means "not set"; optional keys without a
 * natural default are declared in Pulumi.yaml with "" ("not set"), which readRawConfig skips.
 */
export const CONFIG_DEFAULTS = {
  sshUser: "ubuntu",
  sshPort: 22,
  publicPorts: [3000, 8000],
  bootTimeoutMinutes: 30,
  pollIntervalSeconds: 10,
  readinessChecks: true,
  remoteCommandRunner: "pulumi-command",
  imageFamily: "lambda-stack-24-04",
  filesystem: {},
  images: {},
  ports: {},
  dockerHost: "unix:///var/run/docker.sock",
  deployContainers: true,
  budgetWarnPercent: 80,
  budgetFailPercent: 100,
  budgetOverride: false,
  budgetOverrideReason: "",
  hoursPerMonth: 730,
  filesystemEstimateGiB: 100,
  prices: {},
  filesystemUsdPerGiBMonth: 0.2,
  monthlyBudgetUsd: 0,
  ttlHours: 0,
} as const;
