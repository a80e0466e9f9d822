/**
 * The project as the pipeline scripts drive it: a Pulumi Automation API LocalWorkspace on the
 * checkout, with the `pulumi` on PATH (never one the SDK would download) and this process's
 * environment (PULUMI_BACKEND_URL, PULUMI_CONFIG_PASSPHRASE, the state bucket's AWS_* keys).
 */
import { join } from "path";
import { LocalWorkspace, PulumiCommand, type Workspace } from "@pulumi/pulumi/automation";

/** The checkout's root: Pulumi.yaml and the Pulumi.<stack>.yaml files. */
export const PROJECT_DIR = join(__dirname, "..", "..");

/** Rejects when no `pulumi` runs from PATH. */
export async function projectWorkspace(): Promise<Workspace> {
  return LocalWorkspace.create({ workDir: PROJECT_DIR, pulumiCommand: await PulumiCommand.get() });
}

/** The names of the project's stacks in the backend. */
export async function stackNames(workspace: Workspace): Promise<Set<string>> {
  return new Set((await workspace.listStacks()).map((stack) => stack.name));
}
