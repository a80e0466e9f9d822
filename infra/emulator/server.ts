/**
 * HTTP front of the Lambda Cloud emulator: the whole 1.8.3 API on 127.0.0.1, authentication,
 * Lambda's rate limits (answered with 429), and injectable faults. A small control API under
 * `/_emulator/` lets tests read counters and break things while the emulator runs.
 */
import { IncomingMessage, Server, ServerResponse, createServer } from "http";
import { AddressInfo } from "net";
import { ApiFailure, EmulatedAccount } from "./account";
import { CapacityLedger } from "./capacityLedger";
import { UNPARSABLE_BODY, injected429, take5xxBefore, takeAnswerFault, takeInjected429 } from "./faults";
import { EmulatorOptions, defaultEmulatorOptions } from "./options";

export interface EmulatorStats {
  requests: number;
  rateLimited: number;
  launchesAccepted: number;
  /** Launches refused with insufficient-capacity (see capacityLedger.ts). */
  refusedForCapacity: number;
  /** ...of which in a region the last `/instance-types` answer listed without capacity. */
  refusedWhereListedWithout: number;
  byOperation: Record<string, number>;
}

function zeroStats(): EmulatorStats {
  return {
    requests: 0,
    rateLimited: 0,
    launchesAccepted: 0,
    refusedForCapacity: 0,
    refusedWhereListedWithout: 0,
    byOperation: {},
  };
}

/** One API request the emulator carried out (not 429s): when it arrived, and which operation. */
export interface ApiRequestEvent {
  readonly at: number;
  readonly operation: string;
}

export interface RunningEmulator {
  readonly url: string;
  readonly port: number;
  readonly options: EmulatorOptions;
  readonly account: EmulatedAccount;
  stats(): EmulatorStats;
  /** Every request carried out since the start, in arrival order (the benchmark's timeline). */
  requestLog(): readonly ApiRequestEvent[];
  close(): Promise<void>;
}

type Handler = (
  account: EmulatedAccount,
  params: string[],
  body: Record<string, unknown>,
  query: URLSearchParams,
) => unknown;

interface Route {
  readonly method: string;
  readonly pattern: RegExp;
  readonly operation: string;
  readonly handler: Handler;
}

