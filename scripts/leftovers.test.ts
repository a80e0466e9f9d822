import { UsageError } from "./cliArgs";
import { parseLeftoversArgs } from "./leftovers";

test("leftovers takes a mode and the snapshot file", () => {
  expect(parseLeftoversArgs(["snapshot", "/tmp/before.json"])).toEqual({
    mode: "snapshot",
    file: "/tmp/before.json",
  });
  expect(parseLeftoversArgs(["check", "/tmp/before.json"])).toEqual({
    mode: "check",
    file: "/tmp/before.json",
  });
});

test.each([
  [[], "no mode given"],
  [["status", "/tmp/before.json"], 'unknown mode "status": allowed are snapshot, check'],
  [["check"], "check needs the snapshot file"],
  [["check", "/tmp/before.json", "extra"], 'unknown argument "extra": it takes no flags, only 2 arguments'],
  [
    ["check", "--settle", "/tmp/before.json"],
    'unknown argument "--settle": it takes no flags, only 2 arguments',
  ],
])("leftovers refuses %j: %s", (argv, problem) => {
  expect(() => parseLeftoversArgs(argv)).toThrow(new UsageError(problem));
});
