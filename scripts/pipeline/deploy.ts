/**
 * A pipeline deploy: `pulumi up` of one stack, then its health gate.
 *
 *   tsx scripts/pipeline/deploy.ts <stack>
 *
 * Sets the stack's secrets from the environment (stackSecrets.ts), creates the stack in the backend
 * when it is new, and runs `up` through the Automation API (output streamed to stdout) with the
 * health gate's check replaced (healthGateUrns.ts), so every deploy checks the services again even
 * when no container changed. A failed check fails the `up`, naming the service; the gate's report
 * is printed after it. A stack that deploys no containers has no gate, and says so.
 *
 * Exit codes: 0 deployed and healthy; 1 the `up` or the health gate failed; 2 bad arguments.
 */
import { existsSync } from "fs";
import { join } from "path";
import { CommandError, Stack, type Workspace } from "@pulumi/pulumi/automation";
import { readArgs, UsageError } from "../cliArgs";
import { healthGateCheckUrns, type ExportedResource } from "./healthGateUrns";
import { PROJECT_DIR, projectWorkspace, stackNames } from "./projectWorkspace";
import { setSecretsFromEnv } from "./stackSecrets";
import { failedCommandLines } from "./previewComment";

/**
 * Throws UsageError unless `name` is a stack name with a `Pulumi.<name>.yaml` in the checkout: a
 * mistyped name would otherwise create a new stack and deploy it with no stack file.
 */
export function requireStackFile(name: string, root = PROJECT_DIR): void {
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(name))
    throw new UsageError(`"${name}" is not a stack name (letters, digits, - _ .)`);
  if (!existsSync(join(root, `Pulumi.${name}.yaml`)))
    throw new UsageError(`no Pulumi.${name}.yaml in ${root}: deploy a stack of this project (e.g. staging)`);
}

export const DEPLOY_USAGE = "usage: tsx scripts/pipeline/deploy.ts <stack>";
const GATE_PASSED = /^health gate passed: \d+ service\(s\) healthy$/m;

const log = (text: string) => process.stderr.write(`[deploy] ${text}\n`);

/**
 * Deploys `name` in `workspace` (created when missing) and checks its health gate. Resolves with
 * the gate's report (or the no-gate line); rejects with the `up`'s error lines or the gate's.
 */
export async function deployStack(workspace: Workspace, name: string): Promise<string> {
  const exists = (await stackNames(workspace)).has(name);
  const stack = exists ? await Stack.select(name, workspace) : await Stack.create(name, workspace);
  if (!exists) log(`created stack ${name}`);
  const secrets = setSecretsFromEnv(name, PROJECT_DIR);
  log(`secrets from the environment: ${secrets.length === 0 ? "none" : secrets.join(", ")}`);
  const state = (await stack.exportStack()).deployment as { resources?: ExportedResource[] } | undefined;
  const replace = healthGateCheckUrns(state?.resources ?? []);
  log(
    `pulumi up --stack ${name}${replace.length > 0 ? " (the health gate's check replaced, so it runs again)" : ""}`,
  );
  try {
    await stack.up({ replace, onOutput: (text) => process.stdout.write(text) });
  } catch (error) {
    if (!(error instanceof CommandError)) throw error;
    throw new Error(`pulumi up --stack ${name} failed:\n${failedCommandLines(error, 5).join("\n")}`);
  }
  const report = (await stack.outputs()).healthGate?.value as unknown;
  if (report === undefined) return `stack ${name} deploys no containers: no health gate to check`;
  if (typeof report !== "string" || !GATE_PASSED.test(report))
    throw new Error(`health gate of ${name} did not pass:\n${String(report)}`);
  return report.trimEnd();
}

if (require.main === module) {
  (async () => {
    let name: string;
    try {
      name = readArgs(process.argv.slice(2), {}, { positionals: 1 }).positionals[0] ?? "";
      if (name === "") throw new UsageError("the stack to deploy is required");
      requireStackFile(name);
    } catch (error) {
      if (!(error instanceof UsageError)) throw error;
      process.stderr.write(`deploy: ${error.message}\n${DEPLOY_USAGE}\n`);
      return 2;
    }
    console.log(await deployStack(await projectWorkspace(), name));
    return 0;
  })().then(
    (code) => (process.exitCode = code),
    (error: unknown) => {
      process.stderr.write(`deploy failed: ${(error as Error).message}\n`);
      process.exitCode = 1;
    },
  );
}
