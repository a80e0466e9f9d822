/** Pure tier: what the reaper selects (only one stack's expired, live instances), its arguments and its output. */
import type { Instance } from "../infra/lambda/schemas";
import {
  formatReapTable,
  parseReapArgs,
  reapSummary,
  ReapUsageError,
  REAP_USAGE,
  selectExpired,
  stackTagFor,
} from "./reapPlan";

const NOW = new Date("2026-12-01T12:00:00.000Z");

function instance(id: string, tags: Record<string, string>, status: Instance["status"] = "active"): Instance {
  return {
    id,
    name: `node-${id}`,
    status,
    ssh_key_names: ["ops"],
    file_system_names: [],
    region: { name: "us-west-1", description: "California, USA" },
    instance_type: {
      name: "gpu_1x_a10",
      description: "1x A10",
      gpu_description: "A10",
      price_cents_per_hour: 129,
      specs: { vcpus: 30, memory_gib: 200, storage_gib: 1400, gpus: 1 },
    },
    tags: Object.entries(tags).map(([key, value]) => ({ key, value })),
  } as unknown as Instance;
}

const STACK = "orchestra/staging";
const tagged = (expiresAt?: string, stack = STACK) => ({
  "orchestra-stack": stack,
  ...(expiresAt !== undefined ? { "orchestra-expires-at": expiresAt } : {}),
});

const FLEET = [
  instance("a-expired", tagged("2026-12-01T11:00:00.000Z")),
  instance("b-exactly-now", tagged("2026-12-01T12:00:00.000Z")),
  instance("c-one-ms-later", tagged("2026-12-01T12:00:00.001Z")),
  instance("d-no-expiry", tagged()),
  instance("e-garbage", tagged("next tuesday")),
  instance("f-other-stack", tagged("2026-11-01T00:00:00.000Z", "orchestra/integration")),
  instance("g-untagged", { "orchestra-expires-at": "2026-11-01T00:00:00.000Z" }),
  instance("h-terminating", tagged("2026-11-01T00:00:00.000Z"), "terminating"),
  instance("i-terminated", tagged("2026-11-01T00:00:00.000Z"), "terminated"),
  instance("j-booting", tagged("2026-11-30T00:00:00.000Z"), "booting"),
];

test("only the stack's live instances at or past their expiry are selected, oldest first", () => {
  const selection = selectExpired(FLEET, STACK, NOW);
  expect(selection.expired.map((row) => row.id)).toEqual(["j-booting", "a-expired", "b-exactly-now"]);
  expect(selection.kept).toEqual({ notYetExpired: 1, noExpiry: 1, unreadableExpiry: 1 });
  expect(selection.expired[1]).toEqual({
    id: "a-expired",
    name: "node-a-expired",
    type: "gpu_1x_a10",
    region: "us-west-1",
    status: "active",
    expiresAt: "2026-12-01T11:00:00.000Z",
    hourlyUsd: 1.29,
  });
});

test("another stack's tag selects only that stack's", () => {
  expect(selectExpired(FLEET, "orchestra/integration", NOW).expired.map((row) => row.id)).toEqual([
    "f-other-stack",
  ]);
  expect(selectExpired(FLEET, "orchestra/production", NOW).expired).toEqual([]);
});

test("the table and the summaries", () => {
  const selection = selectExpired(FLEET, STACK, NOW);
  expect(formatReapTable(selection)).toBe(
    [
      "id             name                type        region     expired at                hourly",
      "-------------  ------------------  ----------  ---------  ------------------------  ------",
      "j-booting      node-j-booting      gpu_1x_a10  us-west-1  2026-11-30T00:00:00.000Z   $1.29",
      "a-expired      node-a-expired      gpu_1x_a10  us-west-1  2026-12-01T11:00:00.000Z   $1.29",
      "b-exactly-now  node-b-exactly-now  gpu_1x_a10  us-west-1  2026-12-01T12:00:00.000Z   $1.29",
    ].join("\n"),
  );
  const args = parseReapArgs(["--stack", "staging"], "orchestra", NOW);
  expect(reapSummary(args, selection, 0)).toBe(
    "3 expired instance(s) of orchestra/staging at 2026-12-01T12:00:00.000Z, $3.87/h. Dry run: nothing terminated; run again with --yes to terminate them (kept: 1 not yet expired, 1 without an expiry, 1 with an unreadable expiry).",
  );
  expect(reapSummary({ ...args, yes: true }, selection, 3)).toBe(
    "3 expired instance(s) of orchestra/staging at 2026-12-01T12:00:00.000Z, $3.87/h: 3 terminated (kept: 1 not yet expired, 1 without an expiry, 1 with an unreadable expiry).",
  );
  expect(reapSummary(args, selectExpired([], STACK, NOW), 0)).toBe(
    "No expired instances of orchestra/staging at 2026-12-01T12:00:00.000Z (kept: 0 not yet expired, 0 without an expiry, 0 with an unreadable expiry).",
  );
});

describe("arguments", () => {
  test("defaults: dry run, now, table; a bare stack name gets the project prefix", () => {
    expect(parseReapArgs(["--stack", "staging"], "orchestra", NOW)).toEqual({
      stackTag: "orchestra/staging",
      yes: false,
      now: NOW,
      json: false,
    });
    expect(
      parseReapArgs(
        ["--yes", "--json", "--now", "2027-01-01T00:00:00Z", "--stack", "acme/integration"],
        "orchestra",
        NOW,
      ),
    ).toEqual({ stackTag: "acme/integration", yes: true, now: new Date("2027-01-01T00:00:00Z"), json: true });
    expect(stackTagFor("staging", "orchestra")).toBe("orchestra/staging");
  });

  test.each([
    [[], "--stack is required: the reaper only ever touches one stack's instances"],
    [["--stack"], "--stack needs a value"],
    [["--stack", "--yes"], "--stack needs a value"],
    [
      ["--stack", "staging", "--now", "soon"],
      '--now "soon" is not a time; write ISO 8601, e.g. 2026-12-01T09:00:00Z',
    ],
    [["--stack", "staging", "--all"], 'unknown argument "--all"'],
  ])("%j is refused with the usage", (argv, problem) => {
    expect(() => parseReapArgs(argv, "orchestra", NOW)).toThrow(new ReapUsageError(problem));
    expect(() => parseReapArgs(argv, "orchestra", NOW)).toThrow(`${problem}\n${REAP_USAGE}`);
  });
});
