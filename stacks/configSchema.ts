/**
 * The shape of `Pulumi.<stack>.yaml` (plain values only), as zod. Optional keys carry the same
 * defaults as `Pulumi.yaml` declares, applied with `??` where the config is turned into settings.
 */
import { z } from "zod";
import { PUBLIC_REGION_CODES } from "../infra/lambda/schemas";
import { lambdaApiUrlProblem } from "../infra/lambda/settings";
import { MAX_TTL_HOURS } from "../infra/launchRules";
import { SECRET_NAMES } from "../components/containerSpec";
import { REMOTE_COMMAND_RUNNERS } from "../components/hostTarget";
import {
  IMAGE_KEYS,
  MCP_SERVERS,
  SERVICE_NAMES,
  type ImageKey,
  type ServiceName,
} from "../components/serviceCatalog";
import { publicKeyLineProblem } from "./sshPublicKey";

export const LAYERS = ["local", "integration", "staging", "production"] as const;
export type Layer = (typeof LAYERS)[number];

/**
 * A name-like text. `pulumi config set --path` coerces a nested "true" or "2024" to a boolean or a
 * number (the engine's coerce rule: true/false and base-10 integers), so those are taken back as
 * the text the user typed.
 */
const text = () =>
  z.preprocess(
    (value) => (typeof value === "boolean" || Number.isSafeInteger(value) ? String(value) : value),
    z.string(),
  );

/** A number from `min` to `max` (a whole number when `int`); `allowed` is the message for any miss. */
function bounded(
  min: number,
  max: number,
  allowed: string,
  options: { int?: boolean; above?: boolean } = {},
) {
  const base = options.int === true ? z.number().int({ error: allowed }) : z.number();
  return options.above === true
    ? base.gt(min, { error: allowed }).max(max, { error: allowed })
    : base.min(min, { error: allowed }).max(max, { error: allowed });
}

/** Why a node or filesystem key is unknown: the keys it has, for the user's typo. */
const unknownKey = (what: string, keys: string) => (issue: { code?: string }) =>
  issue.code === "unrecognized_keys" ? `not a ${what} setting (a ${what} has ${keys})` : undefined;

const port = () => bounded(1, 65535, "must be a whole port number from 1 to 65535", { int: true });

const nodeSchema = z.strictObject(
  {
    role: z.enum(["app", "data", "gpu"]),
    instanceType: text().pipe(z.string().min(1)),
    regions: z.array(z.enum(PUBLIC_REGION_CODES)).min(1),
    mountFilesystem: z.boolean().optional(),
    /** Display name on Lambda (renamed in place). @default <project>-<stack>-<key> */
    name: text().pipe(z.string().min(1).max(55)).optional(),
  },
  { error: unknownKey("node", "role, instanceType, regions, mountFilesystem and name") },
);

const BOTH_OR_NEITHER =
  "a filesystem needs both name and region (it attaches only to instances in its region), e.g. { name: orchestra-data, region: us-west-1 }, or set orchestra:filesystem to {} for none";

// `{}` (the project default) means no filesystem; otherwise both keys, each reported when missing.
const filesystemSchema = z
  .strictObject(
    { name: text().pipe(z.string().min(1)).optional(), region: z.enum(PUBLIC_REGION_CODES).optional() },
    { error: unknownKey("filesystem", "name and region") },
  )
  .superRefine((filesystem, ctx) => {
    const set = [filesystem.name, filesystem.region].filter((value) => value !== undefined).length;
    if (set !== 1) return;
    ctx.addIssue({
      code: "custom",
      path: [filesystem.name === undefined ? "name" : "region"],
      message: BOTH_OR_NEITHER,
    });
  });

// Lambda's images use ubuntu; a POSIX (portable) user name keeps the value out of reach of the
// shell, the ssh:// Docker host URL and ssh's own options (a leading "-").
const PUBLIC_KEY_LINE =
  /^(ssh-rsa|ssh-ed25519|ecdsa-sha2-nistp(256|384|521)) [A-Za-z0-9+/]+={0,3}( [^\r\n]*)?$/;

const POSIX_USER = /^[a-z_][a-z0-9_-]{0,31}$/;

