/**
 * Where the Lambda Cloud API is and which key to use.
 *
 * Precedence: explicit argument, then stack config handed to a dynamic provider's `configure`
 * (`orchestra:lambdaApiUrl`, secret `orchestra:lambdaApiKey`), then `LAMBDA_API_URL` /
 * `LAMBDA_API_KEY`, then the default URL. Settings from `configure` are process-wide
 * (infra/processWide.ts), never on the provider object, which is serialized into state.
 */
import { forgetProcessWide, processWide } from "../processWide";

export const DEFAULT_LAMBDA_API_URL = "https://cloud.lambda.ai";

export interface LambdaSettings {
  readonly apiUrl: string;
  readonly apiKey: string;
}

interface ConfiguredSettings {
  apiUrl?: string;
  apiKey?: string;
}

const CONFIGURED_KEY = "__orchestraLambdaConfigured";

function configuredSettings(): ConfiguredSettings {
  return processWide<ConfiguredSettings>(CONFIGURED_KEY, () => ({}));
}

/** Called from a dynamic provider's `configure` with values from stack config. */
export function rememberConfiguredSettings(values: ConfiguredSettings): void {
  const current = configuredSettings();
  if (values.apiUrl !== undefined && values.apiUrl !== "") current.apiUrl = values.apiUrl;
  if (values.apiKey !== undefined && values.apiKey !== "") current.apiKey = values.apiKey;
}

export function forgetConfiguredSettings(): void {
  forgetProcessWide(CONFIGURED_KEY);
}

/**
 * The URL and key the precedence above picks (explicit, then configured, then the environment),
 * without the default URL and without refusing a missing key. The one home of that precedence.
 * `env`: where the environment variables are read (tests pass their own).
 */
export function chosenLambdaSettings(
  explicit: Partial<LambdaSettings> = {},
  env: NodeJS.ProcessEnv = process.env,
): Partial<LambdaSettings> {
  const configured = configuredSettings();
  const apiUrl = nonEmpty(explicit.apiUrl) ?? configured.apiUrl ?? nonEmpty(env.LAMBDA_API_URL);
  const apiKey = nonEmpty(explicit.apiKey) ?? configured.apiKey ?? nonEmpty(env.LAMBDA_API_KEY);
  return { ...(apiUrl !== undefined ? { apiUrl } : {}), ...(apiKey !== undefined ? { apiKey } : {}) };
}

export function resolveLambdaSettings(explicit: Partial<LambdaSettings> = {}): LambdaSettings {
  const chosen = chosenLambdaSettings(explicit);
  const apiUrl = chosen.apiUrl ?? DEFAULT_LAMBDA_API_URL;
  const apiKey = chosen.apiKey;
  if (apiKey === undefined) {
    throw new Error(
      "No Lambda Cloud API key: set the LAMBDA_API_KEY environment variable, or run " +
        "`pulumi config set --secret lambdaApiKey <key>` for the stack. Keys are created at https://cloud.lambda.ai/api-keys.",
    );
  }
  if (!/^https?:\/\/[^\s/]+/.test(apiUrl)) {
    throw new Error(
      `Lambda API URL "${withoutPassword(apiUrl)}" is not an http(s) URL; set LAMBDA_API_URL or lambdaApiUrl to e.g. ${DEFAULT_LAMBDA_API_URL}`,
    );
  }
  const problem = lambdaApiUrlProblem(apiUrl);
  if (problem !== undefined) {
    throw new Error(
      `Lambda API URL "${withoutPassword(apiUrl)}": ${problem}; set LAMBDA_API_URL or lambdaApiUrl to e.g. ${DEFAULT_LAMBDA_API_URL}`,
    );
  }
  return { apiUrl: apiUrl.replace(/\/+$/, ""), apiKey };
}

const LOOPBACK_HOST = /^(?:localhost|127(?:\.\d{1,3}){3}|\[::1\])$/;

/**
 * Why `url` must not be the Lambda API base URL, or undefined when it may: the API key travels in
 * every request, so plain http is allowed to loopback only (the local emulator), and the URL may
 * carry no credentials, query or fragment (paths are appended to it).
 */
export function lambdaApiUrlProblem(url: string): string | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    parsed = new URL("invalid:");
  }
  if (
    !["https:", "http:"].includes(parsed.protocol) ||
    parsed.host === "" ||
    parsed.search !== "" ||
    parsed.hash !== "" ||
    // URL reports an empty query or fragment ("...ai?", "...ai/#") as "", yet the text keeps it.
    /[?#]/.test(url)
  )
    return "must be an https:// URL such as https://cloud.lambda.ai, without a query or fragment";
  if (parsed.username !== "" || parsed.password !== "")
    return "must not carry a user name or password (URLs are stored and logged in plain text); the API key goes in `pulumi config set --secret lambdaApiKey <key>`";
  if (parsed.protocol === "http:" && !LOOPBACK_HOST.test(parsed.hostname))
    return "plain http:// would send the Lambda API key in clear text; use https://, or http:// only to a loopback address (127.0.0.0/8, localhost, [::1]) such as the local emulator";
  return undefined;
}

/**
 * `url` with all its user info (a token as the user name, user:password) replaced by ***, for
 * error messages. The user info ends at the last `@` before the path: a password may contain `@`.
 */
export function withoutPassword(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/?#]*@/i, "$1***@");
}

/**
 * True when a key is configured (stack config or LAMBDA_API_KEY), without throwing: `check` uses
 * it to skip API lookups on a machine without the key instead of failing the whole preview.
 */
export function lambdaApiKeyConfigured(): boolean {
  return chosenLambdaSettings().apiKey !== undefined;
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === "" ? undefined : value;
}
