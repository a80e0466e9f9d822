import { changeText, checkFailures, COMMENT_MARKER, errorLines, previewComment } from "./previewComment";
import { parsePrStackArgs } from "./pr-stack";
import { UsageError } from "../cliArgs";

test("changes read in a reader's order, zero counts left out, unknown operations by name", () => {
  expect(changeText({ same: 12, create: 3, update: 0, "create-replacement": 1 })).toBe(
    "3 to create, 12 unchanged, 1 create-replacement",
  );
  expect(changeText({ same: 0 })).toBe("no resources");
});

test("a failed command's error: lines, unique, at most three; else its last line", () => {
  const output =
    "Previewing\n    error: Projected cost $9/month\n  error: preview failed\n    error: Projected cost $9/month\n";
  expect(errorLines(output)).toEqual(["Projected cost $9/month", "preview failed"]);
  expect(errorLines("a\nb\n\n")).toEqual(["b"]);
  expect(errorLines("")).toEqual([]);
});

test("the check fails on a failed preview, an unpriced stack or a budget exceeded", () => {
  const report = { status: "OVER_BUDGET" } as never;
  expect(
    checkFailures(
      [
        { stack: "staging", kind: "failed", errors: ["x"] },
        { stack: "production", kind: "passed", changes: {} },
      ],
      [
        { stack: "staging", report },
        { stack: "local", error: "no file" },
      ],
    ),
  ).toEqual(["staging: preview failed", "staging: over budget", "local: not priced"]);
});

test("the comment starts with the marker; a change that affects nothing says so", () => {
  expect(previewComment([], [])).toBe(
    `${COMMENT_MARKER}\n## Pulumi preview\n\nThis change affects no stack: nothing to preview or price.\n`,
  );
  const comment = previewComment(
    [
      { stack: "staging", kind: "failed", errors: ["one | two", "three"] },
      { stack: "local", kind: "not deployed" },
    ],
    [{ stack: "local", error: "bad" }],
  );
  expect(comment.split("\n").slice(0, 9)).toEqual([
    COMMENT_MARKER,
    "## Pulumi preview",
    "",
    "**Status: ❌ failed** (staging: preview failed; local: not priced)",
    "",
    "| stack | preview | changes |",
    "| --- | --- | --- |",
    "| staging | ❌ failed | one \\| two<br>three |",
    "| local | not deployed | priced from its stack file only |",
  ]);
});

test("pr-stack takes up or down and a pull request number", () => {
  expect(parsePrStackArgs(["up", "42"])).toEqual({ action: "up", stack: "pr-42" });
  expect(parsePrStackArgs(["down", "7"])).toEqual({ action: "down", stack: "pr-7" });
  expect(() => parsePrStackArgs(["open", "42"])).toThrow(
    new UsageError('"open" is not an action: allowed are up, down'),
  );
  expect(() => parsePrStackArgs(["up", "042"])).toThrow(
    new UsageError('"042" is not a pull request number (a whole number from 1)'),
  );
  expect(() => parsePrStackArgs(["up", "4;rm"])).toThrow('"4;rm" is not a pull request number');
  expect(() => parsePrStackArgs(["up"])).toThrow('"" is not a pull request number');
  expect(() => parsePrStackArgs(["up", "1", "2"])).toThrow(
    'unknown argument "2": it takes no flags, only 2 arguments',
  );
});
