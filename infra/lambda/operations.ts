/**
 * Lambda Cloud API 1.8.3's operations, written once: the client calls them by id and the emulator
 * routes by them, so the two cannot drift apart. Ids, methods and path templates are the OpenAPI
 * document's (`../shared/lambda-cloud/openapi-1.8.3.json`; operations.test.ts checks them).
 *
 * Plain data, strings only: the client is serialized into dynamic providers' state, and a table
 * captured by value must survive Pulumi's closure serialization (no class instances, RegExps or
 * Symbols; the emulator builds its own matchers from the templates).
 */
import type { LambdaSchemas } from "./schemas";

export type HttpMethod = "GET" | "POST" | "PUT" | "PATCH" | "DELETE";

export interface LambdaOperation {
  readonly method: HttpMethod;
  /** Path template as the OpenAPI document writes it, `{name}` for a path parameter. */
  readonly path: string;
  /** The `lambdaSchemas()` entry that a 2xx answer's `data` is parsed with (client side). */
  readonly response: keyof LambdaSchemas;
  /** Query parameters the operation accepts. @default none */
  readonly query?: readonly string[];
  /**
   * `launch`: counted against Lambda's launch limit as well as the request limit (the client paces
   * it so, the emulator answers 429 so), and not idempotent: the client retries it only on 429.
   * @default an ordinary request
   */
  readonly kind?: "launch";
}

export const LAMBDA_OPERATIONS = {
  listInstances: {
    method: "GET",
    path: "/api/v1/instances",
    response: "instanceList",
    query: ["cluster_id"],
  },
  getInstance: { method: "GET", path: "/api/v1/instances/{id}", response: "instance" },
  postInstance: { method: "POST", path: "/api/v1/instances/{id}", response: "instance" },
  listInstanceTypes: { method: "GET", path: "/api/v1/instance-types", response: "instanceTypes" },
  launchInstance: {
    method: "POST",
    path: "/api/v1/instance-operations/launch",
    response: "launch",
    kind: "launch",
  },
  restartInstance: { method: "POST", path: "/api/v1/instance-operations/restart", response: "restart" },
  terminateInstance: { method: "POST", path: "/api/v1/instance-operations/terminate", response: "terminate" },
  listSSHKeys: { method: "GET", path: "/api/v1/ssh-keys", response: "sshKeyList" },
  addSSHKey: { method: "POST", path: "/api/v1/ssh-keys", response: "sshKeyAdded" },
  deleteSSHKey: { method: "DELETE", path: "/api/v1/ssh-keys/{id}", response: "empty" },
  // Filesystems are listed at /file-systems but created and deleted at /filesystems (1.8.3).
  listFilesystems: { method: "GET", path: "/api/v1/file-systems", response: "filesystemList" },
  createFilesystem: { method: "POST", path: "/api/v1/filesystems", response: "filesystem" },
  filesystemDelete: { method: "DELETE", path: "/api/v1/filesystems/{id}", response: "filesystemDeleted" },
  listImages: { method: "GET", path: "/api/v1/images", response: "imageList" },
  // Legacy account-wide rules (they do not apply in us-south-1); the stack uses rulesets.
  firewallRulesList: { method: "GET", path: "/api/v1/firewall-rules", response: "firewallRuleList" },
  firewallRulesSet: { method: "PUT", path: "/api/v1/firewall-rules", response: "firewallRuleList" },
  firewallRulesetsList: { method: "GET", path: "/api/v1/firewall-rulesets", response: "firewallRulesetList" },
  createFirewallRuleset: { method: "POST", path: "/api/v1/firewall-rulesets", response: "firewallRuleset" },
  // The literal `global` path wins over the `{id}` template (the emulator prefers fewer parameters).
  getGlobalFirewallRuleset: {
    method: "GET",
    path: "/api/v1/firewall-rulesets/global",
    response: "globalFirewallRuleset",
  },
  updateGlobalFirewallRuleset: {
    method: "PATCH",
    path: "/api/v1/firewall-rulesets/global",
    response: "globalFirewallRuleset",
  },
  getFirewallRuleset: { method: "GET", path: "/api/v1/firewall-rulesets/{id}", response: "firewallRuleset" },
  updateFirewallRuleset: {
    method: "PATCH",
    path: "/api/v1/firewall-rulesets/{id}",
    response: "firewallRuleset",
  },
  deleteFirewallRuleset: { method: "DELETE", path: "/api/v1/firewall-rulesets/{id}", response: "empty" },
  getAuditEvents: {
    method: "GET",
    path: "/api/v1/audit-events",
    response: "auditEventsPage",
    query: ["start", "end", "page_token", "resource_type"],
  },
} as const satisfies Record<string, LambdaOperation>;

export type LambdaOperationId = keyof typeof LAMBDA_OPERATIONS;

type Placeholders<Path extends string> = Path extends `${string}{${infer Name}}${infer Rest}`
  ? Name | Placeholders<Rest>
  : never;

/** The path parameters of an operation, by name (`{ id: string }`, or `{}` for none). */
export type PathParamsOf<Op extends LambdaOperationId> = Record<
  Placeholders<(typeof LAMBDA_OPERATIONS)[Op]["path"]>,
  string
>;

/** The query parameter names an operation accepts (never for none). */
export type QueryNameOf<Op extends LambdaOperationId> = (typeof LAMBDA_OPERATIONS)[Op] extends {
  query: readonly (infer Name extends string)[];
}
  ? Name
  : never;

/**
 * The request path of `operation` with each `{name}` replaced by its URI-encoded value:
 * `operationPath("getInstance", { id: "a b" })` is `/api/v1/instances/a%20b`. Throws when a
 * placeholder has no value (a programming error: the types require every one).
 */
export function operationPath(operation: LambdaOperationId, params: Record<string, string> = {}): string {
  return LAMBDA_OPERATIONS[operation].path.replace(/\{([^}]+)\}/g, (_match, name: string) => {
    const value = params[name];
    if (value === undefined) throw new Error(`${operation}: path parameter ${name} is missing`);
    return encodeURIComponent(value);
  });
}
