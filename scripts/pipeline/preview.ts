/**
 * The pull-request check: previews every stack the change affects and writes the cost comment.
 *
 *   tsx scripts/pipeline/preview.ts (--base <git-ref> | --stacks <a,b>) --comment-file <path>
 *
 * `--base`: the layers scripts/pipeline/affected.ts finds in `git diff base...HEAD`; `--stacks`:
 * these stacks (each needs its `Pulumi.<stack>.yaml`). Each one that exists in the backend is
 * previewed through the Automation API (a LocalWorkspace on the project, the `pulumi` on PATH, this
 * process's PULUMI_BACKEND_URL and PULUMI_CONFIG_PASSPHRASE), its output streamed to stderr; every
 * one is priced from its stack file (`npm run cost -- --from-config`'s pricing), with the diff
 * against the `costReport` its deployed stack exports. The comment (previewComment.ts) is written
 * to `--comment-file` whatever happens, so a failed check still says why.
 *
 * Exit codes: 0 passed; 1 a preview failed, a stack could not be priced or is over its budget (the
 * cost gate also fails that stack's preview); 2 bad arguments.
 */
import { existsSync, writeFileSync } from "fs";
import { join } from "path";
import { CommandError, Stack, type Workspace } from "@pulumi/pulumi/automation";
import { withDiff } from "../../infra/pricing/costModel";
import { maskedOutputs } from "../../infra/engine/automation";
import { isCostReport } from "../../stacks/costPlan";
import { readArgs, UsageError } from "../cliArgs";
import { configCosts } from "../cost";
import type { StackCost } from "../costFormat";
import { affectedLayers, changedFiles, gitRef } from "./affected";
import {
  checkFailures,
  checkNotRunReason,
  errorLines,
  failedCommandLines,
  notRunComment,
  previewComment,
  type StackPreview,
} from "./previewComment";
import { PROJECT_DIR, projectWorkspace, stackNames } from "./projectWorkspace";
import { setSecretsFromEnv } from "./stackSecrets";

const ROOT = PROJECT_DIR;
export const PREVIEW_USAGE =
  "usage: tsx scripts/pipeline/preview.ts (--base <git-ref> | --stacks <a,b>) --comment-file <path>";

const FLAGS = {
  base: { type: "string" },
  stacks: { type: "string" },
  "comment-file": { type: "string" },
} as const;

/** The stacks to check and where the comment goes; throws UsageError naming the problem. */
export function parsePreviewArgs(
  argv: readonly string[],
  root: string,
): { stacks: string[] | { base: string }; commentFile: string } {
  const { values } = readArgs(argv, FLAGS);
  if (values["comment-file"] === undefined) throw new UsageError("--comment-file is required");
  if ((values.base === undefined) === (values.stacks === undefined))
    throw new UsageError("give exactly one of --base (the layers a change affects) and --stacks");
  if (values.base !== undefined)
    return { stacks: { base: gitRef("--base", values.base) }, commentFile: values["comment-file"] };
  const stacks = [...new Set(values.stacks!.split(",").map((name) => name.trim()))];
  for (const stack of stacks) {
    if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(stack))
      throw new UsageError(
        `--stacks "${values.stacks}": "${stack}" is not a stack name (letters, digits, - _ .)`,
      );
    if (!existsSync(join(root, `Pulumi.${stack}.yaml`)))
      throw new UsageError(
        `--stacks: no Pulumi.${stack}.yaml in ${root}; a stack is priced from its stack file`,
      );
  }
  return { stacks, commentFile: values["comment-file"] };
}

/** Previews `name` when it exists; a failure becomes its `error:` lines, never a throw. */
async function previewStack(
  workspace: Workspace,
  name: string,
  deployed: ReadonlySet<string>,
): Promise<StackPreview> {
  if (!deployed.has(name)) return { stack: name, kind: "not deployed" };
  process.stderr.write(`[preview] pulumi preview --stack ${name}\n`);
  try {
    setSecretsFromEnv(name, ROOT);
    const stack = await Stack.select(name, workspace);
    const result = await stack.preview({ onOutput: (text) => process.stderr.write(text) });
    return { stack: name, kind: "passed", changes: result.changeSummary };
  } catch (error) {
    // Setting a secret (a wrong passphrase) fails this stack's check as a failed preview would.
    if (!(error instanceof CommandError))
      return { stack: name, kind: "failed", errors: errorLines((error as Error).message) };
    return { stack: name, kind: "failed", errors: failedCommandLines(error) };
  }
}

/** Each stack priced from its file, diffed against the costReport its deployment exports (if any). */
async function costs(
  workspace: Workspace,
  stacks: readonly string[],
  deployed: ReadonlySet<string>,
): Promise<StackCost[]> {
  const priced = await configCosts(stacks, ROOT);
  return Promise.all(
    priced.map(async (entry): Promise<StackCost> => {
      if ("error" in entry || !deployed.has(entry.stack)) return entry;
      const previous = maskedOutputs(await workspace.stackOutputs(entry.stack)).costReport;
      return {
        stack: entry.stack,
        report: withDiff(entry.report, isCostReport(previous) ? previous : undefined),
      };
    }),
  );
}

export async function runPreview(argv: readonly string[]): Promise<number> {
  let args: ReturnType<typeof parsePreviewArgs>;
  try {
    args = parsePreviewArgs(argv, ROOT);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    process.stderr.write(`preview: ${error.message}\n${PREVIEW_USAGE}\n`);
    return 2;
  }
  try {
    return await previewAndComment(args.stacks, args.commentFile);
  } catch (error) {
    // The check could not run (git, the backend, no pulumi): the comment still says why.
    const reason = checkNotRunReason(error);
    writeFileSync(args.commentFile, notRunComment(reason));
    process.stderr.write(
      `[preview] the check could not run: ${reason}\n[preview] comment written to ${args.commentFile}\n`,
    );
    return 1;
  }
}

/** Previews and prices `which`, writes the comment; resolves with the exit code. */
async function previewAndComment(which: string[] | { base: string }, commentFile: string): Promise<number> {
  // `local` is never deployed by a pipeline and has no budget: a pull request's check leaves it out.
  const stacks = Array.isArray(which)
    ? which
    : affectedLayers(changedFiles(which.base, "HEAD", ROOT)).filter((layer) => layer !== "local");
  process.stderr.write(`[preview] stacks to check: ${stacks.length === 0 ? "none" : stacks.join(", ")}\n`);
  const workspace = await projectWorkspace();
  const deployed = stacks.length === 0 ? new Set<string>() : await stackNames(workspace);
  const previews: StackPreview[] = [];
  // One at a time: each preview runs the whole program, and the runner has few cores.
  for (const stack of stacks) previews.push(await previewStack(workspace, stack, deployed));
  const priced = await costs(workspace, stacks, deployed);
  writeFileSync(commentFile, previewComment(previews, priced));
  const failures = checkFailures(previews, priced);
  process.stderr.write(
    `[preview] comment written to ${commentFile}; ${failures.length === 0 ? "passed" : `failed: ${failures.join("; ")}`}\n`,
  );
  return failures.length === 0 ? 0 : 1;
}

if (require.main === module) {
  runPreview(process.argv.slice(2)).then(
    (code) => (process.exitCode = code),
    (error: unknown) => {
      process.stderr.write(`preview failed: ${(error as Error).message}\n`);
      process.exitCode = 1;
    },
  );
}
