/**
 * Pure accounting for `npm run bench:engine`: the floor a fleet's `pulumi up` is measured against,
 * in parts, and the engine's own overhead, split at moments the benchmark observed (the emulator's
 * request log, and when the program and provider processes first appeared).
 *
 * The floor is what Lambda's limits allow and nothing of ours: the set-up writes that must precede
 * the first launch (the SSH key, the firewall rulesets, a filesystem) at one request per second,
 * then N launches at one per 12 s, then one boot, then the one status read that sees the last node
 * active. Everything above it is ours: the engine's overhead (reported apart) and the providers'.
 */
import type { ApiRequestEvent } from "../infra/emulator/server";

/** Writes that create what a launch names, so they must precede the first launch. */
export const SET_UP_OPERATIONS = ["addSSHKey", "createFirewallRuleset", "createFilesystem"] as const;

export interface FloorParts {
  readonly setUpRequests: number;
  readonly setUpSeconds: number;
  readonly launchSpacingSeconds: number;
  readonly bootSeconds: number;
  readonly finalPollSeconds: number;
  readonly totalSeconds: number;
}

export interface LambdaLimits {
  /** Lambda: one request per second. */
  readonly requestSeconds: number;
  /** Lambda: one launch per 12 seconds. */
  readonly launchSeconds: number;
}

export const LAMBDA_LIMITS: LambdaLimits = { requestSeconds: 1, launchSeconds: 12 };

export function fleetFloor(
  nodes: number,
  upCallsByOperation: Readonly<Record<string, number>>,
  bootSeconds: number,
  limits: LambdaLimits = LAMBDA_LIMITS,
): FloorParts {
  const setUpRequests = SET_UP_OPERATIONS.reduce(
    (total, operation) => total + (upCallsByOperation[operation] ?? 0),
    0,
  );
  const parts = {
    setUpRequests,
    setUpSeconds: setUpRequests * limits.requestSeconds,
    launchSpacingSeconds: Math.max(nodes - 1, 0) * limits.launchSeconds,
    bootSeconds,
    finalPollSeconds: limits.requestSeconds,
  };
  return {
    ...parts,
    totalSeconds:
      parts.setUpSeconds + parts.launchSpacingSeconds + parts.bootSeconds + parts.finalPollSeconds,
  };
}

/** What the benchmark saw of one `pulumi up` (epoch ms). */
export interface ObservedRun {
  readonly startedAt: number;
  readonly endedAt: number;
  /** First time the program's Node.js process was seen (processMemory.ts). */
  readonly programSeenAt?: number;
  /** First time a dynamic-provider process was seen. */
  readonly providerSeenAt?: number;
  /** The emulator's requests during the run, in arrival order. */
  readonly requests: readonly ApiRequestEvent[];
}

export interface EngineOverhead {
  /** `pulumi` started until the program's process runs (CLI, plugins, language host). */
  readonly startUpSeconds: number;
  /** The program's process until its cost gate asks for prices (loading the TypeScript program, config). */
  readonly programSeconds: number;
  /** The price request until the provider process starts (the gate, its stack reference, registering resources). */
  readonly costGateSeconds: number;
  /** The provider process starts until its first request. */
  readonly providerStartSeconds: number;
  /** The last request until `pulumi up` exits (outputs, state, shutdown). */
  readonly windDownSeconds: number;
  readonly totalSeconds: number;
}

const seconds = (from: number | undefined, to: number | undefined) =>
  from === undefined || to === undefined ? 0 : Math.max(0, to - from) / 1000;

/**
 * The engine's own time, from the moments observed. The first `listInstanceTypes` of a run is the
 * program's cost gate (the provider process has not started then); the request after it is the
 * provider's first.
 */
export function engineOverhead(run: ObservedRun): EngineOverhead {
  const priceIndex = run.requests.findIndex((event) => event.operation === "listInstanceTypes");
  const priceAt = priceIndex >= 0 ? run.requests[priceIndex].at : undefined;
  const firstProviderAt = priceIndex >= 0 ? run.requests[priceIndex + 1]?.at : run.requests[0]?.at;
  const lastAt = run.requests[run.requests.length - 1]?.at;
  const parts = {
    startUpSeconds: seconds(run.startedAt, run.programSeenAt),
    programSeconds: seconds(run.programSeenAt, priceAt),
    costGateSeconds: seconds(priceAt, run.providerSeenAt),
    providerStartSeconds: seconds(run.providerSeenAt, firstProviderAt),
    windDownSeconds: seconds(lastAt, run.endedAt),
  };
  return { ...parts, totalSeconds: Object.values(parts).reduce((total, part) => total + part, 0) };
}

/** "listInstances=3 launchInstance=8": the operations with a count above zero, largest first. */
export function formatCalls(byOperation: Readonly<Record<string, number>>): string {
  return Object.entries(byOperation)
    .filter(([, count]) => count > 0)
    .sort(([a, x], [b, y]) => y - x || (a < b ? -1 : 1))
    .map(([operation, count]) => `${operation}=${count}`)
    .join(" ");
}

/** Counts of `after` minus `before`, per operation. */
export function callsBetween(
  before: Readonly<Record<string, number>>,
  after: Readonly<Record<string, number>>,
): Record<string, number> {
  return Object.fromEntries(
    Object.entries(after)
      .map(([operation, count]) => [operation, count - (before[operation] ?? 0)] as const)
      .filter(([, count]) => count > 0),
  );
}
