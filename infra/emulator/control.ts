/**
 * The emulator's control API under `/_emulator/` (not part of Lambda's): tests read and reset the
 * counters, change faults while it runs, and break instances.
 */
import { ServerResponse } from "http";
import type { EmulatedAccount } from "./account";
import { ApiFailure } from "./apiFailure";
import { send } from "./httpExchange";
import type { EmulatorOptions } from "./options";
import { EmulatorStats, snapshotStats, zeroStats } from "./stats";

/** Faults a test may set while the emulator runs (POST /_emulator/faults). */
const MUTABLE_OPTIONS: (keyof EmulatorOptions)[] = [
  "fail5xx",
  "failProvider",
  "fail429",
  "dropLaunchResponses",
  "failLaunch5xx",
  "failLaunch429",
  "launchThen5xx",
  "fail5xxOn",
  "unparsableOn",
  "privateIpDelayMs",
  "failLaunchProvider",
  "bootOutcome",
  "bootDelayMs",
  "terminateDelayMs",
  "requestIntervalMs",
  "launchIntervalMs",
  "retryAfterSeconds",
  "capacity",
  "defaultCapacity",
  "latencyMs",
  "clockSkewMs",
  "omitDateHeader",
  "vanishAfterListing",
];

/** What the control API reads and changes. */
export interface ControlTarget {
  readonly options: EmulatorOptions;
  readonly account: EmulatedAccount;
  readonly stats: EmulatorStats;
}

/**
 * Answers one control request: `GET|DELETE /_emulator/stats`, `POST /_emulator/faults` (a JSON
 * object of MUTABLE_OPTIONS; 400 naming an unknown one), `POST /_emulator/instances/<id>/terminate`
 * (out of band), `.../unhealthy`, `.../fields` (see FieldOverrides). Anything else answers 404.
 */
export function handleControl(
  target: ControlTarget,
  path: string,
  method: string,
  body: Record<string, unknown>,
  res: ServerResponse,
): void {
  try {
    if (path === "/_emulator/stats" && method === "GET") return send(res, 200, snapshotStats(target.stats));
    if (path === "/_emulator/stats" && method === "DELETE") {
      Object.assign(target.stats, zeroStats());
      return send(res, 200, {});
    }
    if (path === "/_emulator/faults" && method === "POST") {
      for (const [key, value] of Object.entries(body)) {
        if (!MUTABLE_OPTIONS.includes(key as keyof EmulatorOptions)) {
          return send(res, 400, {
            error: `unknown setting ${key}; allowed: ${MUTABLE_OPTIONS.join(", ")}`,
          });
        }
        (target.options as unknown as Record<string, unknown>)[key] = value;
      }
      return send(res, 200, {});
    }
    const match = /^\/_emulator\/instances\/([^/]+)\/(terminate|unhealthy|fields)$/.exec(path);
    if (match !== null && method === "POST") {
      const instances = target.account.instances;
      if (match[2] === "terminate") instances.terminateOutOfBand(match[1]);
      else if (match[2] === "fields") instances.overrideFields(match[1], body);
      else instances.makeUnhealthy(match[1]);
      return send(res, 200, {});
    }
    send(res, 404, { error: `unknown control endpoint ${method} ${path}` });
  } catch (error) {
    if (error instanceof ApiFailure) return send(res, error.httpStatus, error.body());
    throw error;
  }
}
