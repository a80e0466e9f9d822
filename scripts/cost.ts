/**
 * `npm run cost -- [--stack <name> ...] [--format table|markdown|json] [--from-config]`
 *
 * Default: reads the `costReport` output of the given stacks, or of every stack of the project,
 * through the Pulumi Automation API (a LocalWorkspace on the project directory, with the `pulumi`
 * on PATH and this process's backend settings), and prints a table per stack and the total across
 * them. `--format markdown` is what a pull-request comment shows.
 * `--from-config` prices the committed `Pulumi.<stack>.yaml` instead (local, integration, staging
 * and production by default) without deploying: what a pull request would cost before it merges.
 * It uses the dated snapshot, or the live API when LAMBDA_API_KEY is set (the stack's lambdaApiUrl,
 * else LAMBDA_API_URL: the program's order, infra/lambda/settings.ts).
 *
 * Exit codes: 0 printed; 1 a stack could not be priced or read (still printed, with the reason);
 * 2 bad arguments.
 */
import { readFileSync } from "fs";
import * as yaml from "js-yaml";
import { join } from "path";
import { parseArgs } from "util";
import { CommandError, LocalWorkspace, PulumiCommand } from "@pulumi/pulumi/automation";
import { commandOutcomeOf, maskedOutputs } from "../infra/engine/automation";
import { LAYERS } from "../stacks/configSchema";
import { readRawConfig, validateStackConfig } from "../stacks/config";
import { CONFIG_NAMESPACE, engineConfigText, projectKeys } from "../stacks/configRead";
import { SECRET_KEYS } from "../stacks/configSchema";
import { chosenLambdaSettings } from "../infra/lambda/settings";
import { priceStackConfig } from "../stacks/costGate";
import { isCostReport } from "../stacks/costPlan";
import { formatCost, type CostFormat, type StackCost } from "./costFormat";

export interface CostArgs {
  readonly stacks: readonly string[];
  readonly format: CostFormat;
  readonly fromConfig: boolean;
}

export const COST_USAGE =
  "usage: npm run cost -- [--stack <name> ...] [--format table|markdown|json] [--from-config]";

export class CostUsageError extends Error {}

const COST_OPTIONS = {
  stack: { type: "string", multiple: true },
  format: { type: "string" },
  "from-config": { type: "boolean" },
} as const;

const FORMATS: readonly CostFormat[] = ["table", "markdown", "json"];

/**
 * `argv` (without node and the script) -> what to price and how to print it. Throws CostUsageError
 * (its message ends with the usage line) for an unknown argument, a flag without its value, or a
 * format other than table, markdown or json.
 */
export function parseCostArgs(argv: readonly string[]): CostArgs {
  // Not strict: util.parseArgs would refuse in its own words; its tokens let the texts stay these.
  const { tokens, values } = parseArgs({
    args: [...argv],
    options: COST_OPTIONS,
    strict: false,
    allowPositionals: true,
    tokens: true,
  });
  const usage = (problem: string) => new CostUsageError(`${problem}\n${COST_USAGE}`);
  for (const token of tokens) {
    const known = token.kind === "option" && Object.hasOwn(COST_OPTIONS, token.name);
    if (!known || (token.name === "from-config" && token.value !== undefined))
      throw usage(`unknown argument "${argv[token.index]}"`);
    // A flag right before another flag has no value (parseArgs would take the flag as it).
    if (token.name !== "from-config" && (token.value === undefined || token.value.startsWith("--")))
      throw usage(`${token.rawName} needs a value`);
    if (token.name === "format" && !(FORMATS as readonly string[]).includes(token.value as string))
      throw usage(`--format "${token.value}": allowed are ${FORMATS.join(", ")}`);
  }
  return {
    stacks: (values.stack ?? []) as string[],
    format: (values.format ?? "table") as CostFormat,
    fromConfig: values["from-config"] === true,
  };
}

/** What `npm run cost` reads of the deployed stacks; behind an interface so tests replace it. */
export interface DeployedStacks {
  /** Every stack of the project in the backend (`pulumi stack ls`). */
  names(): Promise<string[]>;
  /** A stack's outputs, secrets as "[secret]"; rejects with the CLI's stderr as the message. */
  outputs(stack: string): Promise<Record<string, unknown>>;
}

/**
 * The deployed stacks through the Automation API: a LocalWorkspace on `workDir` (the project
 * directory) with the `pulumi` on PATH (never a downloaded one) and this process's environment
 * (PULUMI_BACKEND_URL, PULUMI_CONFIG_PASSPHRASE, ...). Rejects if no `pulumi` runs.
 */
