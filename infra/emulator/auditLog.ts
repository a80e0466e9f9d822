/**
 * The emulated account's audit events: one per change the API carried out, paged by an opaque
 * `page_token` the way `GET /api/v1/audit-events` pages (`auditPageSize` events a page).
 */
import { invalid } from "./apiFailure";
import type { EmulatorOptions } from "./options";
import { isoTime, randomHex } from "./wireFormat";

export class AuditLog {
  private readonly events: Record<string, unknown>[] = [];

  constructor(
    private readonly options: EmulatorOptions,
    private readonly now: () => number,
  ) {}

  /** Records `action` ("<resource>.<verb>", e.g. `ssh_key.create`) on the resource with this id. */
  record(action: string, resourceId: string): void {
    const [service] = action.split(".");
    this.events.push({
      service_name: "cloud",
      resource_name: service,
      action,
      catalog_version: "1",
      event_id: randomHex(16),
      event_time: isoTime(this.now()),
      actor_lrn: "lrn:user:emulator-user",
      resource_lrns: [`lrn:${service}:${resourceId}`],
      resource_owner_lrn: "lrn:account:emulator",
      request_api_key_lrn: "lrn:api_key:emulator",
      additional_details: {},
    });
  }

  /**
   * One page: the query's `page_token` (absent: the first page), `resource_type` (`ssh_key` or
   * `cloud.ssh_key`; absent: every event), `start` and `end` (ISO 8601, inclusive; absent: no
   * bound). Throws invalid-parameters for a token this log did not hand out or a time it cannot read.
   */
  page(query: URLSearchParams): { events: unknown[]; page_token: string | null } {
    const token = query.get("page_token");
    const start = token === null ? 0 : Number(Buffer.from(token, "base64url").toString("utf8"));
    if (!Number.isInteger(start) || start < 0) throw invalid("page_token is not valid.");
    const resourceType = query.get("resource_type");
    const from = timeBound(query, "start") ?? -Infinity;
    const to = timeBound(query, "end") ?? Infinity;
    const events = this.events.filter((event) => {
      const at = Date.parse(event.event_time as string);
      return (
        (resourceType === null || event.resource_name === resourceType.replace(/^cloud\./, "")) &&
        at >= from &&
        at <= to
      );
    });
    const end = start + this.options.auditPageSize;
    return {
      events: events.slice(start, end),
      page_token: end < events.length ? Buffer.from(String(end), "utf8").toString("base64url") : null,
    };
  }
}

/** The query's `start` or `end` in epoch ms, undefined when absent; invalid-parameters when unreadable. */
function timeBound(query: URLSearchParams, name: "start" | "end"): number | undefined {
  const text = query.get(name);
  if (text === null) return undefined;
  const ms = Date.parse(text);
  if (Number.isNaN(ms)) throw invalid(`${name} ${text} is not an ISO 8601 time.`);
  return ms;
}
