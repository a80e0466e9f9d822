/**
 * The LambdaInstance provider's inputs and the pure checks on them: what Lambda's launch endpoint
 * would refuse, caught at `check` (so at preview), in the user's words. Values unknown during
 * preview are skipped; `create` sees them resolved.
 */
import type * as pulumi from "@pulumi/pulumi";
import { EXPIRES_AT_TAG } from "../instanceTags";
import { PUBLIC_REGION_CODES } from "../lambda/schemas";
import { MAX_TTL_HOURS, ttlOrNone } from "../launchRules";
import { isUnknown } from "./common";

export interface InstanceInputs {
  /** Display name; Lambda sees `<name>-<launchToken>`, unique per stack, resource and launch settings. */
  name: string;
  /** Deterministic suffix that makes the launched name unique (computed by LambdaInstance). */
  launchToken: string;
  instanceType: string;
  /** Regions to try, in order, when Lambda answers insufficient-capacity. */
  regions: string[];
  /** Exactly one: Lambda takes one SSH key per instance. */
  sshKeyNames: string[];
  fileSystemNames: string[];
  imageFamily?: string;
  imageId?: string;
  hostname?: string;
  tags: Record<string, string>;
  /** Firewall ruleset id per region (a ruleset applies only in its own region); the launch region's is used. */
  firewallRulesetsByRegion: Record<string, string>;
  userData?: string;
  bootTimeoutMinutes: number;
  pollIntervalSeconds: number;
  /**
   * Hours the instance may live; `create` stamps Lambda's now (its HTTP `Date` header) + ttlHours as
   * the `orchestra-expires-at` tag and the `expiresAt` output, and `npm run reap` terminates it once
   * Lambda's clock has passed that by its grace (5 min). Absent or 0: none.
   */
  ttlHours?: number;
}

export interface InstanceOutputs extends Omit<InstanceInputs, "userData"> {
  instanceId: string;
  launchedName: string;
  status: string;
  ip: string;
  privateIp: string;
  actualHostname: string;
  region: string;
  priceCentsPerHour: number;
  hourlyPriceUsd: number;
  userDataSha256?: string;
  /** ISO time the instance expires (read back from its `orchestra-expires-at` tag); absent without a TTL. */
  expiresAt?: string;
}

/**
 * The expiry for an instance launched at `nowMs`, or undefined without a TTL. Computed once, in the
 * provider's `create`, never in the program: tags are launch-time inputs that Lambda cannot change,
 * so a program-side `Date.now()` would change them, and replace every instance, on every `up`.
 * `nowMs` reads Lambda's clock (LambdaClient.serverNow), never the launching machine's: the reaper
 * judges the tag by Lambda's clock, and a laptop hours off would otherwise reap fresh nodes. It is
 * called only when there is a TTL, so a stack without one (production) never needs that clock.
 */
export function expiryFor(ttlHours: number | undefined, nowMs: () => number): string | undefined {
  const ttl = ttlOrNone(ttlHours);
  if (ttl === undefined) return undefined;
  return new Date(nowMs() + Math.round(ttl * 3_600_000)).toISOString();
}

/**
 * Inputs whose change needs a new instance: Lambda cannot change them after launch. User data
 * (compared by hash), regions (only when the instance's own region is dropped) and the ruleset
 * (compared for the instance's own region) too, in diffInstance. Not `launchToken`: it is derived
 * from these keys plus the stack and resource name, so on its own it changes only when the token's
 * formula does (regions left it), and that must not replace running nodes (see INSTANCE_UPDATE_KEYS).
 */
export const INSTANCE_REPLACE_KEYS = [
  "instanceType",
  "sshKeyNames",
  "fileSystemNames",
  "imageFamily",
  "imageId",
  "hostname",
  "tags",
] as const;

/**
 * Inputs changed in place: the name (rename API), our own polling settings (no API call) and
 * `ttlHours`. Lambda cannot change a tag after launch, so a new TTL is recorded for the next launch
 * and the running instance keeps the expiry it was stamped with; replacing a whole GPU node (new
 * disk, new IP, a reboot's worth of billing) just to move its deadline would cost more than it
 * saves. To give a node a fresh expiry, replace it: `pulumi up --replace <urn>`.
 */
export const INSTANCE_UPDATE_KEYS = [
  "name",
  "bootTimeoutMinutes",
  "pollIntervalSeconds",
  "ttlHours",
  // Recorded in place: the running instance keeps its launched name (a rename takes the new token).
  "launchToken",
] as const;

export const HOSTNAME_PATTERN = /^[a-z0-9][0-9a-z-]{0,62}$/;
export const TAG_KEY_PATTERN = /^[a-z][a-z0-9-:]+$/;
/** Lambda allows 64 characters; "-" and the 8-character launch token take 9. */
export const MAX_DISPLAY_NAME_LENGTH = 55;

/** The name Lambda sees: unique per stack, resource and launch settings; found again after an ambiguous launch. */
export function launchedInstanceName(name: string, launchToken: string): string {
  return `${name}-${launchToken}`;
}

