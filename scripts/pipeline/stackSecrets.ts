/**
 * A pipeline job's secrets into a stack's config. The committed stack files hold plain values
 * only; a job gets each secret from its repository's or environment's secrets as an environment
 * variable named after the config key (`databasePassword` -> `DATABASE_PASSWORD`; every key of
 * SECRET_KEYS, stacks/configSchema.ts) and sets it encrypted with the stack's passphrase, through
 * stdin: a value on `pulumi config set`'s command line would show in `ps` and in a failed
 * command's message. A variable that is unset or empty sets nothing, so the program's own config
 * check names what is missing (LAMBDA_API_KEY is also read by the program itself).
 */
import { execFileSync } from "child_process";
import { SECRET_KEYS, type SecretKey } from "../../stacks/configSchema";

/** `databasePassword` -> `DATABASE_PASSWORD`. */
export function secretEnvName(key: SecretKey): string {
  return key.replace(/([a-z0-9])([A-Z])/g, "$1_$2").toUpperCase();
}

/** The secrets `env` holds (non-empty), by config key, in SECRET_KEYS order. */
export function secretsFromEnv(env: NodeJS.ProcessEnv): Array<{ key: SecretKey; value: string }> {
  return SECRET_KEYS.flatMap((key) => {
    const value = env[secretEnvName(key)];
    return value === undefined || value === "" ? [] : [{ key, value }];
  });
}

/**
 * Sets each secret `env` holds on `stack` (`pulumi config set --secret <key> --stack <stack>` in
 * `root`, the value on stdin). Returns the keys set; throws naming the key (never the value) when
 * the CLI refuses one.
 */
export function setSecretsFromEnv(
  stack: string,
  root: string,
  env: NodeJS.ProcessEnv = process.env,
): SecretKey[] {
  const found = secretsFromEnv(env);
  for (const { key, value } of found) {
    try {
      execFileSync("pulumi", ["config", "set", "--secret", key, "--stack", stack, "--non-interactive"], {
        cwd: root,
        input: value,
        stdio: ["pipe", "ignore", "pipe"],
      });
    } catch (error) {
      const stderr = String((error as { stderr?: Buffer }).stderr ?? "").trim();
      throw new Error(`pulumi config set --secret ${key} --stack ${stack} failed: ${stderr}`);
    }
  }
  return found.map(({ key }) => key);
}