const ID = "([^/]+)";
const INTERNAL_ERROR = { error: { code: "global/unknown", message: "Internal server error." } };
const ROUTES: Route[] = [
  {
    method: "GET",
    pattern: /^\/api\/v1\/instances$/,
    operation: "listInstances",
    handler: (a) => a.listInstances(),
  },
  {
    method: "GET",
    pattern: new RegExp(`^/api/v1/instances/${ID}$`),
    operation: "getInstance",
    handler: (a, [id]) => a.getInstance(id),
  },
  {
    method: "POST",
    pattern: new RegExp(`^/api/v1/instances/${ID}$`),
    operation: "postInstance",
    handler: (a, [id], b) => a.renameInstance(id, b),
  },
  {
    method: "GET",
    pattern: /^\/api\/v1\/instance-types$/,
    operation: "listInstanceTypes",
    handler: (a) => a.instanceTypes(),
  },
  {
    method: "POST",
    pattern: /^\/api\/v1\/instance-operations\/launch$/,
    operation: "launchInstance",
    handler: (a, _p, b) => ({ instance_ids: a.launch(b) }),
  },
  {
    method: "POST",
    pattern: /^\/api\/v1\/instance-operations\/restart$/,
    operation: "restartInstance",
    handler: (a, _p, b) => ({ restarted_instances: a.restart(b.instance_ids) }),
  },
  {
    method: "POST",
    pattern: /^\/api\/v1\/instance-operations\/terminate$/,
    operation: "terminateInstance",
    handler: (a, _p, b) => ({ terminated_instances: a.terminate(b.instance_ids) }),
  },
  {
    method: "GET",
    pattern: /^\/api\/v1\/ssh-keys$/,
    operation: "listSSHKeys",
    handler: (a) => a.listSshKeys(),
  },
  {
    method: "POST",
    pattern: /^\/api\/v1\/ssh-keys$/,
    operation: "addSSHKey",
    handler: (a, _p, b) => a.addSshKey(b),
  },
  {
    method: "DELETE",
    pattern: new RegExp(`^/api/v1/ssh-keys/${ID}$`),
    operation: "deleteSSHKey",
    handler: (a, [id]) => a.deleteSshKey(id),
  },
  {
    method: "GET",
    pattern: /^\/api\/v1\/file-systems$/,
    operation: "listFilesystems",
    handler: (a) => a.listFilesystems(),
  },
  {
    method: "POST",
    pattern: /^\/api\/v1\/filesystems$/,
    operation: "createFilesystem",
    handler: (a, _p, b) => a.createFilesystem(b),
  },
  {
    method: "DELETE",
    pattern: new RegExp(`^/api/v1/filesystems/${ID}$`),
    operation: "filesystemDelete",
    handler: (a, [id]) => a.deleteFilesystem(id),
  },
  { method: "GET", pattern: /^\/api\/v1\/images$/, operation: "listImages", handler: (a) => a.listImages() },
  {
    method: "GET",
    pattern: /^\/api\/v1\/firewall-rules$/,
    operation: "firewallRulesList",
    handler: (a) => a.legacyFirewallRules(),
  },
  {
    method: "PUT",
    pattern: /^\/api\/v1\/firewall-rules$/,
    operation: "firewallRulesSet",
    handler: (a, _p, b) => a.setLegacyFirewallRules(b),
  },
  {
    method: "GET",
    pattern: /^\/api\/v1\/firewall-rulesets$/,
    operation: "firewallRulesetsList",
    handler: (a) => a.listRulesets(),
  },
  {
    method: "POST",
    pattern: /^\/api\/v1\/firewall-rulesets$/,
    operation: "createFirewallRuleset",
    handler: (a, _p, b) => a.createRuleset(b),
  },
  {
    method: "GET",
    pattern: /^\/api\/v1\/firewall-rulesets\/global$/,
    operation: "getGlobalFirewallRuleset",
    handler: (a) => a.globalRuleset(),
  },
  {
    method: "PATCH",
    pattern: /^\/api\/v1\/firewall-rulesets\/global$/,
    operation: "updateGlobalFirewallRuleset",
    handler: (a, _p, b) => a.updateGlobalRuleset(b),
  },
  {
    method: "GET",
    pattern: new RegExp(`^/api/v1/firewall-rulesets/${ID}$`),
    operation: "getFirewallRuleset",
    handler: (a, [id]) => a.getRuleset(id),
  },
  {
    method: "PATCH",
    pattern: new RegExp(`^/api/v1/firewall-rulesets/${ID}$`),
    operation: "updateFirewallRuleset",
    handler: (a, [id], b) => a.updateRuleset(id, b),
  },
  {
    method: "DELETE",
    pattern: new RegExp(`^/api/v1/firewall-rulesets/${ID}$`),
    operation: "deleteFirewallRuleset",
    handler: (a, [id]) => a.deleteRuleset(id),
  },
  {
    method: "GET",
    pattern: /^\/api\/v1\/audit-events$/,
    operation: "getAuditEvents",
    handler: (a, _p, _b, q) => a.auditPage(q),
  },
];

/** Faults a test may set while the emulator runs (POST /_emulator/faults). */
const MUTABLE_OPTIONS: (keyof EmulatorOptions)[] = [
  "fail5xx",
  "failProvider",
  "fail429",
  "dropLaunchResponses",
  "failLaunch5xx",
  "failLaunch429",
  "launchThen5xx",
  "fail5xxOn",
  "unparsableOn",
  "privateIpDelayMs",
  "failLaunchProvider",
  "bootOutcome",
  "bootDelayMs",
  "terminateDelayMs",
  "requestIntervalMs",
  "launchIntervalMs",
  "retryAfterSeconds",
  "capacity",
  "defaultCapacity",
  "latencyMs",
  "clockSkewMs",
  "omitDateHeader",
  "vanishAfterListing",
];

