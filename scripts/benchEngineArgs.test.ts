/** Pure tier: `npm run bench:engine`'s arguments. */
import { parseBenchEngineArgs } from "./benchEngineArgs";

test("sizes: the default, a list, and refusals", () => {
  expect(parseBenchEngineArgs([])).toEqual([1, 8, 32]);
  expect(parseBenchEngineArgs(["--sizes", "2"])).toEqual([2]);
  expect(parseBenchEngineArgs(["--sizes=8,32"])).toEqual([8, 32]);
  expect(() => parseBenchEngineArgs(["--sizes", "8,x"])).toThrow(
    '--sizes "8,x": fleet sizes are whole numbers from 1, comma-separated\nusage: npm run bench:engine -- [--sizes 1,8,32]',
  );
  expect(() => parseBenchEngineArgs(["--sizes", "0"])).toThrow('--sizes "0"');
  expect(() => parseBenchEngineArgs(["--size", "8"])).toThrow("Unknown option '--size'");
  expect(() => parseBenchEngineArgs(["--sizes"])).toThrow("Option '--sizes <value>' argument missing");
  expect(() => parseBenchEngineArgs(["8"])).toThrow("Unexpected argument '8'");
});
