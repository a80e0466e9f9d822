/**
 * Pure tier: process-wide state, in this realm and across closure-serialized copies (the way every
 * dynamic provider of a program carries its own copy of the module).
 */
import * as pulumi from "@pulumi/pulumi";
import { forgetProcessWide, processWide } from "./processWide";
import { hostGlobal } from "./testing/serializedProvider";
// eslint-disable-next-line @typescript-eslint/no-require-imports
const requireFromString = require("require-from-string") as (code: string) => unknown;

const KEY = "__orchestraProcessWideTest";
const OTHER = "__orchestraProcessWideTestOther";

afterEach(() => {
  forgetProcessWide(KEY, OTHER);
  const host = hostGlobal();
  host[KEY] = undefined;
});

test("the first call creates the value under its string key; later calls return that same object", () => {
  let created = 0;
  const make = () => ({ created: ++created });
  const first = processWide(KEY, make);
  expect(first).toEqual({ created: 1 });
  expect(processWide(KEY, make)).toBe(first);
  expect(processWide(KEY, () => ({ created: 99 }))).toBe(first);
  expect(created).toBe(1);
  expect((globalThis as unknown as Record<string, unknown>)[KEY]).toBe(first);
});

test("forgetting keys makes the next call create afresh, and leaves other keys alone", () => {
  const kept = processWide(OTHER, () => ["kept"]);
  const old = processWide(KEY, () => ({ n: 1 }));
  forgetProcessWide(KEY);
  expect((globalThis as unknown as Record<string, unknown>)[KEY]).toBeUndefined();
  const fresh = processWide(KEY, () => ({ n: 2 }));
  expect(fresh).not.toBe(old);
  expect(fresh).toEqual({ n: 2 });
  expect(processWide(OTHER, () => ["new"])).toBe(kept);
  forgetProcessWide(KEY, OTHER);
  expect(processWide(OTHER, () => ["new"])).toEqual(["new"]);
});

test("two closure-serialized copies share one value: the string key survives serialization", async () => {
  const counter = () => processWide(KEY, () => ({ calls: 0 }));
  const load = async () => {
    const serialized = await pulumi.runtime.serializeFunction(() => counter);
    // The copy carries the module by value, as a provider's does: nothing is shared by `require`.
    expect(serialized.text).not.toContain("require(");
    return (requireFromString(serialized.text) as { handler: () => typeof counter }).handler();
  };
  const [one, two] = [await load(), await load()];
  one().calls += 1;
  two().calls += 1;
  expect(two()).toBe(one());
  expect(hostGlobal()[KEY]).toEqual({ calls: 2 });
});
