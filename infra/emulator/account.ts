/**
 * The emulated Lambda account: instances, SSH keys, filesystems, firewall rulesets, audit events,
 * in memory. Statuses follow the documented lifecycle, derived from timestamps on every read
 * (booting -> active|unhealthy; terminating -> terminated -> gone).
 *
 * Every refusal is an `ApiFailure` shaped like the OpenAPI document's `ApiError*` schemas.
 */
import { randomBytes } from "crypto";
import { PUBLIC_REGION_CODES } from "../lambda/schemas";
import {
  DEFAULT_IMAGE_FAMILY,
  EMULATED_IMAGE_FAMILIES,
  EMULATED_INSTANCE_TYPES,
  EmulatedInstanceType,
  REGION_DESCRIPTIONS,
} from "./catalog";
import { SANDBOX_PRIVATE_PREFIX, type EmulatorOptions } from "./options";

export class ApiFailure extends Error {
  constructor(
    readonly httpStatus: number,
    readonly code: string,
    message: string,
    readonly suggestion?: string,
  ) {
    super(message);
  }
  body(): { error: { code: string; message: string; suggestion?: string } } {
    return {
      error: {
        code: this.code,
        message: this.message,
        ...(this.suggestion !== undefined ? { suggestion: this.suggestion } : {}),
      },
    };
  }
}

const invalid = (message: string) =>
  new ApiFailure(400, "global/invalid-parameters", message, "Check the request and try again.");

interface StoredInstance {
  id: string;
  name: string;
  type: EmulatedInstanceType;
  region: string;
  sshKeyNames: string[];
  fileSystemNames: string[];
  fileSystemMounts: { mount_point: string; file_system_id: string }[];
  hostname: string;
  tags: { key: string; value: string }[];
  firewallRulesetIds: string[];
  ip: string;
  privateIp: string;
  launchedAt: number;
  bootOutcome: "active" | "unhealthy";
  /** Set when the instance turned unhealthy or was terminated out of band or on request. */
  forcedStatus?: "unhealthy";
  terminateRequestedAt?: number;
  /** Emulator control: top-level fields rendered as given (null included) or left out. */
  fieldOverrides?: FieldOverrides;
}

/** `POST /_emulator/instances/<id>/fields` body: `{ set: { hostname: null }, omit: ["private_ip"] }`. */
export interface FieldOverrides {
  set: Record<string, unknown>;
  omit: string[];
}

interface StoredFilesystem {
  id: string;
  name: string;
  region: string;
  created: string;
}

interface StoredRuleset {
  id: string;
  name: string;
  region: string;
  rules: unknown[];
  created: string;
}

const EMULATOR_USER = { id: "emulator-user", email: "operator@example.com", status: "active" as const };

export class EmulatedAccount {
  private instances = new Map<string, StoredInstance>();
  private sshKeys = new Map<string, { id: string; name: string; public_key: string }>();
  private filesystems = new Map<string, StoredFilesystem>();
  private rulesets = new Map<string, StoredRuleset>();
  private globalRules: unknown[] = [];
  private legacyRules: unknown[] = [];
  private auditEvents: Record<string, unknown>[] = [];
  private nextAddress = 10;

  constructor(
    private readonly options: EmulatorOptions,
    private readonly now: () => number = Date.now,
  ) {}

  // ---- instance types ------------------------------------------------------------------------

  capacityOf(typeName: string, region: string): number {
    const override = this.options.capacity[`${typeName}@${region}`];
    if (override !== undefined) return override;
    return this.options.stockedRegions.includes(region) ? this.options.defaultCapacity : 0;
  }

  private unitsInUse(typeName: string, region: string): number {
    let used = 0;
    for (const instance of this.instances.values()) {
      const status = this.statusOf(instance);
      if (instance.type.name === typeName && instance.region === region && status !== "terminated") used++;
    }
    return used;
  }

  instanceTypes(): Record<string, unknown> {
    const map: Record<string, unknown> = {};
    for (const type of EMULATED_INSTANCE_TYPES) {
      const regions = PUBLIC_REGION_CODES.filter(
        (region) => this.capacityOf(type.name, region) > this.unitsInUse(type.name, region),
      );
      map[type.name] = { instance_type: type, regions_with_capacity_available: regions.map(regionObject) };
    }
    return map;
  }

