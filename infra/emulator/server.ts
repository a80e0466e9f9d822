/**
 * HTTP front of the Lambda Cloud emulator: the whole 1.8.3 API on 127.0.0.1, authentication,
 * Lambda's rate limits (answered with 429), and injectable faults (apiRequest.ts). A small control
 * API under `/_emulator/` (control.ts) lets tests read counters and break things while it runs.
 */
import { Server, createServer } from "http";
import { AddressInfo } from "net";
import { EmulatedAccount } from "./account";
import { EmulatorState, handleRequest } from "./apiRequest";
import { CapacityLedger } from "./capacityLedger";
import { INTERNAL_ERROR, send } from "./httpExchange";
import { EmulatorOptions, defaultEmulatorOptions } from "./options";
import { ApiRequestEvent, EmulatorStats, snapshotStats, zeroStats } from "./stats";

export type { ApiRequestEvent, EmulatorStats } from "./stats";

export interface RunningEmulator {
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  readonly port: number;
  /** The live options: control-API fault changes show here. */
  readonly options: EmulatorOptions;
  readonly account: EmulatedAccount;
  stats(): EmulatorStats;
  /** Every request carried out since the start, in arrival order (the benchmark's timeline). */
  requestLog(): readonly ApiRequestEvent[];
  close(): Promise<void>;
}

/**
 * Starts an emulator on 127.0.0.1 with `overrides` over defaultEmulatorOptions() (port 0 picks a
 * free one). Rejects when the port cannot be bound.
 */
export async function startEmulator(overrides: Partial<EmulatorOptions> = {}): Promise<RunningEmulator> {
  const options: EmulatorOptions = { ...defaultEmulatorOptions(), ...overrides };
  const stats = zeroStats();
  const state: EmulatorState = {
    options,
    account: new EmulatedAccount(options),
    stats,
    ledger: new CapacityLedger(stats),
    log: [],
    limiter: { nextRequestAt: 0, nextLaunchAt: 0 },
  };
  const server = await listen(state);
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    options,
    account: state.account,
    stats: () => snapshotStats(stats),
    requestLog: () => [...state.log],
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** An HTTP server answering with `state`, listening on 127.0.0.1 at `state.options.port`. */
async function listen(state: EmulatorState): Promise<Server> {
  const server = createServer((req, res) => {
    if (!state.options.quiet) {
      const started = Date.now();
      res.on("finish", () =>
        console.log(`${req.method} ${req.url} ${res.statusCode} ${Date.now() - started}ms`),
      );
    }
    handleRequest(state, req, res).catch(() => send(res, 500, INTERNAL_ERROR));
  });
  server.keepAliveTimeout = 1000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(state.options.port, "127.0.0.1", () => resolve());
  });
  return server;
}