const serviceKey = z.enum(SERVICE_NAMES as [ServiceName, ...ServiceName[]]);
const imageKey = z.enum(IMAGE_KEYS as [ImageKey, ...ImageKey[]]);
const wholePercent = bounded(1, 1000, "must be a whole percent from 1 to 1000", { int: true });
const usdPerHour = bounded(0, 1000, "must be more than 0 and at most 1000 US dollars per hour", {
  above: true,
});

/** Where Alertmanager sends alerts: a generic webhook (Alertmanager's JSON) or a Slack incoming webhook. */
export const ALERT_RECEIVERS = ["webhook", "slack"] as const;
export type AlertReceiver = (typeof ALERT_RECEIVERS)[number];

const MONITORING_KEYS =
  "enabled, thresholdPercent, apiLatencyMs, probeIntervalSeconds, retentionDays, receiver, groupWaitSeconds, groupIntervalSeconds and repeatIntervalMinutes";

const wholeSeconds = (min: number, max: number) =>
  bounded(min, max, `must be a whole number of seconds from ${min} to ${max}`, { int: true });

/** `orchestra:monitoring`: every key optional; the environment policy and MONITORING_DEFAULTS fill the rest. */
const monitoringSchema = z.strictObject(
  {
    enabled: z.boolean().optional(),
    thresholdPercent: bounded(1, 100, "must be a whole percent from 1 to 100", { int: true }).optional(),
    // Above the probe's 5 s timeout a probe fails instead of being slow: the alert could not fire.
    apiLatencyMs: bounded(
      1,
      4999,
      "must be a whole number of milliseconds from 1 to 4999 (a probe gives up at 5 s and counts as down)",
      { int: true },
    ).optional(),
    probeIntervalSeconds: wholeSeconds(5, 300).optional(),
    retentionDays: bounded(1, 3650, "must be a whole number of days from 1 to 3650", {
      int: true,
    }).optional(),
    receiver: z.enum(ALERT_RECEIVERS).optional(),
    groupWaitSeconds: wholeSeconds(1, 3600).optional(),
    groupIntervalSeconds: wholeSeconds(1, 86_400).optional(),
    repeatIntervalMinutes: bounded(1, 10_080, "must be a whole number of minutes from 1 to 10080 (a week)", {
      int: true,
    }).optional(),
  },
  { error: unknownKey("monitoring", MONITORING_KEYS) },
);

const BACKUP_KEYS =
  "enabled, endpoint, region, bucket, prefix, hourUtc, estimateGiB and usdPerGiBMonth; its credentials are the secrets backupAccessKeyId and backupSecretAccessKey";

// The names S3 allows for a bucket (AWS's bucket naming rules; S3-compatible servers follow them).
const BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
// A region lands in pgBackRest's configuration file and in every request's signature.
const REGION_NAME = /^[a-z0-9][a-z0-9-]{0,62}$/;
// Key path segments that mean the same in S3, pgBackRest's repo1-path and a shell.
const PREFIX_SEGMENT = /^[A-Za-z0-9._-]+$/;

