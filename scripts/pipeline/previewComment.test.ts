import {
  changeText,
  checkFailures,
  checkNotRunReason,
  COMMENT_MARKER,
  errorLines,
  notRunComment,
  previewComment,
} from "./previewComment";

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

test("a check that could not run still writes a comment saying why", () => {
  expect(notRunComment("no backend")).toBe(
    `${COMMENT_MARKER}\n## Pulumi preview\n\n**Status: ❌ failed** (the check could not run)\n\n\`\`\`text\nno backend\n\`\`\`\n`,
  );
  expect(checkNotRunReason(new Error("code: -2\n err?: Error: spawn pulumi ENOENT"))).toBe(
    "pulumi not found on PATH: install the Pulumi CLI 3.248.0 (in CI: pulumi/actions; here: scripts/toolchain.sh)",
  );
  expect(
    checkNotRunReason(
      new Error("stdout: \nstderr: error: read meta.yaml: refused\nerror: read meta.yaml: refused\n"),
    ),
  ).toBe("read meta.yaml: refused");
});

test("a check that previewed nothing says it only priced", () => {
  expect(previewComment([{ stack: "integration", kind: "not deployed" }], []).split("\n")[3]).toBe(
    "**Status: ✅ passed** (priced only: none of these stacks is deployed, so none was previewed)",
  );
});
