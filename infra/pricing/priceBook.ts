/**
 * Where prices come from: Lambda's `GET /instance-types` when the API can be asked, otherwise the
 * dated snapshot (and the report says which). Stack config overrides win over both.
 */
import { LambdaClient } from "../lambda/client";
import { chosenLambdaSettings, type LambdaSettings } from "../lambda/settings";
import type { PriceBook } from "./costModel";
import { PRICE_SNAPSHOT, SNAPSHOT_CENTS_PER_HOUR } from "./priceSnapshot";

export interface PriceBookOptions {
  /** Prices from stack config, USD per hour (`orchestra:prices`). */
  readonly overridesUsdPerHour?: Readonly<Record<string, number>>;
  /** API settings; without an API key the snapshot is used. */
  readonly lambda?: Partial<LambdaSettings>;
  /** Skip the API (e.g. `npm run cost -- --from-config` offline). */
  readonly offline?: boolean;
  readonly today?: Date;
}

export interface LoadedPriceBook {
  readonly book: PriceBook;
  /** Why the snapshot was used instead of the API, if it was. */
  readonly fallbackReason?: string;
}

export function toCents(overridesUsdPerHour: Readonly<Record<string, number>> = {}): Record<string, number> {
  return Object.fromEntries(
    Object.entries(overridesUsdPerHour).map(([type, usd]) => [type, Math.round(usd * 100)]),
  );
}

export function snapshotPriceBook(overridesUsdPerHour?: Readonly<Record<string, number>>): PriceBook {
  return {
    source: "snapshot",
    asOf: PRICE_SNAPSHOT.asOf,
    centsPerHour: SNAPSHOT_CENTS_PER_HOUR,
    overrideCentsPerHour: toCents(overridesUsdPerHour),
  };
}

export async function loadPriceBook(options: PriceBookOptions = {}): Promise<LoadedPriceBook> {
  const overrides = toCents(options.overridesUsdPerHour);
  const hasKey = chosenLambdaSettings(options.lambda).apiKey !== undefined;
  if (options.offline === true || !hasKey) {
    return {
      book: snapshotPriceBook(options.overridesUsdPerHour),
      fallbackReason: options.offline === true ? "offline pricing requested" : "no Lambda API key to ask",
    };
  }
  try {
    const types = await new LambdaClient(options.lambda).listInstanceTypes();
    const centsPerHour = Object.fromEntries(
      Object.entries(types).map(([name, entry]) => [name, entry.instance_type.price_cents_per_hour]),
    );
    return {
      book: {
        source: "lambda-api",
        asOf: (options.today ?? new Date()).toISOString().slice(0, 10),
        centsPerHour,
        overrideCentsPerHour: overrides,
      },
    };
  } catch (error) {
    // The error text is already redacted by the client; it never carries the key.
    return {
      book: snapshotPriceBook(options.overridesUsdPerHour),
      fallbackReason: `GET /instance-types failed: ${(error as Error).message}`,
    };
  }
}
