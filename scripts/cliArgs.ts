/**
 * Command-line arguments of the operator tools (reap, bench:fleet, leftovers): Node's util.parseArgs
 * splits them (`--name value`, `--name=value`, boolean flags, bare arguments), and readArgs refuses
 * what does not fit in the tools' own words, naming the argument and what is allowed (parseArgs'
 * strict mode refuses in its own words, which name neither the allowed flags nor the tool's usage).
 */
import { parseArgs } from "util";

/** One flag a tool takes, by its name without the dashes. */
export interface FlagSpec {
  /** `string`: takes a value (`--stack staging` or `--stack=staging`); `boolean`: takes none. */
  readonly type: "string" | "boolean";
  /**
   * What follows `--name is given twice ("a", then "b")` when a string flag is repeated, e.g. why
   * one value is all that makes sense. @default "give it once"
   */
  readonly twice?: string;
}

export type FlagSpecs = Readonly<Record<string, FlagSpec>>;

/** Each flag given: a string flag's value, `true` for a boolean flag; absent when not given. */
export type FlagValues<F extends FlagSpecs> = {
  -readonly [K in keyof F]?: F[K]["type"] extends "string" ? string : true;
};

/** A refused command line; the tools print its message with their usage and exit 2. */
export class UsageError extends Error {
  constructor(problem: string) {
    super(problem);
    this.name = "UsageError";
  }
}

export interface ReadArgsOptions {
  /** How many bare (non-flag) arguments the tool takes. @default 0 */
  readonly positionals?: number;
  /** Builds the error thrown for a problem (one line, no usage). @default a UsageError */
  readonly refuse?: (problem: string) => Error;
}

/**
 * What a tool takes: `allowed are --stack, --yes`, `allowed are --a and 1 argument`, or
 * `it takes no flags, only 2 arguments`.
 */
function allowed(flags: FlagSpecs, positionals: number): string {
  const names = Object.keys(flags).map((name) => `--${name}`);
  const bare = positionals === 1 ? "1 argument" : `${positionals} arguments`;
  if (names.length === 0)
    return positionals === 0 ? "it takes no arguments" : `it takes no flags, only ${bare}`;
  return `allowed are ${names.join(", ")}${positionals === 0 ? "" : ` and ${bare}`}`;
}

/**
 * Reads `argv` (without node and the script) against `flags`. Throws `refuse(problem)` for the
 * first problem in argv order:
 * - an argument that is no flag of `flags` (unknown, short, `--`, or a bare argument beyond
 *   `positionals`): `unknown argument "--all": allowed are --stack, --yes` (or, with bare
 *   arguments allowed, `... and 1 argument`; with no flags, `it takes no flags, only 2 arguments`);
 * - a string flag with no value after it (last, or followed by a `--` flag):
 *   `--stack needs a value`;
 * - a boolean flag given a value (`--yes=no`): `--yes takes no value`;
 * - a string flag given twice: `--stack is given twice ("a", then "b"): give it once`
 *   (FlagSpec.twice replaces "give it once"). A repeated boolean flag is the flag once.
 * @returns the flags' values and the bare arguments, in order.
 */
export function readArgs<F extends FlagSpecs>(
  argv: readonly string[],
  flags: F,
  options: ReadArgsOptions = {},
): { readonly values: FlagValues<F>; readonly positionals: string[] } {
  const refuse = options.refuse ?? ((problem: string) => new UsageError(problem));
  const { tokens } = parseArgs({
    args: [...argv],
    options: Object.fromEntries(Object.entries(flags).map(([name, spec]) => [name, { type: spec.type }])),
    strict: false,
    allowPositionals: true,
    tokens: true,
  });
  const values: Record<string, string | true> = {};
  const positionals: string[] = [];
  const maxPositionals = options.positionals ?? 0;
  for (const token of tokens) {
    if (token.kind === "positional" && positionals.length < maxPositionals) {
      positionals.push(token.value);
      continue;
    }
    const spec = token.kind === "option" && Object.hasOwn(flags, token.name) ? flags[token.name] : undefined;
    // Flags are long only: `-n` is not `--n`.
    if (token.kind !== "option" || spec === undefined || token.rawName !== `--${token.name}`)
      throw refuse(`unknown argument "${argv[token.index]}": ${allowed(flags, maxPositionals)}`);
    if (spec.type === "boolean") {
      if (token.value !== undefined) throw refuse(`${token.rawName} takes no value`);
      values[token.name] = true;
      continue;
    }
    // parseArgs takes whatever follows as the value; a following flag means the value was left out.
    if (token.value === undefined || (!token.inlineValue && token.value.startsWith("--")))
      throw refuse(`${token.rawName} needs a value`);
    const earlier = values[token.name];
    if (earlier !== undefined)
      throw refuse(
        `${token.rawName} is given twice ("${String(earlier)}", then "${token.value}"): ${spec.twice ?? "give it once"}`,
      );
    values[token.name] = token.value;
  }
  return { values: values as FlagValues<F>, positionals };
}