export async function workspaceStacks(workDir: string): Promise<DeployedStacks> {
  const workspace = await LocalWorkspace.create({ workDir, pulumiCommand: await PulumiCommand.get() });
  return {
    names: async () => (await workspace.listStacks()).map((stack) => stack.name),
    outputs: async (stack) => {
      try {
        return maskedOutputs(await workspace.stackOutputs(stack));
      } catch (error) {
        if (error instanceof CommandError) throw new Error(commandOutcomeOf(error).stderr);
        throw error;
      }
    },
  };
}

/** The deployed `costReport` of each stack (all stacks when none are named). */
export async function deployedCosts(
  stacks: readonly string[],
  deployed: DeployedStacks,
): Promise<StackCost[]> {
  const names = stacks.length > 0 ? stacks : await deployed.names();
  return Promise.all(
    names.map(async (stack): Promise<StackCost> => {
      try {
        const outputs = await deployed.outputs(stack);
        return isCostReport(outputs.costReport)
          ? { stack, report: outputs.costReport }
          : {
              stack,
              error: "no costReport output (not deployed since cost reports were added); try --from-config",
            };
      } catch (error) {
        return { stack, error: `pulumi stack output failed: ${firstLine(error)}` };
      }
    }),
  );
}

function firstLine(error: unknown): string {
  return (error as Error).message.trim().split("\n")[0] ?? "";
}

/**
 * A committed `Pulumi.<stack>.yaml` read once, the way Pulumi hands it to the program: `raw`, the
 * plain values (objects as JSON text, then parsed by readRawConfig; secrets are not read), and
 * `setKeys`, the project keys the file sets, so validation refuses a typo as preview does.
 */
export function stackFileConfig(text: string): { raw: Record<string, unknown>; setKeys: string[] } {
  const document = (yaml.load(text) ?? {}) as { config?: Record<string, unknown> };
  const values = document.config ?? {};
  const raw = readRawConfig((key) => {
    const value = values[`${CONFIG_NAMESPACE}${key}`];
    return value === undefined ? undefined : engineConfigText(value, `${CONFIG_NAMESPACE}${key}`);
  });
  return { raw, setKeys: projectKeys(Object.keys(values)) };
}

/** Prices committed stack configs without deploying them. */
export async function configCosts(
  stacks: readonly string[],
  root: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<StackCost[]> {
  const names = stacks.length > 0 ? stacks : [...LAYERS];
  const costs: StackCost[] = [];
  for (const stack of names) {
    try {
      const { raw, setKeys } = stackFileConfig(readFileSync(join(root, `Pulumi.${stack}.yaml`), "utf8"));
      // Pricing needs no secret: treat them all as present so only the priced keys are judged.
      const config = validateStackConfig(raw, SECRET_KEYS, setKeys);
      // The stack's lambdaApiUrl, then LAMBDA_API_URL / LAMBDA_API_KEY: the program's own order.
      const lambda = chosenLambdaSettings(
        config.lambdaApiUrl !== undefined ? { apiUrl: config.lambdaApiUrl } : {},
        env,
      );
      const priced = await priceStackConfig(config, lambda, lambda.apiKey === undefined);
      costs.push({ stack, report: priced.report });
    } catch (error) {
      costs.push({ stack, error: (error as Error).message.replace(/\n\s*/g, "\n") });
    }
  }
  return costs;
}

export async function runCost(
  argv: readonly string[],
  deps: {
    out: (text: string) => void;
    err: (text: string) => void;
    /** Opened only for deployed costs (not with --from-config). */
    deployed: () => Promise<DeployedStacks>;
    root: string;
  },
): Promise<number> {
  let args: CostArgs;
  try {
    args = parseCostArgs(argv);
  } catch (error) {
    if (!(error instanceof CostUsageError)) throw error;
    deps.err(`${error.message}\n`);
    return 2;
  }
  const costs = args.fromConfig
    ? await configCosts(args.stacks, deps.root)
    : await deployedCosts(args.stacks, await deps.deployed());
  deps.out(formatCost(costs, args.format));
  return costs.some((entry) => "error" in entry) ? 1 : 0;
}

if (require.main === module) {
  runCost(process.argv.slice(2), {
    out: (text) => process.stdout.write(text),
    err: (text) => process.stderr.write(text),
    deployed: () => workspaceStacks(join(__dirname, "..")),
    root: join(__dirname, ".."),
  }).then(
    (code) => (process.exitCode = code),
    (error: unknown) => {
      process.stderr.write(`cost failed: ${(error as Error).message}\n`);
      process.exitCode = 1;
    },
  );
}