export async function startEmulator(overrides: Partial<EmulatorOptions> = {}): Promise<RunningEmulator> {
  const options: EmulatorOptions = { ...defaultEmulatorOptions(), ...overrides };
  const account = new EmulatedAccount(options);
  const stats = zeroStats();
  const ledger = new CapacityLedger(stats);
  const log: ApiRequestEvent[] = [];
  const limiter = { nextRequestAt: 0, nextLaunchAt: 0 };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    // Rate limits are judged on arrival, before the body is read, as a front proxy would.
    const arrivedAt = Date.now();
    res.sendDate = !options.omitDateHeader; // Lambda's clock: the reaper and TTL stamp read this header
    if (res.sendDate) res.setHeader("date", new Date(arrivedAt + options.clockSkewMs).toUTCString());
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    const route = ROUTES.find(
      (candidate) => candidate.method === req.method && candidate.pattern.test(url.pathname),
    );
    const isLaunch = route?.operation === "launchInstance";
    const isApi = !url.pathname.startsWith("/_emulator/");
    const authorizedRequest = authorized(req.headers.authorization, options.apiKey);
    const tooSoon = arrivedAt < limiter.nextRequestAt || (isLaunch && arrivedAt < limiter.nextLaunchAt);
    const rateLimited =
      isApi && authorizedRequest && route !== undefined && (tooSoon || injected429(options, isLaunch));
    if (isApi && authorizedRequest && route !== undefined && !rateLimited) {
      if (options.requestIntervalMs > 0) limiter.nextRequestAt = arrivedAt + options.requestIntervalMs;
      if (isLaunch && options.launchIntervalMs > 0)
        limiter.nextLaunchAt = arrivedAt + options.launchIntervalMs;
    }

    const body = await readJson(req);
    if (options.latencyMs > 0) await new Promise((resolve) => setTimeout(resolve, options.latencyMs));
    if (!isApi) return control(url.pathname, req.method ?? "GET", body, res);

    if (!authorizedRequest) {
      const noKey = req.headers.authorization === undefined;
      return send(res, 401, {
        error: {
          code: "global/invalid-api-key",
          message: noKey ? "No API key was provided." : "API key was invalid, expired, or deleted.",
          suggestion: "Check your API key or create a new one, then try again.",
        },
      });
    }
    if (route === undefined) {
      return send(res, 404, {
        error: {
          code: "global/object-does-not-exist",
          message: `No such endpoint: ${req.method} ${url.pathname}`,
          suggestion: "Check the API reference.",
        },
      });
    }
    if (rateLimited) {
      if (!tooSoon) takeInjected429(options);
      stats.rateLimited++;
      const headers: Record<string, string> = { "content-type": "text/plain" };
      if (options.retryAfterSeconds !== undefined) headers["retry-after"] = String(options.retryAfterSeconds);
      res.writeHead(429, headers);
      res.end("Too Many Requests");
      return;
    }
    stats.requests++;
    stats.byOperation[route.operation] = (stats.byOperation[route.operation] ?? 0) + 1;
    log.push({ at: arrivedAt, operation: route.operation });

    if (take5xxBefore(options, route.operation, isLaunch)) {
      return send(res, 500, INTERNAL_ERROR);
    }
    if (options.failProvider > 0 || (isLaunch && options.failLaunchProvider > 0)) {
      if (options.failProvider > 0) options.failProvider--;
      else options.failLaunchProvider--;
      return send(res, 503, {
        error: {
          code: "provider/internal-unavailable",
          message: "Provider unavailable",
          suggestion: "Try again shortly",
        },
      });
    }

    const params = route.pattern.exec(url.pathname)?.slice(1).map(decodeURIComponent) ?? [];
    try {
      const data = route.handler(account, params, body, url.searchParams);
      if (isLaunch) stats.launchesAccepted++;
      if (route.operation === "listInstanceTypes") ledger.listed(data as Record<string, unknown>);
      // The request was carried out (a launched instance bills) whatever the client hears next.
      const fault = takeAnswerFault(options, route.operation, isLaunch);
      if (fault === "drop") return void req.socket.destroy();
      if (fault === "5xx") return send(res, 500, INTERNAL_ERROR);
      if (fault === "unparsable") {
        res.writeHead(200, { "content-type": "text/html" });
        return void res.end(UNPARSABLE_BODY);
      }
      send(res, 200, { data });
    } catch (error) {
      if (error instanceof ApiFailure && error.code === "instance-operations/launch/insufficient-capacity")
        ledger.refused(body);
      if (error instanceof ApiFailure) return send(res, error.httpStatus, error.body());
      send(res, 500, INTERNAL_ERROR);
    }
  };

  const control = (
    path: string,
    method: string,
    body: Record<string, unknown>,
    res: ServerResponse,
  ): void => {
    try {
      if (path === "/_emulator/stats" && method === "GET")
        return send(res, 200, { ...stats, byOperation: { ...stats.byOperation } });
      if (path === "/_emulator/stats" && method === "DELETE") {
        Object.assign(stats, zeroStats());
        return send(res, 200, {});
      }
      if (path === "/_emulator/faults" && method === "POST") {
        for (const [key, value] of Object.entries(body)) {
          if (!MUTABLE_OPTIONS.includes(key as keyof EmulatorOptions)) {
            return send(res, 400, {
              error: `unknown setting ${key}; allowed: ${MUTABLE_OPTIONS.join(", ")}`,
            });
          }
          (options as unknown as Record<string, unknown>)[key] = value;
        }
        return send(res, 200, {});
      }
      const match = /^\/_emulator\/instances\/([^/]+)\/(terminate|unhealthy|fields)$/.exec(path);
      if (match !== null && method === "POST") {
        if (match[2] === "terminate") account.terminateOutOfBand(match[1]);
        else if (match[2] === "fields") account.overrideFields(match[1], body);
        else account.makeUnhealthy(match[1]);
        return send(res, 200, {});
      }
      send(res, 404, { error: `unknown control endpoint ${method} ${path}` });
    } catch (error) {
      if (error instanceof ApiFailure) return send(res, error.httpStatus, error.body());
      throw error;
    }
  };

  const server: Server = createServer((req, res) => {
    if (!options.quiet) {
      const started = Date.now();
      res.on("finish", () =>
        console.log(`${req.method} ${req.url} ${res.statusCode} ${Date.now() - started}ms`),
      );
    }
    handle(req, res).catch(() => send(res, 500, INTERNAL_ERROR));
  });
  server.keepAliveTimeout = 1000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, "127.0.0.1", () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    options,
    account,
    stats: () => ({ ...stats, byOperation: { ...stats.byOperation } }),
    requestLog: () => [...log],
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Bearer (recommended), Basic base64(KEY:) as `curl -u KEY:` sends, or Basic with the raw key. */
function authorized(header: string | undefined, apiKey: string): boolean {
  if (header === undefined) return false;
  const [scheme, value] = header.split(" ", 2);
  if (scheme === "Bearer") return value === apiKey;
  if (scheme === "Basic") {
    if (value === apiKey) return true;
    const decoded = Buffer.from(value ?? "", "base64").toString("utf8");
    return decoded === `${apiKey}:`;
  }
  return false;
}

async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  if (chunks.length === 0) return {};
  try {
    const parsed: unknown = JSON.parse(Buffer.concat(chunks).toString("utf8"));
    return parsed !== null && typeof parsed === "object" ? (parsed as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

function send(res: ServerResponse, status: number, body: unknown): void {
  if (res.headersSent || res.destroyed) return;
  res.writeHead(status, { "content-type": "application/json" });
  res.end(JSON.stringify(body));
}
