import { mkdtempSync, rmSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";
import { UsageError } from "../cliArgs";
import { gitRef } from "./affected";
import { requireStackFile } from "./deploy";
import { parsePrStackArgs, prStackSettings } from "./pr-stack";

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

test("a git ref that is empty or would be read as an option is refused", () => {
  expect(gitRef("--base", "origin/main")).toBe("origin/main");
  expect(() => gitRef("--base", "")).toThrow(
    new UsageError("--base needs a value (a git ref, e.g. origin/main)"),
  );
  expect(() => gitRef("--base", "--output=/tmp/x")).toThrow(
    new UsageError('--base "--output=/tmp/x": a git ref cannot start with "-"'),
  );
});

test("deploy and pr-stack refuse what names no stack file, before touching the backend", () => {
  const root = mkdtempSync(join(tmpdir(), "pipeline-args-"));
  try {
    writeFileSync(join(root, "Pulumi.integration.yaml"), "config: {}\n");
    expect(() => requireStackFile("integration", root)).not.toThrow();
    expect(() => requireStackFile("stagin", root)).toThrow(
      new UsageError(`no Pulumi.stagin.yaml in ${root}: deploy a stack of this project (e.g. staging)`),
    );
    expect(() => requireStackFile("../etc", root)).toThrow(
      new UsageError('"../etc" is not a stack name (letters, digits, - _ .)'),
    );
    expect(prStackSettings({}, root)).toEqual({ base: "integration" });
    expect(prStackSettings({ PR_STACK_BASE: "", PR_STACK_TTL_HOURS: "6" }, root)).toEqual({
      base: "integration",
      ttlHours: "6",
    });
    expect(() => prStackSettings({ PR_STACK_BASE: "nosuch" }, root)).toThrow(
      new UsageError(`PR_STACK_BASE "nosuch": no Pulumi.nosuch.yaml in ${root}`),
    );
    expect(() => prStackSettings({ PR_STACK_BASE: "/../etc/hostname" }, root)).toThrow(
      new UsageError('PR_STACK_BASE "/../etc/hostname" is not a stack name (letters, digits, - _ .)'),
    );
    expect(() => prStackSettings({ PR_STACK_TTL_HOURS: "abc" }, root)).toThrow(
      new UsageError('PR_STACK_TTL_HOURS "abc" is not a whole number of hours from 1'),
    );
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
