/**
 * The emulator's router: one handler per operation of the shared table (infra/lambda/operations.ts),
 * matched by the table's method and path template. The `Record<LambdaOperationId, ...>` type makes
 * a table entry without a handler a compile error, so the emulator serves every operation.
 */
import { LAMBDA_OPERATIONS, LambdaOperation, LambdaOperationId } from "../lambda/operations";
import type { EmulatedAccount } from "./account";

/** What a handler gets: path parameters by name (decoded), the JSON body (`{}` if none), the query. */
export interface RouteRequest {
  readonly params: Record<string, string>;
  readonly body: Record<string, unknown>;
  readonly query: URLSearchParams;
}

type Handler = (account: EmulatedAccount, request: RouteRequest) => unknown;

const HANDLERS: Record<LambdaOperationId, Handler> = {
  listInstances: (a) => a.instances.list(),
  getInstance: (a, { params }) => a.instances.get(params.id),
  postInstance: (a, { params, body }) => a.instances.rename(params.id, body),
  listInstanceTypes: (a) => a.capacity.instanceTypes(),
  launchInstance: (a, { body }) => ({ instance_ids: a.launch(body) }),
  restartInstance: (a, { body }) => ({ restarted_instances: a.instances.restart(body.instance_ids) }),
  terminateInstance: (a, { body }) => ({ terminated_instances: a.instances.terminate(body.instance_ids) }),
  listSSHKeys: (a) => a.sshKeys.list(),
  addSSHKey: (a, { body }) => a.sshKeys.add(body),
  deleteSSHKey: (a, { params }) => a.sshKeys.delete(params.id),
  listFilesystems: (a) => a.filesystems.list(),
  createFilesystem: (a, { body }) => a.filesystems.create(body),
  filesystemDelete: (a, { params }) => a.filesystems.delete(params.id),
  listImages: (a) => a.images.list(),
  firewallRulesList: (a) => a.firewall.legacyRules(),
  firewallRulesSet: (a, { body }) => a.firewall.setLegacyRules(body),
  firewallRulesetsList: (a) => a.firewall.listRulesets(),
  createFirewallRuleset: (a, { body }) => a.firewall.createRuleset(body),
  getGlobalFirewallRuleset: (a) => a.firewall.globalRuleset(),
  updateGlobalFirewallRuleset: (a, { body }) => a.firewall.updateGlobalRuleset(body),
  getFirewallRuleset: (a, { params }) => a.firewall.getRuleset(params.id),
  updateFirewallRuleset: (a, { params, body }) => a.firewall.updateRuleset(params.id, body),
  deleteFirewallRuleset: (a, { params }) => a.firewall.deleteRuleset(params.id),
  getAuditEvents: (a, { query }) => a.auditLog.page(query),
};

interface CompiledRoute {
  readonly operation: LambdaOperationId;
  readonly spec: LambdaOperation;
  readonly pattern: RegExp;
  readonly paramNames: readonly string[];
}

/** `/api/v1/instances/{id}` -> /^\/api\/v1\/instances\/([^/]+)$/ and ["id"]. */
function compile(operation: LambdaOperationId): CompiledRoute {
  const spec: LambdaOperation = LAMBDA_OPERATIONS[operation];
  const paramNames: string[] = [];
  const source = spec.path
    .split("/")
    .map((segment) => {
      const placeholder = /^\{([^}]+)\}$/.exec(segment);
      if (placeholder === null) return segment.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
      paramNames.push(placeholder[1]);
      return "([^/]+)";
    })
    .join("/");
  return { operation, spec, pattern: new RegExp(`^${source}$`), paramNames };
}

// A literal segment beats a placeholder (`/firewall-rulesets/global` is not ruleset "global"): the
// routes with fewer parameters are tried first.
const ROUTES: readonly CompiledRoute[] = (Object.keys(LAMBDA_OPERATIONS) as LambdaOperationId[])
  .map(compile)
  .sort((a, b) => a.paramNames.length - b.paramNames.length);

export interface MatchedRoute {
  readonly operation: LambdaOperationId;
  readonly isLaunch: boolean;
  /** Runs the handler; throws URIError for a badly encoded path parameter, ApiFailure for a refusal. */
  run(account: EmulatedAccount, body: Record<string, unknown>, query: URLSearchParams): unknown;
}

/** The operation `method pathname` calls, or undefined when the API has no such endpoint. */
export function matchRoute(method: string | undefined, pathname: string): MatchedRoute | undefined {
  for (const route of ROUTES) {
    if (route.spec.method !== method) continue;
    const match = route.pattern.exec(pathname);
    if (match === null) continue;
    return {
      operation: route.operation,
      isLaunch: route.spec.kind === "launch",
      run: (account, body, query) => {
        const params = Object.fromEntries(
          route.paramNames.map((name, index) => [name, decodeURIComponent(match[index + 1])]),
        );
        return HANDLERS[route.operation](account, { params, body, query });
      },
    };
  }
  return undefined;
}
