/**
 * Where the Lambda Cloud API is and which key to use.
 *
 * Precedence: explicit argument, then stack config handed to a dynamic provider's `configure`
 * (`orchestra:lambdaApiUrl`, secret `orchestra:lambdaApiKey`), then `LAMBDA_API_URL` /
 * `LAMBDA_API_KEY`, then the default URL. Settings from `configure` are kept on globalThis, never
 * on the provider object, which is serialized into state.
 */

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
  const holder = globalThis as unknown as Record<string, ConfiguredSettings | undefined>;
  return (holder[CONFIGURED_KEY] ??= {});
}

/** Called from a dynamic provider's `configure` with values from stack config. */
export function rememberConfiguredSettings(values: ConfiguredSettings): void {
  const current = configuredSettings();
  if (values.apiUrl !== undefined && values.apiUrl !== "") current.apiUrl = values.apiUrl;
  if (values.apiKey !== undefined && values.apiKey !== "") current.apiKey = values.apiKey;
}

export function forgetConfiguredSettings(): void {
  const holder = globalThis as unknown as Record<string, ConfiguredSettings | undefined>;
  holder[CONFIGURED_KEY] = undefined;
}

export function resolveLambdaSettings(explicit: Partial<LambdaSettings> = {}): LambdaSettings {
  const configured = configuredSettings();
  const apiUrl =
    explicit.apiUrl ?? configured.apiUrl ?? nonEmpty(process.env.LAMBDA_API_URL) ?? DEFAULT_LAMBDA_API_URL;
  const apiKey = explicit.apiKey ?? configured.apiKey ?? nonEmpty(process.env.LAMBDA_API_KEY);
  if (apiKey === undefined) {
    throw new Error(
      "No Lambda Cloud API key: set the LAMBDA_API_KEY environment variable, or run " +
        "`pulumi config set --secret lambdaApiKey <key>` for the stack. Keys are created at https://cloud.lambda.ai/api-keys.",
    );
  }
  if (!/^https?:\/\/[^\s/]+/.test(apiUrl)) {
    throw new Error(
      `Lambda API URL "${apiUrl}" is not an http(s) URL; set LAMBDA_API_URL or lambdaApiUrl to e.g. ${DEFAULT_LAMBDA_API_URL}`,
    );
  }
  return { apiUrl: apiUrl.replace(/\/+$/, ""), apiKey };
}

/**
 * True when a key is configured (stack config or LAMBDA_API_KEY), without throwing: `check` uses
 * it to skip API lookups on a machine without the key instead of failing the whole preview.
 */
export function lambdaApiKeyConfigured(): boolean {
  return (configuredSettings().apiKey ?? nonEmpty(process.env.LAMBDA_API_KEY)) !== undefined;
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === "" ? undefined : value;
}
