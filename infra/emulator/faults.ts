/**
 * Faults the emulator injects per operation, counted down as they fire. Kept apart from the HTTP
 * front so that each fault is one small, testable decision.
 */
import type { EmulatorOptions } from "./options";

/** What a misbehaving proxy in front of Lambda might send with a 200: not JSON at all. */
export const UNPARSABLE_BODY = "<html><head><title>OK</title></head><body>upstream answered</body></html>";

/** Uses up one fault of `counters[operation]`; true when one was left. */
export function takeFault(counters: Record<string, number>, operation: string): boolean {
  const left = counters[operation] ?? 0;
  if (left <= 0) return false;
  counters[operation] = left - 1;
  return true;
}

/** True when this request is to be answered 429 by an injected fault (not by the rate limit). */
export function injected429(options: EmulatorOptions, isLaunch: boolean): boolean {
  return options.fail429 > 0 || (isLaunch && options.failLaunch429 > 0);
}

/** Uses up the injected 429 that `injected429` reported. */
export function takeInjected429(options: EmulatorOptions): void {
  if (options.fail429 > 0) options.fail429--;
  else options.failLaunch429--;
}

/** An HTTP 500 owed before the request is carried out: global, per operation, or a failed launch. */
export function take5xxBefore(options: EmulatorOptions, operation: string, isLaunch: boolean): boolean {
  if (options.fail5xx > 0) {
    options.fail5xx--;
    return true;
  }
  if (isLaunch && options.failLaunch5xx > 0) {
    options.failLaunch5xx--;
    return true;
  }
  return takeFault(options.fail5xxOn, operation);
}

/** How a carried-out request's answer is broken, if it is. */
export function takeAnswerFault(
  options: EmulatorOptions,
  operation: string,
  isLaunch: boolean,
): "drop" | "5xx" | "unparsable" | undefined {
  if (isLaunch && options.dropLaunchResponses > 0) {
    options.dropLaunchResponses--;
    return "drop";
  }
  if (isLaunch && options.launchThen5xx > 0) {
    options.launchThen5xx--;
    return "5xx";
  }
  return takeFault(options.unparsableOn, operation) ? "unparsable" : undefined;
}
