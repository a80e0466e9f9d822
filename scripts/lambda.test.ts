/** `npm run lambda`: each command's output against the emulator, and its argument errors. */
import { LambdaClient } from "../infra/lambda/client";
import type { RunningEmulator } from "../infra/emulator/server";
import { TEST_API_KEY, startTestEmulator } from "../infra/testing/emulatorHarness";
import { LambdaUsageError, parseLambdaArgs, runLambdaCommand } from "./lambda";

let emulator: RunningEmulator;
let client: LambdaClient;

beforeAll(async () => {
  emulator = await startTestEmulator();
  client = new LambdaClient();
});
afterAll(() => emulator.close());

const SSH = {
  protocol: "tcp" as const,
  port_range: [22, 22] as [number, number],
  source_network: "198.51.100.0/24",
  description: "ssh",
};
const API = {
  protocol: "tcp" as const,
  port_range: [8000, 8080] as [number, number],
  source_network: "10.0.0.0/8",
  description: "api",
};
const PING = { protocol: "icmp" as const, source_network: "0.0.0.0/0", description: "ping" };

const TIME = "2026-01-01T00:00:00.000Z";

/** The command's output, each ISO 8601 time replaced by TIME (same width: the emulator stamps "now"). */
async function run(...argv: string[]): Promise<string> {
  return (await runLambdaCommand(argv, client)).replace(/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z/g, TIME);
}

test("firewall-rules <id> prints the ruleset's rules; `global` the account's global ruleset", async () => {
  const ruleset = await client.createFirewallRuleset({
    name: "fleet",
    region: "us-west-1",
    rules: [SSH, API, PING],
  });
  expect(await run("firewall-rules", ruleset.id)).toBe(
    [
      "protocol  ports      source           description",
      "--------  ---------  ---------------  -----------",
      "tcp       22         198.51.100.0/24  ssh",
      "tcp       8000-8080  10.0.0.0/8       api",
      "icmp      -          0.0.0.0/0        ping",
    ].join("\n"),
  );
  expect(JSON.parse(await runLambdaCommand(["firewall-rules", ruleset.id, "--json"], client))).toEqual(
    await client.getFirewallRuleset(ruleset.id),
  );

  expect(await run("firewall-rules", "global")).toBe("(none)");
  // The global ruleset is written only by hand (the client has no call for it): as an operator would.
  const patched = await fetch(`${emulator.url}/api/v1/firewall-rulesets/global`, {
    method: "PATCH",
    headers: { authorization: `Bearer ${TEST_API_KEY}`, "content-type": "application/json" },
    body: JSON.stringify({ rules: [{ ...SSH, source_network: "203.0.113.7" }] }),
  });
  expect(patched.status).toBe(200);
  expect(await run("firewall-rules", "global")).toBe(
    [
      "protocol  ports  source          description",
      "--------  -----  --------------  -----------",
      "tcp       22     203.0.113.7/32  ssh",
    ].join("\n"),
  );
  // Two runs of the command and the direct read compared with --json; the global ruleset read twice.
  expect(emulator.stats().byOperation).toMatchObject({ getFirewallRuleset: 3, getGlobalFirewallRuleset: 2 });
});

test("firewall-rules names a ruleset that does not exist as Lambda does", async () => {
  await expect(run("firewall-rules", "missing")).rejects.toThrow(
    "Lambda API getFirewallRuleset failed: global/object-does-not-exist (HTTP 404): Firewall ruleset does not exist or you do not have permission to access it. Check your firewall ruleset ID and try again.",
  );
});