/** Why `orchestra:backup.endpoint` is refused, or undefined (an https:// URL to a server: host and port only). */
export function backupEndpointProblem(url: string): string | undefined {
  let parsed: URL | undefined;
  try {
    parsed = new URL(url);
  } catch {
    parsed = undefined;
  }
  if (parsed === undefined || parsed.protocol !== "https:" || parsed.hostname === "")
    return "must be an https:// URL of an S3-compatible server such as https://s3.example.test:9443 (pgBackRest speaks S3 only over TLS); leave it unset for AWS S3";
  if (parsed.username !== "" || parsed.password !== "")
    return "must not carry a user name or password (URLs are stored and logged in plain text); the credentials are the secrets backupAccessKeyId and backupSecretAccessKey";
  // URL reports an empty query or fragment ("...?", "...#") as "", yet the text keeps it.
  if (parsed.pathname !== "/" || /[?#]/.test(url))
    return "must be the server's address only, https://<host>[:<port>], without a path, query or fragment (orchestra:backup.bucket and prefix say where in it)";
  return undefined;
}

/**
 * `orchestra:backup`: where the layer's backups go (an S3-compatible bucket). Every key is optional
 * here; where backups run, stacks/configBackup.ts requires `region` and `bucket`.
 */
export const backupSchema = z.strictObject(
  {
    enabled: z.boolean().optional(),
    endpoint: z
      .string()
      .superRefine((url, ctx) => {
        const problem = backupEndpointProblem(url);
        if (problem !== undefined) ctx.addIssue({ code: "custom", message: problem });
      })
      .optional(),
    region: text()
      .pipe(
        z
          .string()
          .regex(
            REGION_NAME,
            'must be a region name: lowercase letters, digits and "-", at most 63 characters, e.g. us-east-1',
          ),
      )
      .optional(),
    bucket: text()
      .pipe(
        z
          .string()
          .regex(
            BUCKET_NAME,
            'must be an S3 bucket name: 3 to 63 characters, lowercase letters, digits, "." and "-", starting and ending with a letter or digit, e.g. orchestra-backups-production',
          ),
      )
      .optional(),
    prefix: text()
      .pipe(
        z
          .string()
          .refine(
            (prefix) =>
              prefix.split("/").every((part) => PREFIX_SEGMENT.test(part) && part !== "." && part !== ".."),
            {
              error:
                'must be key segments of letters, digits, ".", "_" and "-" joined by "/", without a leading or trailing "/", an empty segment, "." or "..", e.g. orchestra or team/orchestra',
            },
          ),
      )
      .optional(),
    hourUtc: bounded(0, 23, "must be a whole hour from 0 to 23 (UTC)", { int: true }).optional(),
    // The cost report's backup storage row: the operator's estimate and the provider's rate.
    estimateGiB: bounded(0, 1_048_576, "must be from 0 to 1048576 GiB (1 PiB)").optional(),
    usdPerGiBMonth: bounded(
      0,
      10,
      "must be from 0 to 10 US dollars per GiB-month (AWS S3 Standard lists 0.023 per GB-month)",
    ).optional(),
  },
  { error: unknownKey("backup", BACKUP_KEYS) },
);
export type BackupConfig = z.infer<typeof backupSchema>;

/** Plain (non-secret) config values as written in Pulumi.<stack>.yaml. */
export const rawConfigSchema = z.object({
  layer: z.enum(LAYERS),
  lambdaApiUrl: z
    .string()
    .superRefine((url, ctx) => {
      const problem = lambdaApiUrlProblem(url);
      if (problem !== undefined) ctx.addIssue({ code: "custom", message: problem });
    })
    .optional(),
  sshPublicKey: z
    .string()
    .regex(
      PUBLIC_KEY_LINE,
      "must be one OpenSSH public key line such as `ssh-ed25519 AAAA... ops` (the contents of a .pub file)",
    )
    .superRefine((line, ctx) => {
      // One problem per value: a line that is not even key-shaped is reported by the regex alone.
      if (!PUBLIC_KEY_LINE.test(line)) return;
      const problem = publicKeyLineProblem(line);
      if (problem !== undefined) ctx.addIssue({ code: "custom", message: problem });
    }),
  sshUser: z
    .string()
    .regex(
      POSIX_USER,
      'must be a POSIX user name: a lowercase letter or "_" first, then lowercase letters, digits, "_" or "-", at most 32 characters (Lambda\'s images use ubuntu)',
    )
    .optional(),
  sshPort: port().optional(),
  allowedCidrs: z.array(z.string()).min(1),
  publicPorts: z.array(port()).optional(),
  nodes: z.record(z.string(), nodeSchema),
  filesystem: filesystemSchema.optional(),
  imageFamily: z.string().optional(),
  bootTimeoutMinutes: bounded(
    1,
    240,
    "must be a whole number of minutes from 1 to 240 (8-GPU types boot in about 20)",
    {
      int: true,
    },
  ).optional(),
  pollIntervalSeconds: bounded(1, 300, "must be a whole number of seconds from 1 to 300", {
    int: true,
  }).optional(),
  readinessChecks: z.boolean().optional(),
  remoteCommandRunner: z.enum(REMOTE_COMMAND_RUNNERS).optional(),
  // ---- services ----
  mcpServers: z.array(z.enum(MCP_SERVERS)).optional(),
  images: z.partialRecord(imageKey, z.string().min(1)).optional(),
  ports: z.partialRecord(serviceKey, port()).optional(),
  dockerHost: z.string().min(1).optional(),
  deployContainers: z.boolean().optional(),
  monitoring: monitoringSchema.optional(),
  backup: backupSchema.optional(),
  // ---- cost ----
  monthlyBudgetUsd: bounded(
    0,
    1_000_000,
    "must be from 0 to 1000000 US dollars a month (0 takes the layer's default)",
  ).optional(),
  budgetWarnPercent: wholePercent.optional(),
  budgetFailPercent: wholePercent.optional(),
  budgetOverride: z.boolean().optional(),
  budgetOverrideReason: z.string().optional(),
  hoursPerMonth: bounded(1, 744, "must be a whole number of hours from 1 to 744 (a 31-day month)", {
    int: true,
  }).optional(),
  prices: z.record(z.string(), usdPerHour).optional(),
  filesystemEstimateGiB: bounded(0, 1_048_576, "must be from 0 to 1048576 GiB (1 PiB)").optional(),
  filesystemUsdPerGiBMonth: bounded(
    0,
    10,
    "must be from 0 to 10 US dollars per GiB-month (Lambda charges 0.2)",
  ).optional(),
  // A TTL is a cost guard for a temporary environment: past a month it bounds nothing the budget does not.
  ttlHours: bounded(
    0,
    MAX_TTL_HOURS,
    `must be from 0 to ${MAX_TTL_HOURS} hours (31 days; 0 takes the layer's default, 24 on integration and 72 on staging)`,
  ).optional(),
});
export type RawConfig = z.infer<typeof rawConfigSchema>;

/**
 * One entry of each list or map key: when the key as a whole is refused, its entries that pass are
 * still checked by the cross-key rules, so one bad entry does not hide the problems of the others.
 */
export const ENTRY_SCHEMAS = {
  allowedCidrs: z.string(),
  publicPorts: port(),
  nodes: nodeSchema,
  images: z.string().min(1),
  ports: port(),
  prices: usdPerHour,
} as const;

/** Secret config keys; each is read with `requireSecret` and stays a secret end to end. */
export const SECRET_KEYS = ["lambdaApiKey", "sshPrivateKey", ...SECRET_NAMES] as const;
export type SecretKey = (typeof SECRET_KEYS)[number];

/**
 * Defaults shared with Pulumi.yaml (stacks/configProjectFile.test.ts keeps the two in step). Keys whose
 * default depends on the layer (`mcpServers`, the TTL) have none here: the policy decides, and
 * `publicPorts` has none because it follows the port map (the frontend's and the API's ports).
 * `monthlyBudgetUsd` and `ttlHours` default to 0, which means "not set"; optional keys without a
 * natural default are declared in Pulumi.yaml with "" ("not set"), which readRawConfig skips.
 */
export const CONFIG_DEFAULTS = {
  sshUser: "ubuntu",
  sshPort: 22,
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
  monitoring: {},
  backup: {},
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

/** Whether the layer declares containers (false: the fleet only, e.g. the offline sandbox). */
export function deploysContainers(config: RawConfig): boolean {
  return config.deployContainers ?? CONFIG_DEFAULTS.deployContainers;
}

/**
 * Defaults of the `orchestra:monitoring` keys (whether it runs, and its retention, are the
 * environment policy's). 80 % and 200 ms are ORCHESTRA.md's production targets; 30 s its health
 * check interval.
 */
export const MONITORING_DEFAULTS = {
  thresholdPercent: 80,
  apiLatencyMs: 200,
  probeIntervalSeconds: 30,
  receiver: "webhook",
  groupWaitSeconds: 30,
  groupIntervalSeconds: 300,
  repeatIntervalMinutes: 240,
} as const;

/**
 * Defaults of the `orchestra:backup` keys (whether backups run, their schedule and retention are
 * the environment policy's). 03:00 UTC is night in the Americas and early morning in Europe.
 */
export const BACKUP_DEFAULTS = {
  prefix: "orchestra",
  hourUtc: 3,
  /** What 30 days of a small platform's backups come to; set your own from `npm run backup -- list`. */
  estimateGiB: 100,
  /**
   * AWS S3 Standard in us-east-1, first 50 TB: $0.023 per GB-month (AWS's S3 pricing page, read
   * 2026-11; per GB, which the report applies per GiB: under 8% high). Other providers differ.
   */
  usdPerGiBMonth: 0.023,
} as const;
