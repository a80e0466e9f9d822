/**
 * zod schemas for every Lambda Cloud API 1.8.3 response body.
 *
 * Lenient about fields we do not use (Lambda adds fields without a version bump: SSH keys gained
 * `workspace_id` in June 2026 and broke a strict decoder), strict about the fields we read.
 *
 * The schemas are built by a function and cached on globalThis rather than held in module-level
 * constants: a dynamic provider is serialized by value, and a zod object captured in a closure
 * would be serialized with it. Functions serialize as source; zod itself is `require`d.
 */
import { z } from "zod";
import { processWide } from "../processWide";
import { LambdaResponseShapeError } from "./errors";

export const PUBLIC_REGION_CODES = [
  "europe-central-1",
  "asia-south-1",
  "australia-east-1",
  "me-west-1",
  "asia-northeast-1",
  "asia-northeast-2",
  "us-east-1",
  "us-west-2",
  "us-west-1",
  "us-south-1",
  "us-west-3",
  "us-midwest-1",
  "us-east-2",
  "us-south-2",
  "us-south-3",
  "us-east-3",
  "us-midwest-2",
] as const;

export const INSTANCE_STATUSES = [
  "booting",
  "active",
  "unhealthy",
  "terminated",
  "terminating",
  "preempted",
] as const;

export function buildLambdaSchemas() {
  // Region names are kept as plain strings in responses: a region Lambda opens tomorrow must not
  // make every listing fail to parse. Requests are validated against PUBLIC_REGION_CODES instead.
  const region = z.object({ name: z.string(), description: z.string() });
  const instanceType = z.object({
    name: z.string(),
    description: z.string(),
    gpu_description: z.string(),
    price_cents_per_hour: z.number().int(),
    specs: z.object({
      vcpus: z.number().int(),
      memory_gib: z.number().int(),
      storage_gib: z.number().int(),
      gpus: z.number().int(),
    }),
  });
  const actionDetails = z.object({
    available: z.boolean(),
    reason_code: z.string().optional(),
    reason_description: z.string().optional(),
  });
  // Optional text Lambda has been seen to send as null: read as absent, never as "" (an empty
  // address means "every interface" to Docker), so callers must decide what a missing one means.
  const optionalText = z
    .string()
    .nullish()
    .transform((value) => value ?? undefined);
  const instance = z.object({
    id: z.string().min(1),
    name: optionalText,
    ip: optionalText,
    private_ip: optionalText,
    status: z.enum(INSTANCE_STATUSES),
    ssh_key_names: z.array(z.string()),
    file_system_names: z.array(z.string()),
    file_system_mounts: z.array(z.object({ mount_point: z.string(), file_system_id: z.string() })).optional(),
    region,
    instance_type: instanceType,
    hostname: optionalText,
    // jupyter_token is a secret that Lambda puts in every listing; it is deliberately not parsed,
    // so it never reaches outputs or state.
    actions: z.object({
      migrate: actionDetails,
      rebuild: actionDetails,
      restart: actionDetails,
      cold_reboot: actionDetails,
      terminate: actionDetails,
    }),
    tags: z.array(z.object({ key: z.string(), value: z.string() })).optional(),
    firewall_rulesets: z.array(z.object({ id: z.string() })).optional(),
  });
  const sshKey = z.object({ id: z.string().min(1), name: z.string(), public_key: z.string() });
  const user = z.object({ id: z.string(), email: z.string(), status: z.string() });
  const filesystem = z.object({
    id: z.string().min(1),
    name: z.string(),
    mount_point: z.string(),
    created: z.string(),
    created_by: user,
    is_in_use: z.boolean(),
    region,
    bytes_used: z.number().int().optional(),
  });
  const firewallRule = z.object({
    protocol: z.enum(["tcp", "udp", "icmp", "all"]),
    port_range: z.tuple([z.number().int(), z.number().int()]).optional(),
    source_network: z.string(),
    description: z.string(),
  });
  const firewallRuleset = z.object({
    id: z.string().min(1),
    name: z.string(),
    region,
    rules: z.array(firewallRule),
    created: z.string(),
    instance_ids: z.array(z.string()),
  });
  const image = z.object({
    id: z.string(),
    created_time: z.string(),
    updated_time: z.string(),
    name: z.string(),
    description: z.string(),
    family: z.string(),
    version: z.string(),
    architecture: z.string(),
    region,
  });
  const auditEvent = z
    .object({
      event_id: z.string(),
      event_time: z.string(),
      action: z.string(),
      service_name: z.string(),
      resource_name: z.string(),
      resource_lrns: z.array(z.string()),
    })
    .passthrough();

  return {
    // Items are parsed one by one (parseInstanceListing): one odd instance must not hide the rest.
    instanceList: z.array(z.unknown()),
    instance,
    instanceTypes: z.record(
      z.string(),
      z.object({ instance_type: instanceType, regions_with_capacity_available: z.array(region) }),
    ),
    launch: z.object({ instance_ids: z.array(z.string()).min(1) }),
    restart: z.object({ restarted_instances: z.array(instance) }),
    terminate: z.object({ terminated_instances: z.array(instance) }),
    sshKeyList: z.array(sshKey),
    sshKeyAdded: sshKey.extend({ private_key: z.string().optional() }),
    empty: z.object({}),
    filesystemList: z.array(filesystem),
    filesystem,
    filesystemDeleted: z.object({ deleted_ids: z.array(z.string()) }),
    imageList: z.array(image),
    firewallRuleList: z.array(firewallRule),
    firewallRulesetList: z.array(firewallRuleset),
    firewallRuleset,
    globalFirewallRuleset: z.object({
      id: z.literal("global"),
      name: z.string(),
      rules: z.array(firewallRule),
    }),
    auditEventsPage: z.object({ events: z.array(auditEvent), page_token: z.string().nullable() }),
    errorEnvelope: z.object({
      error: z.object({ code: z.string(), message: z.string(), suggestion: z.string().optional() }),
    }),
  };
}

