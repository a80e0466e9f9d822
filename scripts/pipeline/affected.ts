/**
 * Which layers a change affects, so a pull request previews and prices those and no others.
 *
 *   tsx scripts/pipeline/affected.ts --base <git-ref> [--head <git-ref>]
 *
 * Prints the layers (stack names), one per line in LAYERS order, for the files changed between
 * the merge base of `--base` and `--head` (default HEAD), as `git diff --name-only base...head`
 * lists them. Exit codes: 0 printed (possibly nothing); 1 git failed; 2 bad arguments.
 */
import { execFileSync } from "child_process";
import { LAYERS, type Layer } from "../../stacks/configSchema";
import { readArgs, UsageError } from "../cliArgs";

/** Files every layer's program is built from, outside the program's directories. */
const PROGRAM_FILES = new Set([
  "Pulumi.yaml",
  "index.ts",
  "package.json",
  "package-lock.json",
  "tsconfig.json",
]);
/** Directories of the program's own code (tests and the test machinery below excepted). */
const PROGRAM_DIRS = ["stacks/", "components/", "infra/"];
/** Test machinery under the program's directories: the emulator, the test tiers' helpers, the engine drivers. */
const TEST_DIRS = ["infra/emulator/", "infra/testing/", "infra/engine/"];

/**
 * The layers `files` (repository-relative paths) affect, in LAYERS order:
 * - `Pulumi.<layer>.yaml`: that layer;
 * - the program (`Pulumi.yaml`, `index.ts`, the package and TypeScript files, and any file under
 *   stacks/, components/ or infra/ that is neither a test (`*.test.ts`) nor test machinery): all;
 * - anything else (docs, scripts, workflows, tests, other stacks' files): none.
 */
export function affectedLayers(files: readonly string[]): Layer[] {
  const hit = new Set<Layer>();
  for (const file of files) {
    const layer = LAYERS.find((name) => file === `Pulumi.${name}.yaml`);
    if (layer !== undefined) hit.add(layer);
    else if (isProgramFile(file)) return [...LAYERS];
  }
  return LAYERS.filter((layer) => hit.has(layer));
}

function isProgramFile(file: string): boolean {
  if (PROGRAM_FILES.has(file)) return true;
  if (file.endsWith(".test.ts") || TEST_DIRS.some((dir) => file.startsWith(dir))) return false;
  return PROGRAM_DIRS.some((dir) => file.startsWith(dir));
}

export const AFFECTED_USAGE = "usage: tsx scripts/pipeline/affected.ts --base <git-ref> [--head <git-ref>]";

/**
 * A git ref as given to `flag`; throws UsageError for an empty one or one starting with `-`, which
 * git would read as an option (`--output=FILE` writes a file).
 */
export function gitRef(flag: string, ref: string): string {
  if (ref === "") throw new UsageError(`${flag} needs a value (a git ref, e.g. origin/main)`);
  if (ref.startsWith("-")) throw new UsageError(`${flag} "${ref}": a git ref cannot start with "-"`);
  return ref;
}

/** The files changed on `head` since it left `base` (three-dot diff: the base's own later commits excluded). */
export function changedFiles(base: string, head: string, cwd: string): string[] {
  return execFileSync(
    "git",
    ["diff", "--name-only", "--no-renames", `${gitRef("base", base)}...${gitRef("head", head)}`, "--"],
    {
      cwd,
      encoding: "utf8",
    },
  )
    .split("\n")
    .filter(Boolean);
}

if (require.main === module) {
  try {
    const { values } = readArgs(process.argv.slice(2), {
      base: { type: "string" },
      head: { type: "string" },
    });
    if (values.base === undefined) throw new UsageError("--base is required");
    const layers = affectedLayers(
      changedFiles(gitRef("--base", values.base), gitRef("--head", values.head ?? "HEAD"), process.cwd()),
    );
    if (layers.length > 0) process.stdout.write(`${layers.join("\n")}\n`);
  } catch (error) {
    const usage = error instanceof UsageError;
    process.stderr.write(`affected: ${(error as Error).message}${usage ? `\n${AFFECTED_USAGE}` : ""}\n`);
    process.exitCode = usage ? 2 : 1;
  }
}
