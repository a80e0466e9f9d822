/**
 * One request to the emulator, start to answer: Lambda's `Date` header, the rate-limit verdict on
 * arrival, then (after the body) the control API, authentication, routing, 429s, injected faults,
 * and the operation carried out against the account.
 */
import { IncomingMessage, ServerResponse } from "http";
import type { EmulatedAccount } from "./account";
import { ApiFailure } from "./apiFailure";
import { CapacityLedger } from "./capacityLedger";
import { ControlTarget, handleControl } from "./control";
import { UNPARSABLE_BODY, take5xxBefore, takeAnswerFault, takeInjected429 } from "./faults";
import { INTERNAL_ERROR, authorized, readJson, send } from "./httpExchange";
import type { EmulatorOptions } from "./options";
import { RateLimiter, judgeArrival } from "./rateLimit";
import { MatchedRoute, matchRoute } from "./routes";
import type { ApiRequestEvent, EmulatorStats } from "./stats";

/** Everything one running emulator keeps between requests. */
export interface EmulatorState extends ControlTarget {
  readonly options: EmulatorOptions;
  readonly account: EmulatedAccount;
  readonly stats: EmulatorStats;
  readonly ledger: CapacityLedger;
  /** Every request carried out, in arrival order. */
  readonly log: ApiRequestEvent[];
  readonly limiter: RateLimiter;
}

/** Answers one request; rejects only on a failure the caller answers with INTERNAL_ERROR. */
export async function handleRequest(
  state: EmulatorState,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const { options } = state;
  // Rate limits are judged on arrival, before the body is read, as a front proxy would.
  const arrivedAt = Date.now();
  res.sendDate = !options.omitDateHeader; // Lambda's clock: the reaper and TTL stamp read this header
  if (res.sendDate) res.setHeader("date", new Date(arrivedAt + options.clockSkewMs).toUTCString());
  const url = new URL(req.url ?? "/", "http://127.0.0.1");
  const route = matchRoute(req.method, url.pathname);
  const isApi = !url.pathname.startsWith("/_emulator/");
  const authorizedRequest = authorized(req.headers.authorization, options.apiKey);
  const verdict =
    isApi && authorizedRequest && route !== undefined
      ? judgeArrival(state.limiter, options, arrivedAt, route.isLaunch)
      : "admitted";

  const body = await readJson(req);
  if (options.latencyMs > 0) await new Promise((resolve) => setTimeout(resolve, options.latencyMs));
  if (!isApi) return handleControl(state, url.pathname, req.method ?? "GET", body, res);

  if (!authorizedRequest) {
    const noKey = req.headers.authorization === undefined;
    return send(res, 401, {
      error: {
        code: "global/invalid-api-key",
        message: noKey ? "No API key was provided." : "API key was invalid, expired, or deleted.",
        suggestion: "Check your API key or create a new one, then try again.",
      },
    });
  }
  if (route === undefined) {
    return send(res, 404, {
      error: {
        code: "global/object-does-not-exist",
        message: `No such endpoint: ${req.method} ${url.pathname}`,
        suggestion: "Check the API reference.",
      },
    });
  }
  if (verdict !== "admitted") {
    if (verdict === "injected-429") takeInjected429(options);
    state.stats.rateLimited++;
    const headers: Record<string, string> = { "content-type": "text/plain" };
    if (options.retryAfterSeconds !== undefined) headers["retry-after"] = String(options.retryAfterSeconds);
    res.writeHead(429, headers);
    res.end("Too Many Requests");
    return;
  }
  state.stats.requests++;
  state.stats.byOperation[route.operation] = (state.stats.byOperation[route.operation] ?? 0) + 1;
  state.log.push({ at: arrivedAt, operation: route.operation });
  carryOut(state, route, body, url.searchParams, req, res);
}

/** An admitted request: faults owed before it, the operation itself, faults owed on its answer. */
function carryOut(
  state: EmulatorState,
  route: MatchedRoute,
  body: Record<string, unknown>,
  query: URLSearchParams,
  req: IncomingMessage,
  res: ServerResponse,
): void {
  const { options, stats } = state;
  if (take5xxBefore(options, route.operation, route.isLaunch)) return send(res, 500, INTERNAL_ERROR);
  if (options.failProvider > 0 || (route.isLaunch && options.failLaunchProvider > 0)) {
    if (options.failProvider > 0) options.failProvider--;
    else options.failLaunchProvider--;
    return send(res, 503, {
      error: {
        code: "provider/internal-unavailable",
        message: "Provider unavailable",
        suggestion: "Try again shortly",
      },
    });
  }
  try {
    const data = route.run(state.account, body, query);
    if (route.isLaunch) stats.launchesAccepted++;
    if (route.operation === "listInstanceTypes") state.ledger.listed(data as Record<string, unknown>);
    // The request was carried out (a launched instance bills) whatever the client hears next.
    const fault = takeAnswerFault(options, route.operation, route.isLaunch);
    if (fault === "drop") return void req.socket.destroy();
    if (fault === "5xx") return send(res, 500, INTERNAL_ERROR);
    if (fault === "unparsable") {
      res.writeHead(200, { "content-type": "text/html" });
      return void res.end(UNPARSABLE_BODY);
    }
    send(res, 200, { data });
  } catch (error) {
    if (error instanceof ApiFailure && error.code === "instance-operations/launch/insufficient-capacity")
      state.ledger.refused(body);
    if (error instanceof ApiFailure) return send(res, error.httpStatus, error.body());
    send(res, 500, INTERNAL_ERROR);
  }
}
