/**
 * Emulator bookkeeping for benchmarks and tests: launches refused for capacity, and how many of
 * them went to a region that the last `GET /instance-types` answer had listed without capacity
 * for that type (a launch slot a client spent against what it had been told).
 */
export interface CapacityCounters {
  /** Launches answered `instance-operations/launch/insufficient-capacity`. */
  refusedForCapacity: number;
  /** ...of which the region was missing from the type's `regions_with_capacity_available` in the last answer. */
  refusedWhereListedWithout: number;
}

export class CapacityLedger {
  /** Per type, the regions the last `/instance-types` answer listed with capacity (none before one). */
  private lastListed: Map<string, readonly string[]> | undefined;

  constructor(private readonly counters: CapacityCounters) {}

  /** Records an `/instance-types` answer: `{type: {regions_with_capacity_available: [{name}]}}`. */
  listed(answer: Record<string, unknown>): void {
    this.lastListed = new Map(
      Object.entries(answer).map(([type, entry]) => [
        type,
        (
          entry as { regions_with_capacity_available: { name: string }[] }
        ).regions_with_capacity_available.map((region) => region.name),
      ]),
    );
  }

  /** Records a launch refused for capacity. */
  refused(body: Record<string, unknown>): void {
    this.counters.refusedForCapacity++;
    const listed = this.lastListed?.get(String(body.instance_type_name));
    if (listed !== undefined && !listed.includes(String(body.region_name)))
      this.counters.refusedWhereListedWithout++;
  }
}
