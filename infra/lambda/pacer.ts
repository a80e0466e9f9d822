/**
 * One process-wide request pacer for the Lambda Cloud API.
 *
 * Lambda documents "generally one request per second" and "one launch per 12 seconds". All dynamic
 * resources of a Pulumi program run in one provider process, so the pacer's state is process-wide
 * (infra/processWide.ts): a module captured by value in each serialized provider would otherwise
 * get its own copy, and eight instances would each believe they had the API alone.
 *
 * Slots are reserved synchronously (no await between reading and writing the state), so concurrent
 * callers in one event loop can never take the same slot.
 */
import { forgetProcessWide, processWide } from "../processWide";

export type RequestKind = "request" | "launch";

export interface PacerSettings {
  /** Minimum gap between any two requests. Default 1100 ms: Lambda's 1 s plus a margin for network jitter. */
  readonly requestIntervalMs: number;
  /** Minimum gap between two launches. Default 12200 ms: Lambda's 12 s plus a margin. */
  readonly launchIntervalMs: number;
}

export interface ApiCallStats {
  requests: number;
  launches: number;
  rateLimited: number;
  retries: number;
  byOperation: Record<string, number>;
}

interface PacerState {
  nextRequestAt: number;
  nextLaunchAt: number;
  lastLaunchSentAt: number;
  /** Launch slots reserved by launches still waiting to be sent. */
  pendingLaunchSlots: number[];
  stats: ApiCallStats;
}

const PACER_KEY = "__orchestraLambdaPacer";

function readIntervalFromEnv(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < 0) {
    throw new Error(
      `${name}=${raw} is not a number of milliseconds >= 0; unset it or set e.g. ${name}=${fallback}`,
    );
  }
  return value;
}

/** Intervals from `LAMBDA_REQUEST_INTERVAL_MS` / `LAMBDA_LAUNCH_INTERVAL_MS`, else Lambda's documented limits. */
export function pacerSettingsFromEnv(): PacerSettings {
  return {
    requestIntervalMs: readIntervalFromEnv("LAMBDA_REQUEST_INTERVAL_MS", 1100),
    launchIntervalMs: readIntervalFromEnv("LAMBDA_LAUNCH_INTERVAL_MS", 12200),
  };
}

function pacerState(): PacerState {
  return processWide<PacerState>(PACER_KEY, () => ({
    nextRequestAt: 0,
    nextLaunchAt: 0,
    lastLaunchSentAt: Number.NEGATIVE_INFINITY,
    pendingLaunchSlots: [],
    stats: { requests: 0, launches: 0, rateLimited: 0, retries: 0, byOperation: {} },
  }));
}

/**
 * Reserves the next general request slot and returns how long to wait for it. Pure with respect
 * to time: `now` is passed in, so the arithmetic is unit-testable.
 */
export function reserveRequestSlot(now: number, settings: PacerSettings): number {
  const state = pacerState();
  const slot = Math.max(now, state.nextRequestAt);
  state.nextRequestAt = slot + settings.requestIntervalMs;
  return slot - now;
}

/**
 * Reserves the next launch slot only. A launch then takes a general slot when its launch slot
 * comes, so that eight queued launches do not hold up every status poll behind them for 90 s.
 */
export function reserveLaunchSlot(now: number, settings: PacerSettings): number {
  const state = pacerState();
  const slot = Math.max(now, state.nextLaunchAt);
  state.nextLaunchAt = slot + settings.launchIntervalMs;
  return slot - now;
}

/**
 * When the next request of `kind` may be sent. Pure given the state: the arithmetic of `pace`.
 *
 * A launch may go once its turn came (`lastLaunchSentAt + launchInterval`) and a request slot is
 * free. A general request also yields to a launch that is due within one request interval: without
 * that, a status poll sent just before a launch's turn pushed the launch back by up to a request
 * interval, and since each launch is spaced from the previous one's real send time, every such
 * delay was carried into every later launch (seconds over a 32-node fleet).
 */
export function readyAtFor(
  kind: RequestKind,
  now: number,
  state: Pick<PacerState, "nextRequestAt" | "lastLaunchSentAt" | "pendingLaunchSlots">,
  settings: PacerSettings,
): number {
  const launchTurn = state.lastLaunchSentAt + settings.launchIntervalMs;
  if (kind === "launch") return Math.max(state.nextRequestAt, launchTurn);
  if (state.pendingLaunchSlots.length === 0) return state.nextRequestAt;
  const launchDueAt = Math.max(Math.min(...state.pendingLaunchSlots), launchTurn);
  const collides = Math.max(now, state.nextRequestAt) + settings.requestIntervalMs > launchDueAt;
  return collides
    ? Math.max(state.nextRequestAt, launchDueAt + settings.requestIntervalMs)
    : state.nextRequestAt;
}

const wait = (ms: number) => (ms > 0 ? new Promise((resolve) => setTimeout(resolve, ms)) : Promise.resolve());

/**
 * Waits for this caller's turn (for a launch: its launch slot, then a request slot). A timer can
 * fire late on a busy machine, so after waking the caller claims the slot against the clock as it
 * is then, and waits again if another caller got there first: the gap between two sends is never
 * shorter than the interval, whatever the event loop did.
 */
export async function pace(
  kind: RequestKind,
  settings: PacerSettings = pacerSettingsFromEnv(),
): Promise<void> {
  const state = pacerState();
  // Queued launches take turns in the order they asked (their reserved slots)...
  let slot: number | undefined;
  if (kind === "launch") {
    const now = Date.now();
    slot = now + reserveLaunchSlot(now, settings);
    state.pendingLaunchSlots.push(slot);
  }
  try {
    for (;;) {
      // ...and each send is judged against the real time of the previous sends.
      const now = Date.now();
      const readyAt = Math.max(readyAtFor(kind, now, state, settings), slot ?? 0);
      if (now >= readyAt) {
        state.nextRequestAt = now + settings.requestIntervalMs;
        if (kind === "launch") state.lastLaunchSentAt = now;
        return;
      }
      await wait(readyAt - now);
    }
  } finally {
    if (slot !== undefined) state.pendingLaunchSlots.splice(state.pendingLaunchSlots.indexOf(slot), 1);
  }
}

/** After a 429 with Retry-After, nobody in this process sends anything until then. */
export function holdAllRequestsUntil(epochMs: number): void {
  const state = pacerState();
  state.nextRequestAt = Math.max(state.nextRequestAt, epochMs);
}

export function recordApiCall(operation: string, kind: RequestKind): void {
  const stats = pacerState().stats;
  stats.requests += 1;
  if (kind === "launch") stats.launches += 1;
  stats.byOperation[operation] = (stats.byOperation[operation] ?? 0) + 1;
}

export function recordRateLimited(): void {
  pacerState().stats.rateLimited += 1;
}

export function recordRetry(): void {
  pacerState().stats.retries += 1;
}

/** A copy of this process's API call counters (for benchmarks and logs). */
export function apiCallStats(): ApiCallStats {
  const stats = pacerState().stats;
  return { ...stats, byOperation: { ...stats.byOperation } };
}

/** Forgets slots and counters (tests and benchmarks start from a clean process state). */
export function resetPacer(): void {
  forgetProcessWide(PACER_KEY);
}
