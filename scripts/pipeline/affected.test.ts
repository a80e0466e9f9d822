import { execFileSync } from "child_process";
import { mkdtempSync, rmSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";
import { affectedLayers, changedFiles } from "./affected";

test("a layer's stack file affects that layer only, in LAYERS order", () => {
  expect(affectedLayers(["Pulumi.production.yaml", "Pulumi.staging.yaml"])).toEqual([
    "staging",
    "production",
  ]);
  expect(affectedLayers(["Pulumi.integration.yaml", "README.md"])).toEqual(["integration"]);
});

test("the program's files affect every layer", () => {
  const all = ["local", "integration", "staging", "production"];
  for (const file of [
    "Pulumi.yaml",
    "index.ts",
    "package-lock.json",
    "components/appServices.ts",
    "infra/lambda/client.ts",
    "stacks/policy.ts",
  ])
    expect([file, affectedLayers(["README.md", file])]).toEqual([file, all]);
});

test("docs, scripts, workflows, tests, test machinery and other stacks' files affect none", () => {
  expect(
    affectedLayers([
      "README.md",
      "scripts/cost.ts",
      ".github/workflows/deploy.yml",
      "components/appServices.test.ts",
      "infra/emulator/server.ts",
      "infra/engine/engineStack.ts",
      "infra/testing/dockerRunner.ts",
      "Pulumi.sandbox.yaml",
      "Pulumi.pr-12.yaml",
      "stacks.md",
    ]),
  ).toEqual([]);
});

test("changedFiles lists what the head changed since it left the base (three-dot)", () => {
  const repo = mkdtempSync(join(tmpdir(), "affected-"));
  const git = (...args: string[]) =>
    execFileSync("git", ["-c", "user.name=t", "-c", "user.email=t@t", ...args], {
      cwd: repo,
      encoding: "utf8",
    });
  try {
    git("init", "-q", "-b", "main");
    writeFileSync(join(repo, "README.md"), "a\n");
    git("add", ".");
    git("commit", "-qm", "base");
    git("checkout", "-qb", "change");
    writeFileSync(join(repo, "Pulumi.staging.yaml"), "config: {}\n");
    git("add", ".");
    git("commit", "-qm", "change");
    git("checkout", "-q", "main");
    // A later commit on the base is not the pull request's change.
    writeFileSync(join(repo, "index.ts"), "\n");
    git("add", ".");
    git("commit", "-qm", "later");
    expect(changedFiles("main", "change", repo)).toEqual(["Pulumi.staging.yaml"]);
    expect(affectedLayers(changedFiles("main", "change", repo))).toEqual(["staging"]);
  } finally {
    rmSync(repo, { recursive: true, force: true });
  }
});
