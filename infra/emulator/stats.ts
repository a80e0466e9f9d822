/** What the emulator counts while it runs (`GET /_emulator/stats`, the benchmark's timeline). */

export interface EmulatorStats {
  requests: number;
  rateLimited: number;
  launchesAccepted: number;
  /** Launches refused with insufficient-capacity (see capacityLedger.ts). */
  refusedForCapacity: number;
  /** ...of which in a region the last `/instance-types` answer listed without capacity. */
  refusedWhereListedWithout: number;
  /** Requests carried out per operation id (operations.ts), 429s not counted. */
  byOperation: Record<string, number>;
}

export function zeroStats(): EmulatorStats {
  return {
    requests: 0,
    rateLimited: 0,
    launchesAccepted: 0,
    refusedForCapacity: 0,
    refusedWhereListedWithout: 0,
    byOperation: {},
  };
}

/** A copy the caller may keep: later requests do not change it. */
export function snapshotStats(stats: EmulatorStats): EmulatorStats {
  return { ...stats, byOperation: { ...stats.byOperation } };
}

/** One API request the emulator carried out (not 429s): when it arrived, and which operation. */
export interface ApiRequestEvent {
  /** Arrival, epoch ms. */
  readonly at: number;
  readonly operation: string;
}
