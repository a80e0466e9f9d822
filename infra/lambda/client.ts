/**
 * Typed client for Lambda Cloud API 1.8.3: the operations this project calls (by id, from the one
 * table in operations.ts), paced process-wide, retried where a retry is safe, and parsed with zod.
 *
 * Construct it inside a dynamic provider's methods (never capture one in a provider object: it
 * holds the API key).
 */
import axios, { AxiosInstance } from "axios";
import type { z } from "zod";
import {
  LambdaApiError,
  LambdaResponseShapeError,
  classifyLambdaError,
  isRetryableKind,
  redactSecrets,
} from "./errors";
import {
  LAMBDA_OPERATIONS,
  LambdaOperation,
  LambdaOperationId,
  PathParamsOf,
  QueryNameOf,
  operationPath,
} from "./operations";
import {
  RequestKind,
  holdAllRequestsUntil,
  pace,
  recordApiCall,
  recordRateLimited,
  recordRetry,
} from "./pacer";
import { backoffDelayMs, parseRetryAfter, retrySettingsFromEnv } from "./retry";
import {
  AuditEventsPage,
  Filesystem,
  FirewallRule,
  FirewallRuleset,
  GlobalFirewallRuleset,
  Image,
  Instance,
  InstanceListing,
  InstanceTypesMap,
  LambdaSchemas,
  SshKey,
  lambdaSchemas,
  parseInstanceListing,
  parseResponse,
} from "./schemas";
import { recordServerDate, serverNowMs } from "./serverClock";
import { LambdaSettings, resolveLambdaSettings } from "./settings";

export interface LaunchRequest {
  region_name: string;
  instance_type_name: string;
  ssh_key_names: string[];
  file_system_names?: string[];
  file_system_mounts?: { mount_point: string; file_system_id: string }[];
  hostname?: string;
  name?: string;
  image?: { id: string } | { family: string };
  user_data?: string;
  tags?: { key: string; value: string }[];
  firewall_rulesets?: { id: string }[];
}

export interface FirewallRulesetInput {
  name: string;
  region: string;
  rules: FirewallRule[];
}

/** What one call sends besides the operation: path parameters, query (undefined values left out), body. */
interface CallRequest<Op extends LambdaOperationId> {
  readonly path?: PathParamsOf<Op>;
  readonly query?: Partial<Record<QueryNameOf<Op>, string | undefined>>;
  readonly body?: unknown;
}

/** What a 2xx answer's `data` parses to, by the operation's `response` schema. */
type ResponseOf<Op extends LambdaOperationId> = z.output<
  LambdaSchemas[(typeof LAMBDA_OPERATIONS)[Op]["response"]]
>;

export class LambdaClient {
  readonly apiUrl: string;
  private readonly apiKey: string;
  private readonly http: AxiosInstance;

  constructor(settings: Partial<LambdaSettings> = {}) {
    const resolved = resolveLambdaSettings(settings);
    this.apiUrl = resolved.apiUrl;
    this.apiKey = resolved.apiKey;
    const timeout = Number(process.env.LAMBDA_HTTP_TIMEOUT_MS ?? "30000");
    this.http = axios.create({
      baseURL: resolved.apiUrl,
      timeout: Number.isFinite(timeout) && timeout > 0 ? timeout : 30000,
      // Redirects are not followed: a POST body does not survive a 301 from the old domain.
      maxRedirects: 0,
      validateStatus: () => true,
      headers: { Authorization: `Bearer ${resolved.apiKey}`, Accept: "application/json" },
    });
  }

  // ---- instance types, instances -------------------------------------------------------------

  listInstanceTypes(): Promise<InstanceTypesMap> {
    return this.call("listInstanceTypes");
  }

  /** The instances that parse; see listInstancesChecked for the ones that do not. */
  async listInstances(clusterId?: string): Promise<Instance[]> {
    return (await this.listInstancesChecked(clusterId)).instances;
  }

  /** Every instance, each parsed on its own: one odd instance is reported, not fatal to the listing. */
  async listInstancesChecked(clusterId?: string): Promise<InstanceListing> {
    const items = await this.call("listInstances", { query: { cluster_id: clusterId } });
    const listing = parseInstanceListing(items);
    // Problems quote server-chosen text (record keys, values): redacted like every other message.
    return {
      instances: listing.instances,
      unreadable: listing.unreadable.map((entry) => ({ ...entry, problem: this.redact(entry.problem) })),
    };
  }

