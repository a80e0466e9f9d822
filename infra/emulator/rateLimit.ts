/**
 * Lambda's rate limits as the emulator applies them: a request within `requestIntervalMs` of the
 * last accepted one, or a launch within `launchIntervalMs` of the last accepted launch, is answered
 * 429. Judged on arrival, before the body is read, as a front proxy would.
 */
import { injected429 } from "./faults";
import type { EmulatorOptions } from "./options";

/** When the next request and the next launch are accepted again (epoch ms). */
export interface RateLimiter {
  nextRequestAt: number;
  nextLaunchAt: number;
}

/**
 * The verdict on an authenticated API request that arrived at `arrivedAt`: `admitted` (and the
 * limiter's slots are taken from now), `too-soon` (the rate limit), or `injected-429` (a fault
 * pending in `options`; the caller uses it up with `takeInjected429` when it answers).
 */
export function judgeArrival(
  limiter: RateLimiter,
  options: EmulatorOptions,
  arrivedAt: number,
  isLaunch: boolean,
): "admitted" | "too-soon" | "injected-429" {
  if (arrivedAt < limiter.nextRequestAt || (isLaunch && arrivedAt < limiter.nextLaunchAt)) return "too-soon";
  if (injected429(options, isLaunch)) return "injected-429";
  if (options.requestIntervalMs > 0) limiter.nextRequestAt = arrivedAt + options.requestIntervalMs;
  if (isLaunch && options.launchIntervalMs > 0) limiter.nextLaunchAt = arrivedAt + options.launchIntervalMs;
  return "admitted";
}
