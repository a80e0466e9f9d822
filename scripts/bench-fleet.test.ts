import { parseBenchFleetArgs } from "./bench-fleet";
import { UsageError } from "./cliArgs";

test("bench:fleet defaults to 8 nodes booting in 5 s; --nodes and --boot-delay-ms set them", () => {
  expect(parseBenchFleetArgs([])).toEqual({ nodes: 8, bootDelayMs: 5000 });
  expect(parseBenchFleetArgs(["--nodes", "32", "--boot-delay-ms=0"])).toEqual({ nodes: 32, bootDelayMs: 0 });
});

test.each([
  [["--node", "3"], 'unknown argument "--node": allowed are --nodes, --boot-delay-ms'],
  [["--nodes"], "--nodes needs a value"],
  [["--nodes", "2", "--nodes", "3"], '--nodes is given twice ("2", then "3"): give it once'],
  [["--nodes", "0"], '--nodes "0" is not allowed: write a whole number from 1, e.g. --nodes 8'],
  [["--nodes", "eight"], '--nodes "eight" is not allowed: write a whole number from 1, e.g. --nodes 8'],
  [["--nodes", "2.5"], '--nodes "2.5" is not allowed: write a whole number from 1, e.g. --nodes 8'],
  [
    ["--boot-delay-ms", "-1"],
    '--boot-delay-ms "-1" is not allowed: write a whole number from 0, e.g. --boot-delay-ms 5000',
  ],
])("bench:fleet refuses %j: %s", (argv, problem) => {
  expect(() => parseBenchFleetArgs(argv)).toThrow(new UsageError(problem));
});
