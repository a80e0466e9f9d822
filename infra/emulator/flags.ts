/**
 * The emulator's command line (`npm run emulator -- --port 8787 [flags]`): each flag, what it sets,
 * and the parser, built on Node's `util.parseArgs`. Flags apply in the order given, so
 * `--fast --boot-delay-ms 3000` keeps the 3 s boots.
 */
import { parseArgs } from "util";
import { DEFAULT_EMULATOR_API_KEY, EmulatorOptions, defaultEmulatorOptions } from "./options";

export interface EmulatorFlag {
  /** The option the flag sets (`--fast` sets several). */
  readonly option: keyof EmulatorOptions;
  /** One line for `--help`. */
  readonly help: string;
  /** False for a switch (`--quiet`, `--fast`). @default true */
  readonly takesValue?: boolean;
}

/** Flags and what they set; the README's emulator table is this list. */
export const EMULATOR_FLAGS: Record<string, EmulatorFlag> = {
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
  "--quiet": { option: "quiet", help: "no request log", takesValue: false },
  "--fast": {
    option: "bootDelayMs",
    help: "shorthand: no rate limits, 200 ms boots, 100 ms terminations",
    takesValue: false,
  },
};

/** One line per flag, what `npm run emulator -- --help` prints. */
export function emulatorHelp(): string {
  return Object.entries(EMULATOR_FLAGS)
    .map(([flag, spec]) => `  ${flag.padEnd(28)} ${spec.help}`)
    .join("\n");
}

/**
 * The command line's meaning: `{ help: true }` when `--help` is anywhere in it (nothing else is
 * checked then), else the options. Throws like parseEmulatorArgs.
 */
export function parseEmulatorCommandLine(
  argv: string[],
): { readonly help: true } | { readonly help: false; readonly options: EmulatorOptions } {
  if (argvTokens(argv).some((token) => token.kind === "option" && token.rawName === "--help"))
    return { help: true };
  return { help: false, options: parseEmulatorArgs(argv) };
}

/**
 * Parses argv (`--flag value` or `--flag=value`) into options over defaultEmulatorOptions(). Throws
 * an Error naming the flag, the bad value and what is allowed: `Unknown emulator flag --x. Allowed:
 * --port, ...`, `Emulator flag --port needs a value (...)`, `--boot-outcome dead: allowed values
 * are active, unhealthy`, ...
 */
export function parseEmulatorArgs(argv: string[]): EmulatorOptions {
  const options = defaultEmulatorOptions();
  for (const token of argvTokens(argv)) {
    // A stray value or `--` is named as the flag it would have been.
    const flag = token.kind === "option" ? token.rawName : token.kind === "positional" ? token.value : "--";
    const spec = token.kind === "option" ? EMULATOR_FLAGS[flag] : undefined;
    if (spec === undefined || token.kind !== "option") {
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
    if (token.value === undefined) throw new Error(`Emulator flag ${flag} needs a value (${spec.help})`);
    applyFlag(options, flag, spec.option, token.value);
  }
  return options;
}

/**
 * argv as util.parseArgs tokens, in order. Not strict: unknown flags and stray values come back as
 * tokens, so the errors above can name them and list what is allowed; a value may start with `-`.
 */
function argvTokens(argv: string[]) {
  const config = Object.fromEntries(
    Object.entries(EMULATOR_FLAGS).map(([flag, spec]) => [
      flag.slice(2),
      { type: spec.takesValue === false ? ("boolean" as const) : ("string" as const) },
    ]),
  );
  return parseArgs({ args: argv, options: config, strict: false, allowPositionals: true, tokens: true })
    .tokens;
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
