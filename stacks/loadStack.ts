/**
 * The program's one read of its stack: `orchestra:*` config read exactly once, validated into the
 * frozen StackConfig (every problem reported together), the secrets as Pulumi secrets (the Lambda
 * API key included), the Lambda API settings for the budget gate, and the stack's identity.
 * Nothing else in the program constructs a `pulumi.Config` or asks the engine for the stack name.
 */
import * as pulumi from "@pulumi/pulumi";
import { SECRET_NAMES } from "../components/containerSpec";
import { StackConfigError, validateStackConfig, type StackConfig, type StackSecrets } from "./config";
import { projectKeys, readRawConfig } from "./configRead";
import { SECRET_KEYS, type SecretKey } from "./configSchema";
import type { StackIdentity } from "./layerPlan";

/** Where the budget gate asks Lambda for prices: the stack's own settings (the environment is the client's fallback). */
export interface LambdaAccess {
  readonly apiUrl?: string;
  /** `orchestra:lambdaApiKey`, a Pulumi secret; undefined when the stack does not set it. */
  readonly apiKey?: pulumi.Output<string>;
}

export interface LoadedStack {
  readonly config: StackConfig;
  readonly secrets: StackSecrets;
  readonly lambda: LambdaAccess;
  readonly identity: StackIdentity;
}

/**
 * Reads and validates the stack's config. Throws a `pulumi.RunError` (printed as its message
 * alone, no stack trace) listing every config problem.
 */
export function loadStack(): LoadedStack {
  const source = new pulumi.Config("orchestra");
  // Only presence is decided here: the values stay inside secret Outputs.
  const present = SECRET_KEYS.filter((key) => (source.get(key) ?? "") !== "");
  // Only the names of what the stack sets, to refuse undeclared keys; their values are not read.
  const setKeys = projectKeys(Object.keys(pulumi.runtime.allConfig()));
  let config: StackConfig;
  try {
    config = validateStackConfig(
      readRawConfig((key) => source.get(key)),
      present,
      setKeys,
    );
  } catch (error) {
    // A RunError prints as its message alone: without it the engine adds a stack trace and repeats
    // every problem as the error's `problems` property.
    if (error instanceof StackConfigError) throw new pulumi.RunError(error.message);
    throw error;
  }
  const secrets = readSecrets(config, present, (key) => source.requireSecret(key));
  return {
    config,
    secrets,
    lambda: {
      ...(config.lambdaApiUrl !== undefined ? { apiUrl: config.lambdaApiUrl } : {}),
      ...(secrets.lambdaApiKey !== undefined ? { apiKey: secrets.lambdaApiKey } : {}),
    },
    identity: { project: pulumi.getProject(), stack: pulumi.getStack() },
  };
}

/**
 * The secrets the program uses: the ones the config requires, the store secrets that are set
 * (a fleet-only stack needs none, but a set one still yields its connection string), and the
 * Lambda API key when set. Each stays a Pulumi secret end to end.
 */
export function readSecrets(
  config: StackConfig,
  present: readonly SecretKey[],
  read: (key: SecretKey) => pulumi.Output<string>,
): StackSecrets {
  const optional: readonly SecretKey[] = [...SECRET_NAMES, "lambdaApiKey"];
  const keys = [
    ...config.requiredSecrets,
    ...optional.filter((key) => !config.requiredSecrets.includes(key) && present.includes(key)),
  ];
  return Object.fromEntries(keys.map((key) => [key, read(key)]));
}

/**
 * A secret's plain value, for the gates that need one before any resource exists: the budget
 * gate's price lookup (the Lambda API key) and the backup bucket check (the bucket's keys). Config
 * values are always known, so this resolves at preview too. Hand the value to its client only:
 * never log, throw or export it.
 */
export function revealForGate(secret: pulumi.Output<string>): Promise<string> {
  return new Promise((resolve) => secret.apply(resolve));
}
