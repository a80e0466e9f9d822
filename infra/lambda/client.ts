/**
 * Typed client for Lambda Cloud API 1.8.3: every operation of the contract, paced process-wide,
 * retried where a retry is safe, and parsed with zod.
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

interface CallOptions<T> {
  readonly operation: string;
  readonly method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
  readonly path: string;
  readonly schema: z.ZodType<T>;
  readonly body?: unknown;
  readonly params?: Record<string, string | undefined>;
  readonly kind?: RequestKind;
  /**
   * Retry only on answers that prove the request was not carried out (429). Used for launch, where
   * a 5xx or a dropped connection may mean an instance was created and is billing.
   */
  readonly retryOnlyWhenRejected?: boolean;
}

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
    return this.call({
      operation: "listInstanceTypes",
      method: "GET",
      path: "/api/v1/instance-types",
      schema: lambdaSchemas().instanceTypes,
    });
  }

  /** The instances that parse; see listInstancesChecked for the ones that do not. */
  async listInstances(clusterId?: string): Promise<Instance[]> {
    return (await this.listInstancesChecked(clusterId)).instances;
  }

  /** Every instance, each parsed on its own: one odd instance is reported, not fatal to the listing. */
  async listInstancesChecked(clusterId?: string): Promise<InstanceListing> {
    const items = await this.call({
      operation: "listInstances",
      method: "GET",
      path: "/api/v1/instances",
      params: { cluster_id: clusterId },
      schema: lambdaSchemas().instanceList,
    });
    const listing = parseInstanceListing(items);
    // Problems quote server-chosen text (record keys, values): redacted like every other message.
    return {
      instances: listing.instances,
      unreadable: listing.unreadable.map((entry) => ({ ...entry, problem: this.redact(entry.problem) })),
    };
  }

  getInstance(id: string): Promise<Instance> {
    return this.call({
      operation: "getInstance",
      method: "GET",
      path: `/api/v1/instances/${encodeURIComponent(id)}`,
      schema: lambdaSchemas().instance,
    });
  }

  renameInstance(id: string, name: string): Promise<Instance> {
    return this.call({
      operation: "postInstance",
      method: "POST",
      path: `/api/v1/instances/${encodeURIComponent(id)}`,
      body: { name },
      schema: lambdaSchemas().instance,
    });
  }

  /**
   * Launches one instance. Retried only on 429; a 5xx, a `provider/*` error or a dropped
   * connection is thrown to the caller, who must look for the instance by its unique name before
   * launching again (Lambda has no idempotency token).
   */
  async launchInstance(request: LaunchRequest): Promise<string> {
    const data = await this.call({
      operation: "launchInstance",
      method: "POST",
      path: "/api/v1/instance-operations/launch",
      body: request,
      kind: "launch",
      retryOnlyWhenRejected: true,
      schema: lambdaSchemas().launch,
    });
    return data.instance_ids[0];
  }

  async restartInstances(ids: string[]): Promise<Instance[]> {
    const data = await this.call({
      operation: "restartInstance",
      method: "POST",
      path: "/api/v1/instance-operations/restart",
      body: { instance_ids: ids },
      schema: lambdaSchemas().restart,
    });
    return data.restarted_instances;
  }

  async terminateInstances(ids: string[]): Promise<Instance[]> {
    const data = await this.call({
      operation: "terminateInstance",
      method: "POST",
      path: "/api/v1/instance-operations/terminate",
      body: { instance_ids: ids },
      schema: lambdaSchemas().terminate,
    });
    return data.terminated_instances;
  }

  // ---- SSH keys --------------------------------------------------------------------------------

  listSshKeys(): Promise<SshKey[]> {
    return this.call({
      operation: "listSSHKeys",
      method: "GET",
      path: "/api/v1/ssh-keys",
      schema: lambdaSchemas().sshKeyList,
    });
  }

  /** Adds a key. Without `publicKey`, Lambda generates a pair and returns the private key once. */
  addSshKey(name: string, publicKey?: string): Promise<SshKey> {
    return this.call({
      operation: "addSSHKey",
      method: "POST",
      path: "/api/v1/ssh-keys",
      body: publicKey === undefined ? { name } : { name, public_key: publicKey },
      schema: lambdaSchemas().sshKeyAdded,
    });
  }

  async deleteSshKey(id: string): Promise<void> {
    await this.call({
      operation: "deleteSSHKey",
      method: "DELETE",
      path: `/api/v1/ssh-keys/${encodeURIComponent(id)}`,
      schema: lambdaSchemas().empty,
    });
  }

  // ---- filesystems (listed at /file-systems, created and deleted at /filesystems) --------------

  listFilesystems(): Promise<Filesystem[]> {
    return this.call({
      operation: "listFilesystems",
      method: "GET",
      path: "/api/v1/file-systems",
      schema: lambdaSchemas().filesystemList,
    });
  }

  createFilesystem(name: string, region: string): Promise<Filesystem> {
    return this.call({
      operation: "createFilesystem",
      method: "POST",
      path: "/api/v1/filesystems",
      body: { name, region },
      schema: lambdaSchemas().filesystem,
    });
  }

  async deleteFilesystem(id: string): Promise<string[]> {
    const data = await this.call({
      operation: "filesystemDelete",
      method: "DELETE",
      path: `/api/v1/filesystems/${encodeURIComponent(id)}`,
      schema: lambdaSchemas().filesystemDeleted,
    });
    return data.deleted_ids;
  }

  // ---- images ----------------------------------------------------------------------------------

  listImages(): Promise<Image[]> {
    return this.call({
      operation: "listImages",
      method: "GET",
      path: "/api/v1/images",
      schema: lambdaSchemas().imageList,
    });
  }

  // ---- firewall (legacy account-wide rules, rulesets, the global ruleset) -----------------------

  listFirewallRules(): Promise<FirewallRule[]> {
    return this.call({
      operation: "firewallRulesList",
      method: "GET",
      path: "/api/v1/firewall-rules",
      schema: lambdaSchemas().firewallRuleList,
    });
  }

  /** Replaces every legacy account-wide rule (does not apply in us-south-1). */
  setFirewallRules(rules: FirewallRule[]): Promise<FirewallRule[]> {
    return this.call({
      operation: "firewallRulesSet",
      method: "PUT",
      path: "/api/v1/firewall-rules",
      body: { data: rules },
      schema: lambdaSchemas().firewallRuleList,
    });
  }

  listFirewallRulesets(): Promise<FirewallRuleset[]> {
    return this.call({
      operation: "firewallRulesetsList",
      method: "GET",
      path: "/api/v1/firewall-rulesets",
      schema: lambdaSchemas().firewallRulesetList,
    });
  }

  createFirewallRuleset(input: FirewallRulesetInput): Promise<FirewallRuleset> {
    return this.call({
      operation: "createFirewallRuleset",
      method: "POST",
      path: "/api/v1/firewall-rulesets",
      body: input,
      schema: lambdaSchemas().firewallRuleset,
    });
  }

  getFirewallRuleset(id: string): Promise<FirewallRuleset> {
    return this.call({
      operation: "getFirewallRuleset",
      method: "GET",
      path: `/api/v1/firewall-rulesets/${encodeURIComponent(id)}`,
      schema: lambdaSchemas().firewallRuleset,
    });
  }

  updateFirewallRuleset(
    id: string,
    patch: { name?: string; rules?: FirewallRule[] },
  ): Promise<FirewallRuleset> {
    return this.call({
      operation: "updateFirewallRuleset",
      method: "PATCH",
      path: `/api/v1/firewall-rulesets/${encodeURIComponent(id)}`,
      body: patch,
      schema: lambdaSchemas().firewallRuleset,
    });
  }

  async deleteFirewallRuleset(id: string): Promise<void> {
    await this.call({
      operation: "deleteFirewallRuleset",
      method: "DELETE",
      path: `/api/v1/firewall-rulesets/${encodeURIComponent(id)}`,
      schema: lambdaSchemas().empty,
    });
  }

  getGlobalFirewallRuleset(): Promise<GlobalFirewallRuleset> {
    return this.call({
      operation: "getGlobalFirewallRuleset",
      method: "GET",
      path: "/api/v1/firewall-rulesets/global",
      schema: lambdaSchemas().globalFirewallRuleset,
    });
  }

  updateGlobalFirewallRuleset(rules: FirewallRule[]): Promise<GlobalFirewallRuleset> {
    return this.call({
      operation: "updateGlobalFirewallRuleset",
      method: "PATCH",
      path: "/api/v1/firewall-rulesets/global",
      body: { rules },
      schema: lambdaSchemas().globalFirewallRuleset,
    });
  }

  // ---- audit events (the one paginated call) ---------------------------------------------------

  getAuditEventsPage(query: {
    start?: string;
    end?: string;
    resourceType?: string;
    pageToken?: string;
  }): Promise<AuditEventsPage> {
    return this.call({
      operation: "getAuditEvents",
      method: "GET",
      path: "/api/v1/audit-events",
      params: {
        start: query.start,
        end: query.end,
        resource_type: query.resourceType,
        page_token: query.pageToken,
      },
      schema: lambdaSchemas().auditEventsPage,
    });
  }

  /** Every audit event in the range, following `page_token` until Lambda returns null. */
  async listAuditEvents(
    query: { start?: string; end?: string; resourceType?: string } = {},
  ): Promise<AuditEventsPage["events"]> {
    const events: AuditEventsPage["events"] = [];
    let pageToken: string | undefined;
    do {
      const page = await this.getAuditEventsPage({ ...query, pageToken });
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

  private async call<T>(options: CallOptions<T>): Promise<T> {
    const retry = retrySettingsFromEnv();
    const kind = options.kind ?? "request";
    for (let attempt = 1; ; attempt++) {
      await pace(kind);
      recordApiCall(options.operation, kind);
      let error: LambdaApiError;
      try {
        const response = await this.http.request({
          method: options.method,
          url: options.path,
          data: options.body,
          params: options.params === undefined ? undefined : dropUndefined(options.params),
        });
        recordServerDate(this.apiUrl, response.headers.date);
        if (response.status >= 200 && response.status < 300) {
          const body = response.data as { data?: unknown } | undefined;
          if (body === null || typeof body !== "object" || !("data" in body)) {
            throw new LambdaResponseShapeError(options.operation, "data: missing");
          }
          return parseResponse(options.schema, body.data, options.operation);
        }
        error = this.errorFromResponse(
          options.operation,
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
        error = this.errorFromTransport(options.operation, thrown, attempt);
      }

      if (error.kind === "rate-limited") {
        recordRateLimited();
        if (error.retryAfterSeconds !== undefined)
          holdAllRequestsUntil(Date.now() + error.retryAfterSeconds * 1000);
      }
      const retryable =
        options.retryOnlyWhenRejected === true ? error.kind === "rate-limited" : isRetryableKind(error.kind);
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

function dropUndefined(params: Record<string, string | undefined>): Record<string, string> {
  const kept: Record<string, string> = {};
  for (const [key, value] of Object.entries(params)) if (value !== undefined) kept[key] = value;
  return kept;
}
