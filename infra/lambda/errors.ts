/**
 * Errors from the Lambda Cloud API, typed by Lambda's `error.code` (never by message text: Lambda
 * says messages and suggestions change, codes do not).
 *
 * None of these errors carries request headers, the request config or the raw axios error: axios
 * errors hold `config.headers.Authorization`, and a stack trace or a `JSON.stringify` of one
 * would print the API key.
 */

export type LambdaErrorKind =
  | "invalid-api-key"
  | "account-inactive"
  | "invalid-address"
  | "invalid-parameters"
  | "not-found"
  | "quota-exceeded"
  | "insufficient-capacity"
  | "filesystem-wrong-region"
  | "in-use"
  | "duplicate"
  | "internal-conflict"
  | "provider"
  | "rate-limited"
  | "server"
  | "network"
  | "unknown";

/** Maps a Lambda error code (and HTTP status) to the kind the client branches on. */
export function classifyLambdaError(
  code: string | undefined,
  httpStatus: number | undefined,
): LambdaErrorKind {
  switch (code) {
    case "global/invalid-api-key":
      return "invalid-api-key";
    case "global/account-inactive":
      return "account-inactive";
    case "global/invalid-address":
      return "invalid-address";
    case "global/invalid-parameters":
      return "invalid-parameters";
    case "global/object-does-not-exist":
      return "not-found";
    case "global/quota-exceeded":
      return "quota-exceeded";
    case "global/duplicate":
      return "duplicate";
    case "global/internal-error":
      return "internal-conflict";
    case "instance-operations/launch/insufficient-capacity":
      return "insufficient-capacity";
    case "instance-operations/launch/file-system-in-wrong-region":
      return "filesystem-wrong-region";
    case "filesystems/filesystem-in-use":
    case "firewall-rulesets/firewall-ruleset-in-use":
    case "ssh-keys/key-in-use":
      return "in-use";
  }
  if (code?.startsWith("provider/")) return "provider";
  if (httpStatus === 429) return "rate-limited";
  if (httpStatus !== undefined && httpStatus >= 500) return "server";
  return "unknown";
}

/** Kinds worth another attempt after a delay. Everything else is a definitive rejection. */
export function isRetryableKind(kind: LambdaErrorKind): boolean {
  return (
    kind === "rate-limited" ||
    kind === "server" ||
    kind === "provider" ||
    kind === "network" ||
    kind === "internal-conflict"
  );
}

export interface LambdaApiErrorDetails {
  readonly operation: string;
  readonly kind: LambdaErrorKind;
  readonly code?: string;
  readonly httpStatus?: number;
  readonly lambdaMessage?: string;
  readonly suggestion?: string;
  /** Seconds the server asked us to wait (Retry-After), when it said. */
  readonly retryAfterSeconds?: number;
  readonly attempts?: number;
}

export class LambdaApiError extends Error {
  readonly operation: string;
  readonly kind: LambdaErrorKind;
  readonly code?: string;
  readonly httpStatus?: number;
  readonly suggestion?: string;
  readonly retryAfterSeconds?: number;
  readonly attempts: number;

  constructor(details: LambdaApiErrorDetails) {
    super(describeLambdaError(details));
    // Set again explicitly: Pulumi's closure serializer turns `super(...)` into `Error.call(this, ...)`,
    // which does not set `message` on the instance.
    this.message = describeLambdaError(details);
    this.name = "LambdaApiError";
    this.operation = details.operation;
    this.kind = details.kind;
    this.code = details.code;
    this.httpStatus = details.httpStatus;
    this.suggestion = details.suggestion;
    this.retryAfterSeconds = details.retryAfterSeconds;
    this.attempts = details.attempts ?? 1;
  }

  get retryable(): boolean {
    return isRetryableKind(this.kind);
  }
}

/** `Lambda API launchInstance failed: instance-operations/launch/insufficient-capacity (HTTP 400): Not enough ... Try ...` */
export function describeLambdaError(details: LambdaApiErrorDetails): string {
  const what =
    details.code ?? (details.httpStatus !== undefined ? `HTTP ${details.httpStatus}` : details.kind);
  const status =
    details.code !== undefined && details.httpStatus !== undefined ? ` (HTTP ${details.httpStatus})` : "";
  const text = [details.lambdaMessage, details.suggestion].filter(
    (part) => part !== undefined && part !== "",
  );
  const tries = (details.attempts ?? 1) > 1 ? ` after ${details.attempts} attempts` : "";
  return `Lambda API ${details.operation} failed${tries}: ${what}${status}${text.length > 0 ? `: ${text.join(" ")}` : ""}`;
}

/** True when `error` is a LambdaApiError of the given kind. */
export function isLambdaError(error: unknown, kind?: LambdaErrorKind): error is LambdaApiError {
  return error instanceof LambdaApiError && (kind === undefined || error.kind === kind);
}

/**
 * The forms of `secret` a server might echo in an error body: as is, JSON-escaped, URL-encoded,
 * hex (either case), and base64/base64url as part of anything (the `Bearer <key>` header, the
 * `<key>:` of HTTP Basic, a JSON blob). Base64 packs 3 bytes into 4 characters, so the secret
 * starting at each of the 3 byte offsets encodes differently; for each, only the characters made
 * of the secret's bits alone are kept (the 1-2 at each end that mix in a neighbour's bits vary,
 * and leak at most a few bits). Forms shorter than 8 characters are left out: they would match
 * ordinary text. Longest first, so a longer form is never half-replaced by a shorter one.
 */
export function secretForms(secret: string): string[] {
  const bytes = Buffer.from(secret, "utf8");
  const forms = new Set<string>([
    secret,
    JSON.stringify(secret).slice(1, -1),
    JSON.stringify(secret).slice(1, -1).replace(/\//g, "\\/"),
    encodeURIComponent(secret),
    encodeURIComponent(secret).replace(/%[0-9A-F]{2}/g, (escape) => escape.toLowerCase()),
    encodeURIComponent(secret).replace(/%20/g, "+"),
    bytes.toString("hex"),
    bytes.toString("hex").toUpperCase(),
  ]);
  for (let offset = 0; offset < 3; offset++) {
    const encoded = Buffer.concat([Buffer.alloc(offset), bytes]).toString("base64");
    // Character i carries bits [6i, 6i + 6): keep those inside the secret's bits [8 offset, 8 (offset + n)).
    const first = Math.ceil((8 * offset) / 6);
    const end = Math.floor((8 * (offset + bytes.length)) / 6);
    const pure = encoded.slice(first, end);
    forms.add(pure);
    forms.add(pure.replace(/\+/g, "-").replace(/\//g, "_"));
  }
  return [...forms].filter((form) => form.length >= 8 || form === secret).sort((a, b) => b.length - a.length);
}

/**
 * Replaces every occurrence of each secret in `text`, in every form `secretForms` lists, with
 * `[REDACTED]`. Secrets shorter than 4 characters are not redacted (they would match anything).
 */
export function redactSecrets(text: string, secrets: ReadonlyArray<string | undefined>): string {
  let redacted = text;
  for (const secret of secrets) {
    if (secret === undefined || secret.length < 4) continue;
    for (const form of secretForms(secret)) redacted = redacted.split(form).join("[REDACTED]");
  }
  return redacted;
}

/** A 2xx response whose body does not match the contract; the message names the field. */
export class LambdaResponseShapeError extends Error {
  constructor(operation: string, problems: string) {
    super(`Lambda API ${operation}: unexpected response, field ${problems}`);
    this.message = `Lambda API ${operation}: unexpected response, field ${problems}`;
    this.name = "LambdaResponseShapeError";
  }
}
