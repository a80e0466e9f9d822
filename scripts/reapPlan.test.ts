/** Pure tier: what the reaper selects (only one stack's expired, live instances), its arguments and its output. */
import type { Instance } from "../infra/lambda/schemas";
import {
  describeClock,
  formatReapTable,
  parseReapArgs,
  REAP_GRACE_MS,
  reapExitCode,
  ReapOutcome,
  reapProblems,
  reapSummary,
  ReapUsageError,
  REAP_USAGE,
  selectExpired,
  splitUnreadable,
  stackTagFor,
  unreadableProblems,
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

test("the table: an unnamed instance's cell stays empty, hourly prices align right, no trailing spaces", () => {
  const row = { type: "gpu_8x_h100_sxm5", region: "us-east-1", status: "active" };
  const selection = {
    expired: [
      { ...row, id: "k-unnamed", name: "", expiresAt: "2026-11-30T00:00:00.000Z", hourlyUsd: 23.92 },
      { ...row, id: "l", name: "n", expiresAt: "2026-12-01T00:00:00.000Z", hourlyUsd: 1.29 },
    ],
    kept: { notYetExpired: 0, noExpiry: 0, unreadableExpiry: 0 },
  };
  expect(formatReapTable(selection)).toBe(
    [
      "id         name  type              region     expired at                hourly",
      "---------  ----  ----------------  ---------  ------------------------  ------",
      "k-unnamed        gpu_8x_h100_sxm5  us-east-1  2026-11-30T00:00:00.000Z  $23.92",
      "l          n     gpu_8x_h100_sxm5  us-east-1  2026-12-01T00:00:00.000Z   $1.29",
    ].join("\n"),
  );
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
  const args = parseReapArgs(["--stack", "staging"], "orchestra");
  const clock = { at: NOW, source: "lambda" } as const;
  expect(reapSummary(args, clock, selection, [])).toBe(
    "3 expired instance(s) of orchestra/staging at 2026-12-01T12:00:00.000Z by Lambda's clock, 5 min grace, $3.87/h. Dry run: nothing terminated; run again with --yes to terminate them (kept: 1 not yet expired, 1 without an expiry, 1 with an unreadable expiry).",
  );
  const outcomes: ReapOutcome[] = [
    { id: "j-booting", name: "node-j-booting", outcome: "terminated" },
    { id: "a-expired", name: "node-a-expired", outcome: "gone" },
    { id: "b-exactly-now", name: "node-b-exactly-now", outcome: "failed", reason: "HTTP 500" },
  ];
  expect(reapSummary({ ...args, yes: true }, { at: NOW, source: "--now" }, selection, outcomes)).toBe(
    "3 expired instance(s) of orchestra/staging at 2026-12-01T12:00:00.000Z (--now), $3.87/h: 1 terminated, 1 already gone, 1 failed (kept: 1 not yet expired, 1 without an expiry, 1 with an unreadable expiry).",
  );
  expect(reapSummary(args, clock, selectExpired([], STACK, NOW), [])).toBe(
    "No expired instances of orchestra/staging at 2026-12-01T12:00:00.000Z by Lambda's clock, 5 min grace (kept: 0 not yet expired, 0 without an expiry, 0 with an unreadable expiry).",
  );
});

describe("one clock and a grace margin", () => {
  test("with the grace, an instance is expired only once its expiry plus 5 minutes has passed", () => {
    expect(REAP_GRACE_MS).toBe(300_000);
    const fleet = [
      instance("a-expired-6-min-ago", tagged("2026-12-01T11:54:00.000Z")),
      instance("b-expired-5-min-ago", tagged("2026-12-01T11:55:00.000Z")),
      instance("c-expired-4-min-59-ago", tagged("2026-12-01T11:55:00.001Z")),
      instance("d-expired-now", tagged("2026-12-01T12:00:00.000Z")),
    ];
    const selection = selectExpired(fleet, STACK, NOW, REAP_GRACE_MS);
    expect(selection.expired.map((row) => row.id)).toEqual(["a-expired-6-min-ago", "b-expired-5-min-ago"]);
    expect(selection.kept).toEqual({ notYetExpired: 2, noExpiry: 0, unreadableExpiry: 0 });
  });

  test("the clock is named wherever a time is printed", () => {
    expect(describeClock({ at: NOW, source: "lambda" })).toBe(
      "2026-12-01T12:00:00.000Z by Lambda's clock, 5 min grace",
    );
    expect(describeClock({ at: NOW, source: "--now" })).toBe("2026-12-01T12:00:00.000Z (--now)");
  });
});

describe("per-instance outcomes", () => {
  const terminated: ReapOutcome = { id: "i-1", name: "staging-app", outcome: "terminated" };
  const gone: ReapOutcome = { id: "i-2", name: "staging-gpu-a", outcome: "gone" };
  const failed: ReapOutcome = {
    id: "i-3",
    name: "staging-data",
    outcome: "failed",
    reason: "not confirmed terminated within 10 min (last status terminating)",
  };

  test("exit 0 when all were terminated, 3 when some had vanished, 1 when any failed", () => {
    expect(reapExitCode([])).toBe(0);
    expect(reapExitCode([terminated])).toBe(0);
    expect(reapExitCode([terminated, gone])).toBe(3);
    expect(reapExitCode([gone, failed, terminated])).toBe(1);
  });

  test("every instance not terminated is named with what happened and what to do", () => {
    expect(reapProblems([terminated])).toEqual([]);
    expect(reapProblems([terminated, gone, failed])).toEqual([
      "Not terminated by this run (2):",
      "  i-2 (staging-gpu-a): already gone: Lambda answered 404 when it was to be terminated, so it no longer bills; something else terminated it after the listing (another reaper, a destroy, the console)",
      "  i-3 (staging-data): NOT terminated: not confirmed terminated within 10 min (last status terminating); it may still bill: check it with `npm run lambda -- instances` and run the reaper again",
    ]);
  });
});

describe("expiry tags: only the form the provider stamps", () => {
  // expiryFor stamps Date#toISOString: YYYY-MM-DDTHH:MM:SS.sssZ. Anything else is never reaped, only counted.
  test.each([
    "0",
    "1",
    "x 1",
    "12/31",
    "Dec 1",
    "2026",
    "1 1",
    "2026-12-01T09:00:00",
    "2026-12-01T09:00:00Z",
    "2026-12-01T09:00:00.000+00:00",
    " 2026-12-01T09:00:00.000Z",
    "2026-02-30T09:00:00.000Z",
    "2026-12-01t09:00:00.000z",
  ])("%j is an unreadable expiry: not selected, counted", (expiresAt) => {
    expect(selectExpired([instance("x", tagged(expiresAt))], STACK, NOW)).toEqual({
      expired: [],
      kept: { notYetExpired: 0, noExpiry: 0, unreadableExpiry: 1 },
    });
  });

  test("the stamped form is read in UTC whatever this machine's zone", () => {
    const zone = process.env.TZ;
    try {
      process.env.TZ = "America/Los_Angeles";
      const stamped = "2026-12-01T11:59:59.999Z";
      expect(
        selectExpired([instance("x", tagged(stamped))], STACK, NOW).expired.map((row) => row.id),
      ).toEqual(["x"]);
    } finally {
      if (zone === undefined) delete process.env.TZ;
      else process.env.TZ = zone;
    }
  });
});

describe("instances the listing could not parse", () => {
  const stackTags = [{ key: "orchestra-stack", value: STACK }];
  const UNREADABLE = [
    { id: "u1", name: "mine", status: "migrating", tags: stackTags, problem: "status: bad" },
    { id: "u2", status: "active", tags: stackTags, problem: "region: missing" },
    { id: "u3", status: "terminated", tags: stackTags, problem: "region: missing" },
    {
      id: "u4",
      status: "active",
      tags: [{ key: "orchestra-stack", value: "orchestra/integration" }],
      problem: "x",
    },
    { id: "u5", problem: "tags: not a list" },
  ];

  test("the stack's (by their raw tags), unless terminated, are named and exit 1; the others only counted", () => {
    const split = splitUnreadable(UNREADABLE, STACK);
    expect(split).toEqual({ ofStack: [UNREADABLE[0], UNREADABLE[1]], elsewhere: 2 });
    expect(unreadableProblems(split, STACK)).toEqual([
      "Not judged by this run: 2 instance(s) of orchestra/staging could not be read (they may still bill; never terminated unread):",
      "  u1 (mine), status migrating: status: bad",
      "  u2 (), status active: region: missing",
      "  inspect them with `npm run lambda -- instances`; terminate one that should go with `npm run lambda -- terminate <id>`",
      "note: 2 unreadable instance(s) of other stacks or without a readable orchestra-stack tag were left alone.",
    ]);
    expect(reapExitCode([], split.ofStack.length)).toBe(1);
    expect(reapExitCode([{ id: "a", name: "n", outcome: "gone" }], 1)).toBe(1);
    expect(unreadableProblems(splitUnreadable(UNREADABLE.slice(2), STACK), STACK)).toEqual([
      "note: 2 unreadable instance(s) of other stacks or without a readable orchestra-stack tag were left alone.",
    ]);
    expect(unreadableProblems(splitUnreadable([], STACK), STACK)).toEqual([]);
  });
});

describe("arguments", () => {
  test("defaults: dry run, Lambda's clock (no --now), table; a bare stack name gets the project prefix; --flag=value; a repeated --yes is --yes", () => {
    expect(parseReapArgs(["--stack", "staging"], "orchestra")).toEqual({
      stackTag: "orchestra/staging",
      yes: false,
      json: false,
    });
    expect(
      parseReapArgs(
        ["--yes", "--json", "--now", "2027-01-01T00:00:00Z", "--stack", "acme/integration"],
        "orchestra",
      ),
    ).toEqual({ stackTag: "acme/integration", yes: true, now: new Date("2027-01-01T00:00:00Z"), json: true });
    expect(
      parseReapArgs(["--stack=staging", "--now=2027-01-01T00:00:00Z", "--yes", "--yes"], "orchestra"),
    ).toEqual({
      stackTag: "orchestra/staging",
      yes: true,
      now: new Date("2027-01-01T00:00:00Z"),
      json: false,
    });
    expect(stackTagFor("staging", "orchestra")).toBe("orchestra/staging");
  });

  test.each([
    ["2026-12-01T09:00Z", "2026-12-01T09:00:00.000Z"],
    ["2026-12-01T09:00:00Z", "2026-12-01T09:00:00.000Z"],
    ["2026-12-01T09:00:00.5Z", "2026-12-01T09:00:00.500Z"],
    ["2028-02-29T23:59:59.999Z", "2028-02-29T23:59:59.999Z"],
  ])("--now %s is read in UTC as %s, whatever this machine's zone", (value, iso) => {
    const zone = process.env.TZ;
    try {
      for (const tz of ["UTC", "America/Los_Angeles", "Asia/Kolkata"]) {
        process.env.TZ = tz;
        expect(parseReapArgs(["--stack", "staging", "--now", value], "orchestra").now?.toISOString()).toBe(
          iso,
        );
      }
    } finally {
      if (zone === undefined) delete process.env.TZ;
      else process.env.TZ = zone;
    }
  });

  test.each([
    [[], "--stack is required: the reaper only ever touches one stack's instances"],
    [["--stack"], "--stack needs a value"],
    [["--stack", "--yes"], "--stack needs a value"],
    [
      ["--stack", "staging", "--now", "soon"],
      '--now "soon" is not allowed: write a UTC time in ISO 8601 ending in Z (YYYY-MM-DDTHH:MM[:SS[.sss]]Z), e.g. --now 2026-12-01T09:00:00Z',
    ],
    [
      ["--stack", "staging", "--now", "2026-12-01T09:00"],
      '--now "2026-12-01T09:00" is not allowed: write a UTC time in ISO 8601 ending in Z (YYYY-MM-DDTHH:MM[:SS[.sss]]Z), e.g. --now 2026-12-01T09:00:00Z',
    ],
    [
      ["--stack", "staging", "--now", "2026-12-01T09:00:00"],
      '--now "2026-12-01T09:00:00" is not allowed: write a UTC time in ISO 8601 ending in Z (YYYY-MM-DDTHH:MM[:SS[.sss]]Z), e.g. --now 2026-12-01T09:00:00Z',
    ],
    [
      ["--stack", "staging", "--now", "1"],
      '--now "1" is not allowed: write a UTC time in ISO 8601 ending in Z (YYYY-MM-DDTHH:MM[:SS[.sss]]Z), e.g. --now 2026-12-01T09:00:00Z',
    ],
    [
      ["--stack", "staging", "--now", "2026-12-01"],
      '--now "2026-12-01" is not allowed: write a UTC time in ISO 8601 ending in Z (YYYY-MM-DDTHH:MM[:SS[.sss]]Z), e.g. --now 2026-12-01T09:00:00Z',
    ],
    [
      ["--stack", "staging", "--now", "2026-12-01T09:00:00+02:00"],
      '--now "2026-12-01T09:00:00+02:00" is not allowed: write a UTC time in ISO 8601 ending in Z (YYYY-MM-DDTHH:MM[:SS[.sss]]Z), e.g. --now 2026-12-01T09:00:00Z',
    ],
    [
      ["--stack", "staging", "--now", "2026-02-30T09:00:00Z"],
      '--now "2026-02-30T09:00:00Z" is not allowed: write a UTC time in ISO 8601 ending in Z (YYYY-MM-DDTHH:MM[:SS[.sss]]Z), e.g. --now 2026-12-01T09:00:00Z',
    ],
    [
      ["--stack", "staging", "--now", "2026-12-01T24:00:00Z"],
      '--now "2026-12-01T24:00:00Z" is not allowed: write a UTC time in ISO 8601 ending in Z (YYYY-MM-DDTHH:MM[:SS[.sss]]Z), e.g. --now 2026-12-01T09:00:00Z',
    ],
    [
      ["--stack", " "],
      '--stack " " is not allowed: write a stack name or <project>/<stack>, each of letters, digits, "-", "_" and ".", e.g. --stack staging or --stack orchestra/staging',
    ],
    [
      ["--stack", ""],
      '--stack "" is not allowed: write a stack name or <project>/<stack>, each of letters, digits, "-", "_" and ".", e.g. --stack staging or --stack orchestra/staging',
    ],
    [
      ["--stack", "staging prod"],
      '--stack "staging prod" is not allowed: write a stack name or <project>/<stack>, each of letters, digits, "-", "_" and ".", e.g. --stack staging or --stack orchestra/staging',
    ],
    [
      ["--stack", "acme/x/y"],
      '--stack "acme/x/y" is not allowed: write a stack name or <project>/<stack>, each of letters, digits, "-", "_" and ".", e.g. --stack staging or --stack orchestra/staging',
    ],
    [
      ["--stack", "/staging"],
      '--stack "/staging" is not allowed: write a stack name or <project>/<stack>, each of letters, digits, "-", "_" and ".", e.g. --stack staging or --stack orchestra/staging',
    ],
    [
      ["--stack", "staging", "--stack", "integration"],
      '--stack is given twice ("staging", then "integration"): the reaper judges one stack at one time per run; give it once, e.g. --stack staging',
    ],
    [
      ["--stack", "staging", "--now", "2026-12-01T09:00:00Z", "--now", "2026-12-02T09:00:00Z"],
      '--now is given twice ("2026-12-01T09:00:00Z", then "2026-12-02T09:00:00Z"): the reaper judges one stack at one time per run; give it once, e.g. --now 2026-12-01T09:00:00Z',
    ],
    [["--stack", "staging", "--all"], 'unknown argument "--all": allowed are --stack, --now, --yes, --json'],
    [["staging"], 'unknown argument "staging": allowed are --stack, --now, --yes, --json'],
    [["--stack", "staging", "-y"], 'unknown argument "-y": allowed are --stack, --now, --yes, --json'],
    [
      ["--stack", "staging", "--", "--yes"],
      'unknown argument "--": allowed are --stack, --now, --yes, --json',
    ],
    [["--stack", "staging", "--yes=no"], "--yes takes no value"],
    [["--stack", "--now", "2026-12-01T09:00:00Z"], "--stack needs a value"],
    [["--stack", "staging", "--now"], "--now needs a value"],
    [
      ["--stack="],
      '--stack "" is not allowed: write a stack name or <project>/<stack>, each of letters, digits, "-", "_" and ".", e.g. --stack staging or --stack orchestra/staging',
    ],
    [
      ["--stack=staging", "--stack", "integration"],
      '--stack is given twice ("staging", then "integration"): the reaper judges one stack at one time per run; give it once, e.g. --stack staging',
    ],
  ])("%j is refused with the usage", (argv, problem) => {
    expect(() => parseReapArgs(argv, "orchestra")).toThrow(new ReapUsageError(problem));
    expect(() => parseReapArgs(argv, "orchestra")).toThrow(`${problem}\n${REAP_USAGE}`);
  });
});
