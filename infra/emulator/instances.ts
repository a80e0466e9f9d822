/**
 * The emulated account's instances. Statuses follow the documented lifecycle, derived from
 * timestamps on every read (booting -> active|unhealthy; terminating -> terminated -> gone), so
 * nothing runs in the background. Launch checks live in launch.ts; this holds what exists.
 */
import { invalid, notFound } from "./apiFailure";
import type { AuditLog } from "./auditLog";
import { EmulatedStatus, InstanceSpec, StoredInstance, renderInstance } from "./instanceView";
import { SANDBOX_PRIVATE_PREFIX, type EmulatorOptions } from "./options";
import { randomHex } from "./wireFormat";

/** A launch request after every check: the new instance's parts, and its hostname if one was asked for. */
export interface AcceptedLaunch extends InstanceSpec {
  /** @default `ip-<n>` */
  hostname?: string;
}

export class Instances {
  private readonly stored = new Map<string, StoredInstance>();
  private nextAddress = 10;

  constructor(
    private readonly options: EmulatorOptions,
    private readonly now: () => number,
    private readonly audit: AuditLog,
  ) {}

  private statusOf(instance: StoredInstance): EmulatedStatus {
    const now = this.now();
    if (instance.terminateRequestedAt !== undefined) {
      return now - instance.terminateRequestedAt >= this.options.terminateDelayMs
        ? "terminated"
        : "terminating";
    }
    if (instance.forcedStatus !== undefined) return instance.forcedStatus;
    if (now - instance.launchedAt < this.options.bootDelayMs) return "booting";
    return instance.bootOutcome;
  }

  /** Instances still visible: terminated ones disappear after the retention window. */
  private visible(): StoredInstance[] {
    const now = this.now();
    const visible: StoredInstance[] = [];
    for (const instance of this.stored.values()) {
      const goneAt =
        instance.terminateRequestedAt === undefined
          ? undefined
          : instance.terminateRequestedAt +
            this.options.terminateDelayMs +
            this.options.terminatedRetentionMs;
      if (goneAt !== undefined && now >= goneAt) {
        this.stored.delete(instance.id);
        continue;
      }
      visible.push(instance);
    }
    return visible;
  }

  private render(instance: StoredInstance): Record<string, unknown> {
    return renderInstance(instance, this.statusOf(instance), this.now(), this.options);
  }

  private require(id: string): StoredInstance {
    const instance = this.visible().find((candidate) => candidate.id === id);
    if (instance === undefined)
      throw notFound("Specified instance does not exist.", "Check the instance ID.");
    return instance;
  }

  /** Ids of the visible instances not yet terminated for which `uses` holds (who uses a filesystem...). */
  liveIdsWhere(uses: (instance: StoredInstance) => boolean): string[] {
    return this.visible()
      .filter((instance) => this.statusOf(instance) !== "terminated" && uses(instance))
      .map((instance) => instance.id);
  }

  /** Units of `typeName` in `region` held by instances not yet terminated (they hold capacity). */
  unitsInUse(typeName: string, region: string): number {
    let used = 0;
    for (const instance of this.stored.values()) {
      const status = this.statusOf(instance);
      if (instance.type.name === typeName && instance.region === region && status !== "terminated") used++;
    }
    return used;
  }

  list(): Record<string, unknown>[] {
    const listed = this.visible().map((instance) => this.render(instance));
    // Fault: listed now, gone (404) by the caller's next call, as if terminated and forgotten between.
    for (const id of this.options.vanishAfterListing.splice(0)) this.stored.delete(id);
    return listed;
  }

  get(id: string): Record<string, unknown> {
    return this.render(this.require(id));
  }

  /** `POST /api/v1/instances/{id}`: `{ name? }` (at most 64 characters). */
  rename(id: string, body: Record<string, unknown>): Record<string, unknown> {
    const instance = this.require(id);
    if (body.name !== undefined) {
      if (typeof body.name !== "string" || body.name.length > 64)
        throw invalid("name must be a string of at most 64 characters.");
      instance.name = body.name;
    }
    this.audit.record("instance.rename", instance.id);
    return this.render(instance);
  }

  /** Creates the instance, booting from now; returns its id. */
  add(launch: AcceptedLaunch): string {
    const address = this.nextAddress++;
    const id = randomHex(16);
    this.stored.set(id, {
      ...launch,
      id,
      hostname: launch.hostname ?? `ip-${address}`,
      // Loopback: every instance is this machine's sandbox sshd, which listens on 127.0.0.1 only;
      // its private address is on the sandbox's private network (SANDBOX_PRIVATE_NETWORK).
      ip: this.options.ipMode === "loopback" ? "127.0.0.1" : `203.0.113.${address % 250}`,
      privateIp:
        this.options.ipMode === "loopback"
          ? `${SANDBOX_PRIVATE_PREFIX}${(address % 250) + 1}`
          : `10.19.${Math.floor(address / 250)}.${address % 250}`,
      launchedAt: this.now(),
      bootOutcome: this.options.bootOutcome,
    });
    this.audit.record("instance.launch", id);
    return id;
  }

  terminate(ids: unknown): Record<string, unknown>[] {
    const found = requireIdList(ids).map((id) => this.require(id));
    for (const instance of found) {
      instance.terminateRequestedAt ??= this.now();
      this.audit.record("instance.terminate", instance.id);
    }
    return found.map((instance) => this.render(instance));
  }

  restart(ids: unknown): Record<string, unknown>[] {
    const found = requireIdList(ids).map((id) => this.require(id));
    for (const instance of found) {
      if (instance.terminateRequestedAt === undefined) {
        instance.forcedStatus = undefined;
        // What a reboot comes back as: `--boot-outcome`, so a node that stays broken can be tested.
        instance.bootOutcome = this.options.bootOutcome;
        instance.launchedAt = this.now();
      }
      this.audit.record("instance.restart", instance.id);
    }
    return found.map((instance) => this.render(instance));
  }

  // ---- faults on existing instances (emulator control API) -------------------------------------

  terminateOutOfBand(id: string): void {
    const instance = this.require(id);
    instance.terminateRequestedAt = this.now() - this.options.terminateDelayMs;
  }

  makeUnhealthy(id: string): void {
    this.require(id).forcedStatus = "unhealthy";
  }

  /** Makes an instance report odd fields from now on (see FieldOverrides). */
  overrideFields(id: string, body: Record<string, unknown>): void {
    const set = body.set ?? {};
    const omit = body.omit ?? [];
    if (typeof set !== "object" || set === null || !Array.isArray(omit))
      throw invalid('fields: expected { "set": { field: value }, "omit": [field, ...] }.');
    this.require(id).fieldOverrides = { set: set as Record<string, unknown>, omit: omit.map(String) };
  }
}

function requireIdList(ids: unknown): string[] {
  if (!Array.isArray(ids) || ids.length === 0 || !ids.every((id) => typeof id === "string")) {
    throw invalid("instance_ids must be a non-empty list of instance IDs.");
  }
  return ids as string[];
}
