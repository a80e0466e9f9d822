/**
 * Lambda's clock, as its HTTP `Date` response header reports it: the one clock the instance TTL is
 * stamped with at launch and judged by when reaping. The launching laptop's and the reaper's own
 * clocks can each be hours off; comparing a deadline stamped by one with the other terminated
 * fresh nodes (and kept stale ones).
 *
 * Each response with a parseable `Date` records (server time, this process's monotonic time); the
 * server's "now" is that reading plus the monotonic time elapsed since, so a local wall clock that
 * is wrong, or jumps, does not matter. A `Date` header has one-second resolution and is truncated,
 * so the estimate runs up to ~1 s (plus one request's latency) behind Lambda: an expiry stamped from
 * it is at most that much later, and a reaper judging by it acts at most that much later. Both
 * errors fall on the side of keeping an instance a moment longer.
 *
 * The reading is process-wide (infra/processWide.ts: every serialized provider captures its own
 * copy of this module), and kept per API URL. `performance` is Node's global (no import, so the
 * serialized copy needs no module).
 */
import { forgetProcessWide, processWide } from "../processWide";

const CLOCK_KEY = "__orchestraLambdaServerClock";

interface Reading {
  /** Lambda's time from the `Date` header, ms since the epoch. */
  readonly serverMs: number;
  /** `performance.now()` when the response arrived. */
  readonly monotonicMs: number;
}

function readings(): Record<string, Reading | undefined> {
  return processWide<Record<string, Reading | undefined>>(CLOCK_KEY, () => ({}));
}

/**
 * Records the `Date` header of a response from `apiUrl`. A missing or unparseable header records
 * nothing (the previous reading, if any, stays in use).
 */
export function recordServerDate(apiUrl: string, dateHeader: unknown): void {
  if (typeof dateHeader !== "string") return;
  const serverMs = Date.parse(dateHeader);
  if (Number.isNaN(serverMs)) return;
  readings()[apiUrl] = { serverMs, monotonicMs: performance.now() };
}

/**
 * The error when no response from the API has carried a usable `Date` header yet: a plain Error
 * named ServerClockUnknownError (not a subclass: a closure-serialized Error subclass loses its
 * message and is no Error to the engine).
 */
export function serverClockUnknown(apiUrl: string): Error {
  const error = new Error(
    `Lambda's clock is unknown: no response from ${apiUrl} has carried an HTTP Date header yet. ` +
      "Instance expiries are stamped and judged by Lambda's clock only, never this machine's; " +
      "check that nothing between here and the API (a proxy) strips the Date header.",
  );
  error.name = "ServerClockUnknownError";
  return error;
}

/**
 * Lambda's current time in ms since the epoch, from the latest `Date` header seen from `apiUrl`.
 * @throws ServerClockUnknownError (see serverClockUnknown) when no response from `apiUrl` has carried one.
 */
export function serverNowMs(apiUrl: string): number {
  const reading = readings()[apiUrl];
  if (reading === undefined) throw serverClockUnknown(apiUrl);
  return reading.serverMs + (performance.now() - reading.monotonicMs);
}

/** Forgets every reading (tests). */
export function forgetServerClock(): void {
  forgetProcessWide(CLOCK_KEY);
}
