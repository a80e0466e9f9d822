/**
 * The dated price snapshot the stack falls back to when it cannot ask `GET /instance-types`.
 * Whole-instance on-demand prices in integer US cents per hour, the same in every region.
 * Every report that uses it says so and carries its date.
 */

/** Where the figures come from and when they were copied into the project. */
export const PRICE_SNAPSHOT = {
  source: "snapshot",
  asOf: "2026-11-25",
  origin: "SkyPilot public Lambda catalog v8 (2026), via shared/lambda-cloud/PRICES.md",
} as const;

export const SNAPSHOT_CENTS_PER_HOUR: Readonly<Record<string, number>> = Object.freeze({
  cpu_4x_general: 20,
  gpu_1x_rtx6000: 69,
  gpu_1x_a10: 129,
  gpu_1x_a6000: 109,
  gpu_2x_a6000: 218,
  gpu_4x_a6000: 436,
  gpu_1x_a100: 199,
  gpu_1x_a100_sxm4: 199,
  gpu_2x_a100: 398,
  gpu_4x_a100: 796,
  gpu_8x_a100: 1592,
  gpu_8x_a100_80gb_sxm4: 2232,
  gpu_8x_v100: 632,
  gpu_1x_h100_pcie: 329,
  gpu_1x_h100_sxm5: 429,
  gpu_2x_h100_sxm5: 838,
  gpu_4x_h100_sxm5: 1636,
  gpu_8x_h100_sxm5: 3192,
  gpu_1x_gh200: 229,
  gpu_1x_b200_sxm6: 699,
  gpu_2x_b200_sxm6: 1378,
  gpu_8x_b200_sxm6: 5352,
});

/** Lambda's documented example filesystem rate: $0.20 per GiB-month of data stored. */
export const FILESYSTEM_CENTS_PER_GIB_MONTH = 20;

/** The constant the field's cost tools use for a month of always-on billing. */
export const DEFAULT_HOURS_PER_MONTH = 730;
