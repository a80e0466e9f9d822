/** The emulator's command line: values, order, repeatable flags, and each error's exact text. */
import { EMULATOR_FLAGS, emulatorHelp, parseEmulatorArgs, parseEmulatorCommandLine } from "./flags";
import { defaultEmulatorOptions } from "./options";

const ALLOWED = Object.keys(EMULATOR_FLAGS).join(", ");

test("no flags: the faithful defaults", () => {
  expect(parseEmulatorArgs([])).toEqual(defaultEmulatorOptions());
});

test("values as separate arguments or after =, switches, lists, repeatable flags", () => {
  const options = parseEmulatorArgs([
    "--port",
    "0",
    "--api-key=k=1",
    "--ip-mode",
    "loopback",
    "--boot-delay-ms=3000",
    "--quiet",
    "--stocked-regions",
    " us-west-1, us-east-1,",
    "--capacity",
    "gpu_1x_a10@us-west-1=0",
    "--capacity=gpu_8x_h100_sxm5@us-east-1=2",
    "--fail-5xx-on",
    "getInstance=3",
    "--unparsable-on=listInstances=1",
    "--boot-outcome",
    "unhealthy",
    "--retry-after-seconds",
    "2",
  ]);
  expect(options).toEqual({
    ...defaultEmulatorOptions(),
    port: 0,
    apiKey: "k=1",
    ipMode: "loopback",
    bootDelayMs: 3000,
    quiet: true,
    stockedRegions: ["us-west-1", "us-east-1"],
    capacity: { "gpu_1x_a10@us-west-1": 0, "gpu_8x_h100_sxm5@us-east-1": 2 },
    fail5xxOn: { getInstance: 3 },
    unparsableOn: { listInstances: 1 },
    bootOutcome: "unhealthy",
    retryAfterSeconds: 2,
  });
});

test("flags apply in order: --fast then a boot delay keeps the delay, and the reverse does not", () => {
  const fast = { requestIntervalMs: 0, launchIntervalMs: 0, bootDelayMs: 200, terminateDelayMs: 100 };
  expect(parseEmulatorArgs(["--fast", "--boot-delay-ms", "5"])).toMatchObject({ ...fast, bootDelayMs: 5 });
  expect(parseEmulatorArgs(["--boot-delay-ms", "5", "--fast"])).toMatchObject(fast);
  expect(parseEmulatorArgs(["--port", "1", "--port", "2"]).port).toBe(2);
});

test.each([
  [["--nope"], `Unknown emulator flag --nope. Allowed: ${ALLOWED}`],
  [["--nope=3"], `Unknown emulator flag --nope. Allowed: ${ALLOWED}`],
  [["8787"], `Unknown emulator flag 8787. Allowed: ${ALLOWED}`],
  [["--port", "1", "2"], `Unknown emulator flag 2. Allowed: ${ALLOWED}`],
  [["--port"], "Emulator flag --port needs a value (TCP port on 127.0.0.1 (0 picks a free one))"],
  [["--port", "-1"], "--port -1: expected a whole number >= 0"],
  [["--latency-ms", "1.5"], "--latency-ms 1.5: expected a whole number >= 0"],
  [["--boot-outcome", "dead"], "--boot-outcome dead: allowed values are active, unhealthy"],
  [["--ip-mode", "public"], "--ip-mode public: allowed values are loopback, documentation"],
  [["--capacity", "a10"], "--capacity a10: expected TYPE@REGION=N, e.g. gpu_1x_a10@us-west-1=0"],
  [["--fail-5xx-on", "getInstance"], "--fail-5xx-on getInstance: expected OPERATION=N, e.g. getInstance=3"],
])("%j is refused with the flag, the value and what is allowed", (argv, message) => {
  expect(() => parseEmulatorArgs(argv)).toThrow(new Error(message));
});

test("--help anywhere wins over everything else; without it the options are parsed", () => {
  expect(parseEmulatorCommandLine(["--nope", "--help"])).toEqual({ help: true });
  expect(parseEmulatorCommandLine(["--port=9"])).toEqual({
    help: false,
    options: { ...defaultEmulatorOptions(), port: 9 },
  });
  expect(() => parseEmulatorCommandLine(["--nope"])).toThrow(
    `Unknown emulator flag --nope. Allowed: ${ALLOWED}`,
  );
});

test("--help lists every flag with its help line", () => {
  const lines = emulatorHelp().split("\n");
  expect(lines).toHaveLength(Object.keys(EMULATOR_FLAGS).length);
  expect(lines[0]).toBe(`  ${"--port".padEnd(28)} TCP port on 127.0.0.1 (0 picks a free one)`);
  expect(lines.at(-1)).toBe(
    `  ${"--fast".padEnd(28)} shorthand: no rate limits, 200 ms boots, 100 ms terminations`,
  );
});
