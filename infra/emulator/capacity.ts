/**
 * What the emulated account can launch: units of each instance type per region (the stocked
 * regions' default, `type@region` overrides), less the units live instances hold, as
 * `GET /api/v1/instance-types` reports it.
 */
import { PUBLIC_REGION_CODES } from "../lambda/schemas";
import { EMULATED_INSTANCE_TYPES } from "./catalog";
import type { EmulatorOptions } from "./options";
import { regionObject } from "./wireFormat";

export class Capacity {
  /** `unitsInUse(type, region)`: units held by instances not yet terminated. */
  constructor(
    private readonly options: EmulatorOptions,
    private readonly unitsInUse: (typeName: string, region: string) => number,
  ) {}

  /** Units of `typeName` in `region` in all (in use or free). */
  capacityOf(typeName: string, region: string): number {
    const override = this.options.capacity[`${typeName}@${region}`];
    if (override !== undefined) return override;
    return this.options.stockedRegions.includes(region) ? this.options.defaultCapacity : 0;
  }

  /** Whether one more instance of `typeName` fits in `region`. */
  hasRoom(typeName: string, region: string): boolean {
    return this.unitsInUse(typeName, region) < this.capacityOf(typeName, region);
  }

  /** `GET /api/v1/instance-types`: every type, with the regions where one more fits. */
  instanceTypes(): Record<string, unknown> {
    const map: Record<string, unknown> = {};
    for (const type of EMULATED_INSTANCE_TYPES) {
      const regions = PUBLIC_REGION_CODES.filter((region) => this.hasRoom(type.name, region));
      map[type.name] = { instance_type: type, regions_with_capacity_available: regions.map(regionObject) };
    }
    return map;
  }
}
