/**
 * Emulator options and their command-line flags. Defaults are faithful to Lambda (rate limits on,
 * boots take a minute); flags make it fast for tests and inject faults.
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

/** Flags and what they set; the README's emulator table is this list. */
export const EMULATOR_FLAGS: Record<string, { option: keyof EmulatorOptions; help: string }> = {
  "--port": { option: "port", help: "TCP port on 127.0.0.1 (0 picks a free one)" },
  "--api-key": { option: "apiKey", help: `the only API key accepted (default ${DEFAULT_EMULATOR_API_KEY})` },
  "--request-interval-ms": {
    option: "requestIntervalMs",
    help: "min gap between accepted requests; 0 disables (default 1000)",
  },
  "--launch-interval-ms": {
    option: "launchIntervalMs",
    help: "min gap between accepted launches; 0 disables (default 12000)",
  },
  "--retry-after-seconds": {
    option: "retryAfterSeconds",
    help: "send Retry-After with 429s (default: none, as Lambda)",
  },
  "--boot-delay-ms": { option: "bootDelayMs", help: "booting -> active delay (default 60000)" },
  "--terminate-delay-ms": {
    option: "terminateDelayMs",
    help: "terminating -> terminated delay (default 5000)",
  },
  "--terminated-retention-ms": {
    option: "terminatedRetentionMs",
    help: "how long terminated instances stay listed (default 60000)",
  },
  "--boot-outcome": { option: "bootOutcome", help: "active | unhealthy: what a booted instance becomes" },
  "--default-capacity": {
    option: "defaultCapacity",
    help: "units of each type per stocked region (default 16)",
  },
  "--stocked-regions": { option: "stockedRegions", help: "comma-separated regions that hold stock" },
  "--capacity": { option: "capacity", help: "TYPE@REGION=N, repeatable: capacity override" },
  "--instance-quota": { option: "instanceQuota", help: "instances the account may hold (default 100)" },
  "--ip-mode": {
    option: "ipMode",
    help: "documentation (203.0.113.x) | loopback (127.0.0.1, this machine's sandbox sshd)",
  },
  "--audit-page-size": { option: "auditPageSize", help: "audit events per page (default 25)" },
  "--fail-5xx": { option: "fail5xx", help: "the next N requests answer HTTP 500" },
  "--fail-provider": {
    option: "failProvider",
    help: "the next N requests answer 503 provider/internal-unavailable",
  },
  "--fail-429": { option: "fail429", help: "the next N requests answer 429" },
  "--fail-launch-5xx": {
    option: "failLaunch5xx",
    help: "the next N launches answer HTTP 500 (nothing launched)",
  },
  "--fail-launch-provider": {
    option: "failLaunchProvider",
    help: "the next N launches answer 503 provider/* (nothing launched)",
  },
  "--drop-launch-responses": {
    option: "dropLaunchResponses",
    help: "the next N launches succeed but drop the response",
  },
  "--fail-launch-429": { option: "failLaunch429", help: "the next N launches answer 429 (nothing launched)" },
  "--launch-then-5xx": {
    option: "launchThen5xx",
    help: "the next N launches launch, then answer HTTP 500",
  },
  "--fail-5xx-on": { option: "fail5xxOn", help: "OPERATION=N, repeatable: its next N requests answer 500" },
  "--unparsable-on": {
    option: "unparsableOn",
    help: "OPERATION=N, repeatable: its next N requests are carried out, answered with HTML",
  },
  "--private-ip-delay-ms": {
    option: "privateIpDelayMs",
    help: "active instances report no private_ip for this long (default 0)",
  },
  "--latency-ms": { option: "latencyMs", help: "added latency per response" },
  "--quiet": { option: "quiet", help: "no request log" },
  "--fast": { option: "bootDelayMs", help: "shorthand: no rate limits, 200 ms boots, 100 ms terminations" },
};

/** Parses argv into options; throws with the flag, the bad value and what is allowed. */
export function parseEmulatorArgs(argv: string[]): EmulatorOptions {
  const options = defaultEmulatorOptions();
  for (let i = 0; i < argv.length; i++) {
    const [flag, inlineValue] = argv[i].split(/=(.*)/s, 2);
    const spec = EMULATOR_FLAGS[flag];
    if (spec === undefined) {
      throw new Error(`Unknown emulator flag ${flag}. Allowed: ${Object.keys(EMULATOR_FLAGS).join(", ")}`);
    }
    if (flag === "--quiet") {
      options.quiet = true;
      continue;
    }
    if (flag === "--fast") {
      Object.assign(options, {
        requestIntervalMs: 0,
        launchIntervalMs: 0,
        bootDelayMs: 200,
        terminateDelayMs: 100,
      });
      continue;
    }
    const value = inlineValue ?? argv[++i];
    if (value === undefined) throw new Error(`Emulator flag ${flag} needs a value (${spec.help})`);
    applyFlag(options, flag, spec.option, value);
  }
  return options;
}

function applyFlag(
  options: EmulatorOptions,
  flag: string,
  option: keyof EmulatorOptions,
  value: string,
): void {
  switch (option) {
    case "apiKey":
      options.apiKey = value;
      return;
    case "bootOutcome":
      if (value !== "active" && value !== "unhealthy")
        throw new Error(`${flag} ${value}: allowed values are active, unhealthy`);
      options.bootOutcome = value;
      return;
    case "ipMode":
      if (value !== "loopback" && value !== "documentation") {
        throw new Error(`${flag} ${value}: allowed values are loopback, documentation`);
      }
      options.ipMode = value;
      return;
    case "stockedRegions":
      options.stockedRegions = value
        .split(",")
        .map((region) => region.trim())
        .filter((region) => region !== "");
      return;
    case "capacity": {
      const match = /^([a-z0-9_]+)@([a-z0-9-]+)=(\d+)$/.exec(value);
      if (match === null)
        throw new Error(`${flag} ${value}: expected TYPE@REGION=N, e.g. gpu_1x_a10@us-west-1=0`);
      options.capacity[`${match[1]}@${match[2]}`] = Number(match[3]);
      return;
    }
    case "fail5xxOn":
    case "unparsableOn": {
      const match = /^([A-Za-z]+)=(\d+)$/.exec(value);
      if (match === null) throw new Error(`${flag} ${value}: expected OPERATION=N, e.g. getInstance=3`);
      options[option][match[1]] = Number(match[2]);
      return;
    }
    default: {
      const number = Number(value);
      if (!Number.isInteger(number) || number < 0)
        throw new Error(`${flag} ${value}: expected a whole number >= 0`);
      (options as unknown as Record<string, number>)[option] = number;
    }
  }
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
