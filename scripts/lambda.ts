/**
 * `npm run lambda -- <command> [arguments] [--json]`: what a Lambda account holds, through the
 * project's client, against LAMBDA_API_URL (the emulator or the real API) with LAMBDA_API_KEY.
 *
 *   types | instances | ssh-keys | filesystems | firewall-rulesets   the account's objects
 *   firewall-rules <ruleset id|global>          one ruleset's rules (`global`: the account's global ruleset)
 *   audit-events [--resource-type T] [--start TIME] [--end TIME]    who changed what, oldest first
 *   terminate <id>...                           terminates instances (the removal a failed `create`
 *                                               names when it could not terminate what it launched)
 *
 * `--json` prints Lambda's answer instead of a table. Exit codes: 0 done, 1 the API call failed,
 * 2 bad arguments.
 */
import { parseArgs } from "util";
import { LambdaClient } from "../infra/lambda/client";
import type { FirewallRule } from "../infra/lambda/schemas";

type Row = Record<string, string | number>;
type Values = Readonly<Record<string, string | undefined>>;

interface Command {
  /** Positional arguments as usage shows them (`<instance id>...`). @default none */
  readonly args?: string;
  /** How many positional arguments: exactly one, or one or more. @default none */
  readonly arity?: "one" | "some";
  /** Flags with a value this command takes, besides `--json` (which every command takes). */
  readonly flags?: readonly string[];
  run(client: LambdaClient, positionals: string[], values: Values): Promise<{ rows: Row[]; raw: unknown }>;
}

/** Bad arguments: printed with nothing else, exit code 2. */
export class LambdaUsageError extends Error {}

const usd = (cents: number) => (cents / 100).toFixed(2);

const COMMANDS: Record<string, Command> = {
  types: {
    run: async (client) => {
      const types = await client.listInstanceTypes();
      const rows = Object.values(types)
        .sort((a, b) => a.instance_type.price_cents_per_hour - b.instance_type.price_cents_per_hour)
        .map(({ instance_type: type, regions_with_capacity_available: regions }) => ({
          type: type.name,
          gpus: type.specs.gpus,
          usdPerHour: usd(type.price_cents_per_hour),
          regionsWithCapacity: regions.map((region) => region.name).join(",") || "(none)",
        }));
      return { rows, raw: types };
    },
  },
  instances: {
    run: async (client) => {
      const { instances, unreadable } = await client.listInstancesChecked();
      for (const odd of unreadable)
        console.error(`instance ${odd.id ?? "(no id)"} ${odd.name ?? ""} could not be read: ${odd.problem}`);
      const rows = instances.map((instance) => ({
        id: instance.id,
        name: instance.name ?? "",
        status: instance.status,
        type: instance.instance_type.name,
        region: instance.region.name,
        ip: instance.ip ?? "",
        usdPerHour: usd(instance.instance_type.price_cents_per_hour),
      }));
      return { rows, raw: instances };
    },
  },
  terminate: {
    args: "<instance id>...",
    arity: "some",
    run: async (client, ids) => {
      const terminated = await client.terminateInstances(ids);
      const rows = terminated.map((instance) => ({
        id: instance.id,
        name: instance.name ?? "",
        status: instance.status,
      }));
      return { rows, raw: terminated };
    },
  },
  "ssh-keys": {
    run: async (client) => {
      const keys = await client.listSshKeys();
      const rows = keys.map((key) => ({
        id: key.id,
        name: key.name,
        publicKey: `${key.public_key.slice(0, 40)}...`,
      }));
      return { rows, raw: keys };
    },
  },
  filesystems: {
    run: async (client) => {
      const filesystems = await client.listFilesystems();
      const rows = filesystems.map((fs) => ({
        id: fs.id,
        name: fs.name,
        region: fs.region.name,
        inUse: String(fs.is_in_use),
        bytesUsed: fs.bytes_used ?? 0,
      }));
      return { rows, raw: filesystems };
    },
  },
  "firewall-rulesets": {
    run: async (client) => {
      const rulesets = await client.listFirewallRulesets();
      const rows = rulesets.map((ruleset) => ({
        id: ruleset.id,
        name: ruleset.name,
        region: ruleset.region.name,
        rules: ruleset.rules.length,
        instances: ruleset.instance_ids.length,
      }));
      return { rows, raw: rulesets };
    },
  },
  "firewall-rules": {
    args: "<ruleset id|global>",
    arity: "one",
    run: async (client, [id]) => {
      // Lambda addresses the account's global ruleset as the ruleset `global`; so does this command.
      const ruleset =
        id === "global" ? await client.getGlobalFirewallRuleset() : await client.getFirewallRuleset(id);
      return { rows: ruleset.rules.map(ruleRow), raw: ruleset };
    },
  },
  "audit-events": {
    flags: ["resource-type", "start", "end"],
    run: async (client, _none, values) => {
      const events = await client.listAuditEvents({
        resourceType: values["resource-type"],
        start: values.start,
        end: values.end,
      });
      const rows = events.map((event) => ({
        time: event.event_time,
        action: event.action,
        resources: event.resource_lrns.join(","),
      }));
      return { rows, raw: events };
    },
  },
};

