import { readArgs, UsageError } from "./cliArgs";

const FLAGS = {
  stack: { type: "string", twice: "one stack per run" },
  format: { type: "string" },
  yes: { type: "boolean" },
} as const;

describe("readArgs", () => {
  test("reads --flag value, --flag=value and boolean flags in any order; absent flags are absent", () => {
    expect(readArgs(["--yes", "--stack", "staging", "--format=json"], FLAGS)).toEqual({
      values: { yes: true, stack: "staging", format: "json" },
      positionals: [],
    });
    expect(readArgs([], FLAGS)).toEqual({ values: {}, positionals: [] });
    // A value may start with one dash (parseArgs takes what follows); an inline one with two.
    expect(readArgs(["--stack", "-x", "--format=--y"], FLAGS).values).toEqual({ stack: "-x", format: "--y" });
    expect(readArgs(["--yes", "--yes"], FLAGS).values).toEqual({ yes: true });
  });

  test("takes up to `positionals` bare arguments, in order, around the flags", () => {
    expect(readArgs(["check", "--yes", "file"], FLAGS, { positionals: 2 })).toEqual({
      values: { yes: true },
      positionals: ["check", "file"],
    });
    expect(readArgs(["only"], {}, { positionals: 2 })).toEqual({ values: {}, positionals: ["only"] });
  });

  test.each([
    [["--all"], FLAGS, 0, 'unknown argument "--all": allowed are --stack, --format, --yes'],
    [["--all=3"], FLAGS, 0, 'unknown argument "--all=3": allowed are --stack, --format, --yes'],
    [["-y"], FLAGS, 0, 'unknown argument "-y": allowed are --stack, --format, --yes'],
    [["-sy"], FLAGS, 0, 'unknown argument "-sy": allowed are --stack, --format, --yes'],
    [["staging"], FLAGS, 0, 'unknown argument "staging": allowed are --stack, --format, --yes'],
    [["--", "x"], FLAGS, 0, 'unknown argument "--": allowed are --stack, --format, --yes'],
    [["a", "b"], FLAGS, 1, 'unknown argument "b": allowed are --stack, --format, --yes and 1 argument'],
    [["a", "b", "c"], {}, 2, 'unknown argument "c": it takes no flags, only 2 arguments'],
    [["--x"], {}, 2, 'unknown argument "--x": it takes no flags, only 2 arguments'],
    [["a"], {}, 0, 'unknown argument "a": it takes no arguments'],
    [["--stack"], FLAGS, 0, "--stack needs a value"],
    [["--stack", "--yes"], FLAGS, 0, "--stack needs a value"],
    [["--yes=no"], FLAGS, 0, "--yes takes no value"],
    [["--stack", "a", "--stack=b"], FLAGS, 0, '--stack is given twice ("a", then "b"): one stack per run'],
    [["--format", "a", "--format", "b"], FLAGS, 0, '--format is given twice ("a", then "b"): give it once'],
    // The first problem in argv order is the one reported.
    [
      ["--stack", "a", "--all", "--stack", "b"],
      FLAGS,
      0,
      'unknown argument "--all": allowed are --stack, --format, --yes',
    ],
  ] as const)("%j is refused: %s", (argv, flags, positionals, problem) => {
    expect(() => readArgs(argv, flags, { positionals })).toThrow(new UsageError(problem));
  });

  test("refuse builds the error thrown", () => {
    class ToolError extends Error {}
    const refuse = (problem: string) => new ToolError(`${problem}\nusage: tool`);
    expect(() => readArgs(["--nope"], FLAGS, { refuse })).toThrow(ToolError);
    expect(() => readArgs(["--nope"], FLAGS, { refuse })).toThrow(
      'unknown argument "--nope": allowed are --stack, --format, --yes\nusage: tool',
    );
  });
});
