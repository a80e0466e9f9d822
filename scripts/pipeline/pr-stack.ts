/**
 * The optional per-pull-request stack `pr-<number>`: the integration layer, with its TTL, created
 * on demand and destroyed when the pull request closes.
 *
 *   tsx scripts/pipeline/pr-stack.ts up <number>     # create or update pr-<n>, then its health gate
 *   tsx scripts/pipeline/pr-stack.ts down <number>   # destroy pr-<n> and remove the stack
 *
 * Its stack file `Pulumi.pr-<n>.yaml` is written from `Pulumi.<base>.yaml` on every run (base:
 * PR_STACK_BASE, default `integration`), so the pull request's own version of the layer is what
 * runs; it is never committed (.gitignore). The passphrase's salt is kept in the stack's state,
 * so a rewritten file still decrypts it. PR_STACK_TTL_HOURS, when set, is the stack's `ttlHours`
 * (else the layer's default, 24 h for integration); the reaper terminates a node past it.
 * `down` is a no-op when there is no such stack (the pull request never had the label). `stack rm`
 * runs without --force, so a destroy that left a resource behind keeps the stack and fails.
 *
 * Exit codes: 0 done; 1 the up, the health gate or the destroy failed; 2 bad arguments.
 */
import { copyFileSync, existsSync, rmSync } from "fs";
import { join } from "path";
import { CommandError, Stack, type Workspace } from "@pulumi/pulumi/automation";
import { readArgs, UsageError } from "../cliArgs";
import { deployStack } from "./deploy";
import { failedCommandLines } from "./previewComment";
import { PROJECT_DIR, projectWorkspace, stackNames } from "./projectWorkspace";
import { setSecretsFromEnv } from "./stackSecrets";

export const PR_STACK_USAGE = "usage: tsx scripts/pipeline/pr-stack.ts up|down <pull-request number>";

const log = (text: string) => process.stderr.write(`[pr-stack] ${text}\n`);

/** `up 42` -> { action: "up", stack: "pr-42" }; throws UsageError naming the bad argument. */
export function parsePrStackArgs(argv: readonly string[]): { action: "up" | "down"; stack: string } {
  const [action, number] = readArgs(argv, {}, { positionals: 2 }).positionals;
  if (action !== "up" && action !== "down")
    throw new UsageError(`"${action ?? ""}" is not an action: allowed are up, down`);
  if (number === undefined || !/^[1-9][0-9]{0,8}$/.test(number))
    throw new UsageError(`"${number ?? ""}" is not a pull request number (a whole number from 1)`);
  return { action, stack: `pr-${number}` };
}

/** Writes `Pulumi.<stack>.yaml` from the base layer's file and sets the TTL and the secrets. */
/**
 * The base layer and the TTL from the environment, checked before anything is created: throws
 * UsageError for a PR_STACK_BASE that names no stack file of the checkout, or a PR_STACK_TTL_HOURS
 * that is not a whole number of hours from 1.
 */
export function prStackSettings(
  env: NodeJS.ProcessEnv,
  root = PROJECT_DIR,
): { base: string; ttlHours?: string } {
  const base = (env.PR_STACK_BASE ?? "") === "" ? "integration" : (env.PR_STACK_BASE as string);
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(base))
    throw new UsageError(`PR_STACK_BASE "${base}" is not a stack name (letters, digits, - _ .)`);
  if (!existsSync(join(root, `Pulumi.${base}.yaml`)))
    throw new UsageError(`PR_STACK_BASE "${base}": no Pulumi.${base}.yaml in ${root}`);
  const ttl = env.PR_STACK_TTL_HOURS ?? "";
  if (ttl !== "" && !/^[1-9][0-9]*$/.test(ttl))
    throw new UsageError(`PR_STACK_TTL_HOURS "${ttl}" is not a whole number of hours from 1`);
  return ttl === "" ? { base } : { base, ttlHours: ttl };
}

async function writeStackFile(stack: Stack, env: NodeJS.ProcessEnv): Promise<void> {
  const { base, ttlHours } = prStackSettings(env);
  copyFileSync(join(PROJECT_DIR, `Pulumi.${base}.yaml`), join(PROJECT_DIR, `Pulumi.${stack.name}.yaml`));
  if (ttlHours !== undefined) await stack.setConfig("ttlHours", { value: ttlHours });
  setSecretsFromEnv(stack.name, PROJECT_DIR, env);
  log(`Pulumi.${stack.name}.yaml written from Pulumi.${base}.yaml`);
}

export async function prStackUp(workspace: Workspace, name: string, env = process.env): Promise<string> {
  const exists = (await stackNames(workspace)).has(name);
  const stack = exists ? await Stack.select(name, workspace) : await Stack.create(name, workspace);
  // Replaces the salt `stack init` wrote: the next `config set --secret` writes a new one, and the
  // state keeps the salt its own secrets were encrypted with.
  await writeStackFile(stack, env);
  return deployStack(workspace, name);
}

export async function prStackDown(workspace: Workspace, name: string, env = process.env): Promise<string> {
  const file = join(PROJECT_DIR, `Pulumi.${name}.yaml`);
  if (!(await stackNames(workspace)).has(name)) {
    rmSync(file, { force: true });
    return `no stack ${name}: nothing to destroy`;
  }
  const stack = await Stack.select(name, workspace);
  try {
    // Destroy runs no program, but the providers read the stack's config (lambdaApiUrl, the key).
    await writeStackFile(stack, env);
    log(`pulumi destroy --stack ${name}`);
    await stack.destroy({ onOutput: (text) => process.stdout.write(text) });
    log(`pulumi stack rm ${name}`);
    await workspace.removeStack(name);
  } catch (error) {
    if (!(error instanceof CommandError)) throw error;
    throw new Error(
      `destroying ${name} failed (the stack is kept):\n${failedCommandLines(error, 5).join("\n")}`,
    );
  } finally {
    rmSync(file, { force: true });
  }
  return `stack ${name} destroyed and removed`;
}

if (require.main === module) {
  (async () => {
    let args: ReturnType<typeof parsePrStackArgs>;
    try {
      args = parsePrStackArgs(process.argv.slice(2));
      prStackSettings(process.env);
    } catch (error) {
      if (!(error instanceof UsageError)) throw error;
      process.stderr.write(`pr-stack: ${error.message}\n${PR_STACK_USAGE}\n`);
      return 2;
    }
    const workspace = await projectWorkspace();
    console.log(
      args.action === "up"
        ? await prStackUp(workspace, args.stack)
        : await prStackDown(workspace, args.stack),
    );
    return 0;
  })().then(
    (code) => (process.exitCode = code),
    (error: unknown) => {
      process.stderr.write(`pr-stack failed: ${(error as Error).message}\n`);
      process.exitCode = 1;
    },
  );
}
