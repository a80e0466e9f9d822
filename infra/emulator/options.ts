/**
 * Emulator options. Defaults are faithful to Lambda (rate limits on, boots take a minute); the
 * command-line flags (flags.ts) and the control API make it fast for tests and inject faults.
 */
import { DEFAULT_CAPACITY_PER_TYPE_AND_REGION, DEFAULT_STOCKED_REGIONS } from "./catalog";

export const DEFAULT_EMULATOR_API_KEY = "lambda-emulator-key";

export type BootOutcome = "active" | "unhealthy";

export interface EmulatorOptions {
  port: number;
  apiKey: string;
  /** Minimum gap between two accepted API requests (0 = no limit). Lambda: 1000. */
  requestIntervalMs: number;
  /** Minimum gap between two accepted launches (0 = no limit). Lambda: 12000. */
  launchIntervalMs: number;
  /** Send Retry-After (seconds) with every 429; Lambda does not document one, so off by default. */
  retryAfterSeconds?: number;
  /** Time an instance spends `booting` before it becomes active (or unhealthy). */
  bootDelayMs: number;
  /** Time an instance spends `terminating`. */
  terminateDelayMs: number;
  /** How long a terminated instance stays listed before GET answers 404. */
  terminatedRetentionMs: number;
  bootOutcome: BootOutcome;
  /** Units of each type in each stocked region. */
  defaultCapacity: number;
  stockedRegions: string[];
  /** Per `type@region` overrides of `defaultCapacity`. */
  capacity: Record<string, number>;
  /** Instances the account may hold at once (quota-exceeded beyond). */
  instanceQuota: number;
  /**
   * `loopback`: every instance's public address is 127.0.0.1 (the sandbox sshd, which binds loopback
   * only, answers for all) and its private one on SANDBOX_PRIVATE_NETWORK; `documentation`:
   * 203.0.113.x and 10.19.x.x.
   */
  ipMode: "loopback" | "documentation";
  auditPageSize: number;
  /** Faults: the next N API requests answer 500 / provider error / 429. */
  fail5xx: number;
  failProvider: number;
  fail429: number;
  /** The next N launches answer 500 / 503 provider/internal-unavailable without launching. */
  failLaunch5xx: number;
  failLaunchProvider: number;
  /** The next N launches create the instance but destroy the connection before answering. */
  dropLaunchResponses: number;
  /** The next N launches answer 429 without launching (the launch limit, hit on the launch itself). */
  failLaunch429: number;
  /** The next N launches create the instance (it bills) and then answer HTTP 500 anyway. */
  launchThen5xx: number;
  /** Per operation (e.g. `getInstance`): the next N requests answer HTTP 500 without being carried out. */
  fail5xxOn: Record<string, number>;
  /** Per operation: the next N requests are carried out, then answered 200 with an HTML page, not JSON. */
  unparsableOn: Record<string, number>;
  /** An active instance reports no `private_ip` until this long after it became active (SkyPilot saw it). */
  privateIpDelayMs: number;
  /** Artificial latency added to every response, in ms. */
  latencyMs: number;
  quiet: boolean;
  /**
   * Test controls only (no flag). Lambda's clock, as every response's HTTP `Date` header reports
   * it, runs this many ms ahead of this machine's (negative: behind). Default 0.
   */
  clockSkewMs: number;
  /** Send no `Date` header (a proxy that strips it). Default false: Lambda, like any origin server, sends one. */
  omitDateHeader: boolean;
  /** Instances that vanish (GET and terminate answer 404) right after the next instance listing is answered. */
  vanishAfterListing: string[];
}

export function defaultEmulatorOptions(): EmulatorOptions {
  return {
    port: 8787,
    apiKey: DEFAULT_EMULATOR_API_KEY,
    requestIntervalMs: 1000,
    launchIntervalMs: 12000,
    retryAfterSeconds: undefined,
    bootDelayMs: 60_000,
    terminateDelayMs: 5_000,
    terminatedRetentionMs: 60_000,
    bootOutcome: "active",
    defaultCapacity: DEFAULT_CAPACITY_PER_TYPE_AND_REGION,
    stockedRegions: [...DEFAULT_STOCKED_REGIONS],
    capacity: {},
    instanceQuota: 100,
    ipMode: "documentation",
    auditPageSize: 25,
    fail5xx: 0,
    failProvider: 0,
    fail429: 0,
    failLaunch5xx: 0,
    failLaunchProvider: 0,
    dropLaunchResponses: 0,
    failLaunch429: 0,
    launchThen5xx: 0,
    fail5xxOn: {},
    unparsableOn: {},
    privateIpDelayMs: 0,
    latencyMs: 0,
    quiet: false,
    clockSkewMs: 0,
    omitDateHeader: false,
    vanishAfterListing: [],
  };
}

/**
 * The sandbox's private network, 198.18.0.0/24 (RFC 2544's benchmarking range: never routed, so it
 * cannot shadow a network the machine uses). scripts/sandbox/sshd.sh makes the whole /24 local
 * (`ip route add local 198.18.0.0/24 dev lo`), so a node's containers can bind its private
 * address and reach the other nodes' (127.0.0.x would be each container's own loopback).
 */
export const SANDBOX_PRIVATE_NETWORK = "198.18.0.0/24";
/** Private addresses handed out in loopback mode: this prefix and 1..250. */
export const SANDBOX_PRIVATE_PREFIX = "198.18.0.";
