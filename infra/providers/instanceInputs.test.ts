/** Pure tier: the instance provider's own TTL check, for programs that use LambdaInstance directly. */
import { MAX_TTL_HOURS } from "../launchRules";
import { expiryFor, validateInstanceInputs } from "./instanceInputs";

test("a TTL past 31 days is refused at check, instead of `Invalid time value` at create", () => {
  expect(() => expiryFor(1e12, () => Date.UTC(2026, 0, 1))).toThrow("Invalid time value");
  expect(validateInstanceInputs({ ttlHours: 1e12 })).toEqual([
    { property: "ttlHours", reason: "ttlHours must be at most 744 hours (31 days), got 1000000000000" },
  ]);
  expect(validateInstanceInputs({ ttlHours: 745 })).toEqual([
    { property: "ttlHours", reason: "ttlHours must be at most 744 hours (31 days), got 745" },
  ]);
  expect(validateInstanceInputs({ ttlHours: MAX_TTL_HOURS })).toEqual([]);
  expect(expiryFor(MAX_TTL_HOURS, () => Date.UTC(2026, 0, 1))).toBe("2026-02-01T00:00:00.000Z");
});

test("no TTL reads no clock: a stack without one launches even when Lambda's clock is unknown", () => {
  const unknownClock = (): number => {
    throw new Error("Lambda's clock is unknown");
  };
  expect(expiryFor(undefined, unknownClock)).toBeUndefined();
  expect(expiryFor(0, unknownClock)).toBeUndefined();
  expect(() => expiryFor(2, unknownClock)).toThrow("Lambda's clock is unknown");
});