  getInstance(id: string): Promise<Instance> {
    return this.call("getInstance", { path: { id } });
  }

  renameInstance(id: string, name: string): Promise<Instance> {
    return this.call("postInstance", { path: { id }, body: { name } });
  }

  /**
   * Launches one instance. Retried only on 429; a 5xx, a `provider/*` error or a dropped
   * connection is thrown to the caller, who must look for the instance by its unique name before
   * launching again (Lambda has no idempotency token).
   */
  async launchInstance(request: LaunchRequest): Promise<string> {
    return (await this.call("launchInstance", { body: request })).instance_ids[0];
  }

  async restartInstances(ids: string[]): Promise<Instance[]> {
    return (await this.call("restartInstance", { body: { instance_ids: ids } })).restarted_instances;
  }

  async terminateInstances(ids: string[]): Promise<Instance[]> {
    return (await this.call("terminateInstance", { body: { instance_ids: ids } })).terminated_instances;
  }

  // ---- SSH keys --------------------------------------------------------------------------------

  listSshKeys(): Promise<SshKey[]> {
    return this.call("listSSHKeys");
  }

  /** Adds a key. Without `publicKey`, Lambda generates a pair and returns the private key once. */
  addSshKey(name: string, publicKey?: string): Promise<SshKey> {
    return this.call("addSSHKey", {
      body: publicKey === undefined ? { name } : { name, public_key: publicKey },
    });
  }

  async deleteSshKey(id: string): Promise<void> {
    await this.call("deleteSSHKey", { path: { id } });
  }

  // ---- filesystems -----------------------------------------------------------------------------

  listFilesystems(): Promise<Filesystem[]> {
    return this.call("listFilesystems");
  }

  createFilesystem(name: string, region: string): Promise<Filesystem> {
    return this.call("createFilesystem", { body: { name, region } });
  }

  /** Deletes a filesystem; resolves to the ids Lambda reports deleted. */
  async deleteFilesystem(id: string): Promise<string[]> {
    return (await this.call("filesystemDelete", { path: { id } })).deleted_ids;
  }

  // ---- images ----------------------------------------------------------------------------------

  listImages(): Promise<Image[]> {
    return this.call("listImages");
  }

  // ---- firewall rulesets (the stack's), the global ruleset (read only here) --------------------

  listFirewallRulesets(): Promise<FirewallRuleset[]> {
    return this.call("firewallRulesetsList");
  }

  createFirewallRuleset(input: FirewallRulesetInput): Promise<FirewallRuleset> {
    return this.call("createFirewallRuleset", { body: input });
  }

  getFirewallRuleset(id: string): Promise<FirewallRuleset> {
    return this.call("getFirewallRuleset", { path: { id } });
  }

  updateFirewallRuleset(
    id: string,
    patch: { name?: string; rules?: FirewallRule[] },
  ): Promise<FirewallRuleset> {
    return this.call("updateFirewallRuleset", { path: { id }, body: patch });
  }

  async deleteFirewallRuleset(id: string): Promise<void> {
    await this.call("deleteFirewallRuleset", { path: { id } });
  }

  /** The account's global ruleset: rules that apply to every instance, beside its rulesets. */
  getGlobalFirewallRuleset(): Promise<GlobalFirewallRuleset> {
    return this.call("getGlobalFirewallRuleset");
  }

  // ---- audit events (the one paginated call) ---------------------------------------------------

  /**
   * Every audit event in the range, following `page_token` until Lambda returns null. `start` and
   * `end` are RFC 3339 times; `resourceType` is Lambda's (e.g. `cloud.ssh_key`). @default all
   */
  async listAuditEvents(
    query: { start?: string; end?: string; resourceType?: string } = {},
  ): Promise<AuditEventsPage["events"]> {
    const events: AuditEventsPage["events"] = [];
    let pageToken: string | undefined;
    do {
      const page = await this.call("getAuditEvents", {
        query: {
          start: query.start,
          end: query.end,
          resource_type: query.resourceType,
          page_token: pageToken,
        },
      });
      events.push(...page.events);
      pageToken = page.page_token ?? undefined;
    } while (pageToken !== undefined);
    return events;
  }

  /**
   * Lambda's current time from its responses' `Date` header (see serverClock.ts), for stamping and
   * judging instance expiries. Throws ServerClockUnknownError before any response carried one.
   */
  serverNow(): Date {
    return new Date(serverNowMs(this.apiUrl));
  }

