/**
 * `tsx scripts/leftovers.ts snapshot <file>` then, after the test tiers,
 * `tsx scripts/leftovers.ts check <file>`: lists what the tiers left running in this checkout
 * (processes, with what they listen on, and Docker objects labelled org.orchestra.test-run; see
 * infra/engine/leftovers.ts for what counts and why the Docker engine does not) and exits 1 if
 * anything is there. What was already running at the snapshot is not counted. `.ci/run` runs both.
 *
 * Exit codes: 0 nothing left; 1 something left (listed on stderr); 2 bad arguments.
 */
import { readFileSync, writeFileSync } from "fs";
import { join } from "path";
import { describeProcess, LeftoverSnapshot, leftoversSince, snapshot } from "../infra/engine/leftovers";
import { readArgs, UsageError } from "./cliArgs";

const ROOT = join(__dirname, "..");
/** How long `check` waits for processes that are shutting down (a killed tier's plugins) to go. */
const SETTLE_MS = Number(process.env.LEFTOVERS_SETTLE_MS ?? "10000");

export const LEFTOVERS_USAGE = "usage: tsx scripts/leftovers.ts <snapshot|check> <snapshot-file>";

export interface LeftoversArgs {
  /** `snapshot`: record what runs now into `file`; `check`: list what runs beyond `file`'s record. */
  readonly mode: "snapshot" | "check";
  readonly file: string;
}

/** `<snapshot|check> <snapshot-file>`: no flags. Throws a UsageError naming what is wrong. */
export function parseLeftoversArgs(argv: readonly string[]): LeftoversArgs {
  const [mode, file] = readArgs(argv, {}, { positionals: 2 }).positionals;
  if (mode !== "snapshot" && mode !== "check")
    throw new UsageError(
      mode === undefined ? "no mode given" : `unknown mode "${mode}": allowed are snapshot, check`,
    );
  if (file === undefined) throw new UsageError(`${mode} needs the snapshot file`);
  return { mode, file };
}

async function main(argv: string[]): Promise<number> {
  let mode: LeftoversArgs["mode"];
  let file: string;
  try {
    ({ mode, file } = parseLeftoversArgs(argv));
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    process.stderr.write(`${error.message}\n${LEFTOVERS_USAGE}\n`);
    return 2;
  }
  if (mode === "snapshot") {
    writeFileSync(file, JSON.stringify(snapshot(ROOT)));
    return 0;
  }
  const before = JSON.parse(readFileSync(file, "utf8")) as LeftoverSnapshot;
  const deadline = Date.now() + SETTLE_MS;
  let left = leftoversSince(ROOT, before);
  while (left.processes.length + left.docker.length > 0 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 500));
    left = leftoversSince(ROOT, before);
  }
  const lines = [...left.processes.map(describeProcess), ...left.docker.map((line) => `docker ${line}`)];
  if (lines.length === 0) {
    process.stdout.write(`[leftovers] the tiers left nothing running in ${ROOT}\n`);
    return 0;
  }
  process.stderr.write(
    `[leftovers] the tiers left ${lines.length} thing(s) running in ${ROOT} (every server or process a tier starts, it must stop):\n` +
      lines.map((line) => `  ${line}\n`).join(""),
  );
  return 1;
}

if (require.main === module)
  void main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
