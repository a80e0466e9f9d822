/**
 * The Pulumi CLI toolchain scripts/toolchain.sh builds from the Go module proxy (cached outside the
 * checkout), for the engine tier and the engine benchmark: where it is, the environment it needs,
 * and its CLI as the Automation API's PulumiCommand (so the Automation API never downloads one).
 */
import { execFileSync } from "child_process";
import { readFileSync } from "fs";
import { dirname, join } from "path";
import { PulumiCommand } from "@pulumi/pulumi/automation";

export const PROJECT_ROOT = join(__dirname, "..", "..");

export interface Toolchain {
  /** The toolchain's prefix: bin/pulumi and its plugins, home/ (PULUMI_HOME, the plugin cache). */
  readonly root: string;
  /** Its env.sh exports: PATH (its bin first), PULUMI_HOME, PULUMI_SKIP_UPDATE_CHECK, ... */
  readonly env: Readonly<Record<string, string>>;
}

/**
 * Builds the toolchain if missing (a no-op when cached; a cold build takes minutes) and returns it.
 * Throws if scripts/toolchain.sh fails (its progress and errors go to this process's stderr).
 */
export function buildToolchain(): Toolchain {
  const bin = execFileSync("bash", [join(PROJECT_ROOT, "scripts", "toolchain.sh")], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "inherit"],
  })
    .trim()
    .split("\n")
    .pop() as string;
  const env: Record<string, string> = {};
  for (const line of readFileSync(join(dirname(bin), "env.sh"), "utf8").split("\n")) {
    const match = /^export (\w+)="(.*)"$/.exec(line);
    if (match !== null) env[match[1]] = match[2].replace("$PATH", process.env.PATH ?? "");
  }
  return { root: dirname(bin), env };
}

/** The toolchain's environment alone, for a command the Automation API does not run. */
export function toolchainEnv(): Record<string, string> {
  return { ...buildToolchain().env };
}

/**
 * The toolchain's `bin/pulumi` for the Automation API (LocalWorkspace's `pulumiCommand`), checked
 * to be at least the SDK's minimum CLI version; rejects if it does not run.
 */
export function toolchainCommand(toolchain: Toolchain): Promise<PulumiCommand> {
  return PulumiCommand.get({ root: toolchain.root });
}
