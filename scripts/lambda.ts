/**
 * `npm run lambda -- <types|instances|ssh-keys|filesystems|firewall-rulesets> [--json]`: what a
 * Lambda account holds, through the project's client, against LAMBDA_API_URL (the emulator or the
 * real API) with LAMBDA_API_KEY. `npm run lambda -- terminate <id>...` terminates instances (the
 * removal a failed `create` names when it could not terminate what it launched).
 */
import { LambdaClient } from "../infra/lambda/client";

type Row = Record<string, string | number>;

const COMMANDS: Record<
  string,
  (client: LambdaClient, args: string[]) => Promise<{ rows: Row[]; raw: unknown }>
> = {
  types: async (client) => {
    const types = await client.listInstanceTypes();
    const rows = Object.values(types)
      .sort((a, b) => a.instance_type.price_cents_per_hour - b.instance_type.price_cents_per_hour)
      .map(({ instance_type: type, regions_with_capacity_available: regions }) => ({
        type: type.name,
        gpus: type.specs.gpus,
        usdPerHour: (type.price_cents_per_hour / 100).toFixed(2),
        regionsWithCapacity: regions.map((region) => region.name).join(",") || "(none)",
      }));
    return { rows, raw: types };
  },
  instances: async (client) => {
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
      usdPerHour: (instance.instance_type.price_cents_per_hour / 100).toFixed(2),
    }));
    return { rows, raw: instances };
  },
  terminate: async (client, ids) => {
    if (ids.length === 0) throw new Error("usage: npm run lambda -- terminate <instance id>...");
    const terminated = await client.terminateInstances(ids);
    const rows = terminated.map((instance) => ({
      id: instance.id,
      name: instance.name ?? "",
      status: instance.status,
    }));
    return { rows, raw: terminated };
  },
  "ssh-keys": async (client) => {
    const keys = await client.listSshKeys();
    return {
      rows: keys.map((key) => ({
        id: key.id,
        name: key.name,
        publicKey: `${key.public_key.slice(0, 40)}...`,
      })),
      raw: keys,
    };
  },
  filesystems: async (client) => {
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
  "firewall-rulesets": async (client) => {
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
};

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

async function main(): Promise<void> {
  const [command, ...rest] = process.argv.slice(2);
  const flags = rest.filter((arg) => arg.startsWith("--"));
  const run = COMMANDS[command ?? ""];
  if (run === undefined) {
    console.error(`usage: npm run lambda -- <${Object.keys(COMMANDS).join("|")}> [ids] [--json]`);
    process.exit(2);
  }
  const args = rest.filter((arg) => !arg.startsWith("--"));
  const { rows, raw } = await run(new LambdaClient(), args);
  console.log(flags.includes("--json") ? JSON.stringify(raw, null, 2) : formatTable(rows));
}

if (require.main === module) {
  main().catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : String(error));
    process.exit(1);
  });
}
