/** Unit tier: a failed command's result, masked outputs, and the steps a preview lists. */
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";
import { CommandError, PulumiCommand, type EngineEvent } from "@pulumi/pulumi/automation";
import { commandOutcomeOf, maskedOutputs, previewSteps } from "./automation";

/** The CommandError the Automation API throws when `bin/pulumi` prints and exits with `code`. */
async function failureOf(script: string): Promise<CommandError> {
  const root = mkdtempSync(join(tmpdir(), "fake-pulumi-"));
  try {
    mkdirSync(join(root, "bin"));
    writeFileSync(join(root, "bin", "pulumi"), `#!/bin/sh\n${script}\n`);
    chmodSync(join(root, "bin", "pulumi"), 0o755);
    const error = await PulumiCommand.get({ root }).then(
      () => undefined,
      (rejected: unknown) => rejected,
    );
    expect(error).toBeInstanceOf(CommandError);
    return error as CommandError;
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

test("a failed command's exit code, stdout and stderr, as the CLI printed them", async () => {
  const failed = await failureOf("echo partial; echo 'error: no stack named x found' >&2; exit 3");
  expect(commandOutcomeOf(failed)).toEqual({
    code: 3,
    stdout: "partial",
    stderr: "error: no stack named x found",
  });
  // Killed by a signal: no exit code.
  expect((await failureOf("kill -9 $$")).message).toContain("SIGKILL");
  expect(commandOutcomeOf(await failureOf("kill -9 $$")).code).toBeNull();
});

test("an error without the SDK's result shape: its message stands as stderr", () => {
  const bare = Object.create(CommandError.prototype) as CommandError;
  bare.message = "something else";
  expect(commandOutcomeOf(bare)).toEqual({ code: null, stdout: "", stderr: "something else" });
});

test("outputs print as `pulumi stack output --json` prints them: secrets masked", () => {
  expect(
    maskedOutputs({
      plain: { value: { a: 1 }, secret: false },
      key: { value: "s3cr3t", secret: true },
    }),
  ).toEqual({ plain: { a: 1 }, key: "[secret]" });
});

const URN = (type: string, name: string) => `urn:pulumi:e2e::orchestra::${type}::${name}`;
const STACK = URN("pulumi:pulumi:Stack", "orchestra-e2e");
const step = (metadata: Record<string, unknown>): EngineEvent =>
  ({
    sequence: 0,
    timestamp: 0,
    resourcePreEvent: { metadata: { provider: "", ...metadata } },
  }) as EngineEvent;

test("preview steps: those `pulumi preview --json` lists, in its shape", () => {
  const app = URN("pulumi-nodejs:dynamic/lambda:Instance", "app");
  const events: EngineEvent[] = [
    { sequence: 0, timestamp: 0, diagnosticEvent: { message: "x", color: "never", severity: "info" } },
    step({ op: "same", urn: STACK, type: "pulumi:pulumi:Stack", old: {}, new: {}, logical: true }),
    step({ op: "same", urn: URN("t:m:T", "unchanged"), type: "t:m:T", old: {}, new: {}, logical: true }),
    step({ op: "same", urn: URN("t:m:T", "protected"), type: "t:m:T", old: {}, new: { protect: true } }),
    // A default provider's update (internal: the CLI never shows it), then an explicit provider's.
    step({ op: "update", urn: URN("pulumi:providers:pulumi-nodejs", "default"), type: "t", logical: true }),
    step({ op: "update", urn: URN("pulumi:providers:docker", "default_4_11_2"), type: "t", logical: true }),
    step({ op: "update", urn: URN("pulumi:providers:docker", "node-app"), type: "t", logical: true }),
    step({ op: "create-replacement", urn: app, type: "t", logical: false, keys: ["instanceType"] }),
    step({
      op: "replace",
      urn: app,
      type: "t",
      logical: true,
      keys: ["instanceType"],
      old: { inputs: { instanceType: "a" } },
      new: { inputs: { instanceType: "b" } },
    }),
    step({ op: "delete-replaced", urn: app, type: "t", logical: false }),
    step({
      op: "read",
      urn: URN("pulumi:pulumi:StackReference", "self"),
      type: "t",
      logical: true,
      old: null,
      keys: null,
    }),
  ];
  expect(previewSteps(events)).toEqual([
    { op: "same", urn: STACK, oldState: { inputs: {} }, newState: { inputs: {} } },
    { op: "same", urn: URN("t:m:T", "protected"), oldState: { inputs: {} }, newState: { inputs: {} } },
    { op: "update", urn: URN("pulumi:providers:docker", "node-app") },
    {
      op: "replace",
      urn: app,
      oldState: { inputs: { instanceType: "a" } },
      newState: { inputs: { instanceType: "b" } },
      replaceReasons: ["instanceType"],
    },
    { op: "read", urn: URN("pulumi:pulumi:StackReference", "self") },
  ]);
});