  // ---- instances -----------------------------------------------------------------------------

  private statusOf(
    instance: StoredInstance,
  ): "booting" | "active" | "unhealthy" | "terminating" | "terminated" {
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
  private visibleInstances(): StoredInstance[] {
    const now = this.now();
    const visible: StoredInstance[] = [];
    for (const instance of this.instances.values()) {
      const goneAt =
        instance.terminateRequestedAt === undefined
          ? undefined
          : instance.terminateRequestedAt +
            this.options.terminateDelayMs +
            this.options.terminatedRetentionMs;
      if (goneAt !== undefined && now >= goneAt) {
        this.instances.delete(instance.id);
        continue;
      }
      visible.push(instance);
    }
    return visible;
  }

  private render(instance: StoredInstance): Record<string, unknown> {
    const status = this.statusOf(instance);
    const running = status === "active" || status === "unhealthy";
    const available = (ok: boolean, reason: string) =>
      ok
        ? { available: true }
        : { available: false, reason_code: reason, reason_description: `Not available: ${reason}` };
    const launched = status !== "booting";
    const terminating = status === "terminating" || status === "terminated";
    const activeForMs = this.now() - instance.launchedAt - this.options.bootDelayMs;
    const privateIpLate = status === "active" && activeForMs < this.options.privateIpDelayMs;
    const rendered: Record<string, unknown> = {
      id: instance.id,
      name: instance.name,
      ...(running || status === "terminating" ? { ip: instance.ip, private_ip: instance.privateIp } : {}),
      ...(privateIpLate ? { private_ip: undefined } : {}),
      status,
      ssh_key_names: instance.sshKeyNames,
      file_system_names: instance.fileSystemNames,
      ...(instance.fileSystemMounts.length > 0 ? { file_system_mounts: instance.fileSystemMounts } : {}),
      region: regionObject(instance.region),
      instance_type: instance.type,
      hostname: instance.hostname,
      jupyter_token: randomHex(16),
      jupyter_url: `https://jupyter-${instance.id}.lambdaspaces.com/?token=redacted`,
      actions: {
        migrate: available(false, launched ? "vm-is-too-old" : "vm-has-not-launched"),
        rebuild: available(running, terminating ? "vm-is-terminating" : "vm-has-not-launched"),
        restart: available(running, terminating ? "vm-is-terminating" : "vm-has-not-launched"),
        cold_reboot: available(running, terminating ? "vm-is-terminating" : "vm-has-not-launched"),
        terminate: available(!terminating, "vm-is-terminating"),
      },
      tags: instance.tags,
      firewall_rulesets: instance.firewallRulesetIds.map((id) => ({ id })),
    };
    const overrides = instance.fieldOverrides;
    for (const field of overrides?.omit ?? []) delete rendered[field];
    return { ...rendered, ...overrides?.set };
  }

  listInstances(): Record<string, unknown>[] {
    const listed = this.visibleInstances().map((instance) => this.render(instance));
    // Fault: listed now, gone (404) by the caller's next call, as if terminated and forgotten between.
    for (const id of this.options.vanishAfterListing.splice(0)) this.instances.delete(id);
    return listed;
  }

  getInstance(id: string): Record<string, unknown> {
    return this.render(this.requireInstance(id));
  }

  private requireInstance(id: string): StoredInstance {
    const instance = this.visibleInstances().find((candidate) => candidate.id === id);
    if (instance === undefined) {
      throw new ApiFailure(
        404,
        "global/object-does-not-exist",
        "Specified instance does not exist.",
        "Check the instance ID.",
      );
    }
    return instance;
  }

  renameInstance(id: string, body: Record<string, unknown>): Record<string, unknown> {
    const instance = this.requireInstance(id);
    if (body.name !== undefined) {
      if (typeof body.name !== "string" || body.name.length > 64)
        throw invalid("name must be a string of at most 64 characters.");
      instance.name = body.name;
    }
    this.audit("instance.rename", instance.id);
    return this.render(instance);
  }

  launch(body: Record<string, unknown>): string[] {
    const request = validateLaunchRequest(body);
    const type = EMULATED_INSTANCE_TYPES.find((candidate) => candidate.name === request.instanceType);
    if (type === undefined) {
      throw new ApiFailure(
        404,
        "global/object-does-not-exist",
        `Instance type ${request.instanceType} does not exist.`,
        "List instance types with GET /api/v1/instance-types.",
      );
    }
    if (body.image !== undefined && !this.imageExists(body.image, request.region)) {
      throw new ApiFailure(
        404,
        "global/object-does-not-exist",
        `Image ${JSON.stringify(body.image)} does not exist in ${request.region}.`,
        "List images with GET /api/v1/images.",
      );
    }
    for (const keyName of request.sshKeyNames) {
      if (![...this.sshKeys.values()].some((key) => key.name === keyName)) {
        throw new ApiFailure(
          404,
          "global/object-does-not-exist",
          `SSH key ${keyName} does not exist.`,
          "Add the key with POST /api/v1/ssh-keys first.",
        );
      }
    }
    const mounts: { mount_point: string; file_system_id: string }[] = [];
    for (const fsName of request.fileSystemNames) {
      const fs = [...this.filesystems.values()].find((candidate) => candidate.name === fsName);
      if (fs === undefined) {
        throw new ApiFailure(
          404,
          "global/object-does-not-exist",
          `Filesystem ${fsName} does not exist.`,
          "Create the filesystem first.",
        );
      }
      if (fs.region !== request.region) {
        throw new ApiFailure(
          400,
          "instance-operations/launch/file-system-in-wrong-region",
          `Filesystem ${fsName} is in ${fs.region}, not ${request.region}.`,
          "Launch in the filesystem's region.",
        );
      }
      const explicit = request.fileSystemMounts.find((mount) => mount.file_system_id === fs.id);
      mounts.push({ mount_point: explicit?.mount_point ?? `/lambda/nfs/${fs.name}`, file_system_id: fs.id });
    }
    for (const rulesetId of request.firewallRulesetIds) {
      const ruleset = this.rulesets.get(rulesetId);
      if (ruleset === undefined)
        throw new ApiFailure(
          404,
          "global/object-does-not-exist",
          `Firewall ruleset ${rulesetId} does not exist.`,
          "Check the ruleset ID.",
        );
      if (ruleset.region !== request.region)
        throw invalid(`Firewall ruleset ${rulesetId} is in ${ruleset.region}, not ${request.region}.`);
    }
    const live = this.visibleInstances().filter(
      (instance) => this.statusOf(instance) !== "terminated",
    ).length;
    if (live >= this.options.instanceQuota) {
      throw new ApiFailure(
        400,
        "global/quota-exceeded",
        "Quota exceeded.",
        "Contact Support to increase your quota.",
      );
    }
    if (this.unitsInUse(type.name, request.region) >= this.capacityOf(type.name, request.region)) {
      throw new ApiFailure(
        400,
        "instance-operations/launch/insufficient-capacity",
        "Not enough capacity to fulfill launch request.",
        "Try another region or instance type.",
      );
    }
    const address = this.nextAddress++;
    const id = randomHex(16);
    const instance: StoredInstance = {
      id,
      name: request.name ?? "",
      type,
      region: request.region,
      sshKeyNames: request.sshKeyNames,
      fileSystemNames: request.fileSystemNames,
      fileSystemMounts: mounts,
      hostname: request.hostname ?? `ip-${address}`,
      tags: request.tags,
      firewallRulesetIds: request.firewallRulesetIds,
      // Loopback: every instance is this machine's sandbox sshd, which listens on 127.0.0.1 only;
      // its private address is on the sandbox's private network (SANDBOX_PRIVATE_NETWORK).
      ip: this.options.ipMode === "loopback" ? "127.0.0.1" : `203.0.113.${address % 250}`,
      privateIp:
        this.options.ipMode === "loopback"
          ? `${SANDBOX_PRIVATE_PREFIX}${(address % 250) + 1}`
          : `10.19.${Math.floor(address / 250)}.${address % 250}`,
      launchedAt: this.now(),
      bootOutcome: this.options.bootOutcome,
    };
    this.instances.set(id, instance);
    this.audit("instance.launch", id);
    return [id];
  }

  terminate(ids: unknown): Record<string, unknown>[] {
    const list = requireIdList(ids);
    const found = list.map((id) => this.requireInstance(id));
    for (const instance of found) {
      instance.terminateRequestedAt ??= this.now();
      this.audit("instance.terminate", instance.id);
    }
    return found.map((instance) => this.render(instance));
  }

  restart(ids: unknown): Record<string, unknown>[] {
    const list = requireIdList(ids);
    const found = list.map((id) => this.requireInstance(id));
    for (const instance of found) {
      if (instance.terminateRequestedAt === undefined) {
        instance.forcedStatus = undefined;
        // What a reboot comes back as: `--boot-outcome`, so a node that stays broken can be tested.
        instance.bootOutcome = this.options.bootOutcome;
        instance.launchedAt = this.now();
      }
      this.audit("instance.restart", instance.id);
    }
    return found.map((instance) => this.render(instance));
  }

  // ---- faults on existing instances (emulator control API) -------------------------------------

  terminateOutOfBand(id: string): void {
    const instance = this.requireInstance(id);
    instance.terminateRequestedAt = this.now() - this.options.terminateDelayMs;
  }

  makeUnhealthy(id: string): void {
    this.requireInstance(id).forcedStatus = "unhealthy";
  }

  /** Makes an instance report odd fields from now on (see FieldOverrides). */
  overrideFields(id: string, body: Record<string, unknown>): void {
    const set = body.set ?? {};
    const omit = body.omit ?? [];
    if (typeof set !== "object" || set === null || !Array.isArray(omit))
      throw invalid('fields: expected { "set": { field: value }, "omit": [field, ...] }.');
    this.requireInstance(id).fieldOverrides = { set: set as Record<string, unknown>, omit: omit.map(String) };
  }

  // ---- SSH keys ------------------------------------------------------------------------------

  listSshKeys(): unknown[] {
    return [...this.sshKeys.values()];
  }

  addSshKey(body: Record<string, unknown>): Record<string, unknown> {
    const { name, public_key: publicKey } = body;
    if (typeof name !== "string" || name.length < 1 || name.length > 64)
      throw invalid("name must be 1 to 64 characters.");
    if (
      publicKey !== undefined &&
      (typeof publicKey !== "string" ||
        !/^(ssh-(rsa|ed25519)|ecdsa-sha2-nistp\d+) [A-Za-z0-9+/=]+/.test(publicKey))
    ) {
      throw invalid("public_key is not a valid OpenSSH public key.");
    }
    if ([...this.sshKeys.values()].some((key) => key.name === name))
      throw invalid("SSH key name must be unique.");
    const id = randomHex(16);
    const key = {
      id,
      name,
      public_key:
        (publicKey as string | undefined) ?? `ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAA${randomHex(16)} generated`,
    };
    this.sshKeys.set(id, key);
    this.audit("ssh_key.create", id);
    return publicKey === undefined
      ? {
          ...key,
          private_key: "-----BEGIN OPENSSH PRIVATE KEY-----\nemulated\n-----END OPENSSH PRIVATE KEY-----\n",
        }
      : key;
  }

  deleteSshKey(id: string): Record<string, never> {
    if (!this.sshKeys.delete(id)) throw invalid(`SSH key ${id} does not exist.`);
    this.audit("ssh_key.delete", id);
    return {};
  }

  // ---- filesystems ---------------------------------------------------------------------------

  private filesystemInUseBy(fs: StoredFilesystem): string[] {
    return this.visibleInstances()
      .filter(
        (instance) => this.statusOf(instance) !== "terminated" && instance.fileSystemNames.includes(fs.name),
      )
      .map((instance) => instance.id);
  }

  private renderFilesystem(fs: StoredFilesystem): Record<string, unknown> {
    return {
      id: fs.id,
      name: fs.name,
      mount_point: `/lambda/nfs/${fs.name}`,
      created: fs.created,
      created_by: EMULATOR_USER,
      is_in_use: this.filesystemInUseBy(fs).length > 0,
      region: regionObject(fs.region),
      bytes_used: 0,
    };
  }

  listFilesystems(): unknown[] {
    return [...this.filesystems.values()].map((fs) => this.renderFilesystem(fs));
  }

  createFilesystem(body: Record<string, unknown>): Record<string, unknown> {
    const { name, region } = body;
    if (typeof name !== "string" || !/^[a-zA-Z]+[0-9a-zA-Z-]*$/.test(name) || name.length > 60) {
      throw invalid("name must match ^[a-zA-Z]+[0-9a-zA-Z-]*$ and be at most 60 characters.");
    }
    if (typeof region !== "string" || !(PUBLIC_REGION_CODES as readonly string[]).includes(region))
      throw invalid(`Region ${String(region)} does not exist.`);
    if ([...this.filesystems.values()].some((fs) => fs.name === name)) {
      throw new ApiFailure(
        400,
        "global/duplicate",
        `A filesystem named ${name} already exists.`,
        "Choose another name.",
      );
    }
    const fs = { id: randomHex(16), name, region, created: new Date(this.now()).toISOString() };
    this.filesystems.set(fs.id, fs);
    this.audit("filesystem.create", fs.id);
    return this.renderFilesystem(fs);
  }

  deleteFilesystem(id: string): Record<string, unknown> {
    const fs = this.filesystems.get(id);
    if (fs === undefined)
      throw new ApiFailure(
        404,
        "global/object-does-not-exist",
        "Filesystem was not found.",
        "Check the filesystem ID.",
      );
    if (this.filesystemInUseBy(fs).length > 0) {
      throw new ApiFailure(
        400,
        "filesystems/filesystem-in-use",
        "Filesystem is in use by one or more instances.",
        "Terminate the instances that use it first.",
      );
    }
    this.filesystems.delete(id);
    this.audit("filesystem.delete", id);
    return { deleted_ids: [id] };
  }

  // ---- images --------------------------------------------------------------------------------

  listImages(): unknown[] {
    const created = "2026-01-15T00:00:00.000Z";
    return this.options.stockedRegions.flatMap((region) =>
      EMULATED_IMAGE_FAMILIES.map((image) => ({
        id: `img-${image.family}-${region}`,
        created_time: created,
        updated_time: created,
        name: image.name,
        description: `${image.name}${image.family === DEFAULT_IMAGE_FAMILY ? " (default)" : ""}`,
        family: image.family,
        version: image.version,
        architecture: image.architecture,
        region: regionObject(region),
      })),
    );
  }

  imageExists(image: unknown, region: string): boolean {
    const spec = image as { id?: string; family?: string };
    return this.listImages().some((candidate) => {
      const c = candidate as { id: string; family: string; region: { name: string } };
      return c.region.name === region && (c.id === spec.id || c.family === spec.family);
    });
  }

  // ---- firewall ------------------------------------------------------------------------------

  private rulesetUsers(ruleset: StoredRuleset): string[] {
    return this.visibleInstances()
      .filter(
        (instance) =>
          this.statusOf(instance) !== "terminated" && instance.firewallRulesetIds.includes(ruleset.id),
      )
      .map((instance) => instance.id);
  }

  private renderRuleset(ruleset: StoredRuleset): Record<string, unknown> {
    return { ...ruleset, region: regionObject(ruleset.region), instance_ids: this.rulesetUsers(ruleset) };
  }

  listRulesets(): unknown[] {
    return [...this.rulesets.values()].map((ruleset) => this.renderRuleset(ruleset));
  }

  getRuleset(id: string): Record<string, unknown> {
    return this.renderRuleset(this.requireRuleset(id));
  }

  private requireRuleset(id: string): StoredRuleset {
    const ruleset = this.rulesets.get(id);
    if (ruleset === undefined) {
      throw new ApiFailure(
        404,
        "global/object-does-not-exist",
        "Firewall ruleset does not exist or you do not have permission to access it.",
        "Check your firewall ruleset ID and try again.",
      );
    }
    return ruleset;
  }

  createRuleset(body: Record<string, unknown>): Record<string, unknown> {
    const { name, region, rules } = body;
    if (typeof name !== "string" || name.length < 1 || name.length > 64)
      throw invalid("name must be 1 to 64 characters.");
    if (typeof region !== "string" || !(PUBLIC_REGION_CODES as readonly string[]).includes(region))
      throw invalid(`Region ${String(region)} does not exist.`);
    const ruleset = {
      id: randomHex(16),
      name,
      region,
      rules: validateRules(rules),
      created: new Date(this.now()).toISOString(),
    };
    this.rulesets.set(ruleset.id, ruleset);
    this.audit("firewall_ruleset.create", ruleset.id);
    return this.renderRuleset(ruleset);
  }

  updateRuleset(id: string, body: Record<string, unknown>): Record<string, unknown> {
    const ruleset = this.requireRuleset(id);
    if (body.name !== undefined) {
      if (typeof body.name !== "string" || body.name.length > 64)
        throw invalid("name must be at most 64 characters.");
      ruleset.name = body.name;
    }
    if (body.rules !== undefined) ruleset.rules = validateRules(body.rules);
    this.audit("firewall_ruleset.update", id);
    return this.renderRuleset(ruleset);
  }

  deleteRuleset(id: string): Record<string, never> {
    const ruleset = this.requireRuleset(id);
    if (this.rulesetUsers(ruleset).length > 0) {
      throw new ApiFailure(
        400,
        "firewall-rulesets/firewall-ruleset-in-use",
        "Firewall ruleset is in use by one or more instances.",
        "Terminate all instances that are using the ruleset before deleting it.",
      );
    }
    this.rulesets.delete(id);
    this.audit("firewall_ruleset.delete", id);
    return {};
  }

  globalRuleset(): Record<string, unknown> {
    return { id: "global", name: "Global Firewall Rules", rules: this.globalRules };
  }

  updateGlobalRuleset(body: Record<string, unknown>): Record<string, unknown> {
    if (body.rules !== undefined) this.globalRules = validateRules(body.rules);
    return this.globalRuleset();
  }

  legacyFirewallRules(): unknown[] {
    return this.legacyRules;
  }

  setLegacyFirewallRules(body: Record<string, unknown>): unknown[] {
    this.legacyRules = validateRules(body.data);
    return this.legacyRules;
  }

  // ---- audit events --------------------------------------------------------------------------

  private audit(action: string, resourceId: string): void {
    const [service] = action.split(".");
    this.auditEvents.push({
      service_name: "cloud",
      resource_name: service,
      action,
      catalog_version: "1",
      event_id: randomHex(16),
      event_time: new Date(this.now()).toISOString(),
      actor_lrn: "lrn:user:emulator-user",
      resource_lrns: [`lrn:${service}:${resourceId}`],
      resource_owner_lrn: "lrn:account:emulator",
      request_api_key_lrn: "lrn:api_key:emulator",
      additional_details: {},
    });
  }

  auditPage(query: URLSearchParams): { events: unknown[]; page_token: string | null } {
    const token = query.get("page_token");
    const start = token === null ? 0 : Number(Buffer.from(token, "base64url").toString("utf8"));
    if (!Number.isInteger(start) || start < 0) throw invalid("page_token is not valid.");
    const resourceType = query.get("resource_type");
    const events = this.auditEvents.filter(
      (event) => resourceType === null || event.resource_name === resourceType.replace(/^cloud\./, ""),
    );
    const end = start + this.options.auditPageSize;
    return {
      events: events.slice(start, end),
      page_token: end < events.length ? Buffer.from(String(end), "utf8").toString("base64url") : null,
    };
  }
}

function regionObject(name: string): { name: string; description: string } {
  return { name, description: REGION_DESCRIPTIONS[name] ?? name };
}

function randomHex(bytes: number): string {
  return randomBytes(bytes).toString("hex");
}

function requireIdList(ids: unknown): string[] {
  if (!Array.isArray(ids) || ids.length === 0 || !ids.every((id) => typeof id === "string")) {
    throw invalid("instance_ids must be a non-empty list of instance IDs.");
  }
  return ids as string[];
}

function validateRules(rules: unknown): unknown[] {
  if (!Array.isArray(rules)) throw invalid("rules must be a list.");
  for (const rule of rules as Record<string, unknown>[]) {
    if (!["tcp", "udp", "icmp", "all"].includes(String(rule.protocol)))
      throw invalid(`protocol ${String(rule.protocol)} is not one of tcp, udp, icmp, all.`);
    if (
      typeof rule.source_network !== "string" ||
      !/^\d{1,3}(\.\d{1,3}){3}(\/\d{1,2})?$/.test(rule.source_network)
    ) {
      throw invalid(`source_network ${String(rule.source_network)} is not an IPv4 CIDR.`);
    }
    if (typeof rule.description !== "string" || rule.description.length > 128)
      throw invalid("description is required (at most 128 characters).");
    const range = rule.port_range;
    if (rule.protocol === "icmp") {
      if (range !== undefined) throw invalid("icmp rules must not have a port_range.");
    } else if (
      !Array.isArray(range) ||
      range.length !== 2 ||
      !range.every((port) => Number.isInteger(port) && port >= 1 && port <= 65535) ||
      range[0] > range[1]
    ) {
      throw invalid(`port_range ${JSON.stringify(range)} must be [min, max] within 1-65535.`);
    }
  }
  // 1.8.3: "If no mask is provided, the API assumes /32"; the emulator reports the rule that way,
  // so a client that compares its input with the stored rule has to normalise too.
  return (rules as Record<string, unknown>[]).map((rule) =>
    (rule.source_network as string).includes("/")
      ? rule
      : { ...rule, source_network: `${rule.source_network}/32` },
  );
}

interface ValidLaunch {
  region: string;
  instanceType: string;
  sshKeyNames: string[];
  fileSystemNames: string[];
  fileSystemMounts: { mount_point: string; file_system_id: string }[];
  hostname?: string;
  name?: string;
  tags: { key: string; value: string }[];
  firewallRulesetIds: string[];
}

/** Validates a launch body the way 1.8.3 documents it, in the order Lambda's messages suggest. */
function validateLaunchRequest(body: Record<string, unknown>): ValidLaunch {
  const region = body.region_name;
  if (typeof region !== "string" || !(PUBLIC_REGION_CODES as readonly string[]).includes(region))
    throw invalid(`Region ${String(region)} does not exist.`);
  if (typeof body.instance_type_name !== "string") throw invalid("instance_type_name is required.");
  if (body.quantity !== undefined && body.quantity !== 1) throw invalid("Requested too many instances.");
  const keys = body.ssh_key_names;
  if (!Array.isArray(keys) || keys.length !== 1 || typeof keys[0] !== "string")
    throw invalid("Currently, exactly one SSH key must be specified.");
  const fsNames = body.file_system_names ?? [];
  if (!Array.isArray(fsNames) || !fsNames.every((name) => typeof name === "string"))
    throw invalid("file_system_names must be a list of names.");
  const mounts = (body.file_system_mounts ?? []) as { mount_point: string; file_system_id: string }[];
  for (const mount of mounts) {
    if (
      typeof mount.mount_point !== "string" ||
      !/^(\/home|\/lambda\/nfs|\/data)[//a-zA-Z0-9-]*$/.test(mount.mount_point) ||
      mount.mount_point.length > 256
    ) {
      throw invalid(
        `mount_point ${String(mount.mount_point)} must match ^(/home|/lambda/nfs|/data)[//a-zA-Z0-9-]*$.`,
      );
    }
  }
  const hostname = body.hostname;
  if (
    hostname !== undefined &&
    (typeof hostname !== "string" || !/^[a-z0-9][0-9a-z-]{0,62}$/.test(hostname))
  ) {
    throw invalid(`hostname ${String(hostname)} must match ^[a-z0-9][0-9a-z-]{0,62}$.`);
  }
  const name = body.name;
  if (name !== undefined && (typeof name !== "string" || name.length > 64))
    throw invalid("name must be at most 64 characters.");
  const tags = (body.tags ?? []) as { key: string; value: string }[];
  for (const tag of tags) {
    if (typeof tag.key !== "string" || !/^[a-z][a-z0-9-:]+$/.test(tag.key) || tag.key.length > 55)
      throw invalid(`tag key ${String(tag.key)} must match ^[a-z][a-z0-9-:]+$ (at most 55 characters).`);
    if (typeof tag.value !== "string" || tag.value.length > 128)
      throw invalid(`tag value for ${tag.key} must be at most 128 characters.`);
  }
  const userData = body.user_data;
  if (userData !== undefined && (typeof userData !== "string" || Buffer.byteLength(userData) > 1024 * 1024))
    throw invalid("user_data must be text of at most 1 MB.");
  const rulesets = (body.firewall_rulesets ?? []) as { id: string }[];
  return {
    region,
    instanceType: body.instance_type_name,
    sshKeyNames: keys as string[],
    fileSystemNames: fsNames as string[],
    fileSystemMounts: mounts,
    hostname: hostname as string | undefined,
    name: name as string | undefined,
    tags,
    firewallRulesetIds: rulesets.map((entry) => entry.id),
  };
}
