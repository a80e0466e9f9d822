/**
 * Retry policy: exponential backoff with jitter, honouring Retry-After. Pure functions; the
 * client owns the loop.
 */

export interface RetrySettings {
  /** Attempts in all, the first included. */
  readonly maxAttempts: number;
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
}

export function retrySettingsFromEnv(): RetrySettings {
  const base = Number(process.env.LAMBDA_RETRY_BASE_MS ?? "1000");
  const attempts = Number(process.env.LAMBDA_RETRY_ATTEMPTS ?? "7");
  return {
    maxAttempts: Number.isFinite(attempts) && attempts >= 1 ? Math.floor(attempts) : 7,
    baseDelayMs: Number.isFinite(base) && base >= 0 ? base : 1000,
    maxDelayMs: 60_000,
  };
}

/**
 * Delay before attempt `attempt + 1` (attempt counts from 1). With Retry-After, the server's word
 * wins, plus up to 10 % jitter so that concurrent callers do not return in lockstep; otherwise
 * "equal jitter": half the exponential step fixed, half random.
 */
export function backoffDelayMs(
  attempt: number,
  settings: RetrySettings,
  retryAfterSeconds: number | undefined,
  random: () => number = Math.random,
): number {
  if (retryAfterSeconds !== undefined) {
    const serverMs = retryAfterSeconds * 1000;
    return Math.round(serverMs + serverMs * 0.1 * random());
  }
  const step = Math.min(settings.maxDelayMs, settings.baseDelayMs * 2 ** (attempt - 1));
  return Math.round(step / 2 + (step / 2) * random());
}

/** Parses a Retry-After header: delta-seconds or an HTTP date. Undefined when absent or unreadable. */
export function parseRetryAfter(header: unknown, now: number = Date.now()): number | undefined {
  if (typeof header !== "string" || header.trim() === "") return undefined;
  const trimmed = header.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Number(trimmed);
  const date = Date.parse(trimmed);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, (date - now) / 1000);
}
