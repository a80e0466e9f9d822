/** `npm run bench:engine -- [--sizes 1,8,32]`: the fleet sizes to measure, parsed with util.parseArgs. */
import { parseArgs } from "util";

export const BENCH_ENGINE_USAGE = "usage: npm run bench:engine -- [--sizes 1,8,32]";

/**
 * `argv` (without node and the script) -> the fleet sizes, in the order given (default 1, 8, 32).
 * Throws an Error ending with the usage line for an unknown flag, a positional argument, a missing
 * value, or a size that is not a whole number from 1 up.
 */
export function parseBenchEngineArgs(argv: readonly string[]): number[] {
  let text: string;
  try {
    ({
      values: { sizes: text },
    } = parseArgs({ args: [...argv], options: { sizes: { type: "string", default: "1,8,32" } } }));
  } catch (error) {
    throw new Error(`${(error as Error).message}\n${BENCH_ENGINE_USAGE}`);
  }
  const sizes = text.split(",").map((size) => size.trim());
  if (sizes.some((size) => !/^[1-9]\d*$/.test(size)))
    throw new Error(
      `--sizes "${text}": fleet sizes are whole numbers from 1, comma-separated\n${BENCH_ENGINE_USAGE}`,
    );
  return sizes.map(Number);
}
