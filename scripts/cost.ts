/**
 * `npm run cost -- [--stack <name> ...] [--format table|markdown|json] [--from-config]`
 *
 * Default: reads the `costReport` output of the given stacks, or of every stack
 * (`pulumi stack ls --json`), with `pulumi stack output --json --stack <s>`, and prints a table per
 * stack and the total across them. `--format markdown` is what a pull-request comment shows.
 * `--from-config` prices the committed `Pulumi.<stack>.yaml` instead (local, integration, staging
 * and production by default) without deploying: what a pull request would cost before it merges.
 * It uses the dated snapshot, or the live API when LAMBDA_API_KEY is set (LAMBDA_API_URL, else the
 * stack's lambdaApiUrl).
 *
 * Exit codes: 0 printed; 1 a stack could not be priced or read (still printed, with the reason);
 * 2 bad arguments.
 */
import { execFile } from "child_process";
import { readFileSync } from "fs";
import * as yaml from "js-yaml";
import { join } from "path";
import { promisify } from "util";
import { LAYERS } from "../stacks/configSchema";
import { readRawConfig, validateStackConfig } from "../stacks/config";
import { CONFIG_NAMESPACE, engineConfigText, projectKeys } from "../stacks/configRead";
import { SECRET_KEYS } from "../stacks/configSchema";
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

export function parseCostArgs(argv: readonly string[]): CostArgs {
  const stacks: string[] = [];
  let format: CostFormat = "table";
  let fromConfig = false;
  for (let index = 0; index < argv.length; index++) {
    const arg = argv[index];
    if (arg === "--from-config") fromConfig = true;
    else if (arg === "--stack" || arg === "--format") {
      const value = argv[++index];
      if (value === undefined || value.startsWith("--"))
        throw new CostUsageError(`${arg} needs a value\n${COST_USAGE}`);
      if (arg === "--stack") stacks.push(value);
      else if (value === "table" || value === "markdown" || value === "json") format = value;
      else throw new CostUsageError(`--format "${value}": allowed are table, markdown, json\n${COST_USAGE}`);
    } else throw new CostUsageError(`unknown argument "${arg}"\n${COST_USAGE}`);
  }
  return { stacks, format, fromConfig };
}

/** Runs the Pulumi CLI and returns its stdout; behind a function so tests replace it. */
export type PulumiCli = (args: readonly string[]) => Promise<string>;

export const runPulumi: PulumiCli = async (args) =>
  (await promisify(execFile)("pulumi", [...args, "--non-interactive"], { maxBuffer: 64 * 1024 * 1024 }))
    .stdout;

/** The deployed `costReport` of each stack (all stacks when none are named). */
export async function deployedCosts(stacks: readonly string[], pulumi: PulumiCli): Promise<StackCost[]> {
  const names =
    stacks.length > 0
      ? stacks
      : (JSON.parse(await pulumi(["stack", "ls", "--json"])) as { name: string }[]).map(
          (stack) => stack.name,
        );
  return Promise.all(
    names.map(async (stack): Promise<StackCost> => {
      try {
        const outputs = JSON.parse(await pulumi(["stack", "output", "--json", "--stack", stack])) as Record<
          string,
          unknown
        >;
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
  const text = (error as { stderr?: string }).stderr ?? (error as Error).message;
  return text.trim().split("\n")[0] ?? "";
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
      const apiKey = env.LAMBDA_API_KEY ?? "";
      const apiUrl = env.LAMBDA_API_URL ?? config.lambdaApiUrl;
      const priced = await priceStackConfig(
        config,
        { ...(apiKey !== "" ? { apiKey } : {}), ...(apiUrl !== undefined ? { apiUrl } : {}) },
        apiKey === "",
      );
      costs.push({ stack, report: priced.report });
    } catch (error) {
      costs.push({ stack, error: (error as Error).message.replace(/\n\s*/g, "\n") });
    }
  }
  return costs;
}

export async function runCost(
  argv: readonly string[],
  deps: { out: (text: string) => void; err: (text: string) => void; pulumi: PulumiCli; root: string },
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
    : await deployedCosts(args.stacks, deps.pulumi);
  deps.out(formatCost(costs, args.format));
  return costs.some((entry) => "error" in entry) ? 1 : 0;
}

if (require.main === module) {
  runCost(process.argv.slice(2), {
    out: (text) => process.stdout.write(text),
    err: (text) => process.stderr.write(text),
    pulumi: runPulumi,
    root: join(__dirname, ".."),
  }).then(
    (code) => (process.exitCode = code),
    (error: unknown) => {
      process.stderr.write(`cost failed: ${(error as Error).message}\n`);
      process.exitCode = 1;
    },
  );
}