/** One firewall rule as a table row; `ports` is `-` where the rule has none (icmp). */
function ruleRow(rule: FirewallRule): Row {
  const range = rule.port_range;
  const ports =
    range === undefined ? "-" : range[0] === range[1] ? String(range[0]) : `${range[0]}-${range[1]}`;
  return { protocol: rule.protocol, ports, source: rule.source_network, description: rule.description };
}

/** Rows as an aligned text table with a header and a rule under it; `(none)` for no rows. */
export function formatTable(rows: Row[]): string {
  if (rows.length === 0) return "(none)";
  const columns = Object.keys(rows[0]);
  const widths = columns.map((column) =>
    Math.max(column.length, ...rows.map((row) => String(row[column]).length)),
  );
  const line = (cells: string[]) =>
    cells
      .map((cell, index) => cell.padEnd(widths[index]))
      .join("  ")
      .trimEnd();
  return [
    line(columns),
    line(widths.map((width) => "-".repeat(width))),
    ...rows.map((row) => line(columns.map((column) => String(row[column])))),
  ].join("\n");
}

const USAGE = `usage: npm run lambda -- <${Object.keys(COMMANDS).join("|")}> [ids] [--json]`;

function commandUsage(name: string, command: Command): string {
  const flags = (command.flags ?? []).map((flag) => ` [--${flag} VALUE]`).join("");
  return `usage: npm run lambda -- ${name}${command.args === undefined ? "" : ` ${command.args}`}${flags}`;
}

interface Invocation {
  readonly name: string;
  readonly command: Command;
  readonly positionals: string[];
  readonly values: Values;
  readonly json: boolean;
}

/**
 * Reads argv (after `npm run lambda --`) with util.parseArgs: the command is the first argument
 * that is not a flag. Throws LambdaUsageError naming the bad command, flag or argument count and
 * what is allowed.
 */
export function parseLambdaArgs(argv: string[]): Invocation {
  const valueFlags = [...new Set(Object.values(COMMANDS).flatMap((command) => command.flags ?? []))];
  const { tokens } = parseArgs({
    args: argv,
    options: {
      json: { type: "boolean" },
      ...Object.fromEntries(valueFlags.map((flag) => [flag, { type: "string" as const }])),
    },
    // Not strict: unknown flags come back as tokens, so the error can say what this command allows.
    strict: false,
    allowPositionals: true,
    tokens: true,
  });
  const [name, ...positionals] = tokens.flatMap((token) =>
    token.kind === "positional" ? [token.value] : [],
  );
  const command = COMMANDS[name ?? ""];
  if (command === undefined) throw new LambdaUsageError(USAGE);
  const allowed = ["json", ...(command.flags ?? [])];
  const values: Record<string, string | undefined> = {};
  let json = false;
  for (const token of tokens) {
    if (token.kind !== "option") continue;
    if (!allowed.includes(token.name)) {
      throw new LambdaUsageError(
        `${name} does not take ${token.rawName}; allowed: ${allowed.map((flag) => `--${flag}`).join(", ")}`,
      );
    }
    if (token.name === "json") {
      if (token.value !== undefined) throw new LambdaUsageError(`--json takes no value (got ${token.value})`);
      json = true;
    } else if (token.value === undefined || token.value === "") {
      throw new LambdaUsageError(`--${token.name} needs a value\n${commandUsage(name, command)}`);
    } else {
      values[token.name] = token.value;
    }
  }
  const arityOk =
    command.arity === "one"
      ? positionals.length === 1
      : command.arity === "some"
        ? positionals.length > 0
        : positionals.length === 0;
  if (!arityOk) throw new LambdaUsageError(commandUsage(name, command));
  return { name, command, positionals, values, json };
}

/** Runs one command line against `client`; resolves to the text to print (a table, or JSON with --json). */
export async function runLambdaCommand(argv: string[], client: LambdaClient): Promise<string> {
  const invocation = parseLambdaArgs(argv);
  const { rows, raw } = await invocation.command.run(client, invocation.positionals, invocation.values);
  return invocation.json ? JSON.stringify(raw, null, 2) : formatTable(rows);
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  // Arguments are checked before a client exists: a usage error needs no API key.
  parseLambdaArgs(argv);
  console.log(await runLambdaCommand(argv, new LambdaClient()));
}

if (require.main === module) {
  main().catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : String(error));
    process.exit(error instanceof LambdaUsageError ? 2 : 1);
  });
}
