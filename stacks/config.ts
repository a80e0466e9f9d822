/**
 * Stack config, read once and validated all at once into a frozen, typed object. Every problem is
 * reported together, each naming the key, the bad value, what is allowed and how to fix it.
 */
import * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import { PUBLIC_REGION_CODES } from "../infra/lambda/schemas";
import type { FleetSettings } from "../components/gpuFleetPlan";

export const LAYERS = ["local", "integration", "staging", "production"] as const;
export type Layer = (typeof LAYERS)[number];

const NODE_KEY = /^[a-z][a-z0-9-]{0,20}$/;
const CIDR = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/;

const nodeSchema = z.object({
  role: z.enum(["app", "data", "gpu"]),
  instanceType: z.string().min(1),
  regions: z.array(z.enum(PUBLIC_REGION_CODES)).min(1),
  mountFilesystem: z.boolean().optional(),
  /** Display name on Lambda (renamed in place). @default <project>-<stack>-<key> */
  name: z.string().min(1).max(55).optional(),
});

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
});
export type RawConfig = z.infer<typeof rawConfigSchema>;

export interface StackConfig {
  readonly layer: Layer;
  readonly lambdaApiUrl?: string;
  readonly ssh: { readonly publicKey: string; readonly user: string; readonly port: number };
  readonly fleet: FleetSettings;
  readonly readinessChecks: boolean;
  readonly remoteCommandRunner: "pulumi-command" | "ssh2-dynamic";
}

export class StackConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(
      `Stack config has ${problems.length} problem${problems.length === 1 ? "" : "s"}:\n${problems.map((problem) => `  - ${problem}`).join("\n")}`,
    );
    this.name = "StackConfigError";
  }
}

/** Validates raw values (already parsed from YAML). Pure: unit-tested without Pulumi. */
export function validateStackConfig(raw: Record<string, unknown>): StackConfig {
  const problems: string[] = [];
  const parsed = rawConfigSchema.safeParse(raw);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const key = issue.path.length > 0 ? `orchestra:${issue.path.join(".")}` : "orchestra";
      const value = issue.path.reduce<unknown>(
        (current, part) => (current as Record<string | number, unknown> | undefined)?.[part as string],
        raw,
      );
      problems.push(
        `${key} = ${JSON.stringify(value) ?? "(not set)"}: ${issue.message}; fix with \`pulumi config set --path '${key}' <value>\``,
      );
    }
    throw new StackConfigError(problems);
  }
  const rawFilesystem = parsed.data.filesystem;
  const filesystem =
    rawFilesystem !== undefined && "name" in rawFilesystem
      ? (rawFilesystem as { name: string; region: string })
      : undefined;
  const config = { ...parsed.data, filesystem };
  for (const cidr of config.allowedCidrs) {
    const match = CIDR.exec(cidr);
    if (match === null || match.slice(1, 5).some((octet) => Number(octet) > 255) || Number(match[5]) > 32) {
      problems.push(
        `orchestra:allowedCidrs contains "${cidr}": not an IPv4 CIDR; write e.g. 203.0.113.0/24 (a single address is /32)`,
      );
    }
  }
  for (const [key, node] of Object.entries(config.nodes)) {
    if (!NODE_KEY.test(key)) {
      problems.push(
        `orchestra:nodes.${key}: the node key "${key}" must be a valid hostname part (lowercase letter first, then lowercase letters, digits, "-"; at most 21); rename it, e.g. "gpu-a"`,
      );
    }
    if (node.mountFilesystem === true && config.filesystem === undefined) {
      problems.push(
        `orchestra:nodes.${key}.mountFilesystem is true but orchestra:filesystem is not set; set orchestra:filesystem or drop mountFilesystem`,
      );
    }
    if (
      node.mountFilesystem === true &&
      config.filesystem !== undefined &&
      !(node.regions as readonly string[]).includes(config.filesystem.region)
    ) {
      problems.push(
        `orchestra:nodes.${key}.regions = ${JSON.stringify(node.regions)} does not include ${config.filesystem.region}, where orchestra:filesystem lives; a filesystem attaches only to instances in its region: add "${config.filesystem.region}" to the regions`,
      );
    }
  }
  if (Object.keys(config.nodes).length === 0 && config.layer !== "local") {
    problems.push(
      `orchestra:nodes is empty; the ${config.layer} layer needs at least one node, e.g. nodes: { app: { role: app, instanceType: gpu_1x_a10, regions: [us-west-1] } }`,
    );
  }
  if (problems.length > 0) throw new StackConfigError(problems);
  return Object.freeze({
    layer: config.layer,
    lambdaApiUrl: config.lambdaApiUrl,
    ssh: Object.freeze({
      publicKey: config.sshPublicKey,
      user: config.sshUser ?? "ubuntu",
      port: config.sshPort ?? 22,
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
      publicPorts: config.publicPorts ?? [3000, 8000],
      filesystem: config.filesystem,
      bootTimeoutMinutes: config.bootTimeoutMinutes ?? 30,
      pollIntervalSeconds: config.pollIntervalSeconds ?? 10,
      imageFamily: config.imageFamily,
    }),
    readinessChecks: config.readinessChecks ?? true,
    remoteCommandRunner: config.remoteCommandRunner ?? "pulumi-command",
  });
}

const PLAIN_KEYS = Object.keys(rawConfigSchema.shape) as (keyof RawConfig)[];

/** Reads the stack's config once. Secrets are read separately as Outputs (see `readSecrets`). */
export function loadStackConfig(): StackConfig {
  const config = new pulumi.Config("orchestra");
  const raw: Record<string, unknown> = {};
  for (const key of PLAIN_KEYS) {
    const text = config.get(key);
    if (text === undefined) continue;
    try {
      raw[key] = JSON.parse(text);
    } catch {
      raw[key] = text;
    }
  }
  return validateStackConfig(raw);
}

export interface StackSecrets {
  readonly sshPrivateKey: pulumi.Output<string>;
  readonly databasePassword: pulumi.Output<string>;
}

/** Secrets, each a Pulumi secret end to end; a missing one names the command that sets it. */
export function readSecrets(): StackSecrets {
  const config = new pulumi.Config("orchestra");
  const missing = ["sshPrivateKey", "databasePassword"].filter((key) => config.get(key) === undefined);
  if (missing.length > 0) {
    throw new StackConfigError(
      missing.map(
        (key) =>
          `orchestra:${key} is not set; set it with \`pulumi config set --secret ${key} <value>\` (it is a secret: never commit it in plain text)`,
      ),
    );
  }
  return {
    sshPrivateKey: config.requireSecret("sshPrivateKey"),
    databasePassword: config.requireSecret("databasePassword"),
  };
}
