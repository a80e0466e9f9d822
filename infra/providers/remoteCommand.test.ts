/**
 * Provider tier: RemoteCommand's diff, on the serialized provider. At preview every output of a node
 * that changes arrives unknown; its resource id (in `triggers`) is unknown only when the node is
 * replaced. The readiness step must show as replaced then, and not for an in-place rename.
 */
import { serializeProvider, type SerializedProvider } from "../testing/serializedProvider";
import { UNKNOWN } from "./common";
import { remoteCommandProvider } from "./remoteCommand";

let provider: SerializedProvider["provider"];

beforeAll(async () => {
  ({ provider } = await serializeProvider(remoteCommandProvider));
});

const OLDS = {
  host: "203.0.113.7",
  port: 22,
  user: "ubuntu",
  create: "echo ready",
  triggers: ["id-1"],
  dialAttempts: 120,
  dialIntervalSeconds: 5,
  stdout: "ready",
  stderr: "",
};
const news = (overrides: Record<string, unknown> = {}) => {
  const { stdout: _stdout, stderr: _stderr, ...inputs } = OLDS;
  return { ...inputs, privateKey: "key", __provider: "code", ...overrides };
};

test("unchanged inputs: no change", async () => {
  expect(await provider.diff("id", OLDS, news())).toEqual({
    changes: false,
    replaces: [],
    deleteBeforeReplace: undefined,
    stables: ["host", "port", "user", "create", "triggers", "dialAttempts", "dialIntervalSeconds"],
  });
});

test("an unknown host with a known trigger (the node renamed in place) is no change", async () => {
  expect(await provider.diff("id", OLDS, news({ host: UNKNOWN }))).toEqual({
    changes: false,
    replaces: [],
    deleteBeforeReplace: undefined,
    stables: ["host", "port", "user", "create", "triggers", "dialAttempts", "dialIntervalSeconds"],
  });
});

test("unknown triggers, whole or one element, are a replacement", async () => {
  for (const triggers of [UNKNOWN, [UNKNOWN]]) {
    expect(await provider.diff("id", OLDS, news({ triggers }))).toEqual({
      changes: true,
      replaces: ["triggers"],
      deleteBeforeReplace: false,
      stables: undefined,
    });
  }
  // The node replaced: its id and its address unknown. The address is read as the old one.
  expect((await provider.diff("id", OLDS, news({ host: UNKNOWN, triggers: [UNKNOWN] }))).replaces).toEqual([
    "triggers",
  ]);
});

test("a known new trigger is a replacement; dial settings change in place", async () => {
  expect((await provider.diff("id", OLDS, news({ triggers: ["id-2"] }))).replaces).toEqual(["triggers"]);
  expect((await provider.diff("id", OLDS, news({ host: "203.0.113.8" }))).replaces).toEqual(["host"]);
  expect(await provider.diff("id", OLDS, news({ dialAttempts: 10 }))).toEqual({
    changes: true,
    replaces: [],
    deleteBeforeReplace: undefined,
    stables: undefined,
  });
});