test("audit-events prints every event oldest first, across pages, filtered by type and time", async () => {
  emulator.options.auditPageSize = 2; // three events: two pages
  const before = new Date().toISOString();
  const key = await client.addSshKey("auditor", "ssh-ed25519 AAAAC3Nza auditor");
  const fs = await client.createFilesystem("audited", "us-east-1");
  await client.deleteSshKey(key.id);
  await fetch(`${emulator.url}/_emulator/stats`, { method: "DELETE" });
  const all = await run("audit-events", "--start", before);
  expect(emulator.stats().byOperation).toEqual({ getAuditEvents: 2 });
  expect(all).toBe(
    [
      `time${" ".repeat(22)}action             resources`,
      `${"-".repeat(24)}  -----------------  ${"-".repeat(47)}`,
      `${TIME}  ssh_key.create     lrn:ssh_key:${key.id}`,
      `${TIME}  filesystem.create  lrn:filesystem:${fs.id}`,
      `${TIME}  ssh_key.delete     lrn:ssh_key:${key.id}`,
    ].join("\n"),
  );
  expect(await run("audit-events", "--start", before, "--resource-type=cloud.filesystem")).toBe(
    [
      `time${" ".repeat(22)}action             resources`,
      `${"-".repeat(24)}  -----------------  ${"-".repeat(47)}`,
      `${TIME}  filesystem.create  lrn:filesystem:${fs.id}`,
    ].join("\n"),
  );
  expect(await run("audit-events", "--end", "2000-01-01T00:00:00Z")).toBe("(none)");
  await expect(run("audit-events", "--start", "yesterday")).rejects.toThrow(
    "Lambda API getAuditEvents failed: global/invalid-parameters (HTTP 400): start yesterday is not an ISO 8601 time. Check the request and try again.",
  );
  const raw = JSON.parse(await runLambdaCommand(["audit-events", "--json", "--start", before], client)) as {
    event_time: string;
  }[];
  expect(raw.map((event) => Date.parse(event.event_time) >= Date.parse(before))).toEqual([true, true, true]);
});

test("the listings keep their columns", async () => {
  const key = await client.addSshKey("lister", "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOlister0123456789 ops");
  expect(await run("ssh-keys")).toBe(
    [
      `id${" ".repeat(30)}  name    publicKey`,
      `${"-".repeat(32)}  ------  ${"-".repeat(43)}`,
      `${key.id}  lister  ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOli...`,
    ].join("\n"),
  );
  const [fs] = await client.listFilesystems(); // the audit test's
  expect(await run("filesystems")).toBe(
    [
      `id${" ".repeat(30)}  name     region     inUse  bytesUsed`,
      `${"-".repeat(32)}  -------  ---------  -----  ---------`,
      `${fs.id}  audited  us-east-1  false  0`,
    ].join("\n"),
  );
});

const USAGE =
  "usage: npm run lambda -- <types|instances|terminate|ssh-keys|filesystems|firewall-rulesets|firewall-rules|audit-events> [ids] [--json]";

test.each([
  [[], USAGE],
  [["--json"], USAGE],
  [["volumes"], USAGE],
  [["instances", "--all"], "instances does not take --all; allowed: --json"],
  [["instances", "-j"], "instances does not take -j; allowed: --json"],
  [["instances", "--start", "x"], "instances does not take --start; allowed: --json"],
  [
    ["audit-events", "--since=1h"],
    "audit-events does not take --since; allowed: --json, --resource-type, --start, --end",
  ],
  [
    ["audit-events", "--start"],
    "--start needs a value\nusage: npm run lambda -- audit-events [--resource-type VALUE] [--start VALUE] [--end VALUE]",
  ],
  [["types", "--json=yes"], "--json takes no value (got yes)"],
  [["terminate"], "usage: npm run lambda -- terminate <instance id>..."],
  [["firewall-rules"], "usage: npm run lambda -- firewall-rules <ruleset id|global>"],
  [["firewall-rules", "a", "b"], "usage: npm run lambda -- firewall-rules <ruleset id|global>"],
  [["instances", "extra"], "usage: npm run lambda -- instances"],
])("%j is refused, naming what is wrong and what is allowed", (argv, message) => {
  expect(() => parseLambdaArgs(argv)).toThrow(new LambdaUsageError(message));
  expect(() => parseLambdaArgs(argv)).toThrow(LambdaUsageError);
});

test("flags may come before the command and after its arguments", () => {
  expect(parseLambdaArgs(["--json", "terminate", "a", "b"])).toMatchObject({
    name: "terminate",
    positionals: ["a", "b"],
    json: true,
  });
  expect(
    parseLambdaArgs(["audit-events", "--end=2026-01-01T00:00:00Z", "--resource-type", "cloud.instance"])
      .values,
  ).toEqual({
    end: "2026-01-01T00:00:00Z",
    "resource-type": "cloud.instance",
  });
});