/** Checks that need no API call. Returns every problem, not only the first. */
export function validateInstanceInputs(inputs: Partial<InstanceInputs>): pulumi.dynamic.CheckFailure[] {
  const failures: pulumi.dynamic.CheckFailure[] = [];
  const fail = (property: string, reason: string) => failures.push({ property, reason });
  const known = (value: unknown) => value !== undefined && !isUnknown(value);

  if (known(inputs.name)) {
    const name = inputs.name as string;
    if (name.length === 0 || name.length > MAX_DISPLAY_NAME_LENGTH) {
      fail(
        "name",
        `name "${name}" is ${name.length} characters; use 1 to ${MAX_DISPLAY_NAME_LENGTH} (Lambda allows 64 and the stack appends a 9-character launch token)`,
      );
    }
  }
  // The program may pass anything (a string from config, a map): each list and map is checked for
  // its shape first, so a wrong one is named here instead of failing later as a TypeError.
  const shapeOk = (key: "regions" | "sshKeyNames" | "fileSystemNames", what: string, example: string) => {
    const value = inputs[key] as unknown;
    if (!known(value) || (Array.isArray(value) && value.every((item) => typeof item === "string")))
      return known(value);
    fail(key, `${key} must be ${what}, e.g. ${example}, got ${JSON.stringify(value)}`);
    return false;
  };
  if (shapeOk("regions", "a list of region names", '["us-west-1"]')) {
    const regions = inputs.regions as string[];
    if (regions.length === 0)
      fail("regions", 'regions is empty; list at least one region to launch in, e.g. ["us-west-1"]');
    for (const region of regions) {
      if (!(PUBLIC_REGION_CODES as readonly string[]).includes(region)) {
        fail(
          "regions",
          `region "${region}" is not a Lambda region; allowed: ${PUBLIC_REGION_CODES.join(", ")}`,
        );
      }
    }
  }
  if (shapeOk("sshKeyNames", "a list with one SSH key name", '["ops"]')) {
    const keys = inputs.sshKeyNames as string[];
    if (keys.length !== 1) {
      fail(
        "sshKeyNames",
        `sshKeyNames has ${keys.length} keys (${keys.join(", ") || "none"}); Lambda takes exactly one SSH key per instance: keep one and add the others to ~/.ssh/authorized_keys through userData`,
      );
    }
  }
  shapeOk("fileSystemNames", "a list of filesystem names", '["models"]');
  const isMap = (value: unknown) => value !== null && typeof value === "object" && !Array.isArray(value);
  if (known(inputs.tags) && !isMap(inputs.tags)) {
    fail(
      "tags",
      `tags must be a map of tag key to string value, e.g. {"team": "ml"}, got ${JSON.stringify(inputs.tags)}`,
    );
  }
  if (
    known(inputs.hostname) &&
    (typeof inputs.hostname !== "string" || !HOSTNAME_PATTERN.test(inputs.hostname))
  ) {
    fail(
      "hostname",
      `hostname "${inputs.hostname}" must match ${HOSTNAME_PATTERN.source} (lowercase letters, digits and hyphens, at most 63, not starting with a hyphen)`,
    );
  }
  if (known(inputs.tags) && isMap(inputs.tags)) {
    for (const [key, value] of Object.entries(inputs.tags as Record<string, string>)) {
      if (!TAG_KEY_PATTERN.test(key) || key.length > 55) {
        fail(
          "tags",
          `tag key "${key}" must match ${TAG_KEY_PATTERN.source} and be at most 55 characters (start with a lowercase letter; lowercase letters, digits, "-" and ":")`,
        );
      }
      if (typeof value !== "string" || value.length > 128)
        fail("tags", `tag "${key}" has a value longer than 128 characters`);
      if (key === EXPIRES_AT_TAG)
        fail(
          "tags",
          `tag "${EXPIRES_AT_TAG}" is stamped by the provider from ttlHours at launch; remove it from tags and set ttlHours instead`,
        );
    }
  }
  if (known(inputs.ttlHours) && inputs.ttlHours !== undefined) {
    const ttl = inputs.ttlHours as unknown;
    if (typeof ttl !== "number" || !Number.isFinite(ttl) || ttl < 0)
      fail(
        "ttlHours",
        `ttlHours must be a number of hours, 0 or more (0 = no expiry), got ${JSON.stringify(ttl)}`,
      );
    else if (ttl > MAX_TTL_HOURS)
      fail("ttlHours", `ttlHours must be at most ${MAX_TTL_HOURS} hours (31 days), got ${ttl}`);
  }
  if (
    known(inputs.imageFamily) &&
    known(inputs.imageId) &&
    inputs.imageFamily !== undefined &&
    inputs.imageId !== undefined
  ) {
    fail("imageId", "set imageId or imageFamily, not both");
  }
  if (known(inputs.userData) && typeof inputs.userData !== "string") {
    fail("userData", `userData must be cloud-init text, got ${typeof inputs.userData}`);
  } else if (known(inputs.userData) && Buffer.byteLength(inputs.userData as string) > 1024 * 1024) {
    fail("userData", "userData is larger than Lambda's 1 MB limit for cloud-init user data");
  }
  for (const key of ["bootTimeoutMinutes", "pollIntervalSeconds"] as const) {
    const value = inputs[key];
    if (known(value) && (typeof value !== "number" || !(value > 0)))
      fail(key, `${key} must be a number greater than 0, got ${JSON.stringify(value)}`);
  }
  return failures;
}
