/**
 * Process-wide state: the one place that reads and writes `globalThis` for the Lambda client and
 * the dynamic providers (the request pacer, the server clock, configured settings, the schema
 * cache, listing and capacity memos, the launch queue).
 *
 * Why `globalThis`: all dynamic resources of a program run in one provider process, but each
 * provider is serialized into state by value with every module it captures, so each one carries
 * its own copy of this file and of every module-level variable. Only `globalThis` is shared by all
 * the copies. Keys are strings, never Symbols: a Symbol would not survive closure serialization
 * (each copy would mint its own). Keys start with `__orchestra` so they cannot meet anyone else's.
 *
 * This file imports nothing: it sits on infra's lowest floor, so infra/lambda and infra/providers
 * (and the program) can all use it.
 */

/** Everything this module keeps on `globalThis`, by key. */
function holder(): Record<string, unknown> {
  return globalThis as unknown as Record<string, unknown>;
}

/**
 * The process-wide value under `key`, made by `create` the first time any copy of any module asks
 * for it (later calls return that same object, whatever `create` they pass). `create` is called at
 * most once per key until `forgetProcessWide(key)`.
 */
export function processWide<T>(key: string, create: () => T): T {
  const values = holder();
  return (values[key] ??= create()) as T;
}

/**
 * Forgets the values under `keys`: the next `processWide(key, ...)` creates each afresh. For tests
 * and benchmarks that start from a clean process state; a program never needs it.
 */
export function forgetProcessWide(...keys: string[]): void {
  const values = holder();
  for (const key of keys) values[key] = undefined;
}