  // ---- transport -------------------------------------------------------------------------------

  /** Calls `operation` (see operations.ts): paced, retried where that is safe, its `data` parsed. */
  private async call<Op extends LambdaOperationId>(
    operation: Op,
    request: CallRequest<Op> = {},
  ): Promise<ResponseOf<Op>> {
    const spec: LambdaOperation = LAMBDA_OPERATIONS[operation];
    const schema = lambdaSchemas()[spec.response] as unknown as z.ZodType<ResponseOf<Op>>;
    const retry = retrySettingsFromEnv();
    const kind: RequestKind = spec.kind ?? "request";
    // A launch may have created a billing instance whatever went wrong after it was sent: retried
    // only on answers that prove it was not carried out (429).
    const retryOnlyWhenRejected = spec.kind === "launch";
    for (let attempt = 1; ; attempt++) {
      await pace(kind);
      recordApiCall(operation, kind);
      let error: LambdaApiError;
      try {
        const response = await this.http.request({
          method: spec.method,
          url: operationPath(operation, request.path as Record<string, string> | undefined),
          data: request.body,
          params: request.query === undefined ? undefined : dropUndefined(request.query),
        });
        recordServerDate(this.apiUrl, response.headers.date);
        if (response.status >= 200 && response.status < 300) {
          const body = response.data as { data?: unknown } | undefined;
          if (body === null || typeof body !== "object" || !("data" in body)) {
            throw new LambdaResponseShapeError(operation, "data: missing");
          }
          return parseResponse(schema, body.data, operation);
        }
        error = this.errorFromResponse(
          operation,
          response.status,
          response.data,
          response.headers["retry-after"],
          attempt,
        );
      } catch (thrown) {
        if (thrown instanceof LambdaResponseShapeError) {
          // The message quotes server-chosen field names (a record's keys), which may echo the key.
          thrown.message = this.redact(thrown.message);
          throw thrown;
        }
        error = this.errorFromTransport(operation, thrown, attempt);
      }

      if (error.kind === "rate-limited") {
        recordRateLimited();
        if (error.retryAfterSeconds !== undefined)
          holdAllRequestsUntil(Date.now() + error.retryAfterSeconds * 1000);
      }
      const retryable = retryOnlyWhenRejected ? error.kind === "rate-limited" : isRetryableKind(error.kind);
      if (!retryable || attempt >= retry.maxAttempts) throw error;
      recordRetry();
      await new Promise((resolve) =>
        setTimeout(resolve, backoffDelayMs(attempt, retry, error.retryAfterSeconds)),
      );
    }
  }

  private errorFromResponse(
    operation: string,
    status: number,
    data: unknown,
    retryAfter: unknown,
    attempt: number,
  ): LambdaApiError {
    const envelope = lambdaSchemas().errorEnvelope.safeParse(data);
    const code = envelope.success ? envelope.data.error.code : undefined;
    return new LambdaApiError({
      operation,
      kind: classifyLambdaError(code, status),
      // Every text the server wrote is redacted, the code too: it is printed in the message.
      code: code === undefined ? undefined : this.redact(code),
      httpStatus: status,
      lambdaMessage: envelope.success ? this.redact(envelope.data.error.message) : undefined,
      suggestion:
        envelope.success && envelope.data.error.suggestion !== undefined
          ? this.redact(envelope.data.error.suggestion)
          : undefined,
      retryAfterSeconds: parseRetryAfter(retryAfter),
      attempts: attempt,
    });
  }

  private errorFromTransport(operation: string, thrown: unknown, attempt: number): LambdaApiError {
    // Only the error code and a redacted message cross this line: never axios's config or headers.
    const code = (thrown as { code?: unknown }).code;
    const message = thrown instanceof Error ? thrown.message : String(thrown);
    return new LambdaApiError({
      operation,
      kind: "network",
      lambdaMessage: `${typeof code === "string" ? `${code} ` : ""}${this.redact(message)} (${this.apiUrl})`,
      attempts: attempt,
    });
  }

  private redact(text: string): string {
    return redactSecrets(text, [this.apiKey]);
  }
}

function dropUndefined(params: Partial<Record<string, string | undefined>>): Record<string, string> {
  const kept: Record<string, string> = {};
  for (const [key, value] of Object.entries(params)) if (value !== undefined) kept[key] = value;
  return kept;
}