export type LambdaSchemas = ReturnType<typeof buildLambdaSchemas>;
export type Instance = z.infer<LambdaSchemas["instance"]>;
export type InstanceStatus = Instance["status"];
export type InstanceTypesMap = z.infer<LambdaSchemas["instanceTypes"]>;
export type SshKey = z.infer<LambdaSchemas["sshKeyAdded"]>;
export type Filesystem = z.infer<LambdaSchemas["filesystem"]>;
export type FirewallRule = z.infer<LambdaSchemas["firewallRuleList"]>[number];
export type FirewallRuleset = z.infer<LambdaSchemas["firewallRuleset"]>;
export type GlobalFirewallRuleset = z.infer<LambdaSchemas["globalFirewallRuleset"]>;
export type Image = z.infer<LambdaSchemas["imageList"]>[number];
export type AuditEventsPage = z.infer<LambdaSchemas["auditEventsPage"]>;

const SCHEMA_CACHE = "__orchestraLambdaSchemas";

/** The schemas, built once per process. */
export function lambdaSchemas(): LambdaSchemas {
  return processWide(SCHEMA_CACHE, buildLambdaSchemas);
}

/** "field.path: message; ..." for the first three issues. */
function describeIssues(error: z.ZodError): string {
  const problems = error.issues.slice(0, 3).map((issue) => {
    const field = issue.path.length > 0 ? issue.path.join(".") : "(body)";
    return `${field}: ${issue.message}`;
  });
  return problems.join("; ");
}

/** Parses `data` or throws an error that names the first offending field and the operation. */
export function parseResponse<T>(schema: z.ZodType<T>, data: unknown, operation: string): T {
  const result = schema.safeParse(data);
  if (result.success) return result.data;
  throw new LambdaResponseShapeError(operation, describeIssues(result.error));
}

/**
 * A listed instance that does not parse: its id, name and status when those are readable strings,
 * its tags when `tags` is a list (only its string key/value entries), and why. The reaper reads the
 * tags to tell whether it is its stack's.
 */
export interface UnreadableInstance {
  readonly id?: string;
  readonly name?: string;
  readonly status?: string;
  readonly tags?: { key: string; value: string }[];
  readonly problem: string;
}

function readableTags(raw: unknown): { key: string; value: string }[] | undefined {
  if (!Array.isArray(raw)) return undefined;
  return raw.flatMap((entry: unknown) => {
    const { key, value } = (entry ?? {}) as { key?: unknown; value?: unknown };
    return typeof key === "string" && typeof value === "string" ? [{ key, value }] : [];
  });
}

export interface InstanceListing {
  readonly instances: Instance[];
  readonly unreadable: UnreadableInstance[];
}

/** Parses each listed instance on its own: the odd one is reported, the others are returned. */
export function parseInstanceListing(items: unknown[]): InstanceListing {
  const schema = lambdaSchemas().instance;
  const instances: Instance[] = [];
  const unreadable: UnreadableInstance[] = [];
  for (const item of items) {
    const result = schema.safeParse(item);
    if (result.success) {
      instances.push(result.data);
      continue;
    }
    const raw = (item ?? {}) as { id?: unknown; name?: unknown; status?: unknown; tags?: unknown };
    const tags = readableTags(raw.tags);
    unreadable.push({
      ...(typeof raw.id === "string" ? { id: raw.id } : {}),
      ...(typeof raw.name === "string" ? { name: raw.name } : {}),
      ...(typeof raw.status === "string" ? { status: raw.status } : {}),
      ...(tags !== undefined ? { tags } : {}),
      problem: describeIssues(result.error),
    });
  }
  return { instances, unreadable };
}
